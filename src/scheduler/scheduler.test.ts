import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { startEngine, type Engine } from '../../test/support/engine.js';
import { ACCOUNTING_READ_TYPES } from '../domain/data-types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(DIALECTS)('scheduler [%s]', (dialect) => {
  let t: TestApp;
  let engine: Engine;
  let companyId: string;
  let connectionId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    engine = startEngine(t);
    // every test starts on a clean instance-wide profile
    await t.call('POST', '/profile/syncSettings', { clientId: '00000000-0000-4000-8000-000000000001', settings: [], overridesDefaults: false });
    companyId = (await t.call('POST', '/companies', { name: 'Scheduled' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
  });
  afterEach(async () => {
    await engine.stop();
    // park this test's connection so its schedules do not leak into the next test
    await t.store.db.updateTable('connections').set({ status: 'Unlinked' }).where('id', '=', connectionId).execute();
    await t.store.db.updateTable('datasets').set({ status: 'Cancelled', lease_owner: null, run_slot: null }).where('status', 'in', ['Queued', 'Fetching', 'Processing']).execute();
  });

  const link = async () => {
    const res = await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
    expect(res.statusCode).toBe(302);
    await engine.pool.drain();
  };
  /** Company overrides: `schedules` sets syncSchedule per type; every other type gets 0. */
  const setSchedules = async (schedules: Record<string, number>) => {
    const current = (await t.call('GET', '/profile/syncSettings')).json().settings as any[];
    const settings = current.map((s) => ({ ...s, syncSchedule: schedules[s.dataType] ?? 0 }));
    const res = await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, overridesDefaults: true, settings });
    expect(res.statusCode).toBe(204);
  };
  const scheduled = async (dataType?: string) => {
    let q = t.store.db.selectFrom('datasets').select(['data_type', 'requested', 'trigger']).where('connection_id', '=', connectionId).where('trigger', '=', 'schedule');
    if (dataType) q = q.where('data_type', '=', dataType);
    return q.execute();
  };
  const advance = async (ms: number, step: number) => {
    for (let done = 0; done < ms; done += step) {
      t.clock.advance(step);
      await engine.tick();
      await engine.pool.drain();
    }
  };

  it('a weekly type gets exactly one pull per week for 10 weeks', async () => {
    await setSchedules({ invoices: 168 });
    await link();
    await advance(10 * 7 * DAY, 6 * HOUR);
    const pulls = await scheduled('invoices');
    expect(pulls.length).toBe(10);
    const times = pulls.map((p) => Date.parse(p.requested)).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(7 * DAY);
    expect((await scheduled()).length).toBe(10); // nothing else is scheduled
  });

  it('an hourly type gets 24 pulls a day', async () => {
    await setSchedules({ payments: 1 });
    await link();
    await advance(DAY, HOUR);
    expect((await scheduled('payments')).length).toBe(24);
  });

  it('a settings change applies at the next tick; 0 stops it', async () => {
    await setSchedules({ invoices: 168 });
    await link();
    await advance(2 * HOUR, HOUR);
    expect((await scheduled('invoices')).length).toBe(0);
    await setSchedules({ invoices: 1 });
    await advance(HOUR, HOUR);
    expect((await scheduled('invoices')).length).toBe(1);
    await setSchedules({ invoices: 0 });
    await advance(5 * HOUR, HOUR);
    expect((await scheduled('invoices')).length).toBe(1);
    // a profile change reaches companies that follow the profile
    await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, overridesDefaults: false, settings: [] });
    const profile = (await t.call('GET', '/profile/syncSettings')).json();
    const settings = profile.settings.map((s: any) => ({ ...s, syncSchedule: s.dataType === 'items' ? 2 : 0 }));
    expect((await t.call('POST', '/profile/syncSettings', { clientId: profile.clientId, settings, overridesDefaults: true })).statusCode).toBe(204);
    await advance(4 * HOUR, HOUR);
    expect((await scheduled('items')).length).toBe(2);
  });

  it('missed slots after downtime run once, as one read in syncOrder', async () => {
    await setSchedules({ invoices: 24, customers: 24, company: 24 });
    await link();
    t.clock.advance(10 * DAY); // the scheduler was down
    await engine.tick();
    await engine.pool.drain();
    const pulls = await t.store.db
      .selectFrom('datasets')
      .select(['data_type', 'read_id', 'sync_order'])
      .where('connection_id', '=', connectionId)
      .where('trigger', '=', 'schedule')
      .execute();
    expect(pulls.map((p) => p.data_type).sort()).toEqual(['company', 'customers', 'invoices']);
    expect(new Set(pulls.map((p) => p.read_id)).size).toBe(1);
    await engine.tick();
    expect((await scheduled()).length).toBe(3);
  });

  it('two schedulers at once never queue one slot twice', async () => {
    await setSchedules(Object.fromEntries(ACCOUNTING_READ_TYPES.map((d) => [d, 1])));
    await link();
    for (let h = 0; h < 5; h++) {
      t.clock.advance(HOUR);
      const [a, b, c] = await Promise.all([engine.tick(), engine.tick(), engine.tick()]);
      expect(a.queued + b.queued + c.queued).toBe(ACCOUNTING_READ_TYPES.length);
      await engine.pool.drain();
    }
    expect((await scheduled()).length).toBe(5 * ACCOUNTING_READ_TYPES.length);
  });

  it('a busy pair is skipped, and the next due time counts from its completion', async () => {
    await setSchedules({ invoices: 1 });
    await link();
    engine.connector.behaviour.hang = true;
    t.clock.advance(HOUR);
    await engine.tick(); // queued, and hangs in the worker
    expect((await scheduled('invoices')).length).toBe(1);
    for (let h = 0; h < 3; h++) {
      t.clock.advance(HOUR);
      await engine.tick();
    }
    expect((await scheduled('invoices')).length).toBe(1);
    // it completes now; the next pull is due an hour after that, not at once
    engine.connector.behaviour.hang = false;
    await engine.stop();
    engine = startEngine(t, {}, engine.connector);
    await engine.pool.drain();
    const completedAt = t.clock.now().getTime();
    t.clock.advance(30 * 60_000);
    await engine.tick();
    expect((await scheduled('invoices')).length).toBe(1);
    t.clock.set(new Date(completedAt + HOUR));
    await engine.tick();
    expect((await scheduled('invoices')).length).toBe(2);
  });

  it('a rate-limited connection gets nothing before its reset time', async () => {
    await setSchedules({ invoices: 1 });
    await link();
    const reset = new Date(t.clock.now().getTime() + 5 * HOUR).toISOString();
    await t.store.db.updateTable('connections').set({ rate_limited_until: reset }).where('id', '=', connectionId).execute();
    await advance(4 * HOUR, HOUR);
    expect((await scheduled('invoices')).length).toBe(0);
    await advance(2 * HOUR, HOUR);
    const pulls = await scheduled('invoices');
    // at the reset (+5 h) and an hour later
    expect(pulls.map((p) => p.requested).sort()).toEqual([reset, new Date(Date.parse(reset) + HOUR).toISOString()]);
  });

  it('keep-alive refreshes the token on day 30 when every schedule is 0, and shows it', async () => {
    await setSchedules({});
    await link();
    for (let day = 1; day <= 29; day++) {
      t.clock.advance(DAY);
      await engine.keepAlive();
    }
    expect(engine.connector.keepAlives).toBe(0);
    t.clock.advance(DAY);
    expect(await engine.keepAlive()).toBe(1);
    expect(await engine.keepAlive()).toBe(0);
    expect(engine.connector.keepAlives).toBe(1);
    const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
    expect(conn.lastKeepAlive).toBe(t.clock.now().toISOString());
    expect(conn.refreshTokenExpiresAt).toBe(new Date(t.clock.now().getTime() + 60 * DAY).toISOString());
    expect((await scheduled()).length).toBe(0);
    // a year of keep-alive: one refresh every 30 days
    for (let day = 1; day <= 365; day++) {
      t.clock.advance(DAY);
      await engine.keepAlive();
    }
    expect(engine.connector.keepAlives).toBe(1 + 12);
    expect(await engine.keepAlive({ enabled: false })).toBe(0);
  });

  it('a re-link queues the first-link read again', async () => {
    await link();
    const before = await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', connectionId).where('trigger', '=', 'first-link').execute();
    expect(before.length).toBe(ACCOUNTING_READ_TYPES.length);
    await t.call('PATCH', `/companies/${companyId}/connections/${connectionId}`, { status: 'Unlinked' });
    // An Unlinked connection is re-linked by the client (the browser Link page may not undo an unlink).
    expect((await t.call('PUT', `/companies/${companyId}/connections/${connectionId}/authorization`, {})).statusCode).toBe(200);
    await engine.pool.drain();
    const after = await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', connectionId).where('trigger', '=', 'first-link').execute();
    expect(after.length).toBe(2 * ACCOUNTING_READ_TYPES.length);
  });
});
