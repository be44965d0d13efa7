import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { repositories, type ApiContext } from '../api/context.js';
import { IntegrationRegistry } from '../connectors/integrations.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { SecretBox } from '../lib/secrets.js';
import { migrateToLatest, openStore, type Store } from '../store/db.js';
import type { Config } from './config.js';
import { loadSecretKey } from './config.js';
import { ensureBootstrapKey } from './bootstrap.js';

export const BODY_LIMIT = 1024 * 1024;

export interface Server {
  app: FastifyInstance;
  store: Store;
  ctx: ApiContext;
  /** Set when a key was generated at this start: print it once. */
  generatedApiKey: string | undefined;
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Use this store instead of opening one from the config (tests). */
  store?: Store;
}

/** Wires config → store → API and listens. One place starts everything and one place stops it. */
export async function startServer(config: Config, opts: ServerOptions = {}): Promise<Server> {
  const log = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const store = opts.store ?? openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(store);
    const repos = repositories(store);
    const generatedApiKey = await ensureBootstrapKey(repos.apiKeys, config.apiKey, clock);
    let baseUrl = config.publicBaseUrl ?? `http://${config.host}:${config.port}`;
    const ctx: ApiContext = {
      store,
      repos,
      clock,
      registry: new IntegrationRegistry({ xero: config.xero !== undefined, qbo: config.qbo !== undefined }),
      secretBox: new SecretBox(loadSecretKey(config)),
      log,
      publicBaseUrl: () => baseUrl,
      instanceName: config.instanceName,
      configuredRedirectUrl: config.redirectUrl,
      bodyLimit: BODY_LIMIT,
    };
    const app = await buildApp(ctx);
    await app.listen({ port: config.port, host: config.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    const url = `http://${hostForUrl}:${port}`;
    if (!config.publicBaseUrl) baseUrl = url;
    let closed = false;
    return {
      app,
      store,
      ctx,
      generatedApiKey,
      url,
      async close() {
        if (closed) return;
        closed = true;
        // Stop accepting, let in-flight requests finish, then close the database.
        await app.close();
        if (!opts.store) await store.close();
      },
    };
  } catch (err) {
    if (!opts.store) await store.close().catch(() => {});
    throw err;
  }
}
