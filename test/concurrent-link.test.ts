/**
 * Issue 12 item 6: 20 concurrent `PUT …/authorization` calls on one connection (and 20 on the link page) over a real
 * socket answer at once — one links, the others get a clear 409 in the ErrorMessage shape — and none answers 5xx.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, createTestDatabase } from './support/stores.js';
import { parseConfig } from '../src/cli/config.js';
import { startServer, type Server } from '../src/cli/server.js';
import { createLogger } from '../src/lib/logger.js';

describe.each(DIALECTS)('concurrent linking over a socket [%s]', (dialect) => {
  let server: Server;
  let dataDir: string;
  let dropDb: (() => Promise<void>) | undefined;
  const apiKey = 'concurrent-link-test-key-0123456789abcdef';
  const auth = { authorization: `Basic ${Buffer.from(apiKey).toString('base64')}` };
  const call = (method: string, p: string, body?: unknown) =>
    fetch(`${server.url}${p}`, { method, headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-link-'));
    const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', SYNCLINE_DATA_DIR: dataDir, SYNCLINE_API_KEY: apiKey, SYNCLINE_SECRET_KEY: 'link-test-secret-key-0123456789', LOG_LEVEL: 'silent' };
    if (dialect === 'postgres') {
      const db = await createTestDatabase('postgres');
      env.DATABASE_URL = db.location;
      dropDb = db.drop;
    }
    server = await startServer(parseConfig(env), { logger: createLogger('silent') });
  });
  afterAll(async () => {
    await server?.close();
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const newConnection = async () => {
    const company = (await (await call('POST', '/companies', { name: 'Busy' })).json()) as { id: string };
    const conn = (await (await call('POST', `/companies/${company.id}/connections`, { platformKey: 'mqjo' })).json()) as { id: string };
    return { companyId: company.id as string, connectionId: conn.id as string };
  };

  it('20 concurrent PUT …/authorization: one 200, the rest 409 ErrorMessages, no 5xx, the connection linked once', async () => {
    const { companyId, connectionId } = await newConnection();
    const responses = await Promise.all(Array.from({ length: 20 }, () => call('PUT', `/companies/${companyId}/connections/${connectionId}/authorization`, {})));
    const statuses = responses.map((r) => r.status);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as any[];
    expect(statuses.filter((s) => s >= 500), JSON.stringify(bodies.filter((b) => b.statusCode >= 500))).toEqual([]);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    for (const [i, s] of statuses.entries()) {
      if (s === 200) continue;
      expect(s).toBe(409);
      expect(bodies[i]).toMatchObject({ statusCode: 409, canBeRetried: 'Unknown', detailedErrorCode: 0 });
      expect(bodies[i].error).toMatch(/connection .* (is being|changed)/i);
      expect(responses[i]!.headers.get('x-correlation-id')).toBe(bodies[i].correlationId);
    }
    const conn = (await (await call('GET', `/companies/${companyId}/connections/${connectionId}`)).json()) as { status: string };
    expect(conn.status).toBe('Linked');
    // One first-link read, not one per caller.
    const history = (await (await call('GET', `/companies/${companyId}/data/history?pageSize=500`)).json()) as { results: { dataType: string }[] };
    const types = history.results.map((d) => d.dataType);
    expect(new Set(types).size).toBe(types.length);
  });

  it('20 concurrent authorizations of 20 connections of one company all link (the lock is per connection)', async () => {
    const company = (await (await call('POST', '/companies', { name: 'Many' })).json()) as { id: string };
    const conns = await Promise.all(Array.from({ length: 20 }, async () => (await call('POST', `/companies/${company.id}/connections`, { platformKey: 'mqjo' })).json() as Promise<{ id: string }>));
    const responses = await Promise.all(conns.map((c) => call('PUT', `/companies/${company.id}/connections/${c.id}/authorization`, {})));
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual(conns.map(() => 200));
  });
});
