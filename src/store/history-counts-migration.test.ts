import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { databaseWithout, DIALECTS } from '../../test/support/stores.js';
import { migrateToLatest, type Dialect, type Store } from './db.js';
import { asOfKeptCounts, asOfRecords, keptCountsOf } from './history.repository.js';

/**
 * Migration 0028 on a database that already kept history (written here as migrations 0014–0023 left it, one pair with
 * a history floor from pruning): the counts as of every instant it backfills equal a plain count of the asOf view, and
 * on SQLite the rebuilt filter indexes get statistics back (without them a plain first page sorted every id).
 */
describe.each(DIALECTS)('migration 0028 on kept history [%s]', (dialect: Dialect) => {
  let store: Store;
  let drop: () => Promise<void>;
  const t0 = Date.UTC(2026, 0, 1);
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
  const A = 'c-a';
  const B = 'c-b';

  beforeAll(async () => {
    ({ store, drop } = await databaseWithout(dialect, ['0028-history-counts']));

    const json = (v: unknown) => (dialect === 'postgres' ? sql`${JSON.stringify(v)}::jsonb` : JSON.stringify(v));
    const now = at(0);
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    for (const id of [A, B]) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
    const records: unknown[] = [];
    const changes: unknown[] = [];
    const doc = (i: number, v: number) => ({ id: `r-${i}`, status: v ? 'Void' : 'Paid' });
    type St = { v: number; modified: string; deleted: boolean };
    const change = (conn: string, i: number, kind: string, committed: string, prev: St | undefined) => ({
      connection_id: conn,
      data_type: 'invoices',
      record_id: `r-${i}`,
      dataset_id: null,
      committed_at: committed,
      kind,
      content_hash: 'h',
      source_modified_date: null,
      prev_data: prev ? json(doc(i, prev.v)) : null,
      prev_content_hash: prev ? 'h' : null,
      prev_modified_date: prev ? prev.modified : null,
      prev_source_modified_date: null,
      prev_is_deleted: prev ? (prev.deleted ? 1 : 0) : null,
    });
    const record = (conn: string, i: number, s: St) => ({ connection_id: conn, data_type: 'invoices', record_id: `r-${i}`, data: json(doc(i, s.v)), content_hash: 'h', modified_date: s.modified, source_modified_date: null, is_deleted: s.deleted ? 1 : 0 });
    // A: r-0, r-1 stored deleted before history (baseline `deleted` changes at minute 5); r-2…r-31 added at minute
    // 10 + i; every third edited at 50 + i, every fifth deleted at 90 + i, r-5 restored at 130.
    for (const i of [0, 1]) {
      records.push(record(A, i, { v: 0, modified: at(5), deleted: true }));
      changes.push(change(A, i, 'deleted', at(5), undefined));
    }
    for (let i = 2; i < 32; i++) {
      let s: St = { v: 0, modified: at(10 + i), deleted: false };
      changes.push(change(A, i, 'added', s.modified, undefined));
      if (i % 3 === 0) {
        changes.push(change(A, i, 'updated', at(50 + i), s));
        s = { v: 1, modified: at(50 + i), deleted: false };
      }
      if (i % 5 === 0) {
        changes.push(change(A, i, 'deleted', at(90 + i), s));
        s = { ...s, modified: at(90 + i), deleted: true };
      }
      if (i === 5) {
        changes.push(change(A, i, 'undeleted', at(130), s));
        s = { ...s, modified: at(130), deleted: false };
      }
      records.push(record(A, i, s));
    }
    // B: history pruned up to minute 20 (floor): r-0…r-9 stored by then, r-3 deleted at 15; r-10…r-14 added at 30 + i.
    for (let i = 0; i < 15; i++) {
      const s = i < 10 ? { v: 0, modified: at(i === 3 ? 15 : 1 + i), deleted: i === 3 } : { v: 0, modified: at(30 + i), deleted: false };
      records.push(record(B, i, s));
      if (i >= 10) changes.push(change(B, i, 'added', s.modified, undefined));
    }
    (changes as { committed_at: string }[]).sort((a, b) => a.committed_at.localeCompare(b.committed_at));
    await store.db.insertInto('records').values(records as never).execute();
    await store.db.insertInto('record_changes').values(changes as never).execute();
    await store.db.insertInto('history_floors').values({ connection_id: B, data_type: 'invoices', floor_at: at(20), floor_seq: 1 }).execute();
    await sql`insert into record_counts (connection_id, data_type, total, deleted, generation)
              select connection_id, data_type, count(*), sum(is_deleted), 3 from records group by connection_id, data_type`.execute(store.db);
    await sql.raw(dialect === 'postgres' ? 'analyze' : 'analyze').execute(store.db);
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.db.destroy();
    await drop?.();
  });

  it('backfills counts as of every instant equal to a plain count of the asOf view, from the floor on', async () => {
    const direct = async (conn: string, T: string, deleted?: boolean) => {
      let q = store.db.selectFrom(asOfRecords(store.db as never, conn, 'invoices', T)).select((eb) => eb.fn.countAll<number>().as('n'));
      if (deleted !== undefined) q = q.where('is_deleted', '=', deleted ? 1 : 0);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    for (const [conn, instants] of [
      [A, [5, 6, 10, 12, 20, 41, 52, 60, 81, 95, 100, 121, 130, 200]],
      [B, [20, 25, 40, 41, 43, 44, 45, 90]],
    ] as const) {
      for (const m of instants) {
        const T = at(m);
        const kept = keptCountsOf(await asOfKeptCounts(store.db as never, conn, 'invoices', T).executeTakeFirstOrThrow());
        expect({ conn, T, kept }).toEqual({ conn, T, kept: { total: await direct(conn, T), deleted: await direct(conn, T, true) } });
      }
    }
    // Before A's first change nothing was stored: the first row says so.
    expect(keptCountsOf(await asOfKeptCounts(store.db as never, A, 'invoices', at(4)).executeTakeFirstOrThrow())).toEqual({ total: 0, deleted: 0 });
    // B's floor has its row, and nothing older is kept.
    const rowsB = await store.db.selectFrom('record_counts_at').select(['committed_at', 'total', 'deleted']).where('connection_id', '=', B).orderBy('committed_at').execute();
    expect(rowsB[0]).toMatchObject({ committed_at: at(20), total: 10, deleted: 1 });
  });

  it.runIf(dialect === 'sqlite')('gives the rebuilt filter indexes statistics back, so a plain first page walks the primary key', async () => {
    const stats = await sql<{ idx: string }>`select idx from sqlite_stat1 where idx in ('records_status', 'records_customer_ref', 'records_supplier_ref')`.execute(store.db);
    expect(stats.rows.map((r) => r.idx).sort()).toEqual(['records_customer_ref', 'records_status', 'records_supplier_ref']);
    const plan = await sql<{ detail: string }>`explain query plan select record_id from records where connection_id = ${A} and data_type = 'invoices' order by record_id limit 100`.execute(store.db);
    const text = plan.rows.map((r) => r.detail).join('\n');
    expect(text).toContain('sqlite_autoindex_records_1');
    expect(text).not.toContain('TEMP B-TREE');
  });
});
