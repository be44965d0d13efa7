import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { startSimulator, type Simulator } from '../../sim/server.js';
import { SandboxConnector } from './index.js';
import { drain, MemoryCredentialsStore } from '../test-helpers.js';

/**
 * A 10,000-invoice tenant pulled page by page (200,000 took minutes on a loaded machine and timed out — issue 12 item
 * 13; the pull-throughput benchmark, `npm run bench pull-throughput`, covers the large size): the simulator derives each page on demand and the connector hands
 * each page on as soon as it is mapped, so memory stays bounded by a few pages on both sides.
 */
describe('big tenant', () => {
  let sim: Simulator;
  const clock = new ManualClock('2026-06-15T12:00:00Z');
  beforeAll(async () => {
    sim = await startSimulator({ clock, rateLimit: { perMinute: 100_000, concurrent: 5 } });
  });
  afterAll(() => sim.close());

  it('pulls 10k invoices in 20 pages of 500 with bounded memory and the minimum number of calls', async () => {
    const connector = new SandboxConnector({ baseUrl: sim.url, clock, tenantSize: { invoices: 10_000, bills: 0, creditNotes: 0 }, pageSize: 500 });
    const linked = await connector.authorize({ connectionId: 'big-10k', companyName: 'Big Co', signal: new AbortController().signal });
    const store = new MemoryCredentialsStore(linked.credentials);
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let count = 0;
    const ids = new Set<string>();
    const started = Date.now();
    const r = await drain(connector, {
      dataType: 'invoices',
      credentials: store,
      connectionInfo: linked.connectionInfo,
      clock,
      onPage: (page) => {
        count += page.length;
        for (const rec of page) ids.add(rec.id);
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      },
    });
    const seconds = (Date.now() - started) / 1000;
    expect(count).toBe(10_000);
    expect(ids.size).toBe(10_000);
    expect(r.pages).toBe(20);
    // Minimum possible: one call per page (the access token from authorize is still fresh).
    expect(r.outcome.calls).toBe(20);
    const counters = (await (await fetch(`${sim.url}/admin/tenants/${linked.connectionInfo.tenantId}/counters`)).json()) as any;
    expect(counters.byEndpoint['GET /Invoices']).toBe(20);
    // A few pages in flight, whatever the tenant's size (holding 200k records took well over a gigabyte).
    expect(peak).toBeLessThan(200 * 1024 * 1024);
    console.log(`10k invoices: ${seconds.toFixed(1)} s, peak heap growth ${(peak / 1048576).toFixed(0)} MB`);
  });
});
