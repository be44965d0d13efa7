import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from './support/stores.js';
import { basic, serve, stop, type CliProcess } from './support/cli.js';

/**
 * Invariant 1 across processes: two API processes sharing one PostgreSQL database, 100 concurrent requests to queue
 * the same data type → exactly one dataset and 99 DatasetAlreadyInProgressException.
 */
describe('several processes on one PostgreSQL', () => {
  const children: CliProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of children) await stop(c);
    for (const f of cleanups) await f();
  });

  it('100 concurrent queue requests over two server processes make exactly one dataset', async () => {
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-mp-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const apiKey = 'MultiProcessTestKey0123456789abcdefghijk';
    const env = { DATABASE_URL: db.location, SYNCLINE_API_KEY: apiKey, SYNCLINE_SECRET_KEY: 'shared-secret-key-for-both-processes', SYNCLINE_DATA_DIR: dataDir };
    // API only: nothing may pick the dataset up while the race runs.
    const a = await serve(env, ['--no-worker']);
    const b = await serve(env, ['--no-worker']);
    children.push(a.child, b.child);
    const h = { ...basic(apiKey), 'content-type': 'application/json' };
    const post = (base: string, p: string, body?: unknown) =>
      fetch(base + p, { method: 'POST', headers: h, body: body === undefined ? undefined : JSON.stringify(body) });

    const company = (await (await post(a.url, '/companies', { name: 'Race Co' })).json()) as any;
    const conn = (await (await post(a.url, `/companies/${company.id}/connections`, { platformKey: 'mqjo' })).json()) as any;
    // items is not part of the first-link read, so it is idle when the race starts
    const settings = (await (await fetch(`${a.url}/companies/${company.id}/syncSettings`, { headers: h })).json()) as any;
    const items = settings.settings.find((s: any) => s.dataType === 'items');
    const set = await post(a.url, `/companies/${company.id}/syncSettings`, { companyId: company.id, overridesDefaults: true, settings: [{ ...items, fetchOnFirstLink: false }] });
    expect(set.status).toBe(204);
    const link = await fetch(conn.linkUrl, { redirect: 'manual' });
    expect(link.status).toBe(302);

    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => post(i % 2 ? a.url : b.url, `/companies/${company.id}/data/queue/items`)));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as any[];
    const ok = bodies.filter((_, i) => results[i]!.status === 200);
    const refused = bodies.filter((x, i) => results[i]!.status === 400 && String(x.error).startsWith('DatasetAlreadyInProgressException'));
    expect(ok.length).toBe(1);
    expect(refused.length).toBe(99);
    for (const r of refused) {
      expect(r.error).toBe(`DatasetAlreadyInProgressException: Cannot queue items sync for ${company.id} as previous sync ${ok[0].id} is still in progress`);
    }
    const history = (await (await fetch(`${a.url}/companies/${company.id}/data/history?pageSize=5000`, { headers: h })).json()) as any;
    expect(history.results.filter((d: any) => d.dataType === 'items').length).toBe(1);
  });
});
