import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { DIALECTS, databaseWithout, openTestStore, type TestStore } from '../../test/support/stores.js';
import { createLogger } from '../lib/logger.js';
import { DATA_TYPES, type DataType } from '../domain/data-types.js';
import { defaultSetting } from '../domain/sync-settings.js';
import { SyncSettingsRepository } from '../store/sync-settings.repository.js';
import { ScheduleSlotsRepository } from '../store/schedule-slots.repository.js';
import { CONNS_SQL, DUE_SLOTS_SQL, SCHEDULE_BATCH_SQL } from '../store/migrations/0035-schedule-slot-last-end.js';
import { DatasetsRepository } from '../store/datasets.repository.js';
import { migrateToLatest, type Store } from '../store/db.js';
import { jitterMs, schedulerTick, schedulerTickInProcess, type SchedulerDeps, type SchedulerOptions } from './scheduler.js';

/**
 * Migration 0025: on PostgreSQL each batch of due slots is one call of syncline_schedule_due; SQLite runs the same rules
 * in process (0035: on PostgreSQL each pair's last end is read from its slot, kept by triggers; SQLite reads history). Both are held here to the same outcomes on one fixture of every case (and to the expected values), and
 * to the tick's safety properties: a batch that fails leaves nothing half-queued; concurrent ticks never queue a slot
 * twice.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.parse('2026-03-02T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const OPTS: SchedulerOptions = { intervalMs: 60_000, batchSize: 100, maxQueuedPerTick: 10_000 };

const deps = (store: Store, nowMs = T): SchedulerDeps => ({
  store,
  clock: { now: () => new Date(nowMs) },
  log: createLogger('silent'),
  // 'journals' is a type the integrations here do not read; 'gbol' is not enabled on this instance.
  supports: (_key, t) => t !== 'journals',
  integrationEnabled: (key) => key !== 'gbol',
});

interface Conn {
  id: string;
  key?: string;
  status?: string;
  rateLimitedUntil?: string;
  /** data type → last terminal pull's end (ms ago), 'busy' (a Queued dataset), or null (never pulled) */
  slots: Record<string, number | 'busy' | null>;
  /** the slot's bound; default: a minute ago (due) */
  bound?: number;
}

const CONNS: Conn[] = [
  { id: 'conn-a', slots: { invoices: 8 * DAY, customers: DAY, bills: 'busy', payments: null, journals: 8 * DAY, items: 8 * DAY } },
  { id: 'conn-b', slots: { invoices: 2 * HOUR, customers: 8 * DAY, items: 2 * HOUR } },
  { id: 'conn-c', rateLimitedUntil: iso(T + 5 * HOUR), slots: { invoices: 8 * DAY } },
  { id: 'conn-d', status: 'Unlinked', slots: { invoices: 8 * DAY } },
  { id: 'conn-e', key: 'gbol', slots: { invoices: 8 * DAY } },
  { id: 'conn-f', slots: { invoices: 8 * DAY }, bound: T + HOUR },
  { id: 'conn-g', slots: { invoices: 8 * DAY, company: 8 * DAY, customers: 9 * DAY, chartOfAccounts: 10 * DAY } },
];

async function seedFixture(store: Store): Promise<void> {
  const db = store.db;
  const created = iso(T - 60 * DAY);
  for (const c of CONNS) {
    const company = c.id.replace('conn', 'co');
    await db.insertInto('companies').values({ id: company, name: company, description: null, tags: '{}', created_at: created }).execute();
    await db
      .insertInto('connections')
      .values({
        id: c.id,
        company_id: company,
        integration_key: c.key ?? 'mqjo',
        status: c.status ?? 'Linked',
        credentials: null,
        connection_info: null,
        errors: null,
        created_at: created,
        updated_at: created,
        last_sync: null,
        linked_at: iso(T - 30 * DAY),
        rate_limited_until: c.rateLimitedUntil ?? null,
      } as never)
      .execute();
    let k = 0;
    for (const [type, last] of Object.entries(c.slots)) {
      await db.insertInto('schedule_slots').values({ connection_id: c.id, company_id: company, data_type: type, next_due_ms: c.bound ?? T - 60_000 }).execute();
      if (last === null) continue;
      const busy = last === 'busy';
      // the newest terminal pull ended `last` ago (items of conn-a failed: the schedule counts from any outcome)
      await db
        .insertInto('datasets')
        .values({
          id: `hist-${c.id}-${type}`,
          company_id: company,
          connection_id: c.id,
          data_type: type,
          status: busy ? 'Queued' : c.id === 'conn-a' && type === 'items' ? 'FetchError' : 'Complete',
          progress: busy ? 0 : 100,
          requested: iso(T - 20 * DAY),
          completed: busy ? null : iso(T - last),
          read_id: `hist-read-${c.id}`,
          trigger: 'refresh',
          sync_order: k++,
          settings: '{}',
          attempts: 1,
        } as never)
        .execute();
      // an older pull ending later in seq order would not matter: the newest `completed` counts
      if (!busy) {
        await db
          .insertInto('datasets')
          .values({
            id: `older-${c.id}-${type}`,
            company_id: company,
            connection_id: c.id,
            data_type: type,
            status: 'Complete',
            progress: 100,
            requested: iso(T - 40 * DAY),
            completed: iso(T - 39 * DAY),
            read_id: `old-read-${c.id}`,
            trigger: 'refresh',
            sync_order: k++,
            settings: '{}',
            attempts: 1,
          } as never)
          .execute();
      }
    }
  }
  const settings = new SyncSettingsRepository(db);
  // the profile locks items at 24 h: co-b's own items entry (1 h) does not apply
  await settings.setProfile([{ ...defaultSetting('items'), syncSchedule: 24, isLocked: true }]);
  await settings.setCompany('co-b', {
    overridesDefaults: true,
    settings: [
      { ...defaultSetting('invoices'), syncSchedule: 1 },
      { ...defaultSetting('customers'), syncSchedule: 0 },
      { ...defaultSetting('items'), syncSchedule: 1 },
    ],
  });
  // entries of a company that does not override the defaults are ignored
  await settings.setCompany('co-a', { overridesDefaults: false, settings: [{ ...defaultSetting('invoices'), syncSchedule: 0 }] });
  await db
    .insertInto('webhook_consumers')
    .values({ id: 'consumer-1', url: 'http://127.0.0.1:9/hook', event_types: JSON.stringify(['DataSyncStatusChangedToError']), company_tags: null, disabled: 0, secret: 'x', created_at: created } as never)
    .execute();
}

/** Everything a tick writes, without the random ids. */
async function snapshot(store: Store) {
  const slots = await store.db.selectFrom('schedule_slots').select(['connection_id', 'data_type', 'next_due_ms']).orderBy('connection_id').orderBy('data_type').execute();
  const datasets = await store.db.selectFrom('datasets').selectAll().where('trigger', '=', 'schedule').orderBy('seq').execute();
  const reads = await store.db.selectFrom('dataset_reads').selectAll().where('trigger', '=', 'schedule').orderBy('connection_id').execute();
  const events = await store.db.selectFrom('webhook_events').select(['event_type', 'company_id', 'connection_id', 'data', 'generated_at']).orderBy('seq').execute();
  const byRead = new Map<string, typeof datasets>();
  for (const d of datasets) byRead.set(d.read_id, [...(byRead.get(d.read_id) ?? []), d]);
  return {
    slots: slots.map((s) => ({ ...s, next_due_ms: s.next_due_ms === null ? null : Number(s.next_due_ms) })),
    reads: reads.map((r) => ({
      company_id: r.company_id,
      connection_id: r.connection_id,
      initial: Number(r.initial),
      first_link: Number(r.first_link),
      pending: Number(r.pending),
      created_at: r.created_at,
      completed_at: r.completed_at,
      datasets: (byRead.get(r.read_id) ?? []).map((d) => ({
        company_id: d.company_id,
        data_type: d.data_type,
        status: d.status,
        error_message: d.error_message,
        progress: Number(d.progress),
        requested: d.requested,
        started: d.started,
        completed: d.completed,
        sync_order: Number(d.sync_order),
        settings: JSON.parse(d.settings),
        attempts: Number(d.attempts),
        id_is_uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(d.id),
      })),
    })),
    unreadDatasets: datasets.filter((d) => !reads.some((r) => r.read_id === d.read_id)).length,
    events: events.map((e) => {
      const data = JSON.parse(e.data);
      return { type: e.event_type, company: e.company_id, connection: e.connection_id, dataType: data.dataType, status: data.status, at: e.generated_at };
    }),
  };
}

const bound = (snap: Awaited<ReturnType<typeof snapshot>>, conn: string, type: string) =>
  snap.slots.find((s) => s.connection_id === conn && s.data_type === type)?.next_due_ms;

describe('scheduler batch: the PostgreSQL function and the in-process tick', () => {
  const stores: Record<string, TestStore> = {};
  const outcomes: Record<string, Awaited<ReturnType<typeof snapshot>>> = {};
  beforeAll(async () => {
    stores.sqlite = await openTestStore('sqlite');
    stores.postgres = await openTestStore('postgres');
    stores.postgresInProcess = await openTestStore('postgres');
    for (const s of Object.values(stores)) await seedFixture(s);
    await schedulerTick(deps(stores.sqlite!), OPTS); // SQLite: in process
    await schedulerTick(deps(stores.postgres!), OPTS); // PostgreSQL: syncline_schedule_due
    await schedulerTickInProcess(deps(stores.postgresInProcess!), OPTS);
    for (const [name, s] of Object.entries(stores)) outcomes[name] = await snapshot(s);
  });
  afterAll(async () => {
    for (const s of Object.values(stores)) await s.cleanup();
  });

  it('reach the same slots, reads, datasets and events', () => {
    expect(outcomes.postgres).toEqual(outcomes.sqlite);
    expect(outcomes.postgresInProcess).toEqual(outcomes.sqlite);
  });

  it.each(['sqlite', 'postgres'])('decide every case as the schedule rules say [%s]', (name) => {
    const snap = outcomes[name]!;
    const weekly = 168 * HOUR;
    const j = (conn: string, type: string, hours: number) => jitterMs(conn, type, hours);
    // due: queued, next bound = now + schedule − jitter
    for (const [conn, type] of [['conn-a', 'invoices'], ['conn-a', 'payments'], ['conn-a', 'items'], ['conn-g', 'invoices']] as const) {
      const hours = type === 'items' ? 24 : 168;
      expect(bound(snap, conn, type)).toBe(T + hours * HOUR - j(conn, type, hours));
    }
    expect(bound(snap, 'conn-a', 'customers')).toBe(T - DAY + weekly - j('conn-a', 'customers', 168)); // not yet due
    expect(bound(snap, 'conn-a', 'bills')).toBe(T + HOUR); // busy
    expect(bound(snap, 'conn-a', 'journals')).toBeNull(); // not read by the integration
    expect(bound(snap, 'conn-b', 'invoices')).toBe(T + HOUR - j('conn-b', 'invoices', 1)); // company override: hourly, due
    expect(bound(snap, 'conn-b', 'customers')).toBeNull(); // company override: 0
    expect(bound(snap, 'conn-b', 'items')).toBe(T - 2 * HOUR + DAY - j('conn-b', 'items', 24)); // locked profile entry wins
    expect(bound(snap, 'conn-c', 'invoices')).toBe(T + 5 * HOUR); // rate-limited
    expect(bound(snap, 'conn-d', 'invoices')).toBeNull(); // not linked
    expect(bound(snap, 'conn-f', 'invoices')).toBe(T + HOUR); // not claimed: its bound has not passed

    const reads = Object.fromEntries(snap.reads.map((r) => [r.connection_id, r]));
    expect(Object.keys(reads).sort()).toEqual(['conn-a', 'conn-b', 'conn-e', 'conn-g']);
    expect(reads['conn-a']!.datasets.map((d) => d.data_type)).toEqual(['items', 'payments', 'invoices'].sort((a, b) => defaultSetting(a as DataType).syncOrder - defaultSetting(b as DataType).syncOrder));
    expect(reads['conn-g']!.datasets.map((d) => d.data_type)).toEqual(['company', 'chartOfAccounts', 'customers', 'invoices']);
    expect(reads['conn-g']).toMatchObject({ company_id: 'co-g', initial: 0, first_link: 0, pending: 4, created_at: iso(T), completed_at: null });
    expect(reads['conn-g']!.datasets[0]).toEqual({
      company_id: 'co-g',
      data_type: 'company',
      status: 'Queued',
      error_message: null,
      progress: 0,
      requested: iso(T),
      started: null,
      completed: null,
      sync_order: defaultSetting('company').syncOrder,
      settings: defaultSetting('company'),
      attempts: 0,
      id_is_uuid: true,
    });
    expect(reads['conn-b']!.datasets.map((d) => [d.data_type, d.settings.syncSchedule])).toEqual([['invoices', 1]]);
    // an integration that is not enabled: the pull ends PrerequisiteNotMet at once, its read completes, its event is written
    expect(reads['conn-e']).toMatchObject({ pending: 0, completed_at: iso(T) });
    expect(reads['conn-e']!.datasets).toMatchObject([{ data_type: 'invoices', status: 'PrerequisiteNotMet', progress: 100, completed: iso(T) }]);
    expect(snap.events).toEqual([{ type: 'DataSyncStatusChangedToError', company: 'co-e', connection: 'conn-e', dataType: 'invoices', status: 'PrerequisiteNotMet', at: iso(T) }]);
    expect(snap.unreadDatasets).toBe(0);
  });

  it.each(['sqlite', 'postgres'])('a second tick at the same moment queues nothing more [%s]', async (name) => {
    const r = await schedulerTick(deps(stores[name]!), OPTS);
    expect(r.queued).toBe(0);
    expect((await snapshot(stores[name]!)).reads).toEqual(outcomes[name]!.reads);
  });
});

describe.each(DIALECTS)('scheduler batch safety [%s]', (dialect) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(dialect);
  });
  afterAll(async () => store.cleanup());

  it('a batch that fails part-way leaves no half-queued read and no moved slot', async () => {
    await seedFixture(store);
    const before = await snapshot(store);
    // The read of conn-g fails to insert: on PostgreSQL after the batch's datasets went in, in the same statement.
    if (dialect === 'postgres') {
      await sql.raw(`create function boom() returns trigger language plpgsql as $$ begin raise exception 'boom'; end $$;
        create trigger boom before insert on dataset_reads for each row when (new.connection_id = 'conn-g') execute function boom();`).execute(store.db);
    } else {
      await sql.raw(`create trigger boom before insert on dataset_reads when new.connection_id = 'conn-g' begin select raise(abort, 'boom'); end;`).execute(store.db);
    }
    await expect(schedulerTick(deps(store), OPTS)).rejects.toThrow(/boom/);
    expect(await snapshot(store)).toEqual(before);
    await sql.raw(dialect === 'postgres' ? 'drop trigger boom on dataset_reads' : 'drop trigger boom').execute(store.db);
    const r = await schedulerTick(deps(store), OPTS);
    expect(r.queued).toBe(9); // conn-a 3, conn-b 1, conn-e 1, conn-g 4
    expect((await snapshot(store)).reads.map((x) => [x.connection_id, x.datasets.length])).toEqual([
      ['conn-a', 3],
      ['conn-b', 1],
      ['conn-e', 1],
      ['conn-g', 4],
    ]);
  });

  it('ticks running at once queue every due slot exactly once', async () => {
    const now = T + 400 * DAY; // everything scheduled above is due again; 40 more connections too
    const created = iso(T);
    await store.db.insertInto('companies').values({ id: 'co-many', name: 'many', description: null, tags: '{}', created_at: created }).execute();
    for (let i = 0; i < 40; i++) {
      await store.db
        .insertInto('connections')
        .values({ id: `many-${i}`, company_id: 'co-many', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: created, updated_at: created, last_sync: null, linked_at: created } as never)
        .execute();
      await store.db
        .insertInto('schedule_slots')
        .values(['invoices', 'customers', 'bills', 'items', 'company'].map((t) => ({ connection_id: `many-${i}`, company_id: 'co-many', data_type: t, next_due_ms: T })))
        .execute();
    }
    // the pulls queued by the previous test ended
    await store.db.updateTable('datasets').set({ status: 'Complete', completed: iso(T + DAY) }).where('status', '=', 'Queued').execute();
    const before = await store.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n')).where('trigger', '=', 'schedule').executeTakeFirstOrThrow();
    const small = { ...OPTS, batchSize: 7 };
    const results = await Promise.all([0, 1, 2].map(() => schedulerTick(deps(store, now), small)));
    const queued = results.reduce((a, r) => a + r.queued, 0);
    const rows = await store.db
      .selectFrom('datasets')
      .select(['connection_id', 'data_type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('trigger', '=', 'schedule')
      .where('requested', '=', iso(now))
      .groupBy(['connection_id', 'data_type'])
      .execute();
    // conn-a 5 (journals is off), conn-b 2 (customers is off), conn-c 1 (its reset passed), conn-e 1, conn-f 1, conn-g 4,
    // and 40 × 5; conn-d is not linked
    expect(rows.length).toBe(5 + 2 + 1 + 1 + 1 + 4 + 200);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    expect(queued).toBe(rows.length);
    const after = await store.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n')).where('trigger', '=', 'schedule').executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(rows.length);
    // every read counts exactly its own datasets still to run (conn-e's ended at once)
    const reads = await store.db.selectFrom('dataset_reads').select(['read_id', 'pending']).where('created_at', '=', iso(now)).execute();
    expect(reads.length).toBeGreaterThanOrEqual(7);
    for (const r of reads) {
      const n = await store.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n')).where('read_id', '=', r.read_id).where('status', '=', 'Queued').executeTakeFirstOrThrow();
      expect(Number(r.pending)).toBe(Number(n.n));
    }
  });
});

describe.each(DIALECTS)('schedule slots without a company index (migration 0026) [%s]', (dialect) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(dialect);
    await seedFixture(store);
  });
  afterAll(async () => store.cleanup());

  it('the index is gone', async () => {
    const q =
      dialect === 'postgres'
        ? sql<{ name: string }>`select indexname as name from pg_indexes where tablename = 'schedule_slots'`
        : sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'schedule_slots'`;
    const names = (await q.execute(store.db)).rows.map((r) => r.name);
    expect(names).toContain('schedule_slots_due');
    expect(names).not.toContain('schedule_slots_company');
  });

  it("a company's settings change rechecks that company's slots, and only those", async () => {
    const before = await snapshot(store);
    const slots = new ScheduleSlotsRepository(store.db, store.dialect);
    await slots.recheck(T + 7, 'co-g');
    const after = await snapshot(store);
    for (const s of after.slots) {
      const was = before.slots.find((b) => b.connection_id === s.connection_id && b.data_type === s.data_type)!;
      expect(s.next_due_ms).toBe(s.connection_id === 'conn-g' ? T + 7 : was.next_due_ms);
    }
    await slots.recheck(T + 8);
    expect((await snapshot(store)).slots.every((s) => s.next_due_ms === T + 8)).toBe(true);
  });
});

/** Each slot's last_end_ms against its pair's history (PostgreSQL, 0035): the newest terminal `completed`, in ms. */
async function lastEndsAgainstHistory(store: Store) {
  const r = await sql<{ connection_id: string; data_type: string; slot: string | null; history: string | null }>`
    select s.connection_id, s.data_type, s.last_end_ms as slot,
           (select round(extract(epoch from max(x.completed)::timestamptz) * 1000)::bigint from datasets x
            where x.connection_id = s.connection_id and x.data_type = s.data_type and x.completed is not null
              and x.status not in ('Queued', 'Fetching', 'MapQueued', 'Mapping', 'ProcessingQueued', 'Processing', 'ValidationQueued', 'Validating')) as history
    from schedule_slots s order by 1, 2`.execute(store.db);
  return r.rows.map((x) => ({ pair: `${x.connection_id}|${x.data_type}`, slot: x.slot === null ? null : Number(x.slot), history: x.history === null ? null : Number(x.history) }));
}

describe("a slot's last end follows every way a pull ends (migration 0035): the function and the in-process tick agree", () => {
  const stores: Record<string, TestStore> = {};
  const outcomes: Record<string, Awaited<ReturnType<typeof snapshot>>> = {};
  const types = ['invoices', 'bills', 'customers', 'items', 'payments', 'suppliers'] as const;
  beforeAll(async () => {
    stores.sqlite = await openTestStore('sqlite');
    stores.postgres = await openTestStore('postgres');
    for (const store of Object.values(stores)) {
      const db = store.db;
      const created = iso(T - 60 * DAY);
      await db.insertInto('companies').values({ id: 'co-z', name: 'z', description: null, tags: '{}', created_at: created }).execute();
      await db
        .insertInto('connections')
        .values({ id: 'conn-z', company_id: 'co-z', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: created, updated_at: created, last_sync: null, linked_at: iso(T - 30 * DAY) } as never)
        .execute();
      const slots = new ScheduleSlotsRepository(db, store.dialect);
      await slots.initForConnection(db, { id: 'conn-z', company_id: 'co-z' }, types.filter((t) => t !== 'items'), T - 40 * DAY);
      const datasets = new DatasetsRepository(db, store.dialect);
      const queue = (type: string, requested: number) =>
        datasets.insertUnlessBusy({
          id: `z-${type}-${requested}`, company_id: 'co-z', connection_id: 'conn-z', data_type: type, status: 'Queued', progress: 0,
          requested: iso(requested), read_id: `z-read-${type}`, trigger: 'refresh', sync_order: 1, settings: '{}', attempts: 0,
        } as never);
      const claimed = async () => (await datasets.claim({ workerId: 'w', now: iso(T - 20 * DAY), leaseExpires: iso(T + DAY), maxPerConnection: {} }))!;
      const ended = (type: string, status: string, completed: number) =>
        db.insertInto('datasets').values({
          id: `z-${type}-ended-${completed}`, company_id: 'co-z', connection_id: 'conn-z', data_type: type, status, progress: 100,
          requested: iso(completed - HOUR), completed: iso(completed), read_id: 'z-old', trigger: 'refresh', sync_order: 1, settings: '{}', attempts: 1,
        } as never).execute();
      // invoices: a worker claims the pull and finishes it (Complete, 8 days ago): due now
      await queue('invoices', T - 9 * DAY);
      let d = await claimed();
      await datasets.finish(d.id, 'w', 'Complete', iso(T - 8 * DAY));
      // bills: a pull that merged nothing ends through the one-statement completion (FetchError, 2 days ago): not due
      await queue('bills', T - 9 * DAY);
      d = await claimed();
      await datasets.finishUnmerged(d.id, 'w', 'FetchError', iso(T - 2 * DAY));
      // customers: a queued pull cancelled with its connection's pulls (3 days ago): not due
      await queue('customers', T - 9 * DAY);
      await datasets.endInProgressForConnection('conn-z', 'Cancelled', 'unlinked', iso(T - 3 * DAY));
      // items: pulled on demand (8 days ago) before the type had a slot; the slot comes later (a re-link): due now
      await ended('items', 'Complete', T - 8 * DAY);
      await slots.initForConnection(db, { id: 'conn-z', company_id: 'co-z' }, ['items'], T - 40 * DAY);
      // payments: the newest pull ended 2 days ago; an older one written after it does not move the end back: not due
      await ended('payments', 'Complete', T - 2 * DAY);
      await ended('payments', 'FetchError', T - 9 * DAY);
      // suppliers: never pulled: due from the link (30 days ago)
      await db.updateTable('schedule_slots').set({ next_due_ms: T - 60_000 }).execute();
      await schedulerTick(deps(store), OPTS);
      outcomes[store.dialect] = await snapshot(store);
    }
  });
  afterAll(async () => {
    for (const s of Object.values(stores)) await s.cleanup();
  });

  it('each slot holds its pair\'s newest terminal end [postgres]', async () => {
    const rows = await lastEndsAgainstHistory(stores.postgres!);
    expect(rows.length).toBe(types.length);
    for (const r of rows) expect(r.slot, r.pair).toBe(r.history);
    // the pulls the tick just queued are in progress: they changed nothing yet
    expect(rows.find((r) => r.pair === 'conn-z|invoices')!.slot).toBe(T - 8 * DAY);
  });

  it('reach the same slots, reads and datasets, as the rules say', () => {
    expect(outcomes.postgres).toEqual(outcomes.sqlite);
    const snap = outcomes.postgres!;
    const h = (t: DataType) => defaultSetting(t).syncSchedule;
    const next = (t: DataType, end: number) => end + h(t) * HOUR - jitterMs('conn-z', t, h(t));
    expect(bound(snap, 'conn-z', 'bills')).toBe(next('bills', T - 2 * DAY));
    expect(bound(snap, 'conn-z', 'customers')).toBe(next('customers', T - 3 * DAY));
    expect(bound(snap, 'conn-z', 'payments')).toBe(next('payments', T - 2 * DAY));
    for (const t of ['invoices', 'items', 'suppliers'] as const) expect(bound(snap, 'conn-z', t)).toBe(next(t, T));
    expect(snap.reads.map((r) => r.datasets.map((x) => x.data_type).sort())).toEqual([['invoices', 'items', 'suppliers']]);
  });
});

describe.each(DIALECTS)('upgrading a database with slots and past pulls to 0035 [%s]', (dialect) => {
  it("fills each slot's last end from its history, and the tick decides every case as before", async () => {
    const reference = await openTestStore('sqlite');
    const { store, drop } = await databaseWithout(dialect, ['0035-schedule-slot-last-end']);
    try {
      await seedFixture(reference);
      await schedulerTickInProcess(deps(reference), OPTS);
      await seedFixture(store); // slots and history written before the migration
      await migrateToLatest(store);
      if (dialect === 'postgres') {
        const rows = await lastEndsAgainstHistory(store);
        expect(rows.filter((r) => r.history !== null).length).toBeGreaterThan(10);
        for (const r of rows) expect(r.slot, r.pair).toBe(r.history);
      }
      await schedulerTick(deps(store), OPTS);
      expect(await snapshot(store)).toEqual(await snapshot(reference));
    } finally {
      await store.close();
      await drop();
      await reference.cleanup();
    }
  });
});

describe('scheduler batch plans [postgres]', () => {
  let store: TestStore;
  const now = iso(T);
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => store.cleanup());

  const load = () =>
    sql
      .raw(
        `insert into companies (id, name, description, tags, created_at) select 'co-' || i, 'Co', null, '{}', '${now}' from generate_series(1, 3000) s(i);
         insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync, linked_at)
           select 'conn-' || i, 'co-' || i, 'mqjo', 'Linked', null, null, null, '${now}', '${now}', null, '${now}' from generate_series(1, 3000) s(i);
         insert into company_sync_settings (company_id, overrides_defaults, settings) select 'co-' || i, 1, '[]' from generate_series(1, 3000) s(i);
         insert into schedule_slots (connection_id, data_type, company_id, next_due_ms)
           select 'conn-' || i, t, 'co-' || i, ${T} + i * 1000 from generate_series(1, 3000) s(i), unnest(array['invoices', 'bills', 'items']) t;
         insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, completed, read_id, trigger, sync_order, settings, attempts)
           select 'ds-' || i || t, 'co-' || i, 'conn-' || i, t, 'Complete', 100, '${now}', '${now}', 'r', 'refresh', 1, '{}', 1
           from generate_series(1, 3000) s(i), unnest(array['invoices', 'bills', 'items']) t;`,
      )
      .execute(store.db);

  it('the function keeps one generic plan for the session, with scans of whole tables and JIT off', async () => {
    const fn = await sql<{ proconfig: string[] | null; lanname: string }>`
      select p.proconfig, l.lanname from pg_proc p join pg_language l on l.oid = p.prolang where p.proname = 'syncline_schedule_due'`.execute(store.db);
    expect(fn.rows).toEqual([{ proconfig: ['plan_cache_mode=force_generic_plan', 'enable_seqscan=off', 'enable_bitmapscan=off', 'jit=off'], lanname: 'plpgsql' }]);
  });

  // The generic plan is made at a session's first call from whatever statistics exist then, and kept.
  it.each([
    ['empty tables, never analyzed', async () => {}],
    ['empty tables, analyzed', () => sql`analyze`.execute(store.db)],
    ['3,000 connections, analyzed', async () => (await load(), await sql`analyze`.execute(store.db))],
  ])('every step reads its tables by key: %s', async (_state, prepareState) => {
    await prepareState();
    const claim = await genericPlan(store, `prepare p(bigint, int, int) as ${DUE_SLOTS_SQL}`, `execute p(${T + 600_000}, 0, 2000)`);
    expect(claim).toContain('schedule_slots_due');
    expect(claim).not.toMatch(/Seq Scan|Bitmap|Sort/);

    const conns = Array.from({ length: 500 }, (_, i) => `conn-${i + 1}`);
    const arr = (xs: string[]) => `'{${xs.map((x) => `"${x}"`).join(',')}}'`;
    const conn = await genericPlan(store, `prepare u(text, text, text, text, text, text, text, text, text[], text, text[]) as ${CONNS_SQL}`, `execute u('', '', '', '', '', '', '', '', ${arr(conns)}, '', ${arr(conns.map((c) => c.replace('conn', 'co')))})`);
    expect(conn).toMatch(/Index Scan using (connections_pkey on connections[^\n]*\n\s*Index Cond: \(id = |connections_company_idx on connections[^\n]*\n\s*Index Cond: \(\(company_id = )/);
    expect(conn).not.toMatch(/Seq Scan|Bitmap/);
    const plan = await genericPlan(
      store,
      `prepare b(bigint, text, int, jsonb, text[], text[], text[], text[], text[], text[], text[], tid[], bigint[], text[], text[], text[], text[], text[]) as ${SCHEDULE_BATCH_SQL}`,
      `execute b(${T}, '${now}', 500, '${JSON.stringify(DATA_TYPES.map(defaultSetting))}', ${arr([...DATA_TYPES])}, '{mqjo}',
                 ${arr(DATA_TYPES.map((t) => `mqjo|${t}`))}, '{mqjo}', ${arr(conns)}, ${arr(conns.map(() => 'invoices'))},
                 ${arr(conns.map((c) => c.replace('conn', 'co')))}, ${arr(conns.map((_, i) => `(${i},1)`))}, '{${conns.map(() => T - 8 * DAY).join(',')}}',
                 ${arr(conns)}, ${arr(conns.map(() => 'mqjo'))}, ${arr(conns.map(() => 'Linked'))}, ${arr(conns.map(() => ''))}, ${arr(conns.map(() => now))})`,
    );
    expect(plan).not.toMatch(/Seq Scan|Bitmap/);
    // 0035: no walk of the pair's history — one probe of the partial index of datasets in progress per slot
    expect(plan).not.toContain('datasets_conn_type_seq');
    expect(plan).toMatch(/Index (Only )?Scan using datasets_one_in_progress on datasets[^\n]*\n\s*Index Cond: \(\(connection_id = /);
    expect(plan).not.toMatch(/hashed SubPlan/);
    expect(plan).not.toMatch(/on connections/); // the function looked them up once (CONNS_SQL)
    expect(plan).toMatch(/Index Scan using company_sync_settings_pkey on company_sync_settings[^\n]*\n\s*Index Cond: \(company_id = /);
    expect(plan).toMatch(/Tid Scan on schedule_slots/);
    expect(plan).not.toContain('JIT');
  });
});

/** EXPLAIN of a prepared statement's generic plan, under the function's own settings. */
async function genericPlan(store: TestStore, prepare: string, execute: string): Promise<string> {
  return store.db.transaction().execute(async (trx) => {
    for (const set of ['plan_cache_mode = force_generic_plan', 'enable_seqscan = off', 'enable_bitmapscan = off', 'jit = off']) await sql.raw(`set local ${set}`).execute(trx);
    await sql.raw(prepare).execute(trx);
    const r = await sql.raw<{ 'QUERY PLAN': string }>(`explain ${execute}`).execute(trx);
    await sql.raw(`deallocate ${prepare.split(/\s|\(/)[1]}`).execute(trx);
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  });
}
