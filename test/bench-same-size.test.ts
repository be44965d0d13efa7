import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/cli/config.js';
import { startServer } from '../src/cli/server.js';
import { ConnectorRegistry } from '../src/connectors/connector.js';
import { createLogger } from '../src/lib/logger.js';
import { sameSizeRoutes, StageProbe, type Stage } from '../bench/support/same-size.js';
import { DIALECTS, createTestDatabase } from './support/stores.js';

/**
 * The query benchmark's baseline routes (issue 17) on a real server over real sockets: registered on the server's app
 * through startServer's apiExtensions, behind its authentication, answering the kept bytes; the probe records what the
 * server saw. A server started without the extension (as the CLI starts it) has no such routes.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const API_KEY = 'same-size-test-api-key';
const AUTH = { authorization: `Basic ${Buffer.from(API_KEY).toString('base64')}` };

async function expectError(r: Response, status: number) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await r.json()) as Record<string, unknown>;
  expect(body.statusCode).toBe(status);
  expect(body.correlationId).toBe(r.headers.get('x-correlation-id'));
  expect(typeof body.error).toBe('string');
  return body;
}

for (const dialect of DIALECTS) {
  describe(`bench same-size routes [${dialect}]`, () => {
    it('serve the kept bytes after auth and a statement, refuse bad input, and record each request', async () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-same-size-'));
      dirs.push(dataDir);
      const env: Record<string, string> = { PORT: '0', SYNCLINE_DATA_DIR: dataDir, SYNCLINE_API_KEY: API_KEY, SYNCLINE_SECRET_KEY: 'same-size-secret-key', LOG_LEVEL: 'silent' };
      const db = dialect === 'postgres' ? await createTestDatabase('postgres') : undefined;
      if (db) env.DATABASE_URL = db.location;
      const probe = new StageProbe();
      probe.wrapStore();
      const server = await startServer(parseConfig(env), {
        logger: createLogger('silent'),
        roles: { api: true, workers: false, scheduler: false },
        connectors: new ConnectorRegistry(),
        apiExtensions: [sameSizeRoutes(probe)],
      });
      probe.attach(server.app!.server);
      try {
        expect(server.store.dialect).toBe(dialect);
        const url = `${server.url}/bench/body/page-1`;
        // Authentication first, as for every API route.
        await expectError(await fetch(url), 401);
        await expectError(await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' }), 401);
        // Nothing kept yet.
        await expectError(await fetch(url, { headers: AUTH }), 404);
        // A body with non-ASCII text: the bytes come back as they were put.
        const body = JSON.stringify({ results: [{ id: 'a', name: 'Café – €1' }], pageNumber: 1, pageSize: 100, totalResults: 1 });
        const put = await fetch(url, { method: 'PUT', headers: { ...AUTH, 'content-type': 'text/plain; charset=utf-8' }, body });
        expect(put.status).toBe(204);
        const got = await fetch(url, { headers: AUTH });
        expect(got.status).toBe(200);
        expect(got.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(Number(got.headers.get('content-length'))).toBe(Buffer.byteLength(body));
        expect(await got.text()).toBe(body);
        // Bad input: 4xx in the ErrorMessage shape, never a 500.
        await expectError(await fetch(url, { method: 'PUT', headers: { ...AUTH, 'content-type': 'text/plain' }, body: '' }), 400);
        await expectError(await fetch(`${server.url}/bench/body/${'k'.repeat(65)}`, { headers: AUTH }), 400);
        await expectError(await fetch(`${server.url}/bench/body/a.b`, { method: 'PUT', headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'x' }), 400);
        // A list request of an unknown company: the probe saw its store call.
        await expectError(await fetch(`${server.url}/companies/00000000-0000-4000-8000-000000000000/data/invoices`, { headers: AUTH }), 404);
        // Hidden from the API's description.
        const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
        expect(Object.keys(spec.paths).filter((p) => p.startsWith('/bench'))).toEqual([]);

        const stages = (await (await fetch(`${server.url}/bench/stages`, { method: 'POST', headers: AUTH })).json()) as Stage[];
        const served = stages.filter((s) => s.url === '/bench/body/page-1' && s.status === 200);
        expect(served).toHaveLength(1);
        expect(served[0]!.total).toBeGreaterThan(0);
        expect(served[0]!.head).toBeGreaterThan(0);
        expect(served[0]!.head).toBeLessThanOrEqual(served[0]!.total);
        expect(served[0]!.store['ApiKeysRepository.idForHash']).toBeGreaterThanOrEqual(0);
        const list = stages.find((s) => s.url.startsWith('/companies/'));
        expect(list?.status).toBe(404);
        expect(Object.keys(list!.store)).toContain('CompaniesRepository.existsForRead');
        expect(stages.map((s) => s.status).sort()).toEqual([200, 204, 400, 400, 400, 401, 401, 404, 404, 200].sort());
        // Taken: the next call answers only what came after.
        const again = (await (await fetch(`${server.url}/bench/stages`, { method: 'POST', headers: AUTH })).json()) as Stage[];
        expect(again).toEqual([]);
      } finally {
        await server.close();
        await db?.drop();
      }
    });
  });
}

describe('bench same-size routes, absent or without a probe', () => {
  it('a server started without the extension has no /bench routes; without a probe, stages answer 404', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-same-size-'));
    dirs.push(dataDir);
    const config = parseConfig({ PORT: '0', SYNCLINE_DATA_DIR: dataDir, SYNCLINE_API_KEY: API_KEY, SYNCLINE_SECRET_KEY: 'same-size-secret-key', LOG_LEVEL: 'silent' });
    const opts = { logger: createLogger('silent'), roles: { api: true, workers: false, scheduler: false }, connectors: new ConnectorRegistry() };
    const plain = await startServer(config, opts);
    try {
      const body = await expectError(await fetch(`${plain.url}/bench/body/page-1`, { headers: AUTH }), 404);
      expect(body.error).toMatch(/No route matches GET \/bench\/body\/page-1/);
    } finally {
      await plain.close();
    }
    const server = await startServer(config, { ...opts, apiExtensions: [sameSizeRoutes()] });
    try {
      await expectError(await fetch(`${server.url}/bench/stages`, { method: 'POST', headers: AUTH }), 404);
    } finally {
      await server.close();
    }
  });
});
