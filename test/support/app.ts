import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { repositories, type ApiContext } from '../../src/api/context.js';
import { IntegrationRegistry } from '../../src/connectors/integrations.js';
import { ConnectorRegistry } from '../../src/connectors/connector.js';
import { ManualClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { SecretBox, hashApiKey } from '../../src/lib/secrets.js';
import { newId, randomAlnum } from '../../src/lib/ids.js';
import type { Dialect } from '../../src/store/db.js';
import { openTestStore, type TestStore } from './stores.js';

export const BASE_URL = 'http://syncline.test';

export interface TestApp {
  app: FastifyInstance;
  ctx: ApiContext;
  /** The connectors the integration registry asks what they read: startEngine registers its connector here. */
  connectors: ConnectorRegistry;
  store: TestStore;
  clock: ManualClock;
  apiKey: string;
  authHeader: string;
  /** Authenticated inject; JSON bodies are serialised. */
  call(method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  xero?: boolean;
  qbo?: boolean;
  qboSandbox?: boolean;
}

/** The API in-process (no socket) on a fresh database of the given dialect, with one known API key. */
export async function createTestApp(dialect: Dialect, opts: TestAppOptions = {}): Promise<TestApp> {
  const store = await openTestStore(dialect);
  const clock = new ManualClock('2026-03-01T09:00:00.000Z');
  const repos = repositories(store, clock);
  const apiKey = randomAlnum(40);
  await repos.apiKeys.insert({ id: newId(), name: 'test', key_hash: hashApiKey(apiKey), created_at: clock.now().toISOString() });
  const connectors = new ConnectorRegistry();
  const ctx: ApiContext = {
    store,
    repos,
    clock,
    registry: new IntegrationRegistry({ xero: opts.xero ?? false, qbo: opts.qbo ?? false, qboSandbox: opts.qboSandbox ?? false }, connectors),
    secretBox: new SecretBox('test-secret-key-0123456789'),
    log: createLogger('silent'),
    publicBaseUrl: () => BASE_URL,
    instanceName: 'Syncline Test',
    configuredRedirectUrl: undefined,
    bodyLimit: 1024 * 1024,
  };
  const app = await buildApp(ctx);
  await app.ready();
  const authHeader = `Basic ${Buffer.from(apiKey).toString('base64')}`;
  return {
    app,
    ctx,
    connectors,
    store,
    clock,
    apiKey,
    authHeader,
    call(method, url, body, headers = {}) {
      const h: Record<string, string> = { authorization: authHeader, ...headers };
      const o: InjectOptions = { method, url, headers: h };
      if (body !== undefined) {
        if (typeof body === 'string') o.payload = body;
        else {
          o.payload = JSON.stringify(body);
          h['content-type'] ??= 'application/json';
        }
      }
      return app.inject(o);
    },
    async close() {
      await app.close();
      await store.cleanup();
    },
  };
}

/** Asserts the ErrorMessage shape of platform-api.md §3.1 and returns the parsed body. */
export function expectErrorShape(res: LightMyRequestResponse, status: number): Record<string, any> {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  const ct = String(res.headers['content-type'] ?? '');
  if (!ct.startsWith('application/json')) throw new Error(`error content-type is ${ct}`);
  const body = res.json();
  const cid = res.headers['x-correlation-id'];
  const problems: string[] = [];
  if (body.statusCode !== status) problems.push('statusCode');
  if (typeof body.service !== 'string') problems.push('service');
  if (typeof body.error !== 'string' || !body.error) problems.push('error');
  if (!/^[0-9a-f]{32}$/.test(body.correlationId) || body.correlationId !== cid) problems.push('correlationId');
  if (body.canBeRetried !== 'Unknown') problems.push('canBeRetried');
  if (body.detailedErrorCode !== 0) problems.push('detailedErrorCode');
  if (problems.length) throw new Error(`bad ErrorMessage fields ${problems.join(', ')}: ${res.body}`);
  return body;
}
