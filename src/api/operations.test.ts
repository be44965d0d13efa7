import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { newId } from '../lib/ids.js';
import { metrics } from '../lib/metrics.js';

describe.each(DIALECTS)('GET /operations/summary [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  it('needs the API key', async () => {
    expectErrorShape(await t.app.inject({ method: 'GET', url: '/operations/summary' }), 401);
  });

  it('reports the queue, running pulls, pulls per hour from the history, and this process’s per-platform counters', async () => {
    const company = (await t.call('POST', '/companies', { name: 'Ops' })).json().id;
    const conn = (await t.call('POST', `/companies/${company}/connections`, { platformKey: 'mqjo' })).json().id;
    const now = t.clock.now().getTime();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    const row = (status: string, requestedAgo: number, completedAgo: number | null, dataType: string) => ({
      id: newId(),
      company_id: company,
      connection_id: conn,
      data_type: dataType,
      status,
      progress: 0,
      requested: at(requestedAgo),
      completed: completedAgo === null ? null : at(completedAgo),
      read_id: newId(),
      trigger: 'refresh',
      sync_order: 0,
      settings: '{}',
      attempts: 0,
      records_added: 0,
      records_updated: 0,
      records_deleted: 0,
    });
    await t.store.db
      .insertInto('datasets')
      .values([
        row('Queued', 120_000, null, 'invoices'),
        row('Fetching', 60_000, null, 'bills'),
        row('Complete', 600_000, 1000, 'customers'),
        row('FetchError', 600_000, 2000, 'suppliers'),
        row('Complete', 3 * 3_600_000, 2 * 3_600_000 + 5, 'items'),
        // older than the 24-hour window: not counted
        row('Complete', 30 * 3_600_000, 26 * 3_600_000, 'accounts'),
      ] as any)
      .execute();
    const before = (await t.call('GET', '/operations/summary')).json();
    metrics.sourceRateLimited.inc({ platform: 'mqjo' }, 3);
    metrics.sourceCalls.inc({ platform: 'mqjo' }, 10);
    const res = await t.call('GET', '/operations/summary');
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s.queue.queued).toBe(1);
    expect(s.queue.running).toBe(1);
    expect(s.queue.byStatus).toMatchObject({ Queued: 1, Fetching: 1 });
    expect(s.queue.oldestQueuedSeconds).toBe(120);
    expect(s.webhookBacklog).toBe(0);
    expect(s.pullsPerHour).toHaveLength(24);
    const hourOf = (msAgo: number) => new Date(Math.floor((now - msAgo) / 3_600_000) * 3_600_000).toISOString();
    const byHour = Object.fromEntries(s.pullsPerHour.map((h: any) => [h.hour, h]));
    // the test clock stands at 09:00:00.000: the window ends with the current hour; both recent pulls ended at 08:59
    expect(s.pullsPerHour.at(-1)).toEqual({ hour: hourOf(0), complete: 0, other: 0 });
    expect(s.pullsPerHour.at(-2)).toEqual({ hour: hourOf(1000), complete: 1, other: 1 });
    expect(s.pullsPerHour.reduce((a: number, h: any) => a + h.complete, 0)).toBe(2);
    expect(s.pullsPerHour.reduce((a: number, h: any) => a + h.other, 0)).toBe(1);
    expect(byHour[hourOf(2 * 3_600_000 + 5)].complete).toBe(1);
    const limited = (x: any) => x.process.rateLimited.find((r: any) => r.platform === 'mqjo')?.count ?? 0;
    expect(limited(s) - limited(before)).toBe(3);
    expect(s.process.sourceCalls.find((r: any) => r.platform === 'mqjo').count).toBeGreaterThanOrEqual(10);
  });

  it('is documented in /openapi.json', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/operations/summary'].get.operationId).toBe('get-operations-summary');
  });
});
