import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase } from '../../test/support/stores.js';
import { openStore, type Store } from './db.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';
import { refreshRecordStats } from './records-stats.js';

/**
 * How much `run` adds to a counter of a table's indexes (pg_stat_user_indexes), summed over them. The counters of the
 * session are flushed on demand, so the store must run `run` and this on one connection (poolSize 1).
 */
async function indexCounterDelta(store: Store, table: string, counter: 'idx_scan' | 'idx_tup_read', run: () => Promise<unknown>): Promise<number> {
  const read = async () => {
    await sql`select pg_stat_force_next_flush()`.execute(store.db);
    await sql`select pg_stat_clear_snapshot()`.execute(store.db);
    const r = await sql<{ n: string }>`select coalesce(sum(${sql.ref(counter)}), 0)::text as n from pg_stat_user_indexes where relname = ${table}`.execute(store.db);
    return Number(r.rows[0]?.n ?? 0);
  };
  const before = await read();
  await run();
  return (await read()) - before;
}

/**
 * PostgreSQL: after a merge that (at least) doubles a pair, the planner's statistics of `records` are refreshed, so the
 * pair's next merge is planned knowing its size. Found by the end-to-end history bench: a connection's first pull of
 * 50,000 invoices, then an update of 5,000 — autovacuum had not analyzed `records` since the connection appeared, the
 * planner took the pair for one row and joined staging to it by rescanning the whole pair for each staged row (125 M
 * rows for 5,000 staged: a 149 s merge, with the dataset's heartbeats queued behind it). Here: the statistics know
 * connection A only; B's first merge adds its records; its next merge's statistics pass must read each staged record
 * through the primary key, not rescan the pair.
 */
describe('records statistics after a pair grows [postgres]', () => {
  let store: Store;
  let drop: () => Promise<void>;
  let repo: RecordsRepository;
  let pull = 0;
  const doc = (i: number, v: number) => ({ id: `inv-${i}`, status: v % 2 ? 'Void' : 'Paid', amount: i + v, supplierRef: { id: `s-${i % 3}` }, customerRef: { id: `c-${i % 5}` } });
  const live = (i: number, v = 0): StagedRecord => ({ id: `inv-${i}`, data: doc(i, v), sourceModifiedDate: null, deleted: false });
  const range = (n: number) => Array.from({ length: n }, (_, k) => k);

  async function merge(conn: string, records: StagedRecord[]) {
    const ds = `ds-${++pull}`;
    await repo.stage(ds, records);
    const now = new Date(Date.UTC(2026, 0, 1, 0, pull)).toISOString();
    return { ds, counts: await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now, fullListing: false })) };
  }
  /** Index tuples of `records` the statements of `run` read (the statistics pass's join shows there). */
  const recordsTuplesRead = (run: () => Promise<unknown>) => indexCounterDelta(store, 'records', 'idx_tup_read', run);

  beforeAll(async () => {
    const db = await createTestDatabase('postgres');
    drop = db.drop;
    // One connection: the merges and the statistics read below run in one session, whose counters are flushed on demand.
    store = openStore({ databaseUrl: db.location, poolSize: 1 });
    repo = new RecordsRepository(store.db, 'postgres');
    await seedLinkedConnections(store.db, { companyId: 'co-1', connectionIds: ['c-a', 'c-b'], at: '2026-01-01T00:00:00.000Z' });
    await merge('c-a', range(3000).map((i) => live(i)));
    // As autovacuum leaves them between pulls: records known for A only, staging analyzed while empty.
    await sql`analyze records`.execute(store.db);
    await sql`analyze record_staging`.execute(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it("refreshes them after a merge that doubles a pair, so the pair's next merge probes each staged record", async () => {
    const first = await merge('c-b', range(3000).map((i) => live(i)));
    expect(first.counts.added).toBe(3000);
    await refreshRecordStats(store.db, 'postgres', { added: first.counts.added, liveBefore: 0 });
    // 300 changed of 3,000: probing reads ~300 index entries (plus the upsert's conflict checks); rescanning the pair
    // for each staged row reads 300 × 3,000.
    const read = await recordsTuplesRead(() => merge('c-b', range(300).map((i) => live(i * 10, 1))));
    expect(read).toBeLessThan(20_000);
  });

  it('leaves them alone after a merge that grows a pair by less than its size, and on SQLite', async () => {
    await expect(refreshRecordStats(store.db, 'postgres', { added: 999, liveBefore: 0 })).resolves.toBe(false);
    await expect(refreshRecordStats(store.db, 'postgres', { added: 5000, liveBefore: 6000 })).resolves.toBe(false);
    await expect(refreshRecordStats(store.db, 'sqlite', { added: 5000, liveBefore: 0 })).resolves.toBe(false);
    await expect(refreshRecordStats(store.db, 'postgres', { added: 5000, liveBefore: 4000 })).resolves.toBe(true);
  });
});

/**
 * PostgreSQL: the history insert of an update that changes a few of a pair's records probes staging and records once per
 * changed id, whatever the planner knows. Left to the planner, a pair it has no statistics for (nothing analyzed yet:
 * it takes the pair for a handful of rows) was read whole, each of its records probing staging — 50,000 probes for
 * 5,000 changes in the history bench's profile (docs/benchmarks.md, history).
 */
describe('history of a few changes, statistics unknown [postgres]', () => {
  let store: Store;
  let drop: () => Promise<void>;
  let repo: RecordsRepository;
  // Documents of an invoice's size (~1.5 KB), so the tables span as many pages as real ones: the planner's choice
  // follows the pages (with 30-byte documents it chose well even unknowing).
  const pad = 'x'.repeat(1500);
  const live = (i: number, v = 0): StagedRecord => ({ id: `inv-${i}`, data: { id: `inv-${i}`, amount: i + v, note: pad }, sourceModifiedDate: null, deleted: false });

  beforeAll(async () => {
    const db = await createTestDatabase('postgres');
    drop = db.drop;
    store = openStore({ databaseUrl: db.location, poolSize: 1 });
    repo = new RecordsRepository(store.db, 'postgres');
    await seedLinkedConnections(store.db, { companyId: 'co-1', connectionIds: ['c-a'], at: '2026-01-01T00:00:00.000Z' });
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it('probes staging once per changed id, not once per record of the pair', async () => {
    const n = 6000;
    const merge = async (ds: string, records: StagedRecord[], now: string) => {
      for (let from = 0; from < records.length; from += 1000) await repo.stage(ds, records.slice(from, from + 1000));
      return store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: 'c-a', dataType: 'invoices', now, fullListing: false }));
    };
    await merge('ds-1', Array.from({ length: n }, (_, i) => live(i)), '2026-01-01T00:01:00.000Z');
    const changed = Array.from({ length: n / 20 }, (_, k) => live(k * 20, 1));
    await repo.stage('ds-2', changed);
    let counts!: { updated: number };
    const probes = await indexCounterDelta(store, 'record_staging', 'idx_scan', async () => {
      counts = await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: 'ds-2', connectionId: 'c-a', dataType: 'invoices', now: '2026-01-01T00:02:00.000Z', fullListing: false }));
    });
    expect(counts.updated).toBe(n / 20);
    const recorded = await sql<{ n: string }>`select count(*)::text as n from record_changes where dataset_id = 'ds-2' and kind = 'updated'`.execute(store.db);
    expect(Number(recorded.rows[0]!.n)).toBe(n / 20);
    // 300 changed: the statistics pass, the history insert and the upsert probe per staged row (≈ 300); the planner's
    // own join probed staging once per record of the pair (6,003 measured).
    expect(probes).toBeLessThan(n / 4);
  });
});
