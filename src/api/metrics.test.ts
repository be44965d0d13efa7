import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIALECTS, openTestStore } from '../../test/support/stores.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { startEngine, waitFor } from '../../test/support/engine.js';
import { createSender, allowPrivateTargets, Receiver, subscribe, clearConsumers } from '../../test/support/webhooks.js';
import { metricsRegistry } from '../lib/metrics.js';
import { ManualClock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { createSweeper } from '../scheduler/sweeper.js';
import { startSimulator } from '../sim/server.js';
import { SandboxConnector } from '../connectors/xero/index.js';
import { drain, MemoryCredentialsStore } from '../connectors/test-helpers.js';
import { parseConfig } from '../cli/config.js';
import { startServer } from '../cli/server.js';
import { ConnectorRegistry } from '../connectors/connector.js';
import { TestConnector } from '../../test/support/test-connector.js';

/** Current value of one series of a counter, or a histogram's `_count`, from the process registry. */
async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metricsRegistry().getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const data = await m.get();
  const wanted = data.values.filter((v) => {
    if (String(data.type) === 'histogram' && !(v as { metricName?: string }).metricName?.endsWith('_count')) return false;
    return Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x);
  });
  return wanted.reduce((s, v) => s + v.value, 0);
}

/** Parses the exposition text into `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe.each(DIALECTS)('GET /metrics [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  it('is Prometheus text without an API key, with queue gauges read from the database and no ids in it', async () => {
    const companyId = (await t.call('POST', '/companies', { name: 'Metrics Co' })).json().id;
    const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    // Linking queues the first-link read: Queued datasets, nobody working on them yet.
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    const queued = Number(
      (await t.store.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'Queued').executeTakeFirstOrThrow()).n,
    );
    expect(queued).toBeGreaterThan(0);
    t.clock.advance(90_000);

    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parse(res.body);
    expect(m.get('syncline_datasets{status="Queued"}')).toBe(queued);
    expect(m.get('syncline_datasets{status="Fetching"}')).toBe(0);
    expect(m.get('syncline_queue_oldest_seconds')).toBe(90);
    expect(m.get('syncline_webhook_deliveries_pending')).toBe(0);
    expect(m.get('syncline_store_up')).toBe(1);
    for (const name of ['syncline_pull_duration_seconds', 'syncline_queue_wait_seconds', 'syncline_records_written_total', 'syncline_source_calls_total', 'syncline_source_rate_limited_total', 'syncline_lease_expiries_total', 'syncline_webhook_attempts_total', 'process_resident_memory_bytes']) {
      expect(res.body).toContain(`# TYPE ${name} `);
    }
    expect(res.body).not.toContain(companyId);
    expect(res.body).not.toContain(connectionId);
    // Cleanup for the other tests of this file.
    await t.store.db.updateTable('datasets').set({ status: 'Cancelled', completed: t.clock.now().toISOString() }).where('status', '=', 'Queued').execute();
  });

  it('counts pulls: queue wait, duration and outcome by status, records written', async () => {
    const engine = startEngine(t);
    try {
      engine.connector.seed('invoices', 30);
      const companyId = (await t.call('POST', '/companies', { name: 'Counted Co' })).json().id;
      const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
      await t.store.db.updateTable('connections').set({ status: 'Linked', linked_at: t.clock.now().toISOString() }).where('id', '=', connectionId).execute();
      const labels = { platform: 'mqjo', data_type: 'invoices' };
      const before = {
        complete: await value('syncline_datasets_finished_total', { ...labels, status: 'Complete' }),
        duration: await value('syncline_pull_duration_seconds', { ...labels, status: 'Complete' }),
        wait: await value('syncline_queue_wait_seconds', { platform: 'mqjo' }),
        added: await value('syncline_records_written_total', { ...labels, change: 'added' }),
        updated: await value('syncline_records_written_total', { ...labels, change: 'updated' }),
      };
      const queue = async () => {
        const op = (await t.call('POST', `/companies/${companyId}/data/queue/invoices`)).json();
        await waitFor(async () => (await t.call('GET', `/companies/${companyId}/data/history/${op.id}`)).json().status === 'Complete');
      };
      await queue();
      engine.connector.upsert('invoices', 'r000003', { name: 'edited', amount: 1 });
      await queue();
      expect(await value('syncline_datasets_finished_total', { ...labels, status: 'Complete' })).toBe(before.complete + 2);
      expect(await value('syncline_pull_duration_seconds', { ...labels, status: 'Complete' })).toBe(before.duration + 2);
      expect(await value('syncline_queue_wait_seconds', { platform: 'mqjo' })).toBe(before.wait + 2);
      expect(await value('syncline_records_written_total', { ...labels, change: 'added' })).toBe(before.added + 30);
      expect(await value('syncline_records_written_total', { ...labels, change: 'updated' })).toBeGreaterThanOrEqual(before.updated + 1);
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/syncline_pull_duration_seconds_bucket\{le="[^"]+",platform="mqjo",data_type="invoices",status="Complete"\}/);
    } finally {
      await engine.stop();
    }
  });

  it('counts lease expiries found by the sweeper', async () => {
    const engine = startEngine(t, {}, new TestConnector());
    await engine.stop(); // no worker: the dataset below is "held" by a worker that died
    const companyId = (await t.call('POST', '/companies', { name: 'Lease Co' })).json().id;
    const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    await t.store.db.updateTable('connections').set({ status: 'Linked' }).where('id', '=', connectionId).execute();
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/items`)).json();
    const past = new Date(t.clock.now().getTime() - 1000).toISOString();
    await t.store.db.updateTable('datasets').set({ status: 'Fetching', lease_owner: 'dead-worker', lease_expires: past, run_slot: 0, attempts: 1 }).where('id', '=', op.id).execute();
    const before = await value('syncline_lease_expiries_total', { outcome: 'requeued' });
    const sweeper = createSweeper({ store: t.store, clock: t.clock, log: t.ctx.log });
    await sweeper.runOnce();
    expect(await value('syncline_lease_expiries_total', { outcome: 'requeued' })).toBe(before + 1);
    await t.store.db.updateTable('datasets').set({ status: 'Cancelled', completed: t.clock.now().toISOString() }).where('id', '=', op.id).execute();
  });

  it('counts webhook attempts by outcome', async () => {
    const receiver = await new Receiver(() => t.clock.now()).start();
    allowPrivateTargets(t);
    const sender = createSender(t);
    try {
      await clearConsumers(t);
      await subscribe(t, receiver.url, ['company.created']);
      const before = { ok: await value('syncline_webhook_attempts_total', { outcome: 'success' }), bad: await value('syncline_webhook_attempts_total', { outcome: 'http_error' }) };
      await t.call('POST', '/companies', { name: 'Hooked Co' });
      await sender.settle();
      receiver.answer = () => 500;
      await t.call('POST', '/companies', { name: 'Refused Co' });
      await sender.settle();
      expect(await value('syncline_webhook_attempts_total', { outcome: 'success' })).toBe(before.ok + 1);
      expect(await value('syncline_webhook_attempts_total', { outcome: 'http_error' })).toBe(before.bad + 1);
    } finally {
      await sender.stop();
      await receiver.stop();
      await clearConsumers(t);
    }
  });
});

describe('metrics outside the API', () => {
  it('counts source calls and 429s per platform', async () => {
    const clock = new ManualClock('2026-06-15T12:00:00Z');
    const sim = await startSimulator({ clock, rateLimit: { perMinute: 10_000, concurrent: 5 } });
    try {
      const connector = new SandboxConnector({ baseUrl: sim.url, clock, tenantSize: { invoices: 1500, bills: 0, creditNotes: 0 }, sleep: async () => {} });
      const linked = await connector.authorize({ connectionId: 'metrics-429', companyName: 'Limited Co', signal: new AbortController().signal });
      const tenantId = linked.connectionInfo.tenantId!;
      await fetch(`${sim.url}/admin/tenants/${tenantId}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: '429', count: 2, path: 'invoices' }) });
      await fetch(`${sim.url}/admin/tenants/${tenantId}/counters/reset`, { method: 'POST' });
      const before = { calls: await value('syncline_source_calls_total', { platform: 'mqjo' }), limited: await value('syncline_source_rate_limited_total', { platform: 'mqjo' }) };
      await drain(connector, { dataType: 'invoices', credentials: new MemoryCredentialsStore(linked.credentials), connectionInfo: linked.connectionInfo, clock });
      const counters = (await (await fetch(`${sim.url}/admin/tenants/${tenantId}/counters`)).json()) as { calls: number; rateLimited: { total: number } };
      expect(counters.rateLimited.total).toBe(2);
      expect(await value('syncline_source_calls_total', { platform: 'mqjo' })).toBe(before.calls + counters.calls);
      expect(await value('syncline_source_rate_limited_total', { platform: 'mqjo' })).toBe(before.limited + 2);
    } finally {
      await sim.close();
    }
  });

  it('SYNCLINE_METRICS_PORT moves /metrics to its own listener, served by a worker-only process too; a lost database reads as syncline_store_up 0', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-metrics-'));
    const store = await openTestStore('sqlite');
    const config = parseConfig({ PORT: '0', SYNCLINE_METRICS_PORT: '0', SYNCLINE_DATA_DIR: dataDir, SYNCLINE_SECRET_KEY: 'metrics-test-secret-key' });
    const connectors = new ConnectorRegistry().register(new TestConnector());
    const api = await startServer(config, { store, connectors, logger: createLogger('silent'), roles: { api: true, workers: false, scheduler: false } });
    const worker = await startServer(config, { store, connectors, logger: createLogger('silent'), roles: { api: false, workers: true, scheduler: false } });
    try {
      expect((await fetch(`${api.url}/metrics`)).status).toBe(404);
      for (const s of [api, worker]) {
        expect(s.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        const res = await fetch(s.metricsUrl!);
        expect(res.status).toBe(200);
        expect(parse(await res.text()).get('syncline_store_up')).toBe(1);
        expect((await fetch(s.metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
      }
      await store.close();
      const res = await fetch(worker.metricsUrl!);
      expect(res.status).toBe(200);
      expect(parse(await res.text()).get('syncline_store_up')).toBe(0);
    } finally {
      await worker.close().catch(() => {});
      await api.close().catch(() => {});
      await store.cleanup().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
