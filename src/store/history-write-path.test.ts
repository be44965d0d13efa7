import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { databaseWithout, DIALECTS } from '../../test/support/stores.js';
import { migrateToLatest, type Dialect, type Store } from './db.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';

/**
 * Record history's write path (issue 16, cost): the merge finds the records it rewrites once (the statistics pass) and
 * records their previous states from those ids; PostgreSQL records adds from the rows its upsert returns; migration
 * 0032 replaces record_changes' foreign key with a trigger on PostgreSQL. Checked on a database that kept history
 * before 0032: every change of a merge that mixes every kind is recorded once, with the exact previous state, in seq
 * order (rewrites, then adds, then deletions), and deleting a connection or a company still removes its history.
 */
describe.each(DIALECTS)('history write path [%s]', (dialect: Dialect) => {
  let store: Store;
  let drop: () => Promise<void>;
  let repo: RecordsRepository;
  let pull = 0;
  const t0 = Date.UTC(2026, 0, 1);
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
  const id = (i: number) => `r-${String(i).padStart(3, '0')}`;
  const doc = (i: number, v = 0) => ({ id: id(i), status: v ? 'Void' : 'Paid', amount: i * 10 + v });

  async function merge(conn: string, now: string, records: StagedRecord[], fullListing = false) {
    const ds = `ds-${++pull}`;
    await repo.stage(ds, records);
    const r = await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now, fullListing }));
    return { ds, ...r };
  }
  const live = (i: number, v = 0): StagedRecord => ({ id: id(i), data: doc(i, v), sourceModifiedDate: null, deleted: false });
  const gone = (i: number): StagedRecord => ({ id: id(i), data: doc(i), sourceModifiedDate: null, deleted: true });
  const changesOf = async (ds: string) =>
    (await store.db.selectFrom('record_changes').selectAll().where('dataset_id', '=', ds).orderBy('seq').execute()).map((c) => ({
      id: c.record_id,
      kind: c.kind,
      prev: c.prev_data === null ? null : typeof c.prev_data === 'string' ? JSON.parse(c.prev_data) : c.prev_data,
      prevDeleted: c.prev_is_deleted,
      prevModified: c.prev_modified_date,
    }));
  const countOf = async (conn: string) =>
    Number((await store.db.selectFrom('record_changes').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', conn).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    // Every migration before 0032, history kept by merges of the code as it is, then 0032 on top.
    ({ store, drop } = await databaseWithout(dialect, ['0032-history-write-path']));
    repo = new RecordsRepository(store.db, dialect);
    const now = at(0);
    for (const co of ['co-1', 'co-2']) await store.db.insertInto('companies').values({ id: co, name: co, description: null, tags: '{}', created_at: now }).execute();
    for (const [conn, co] of [['c-a', 'co-1'], ['c-b', 'co-1'], ['c-c', 'co-2']] as const) {
      await store.db
        .insertInto('connections')
        .values({ id: conn, company_id: co, integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
    for (const conn of ['c-a', 'c-b', 'c-c']) await merge(conn, at(1), [0, 1, 2, 3].map((i) => live(i)));
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it('records every kind of change of one merge once, with the previous state, rewrites first, then adds, then deletions', async () => {
    const conn = 'c-a';
    // Pull 2: 1 and 2 change, 3 is reported deleted, 0 is unchanged, 4 and 5 are new.
    const p2 = await merge(conn, at(2), [live(0), live(1, 1), live(2, 2), gone(3), live(4), live(5)]);
    expect({ added: p2.added, updated: p2.updated, deleted: p2.deleted }).toEqual({ added: 2, updated: 2, deleted: 1 });
    expect(await changesOf(p2.ds)).toEqual([
      { id: id(1), kind: 'updated', prev: doc(1), prevDeleted: 0, prevModified: at(1) },
      { id: id(2), kind: 'updated', prev: doc(2), prevDeleted: 0, prevModified: at(1) },
      { id: id(4), kind: 'added', prev: null, prevDeleted: null, prevModified: null },
      { id: id(5), kind: 'added', prev: null, prevDeleted: null, prevModified: null },
      { id: id(3), kind: 'deleted', prev: doc(3), prevDeleted: 0, prevModified: at(1) },
    ]);
    // Pull 3, a full listing: 3 comes back unchanged (restored), 2 changes again, 6 is new, 0 and 5 are not listed.
    const p3 = await merge(conn, at(3), [live(1, 1), live(2, 3), live(3), live(4), live(6)], true);
    expect({ added: p3.added, updated: p3.updated, deleted: p3.deleted }).toEqual({ added: 1, updated: 2, deleted: 2 });
    expect(await changesOf(p3.ds)).toEqual([
      { id: id(2), kind: 'updated', prev: doc(2, 2), prevDeleted: 0, prevModified: at(2) },
      { id: id(3), kind: 'undeleted', prev: doc(3), prevDeleted: 1, prevModified: at(2) },
      { id: id(6), kind: 'added', prev: null, prevDeleted: null, prevModified: null },
      { id: id(0), kind: 'deleted', prev: doc(0), prevDeleted: 0, prevModified: at(1) },
      { id: id(5), kind: 'deleted', prev: doc(5), prevDeleted: 0, prevModified: at(2) },
    ]);
    // A pull that changes nothing records nothing; one that only rewrites records no adds.
    const p4 = await merge(conn, at(4), [live(1, 1), live(2, 3), live(3), live(4), live(6)]);
    expect(p4.history).toBeUndefined();
    expect(await changesOf(p4.ds)).toEqual([]);
    const p5 = await merge(conn, at(5), [live(4, 5), live(6, 5)]);
    expect((await changesOf(p5.ds)).map((c) => [c.id, c.kind])).toEqual([
      [id(4), 'updated'],
      [id(6), 'updated'],
    ]);
    // The pull's seq range covers exactly its changes.
    const pulls = await store.db.selectFrom('history_pulls').selectAll().where('dataset_id', 'in', [p2.ds, p3.ds]).orderBy('first_seq').execute();
    expect(pulls.map((p) => Number(p.last_seq) - Number(p.first_seq) + 1)).toEqual([5, 5]);
  });

  it('gives a merge\'s rewrites their seq in record id order (byte order), however they were staged', async () => {
    // Staged in a shuffled order over several pages, ids of mixed case and length (byte order is neither numeric nor
    // case-blind), every one then changed: the history insert takes its seq from the ids' order, not from a sort of
    // the joined rows, and no plan may reorder them.
    const conn = 'c-order';
    await store.db
      .insertInto('connections')
      .values({ id: conn, company_id: 'co-2', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: at(0), updated_at: at(0), last_sync: null })
      .execute();
    const n = 1500;
    const ids = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `Inv-${i}` : i % 3 === 1 ? `inv-${i * 7}` : `${i}`));
    let seed = 7;
    const shuffled = () => {
      const a = [...ids];
      for (let i = a.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const j = seed % (i + 1);
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    };
    const page = (order: string[], v: number) => order.map((rid): StagedRecord => ({ id: rid, data: { id: rid, amount: v }, sourceModifiedDate: null, deleted: false }));
    const stageShuffled = async (ds: string, v: number) => {
      const order = page(shuffled(), v);
      for (let from = 0; from < order.length; from += 400) await repo.stage(ds, order.slice(from, from + 400));
    };
    for (const v of [1, 2]) {
      const ds = `ds-order-${v}`;
      await stageShuffled(ds, v);
      const r = await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now: at(10 + v), fullListing: false }));
      expect(v === 1 ? r.added : r.updated).toBe(n);
      const got = (await changesOf(ds)).map((c) => c.id);
      const bytes = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(got).toEqual(bytes);
      if (v === 2) expect((await changesOf(ds)).every((c) => c.kind === 'updated' && (c.prev as { amount: number }).amount === 1)).toBe(true);
    }
    // A few of the pair changed (PostgreSQL probes per id then, instead of its planner's join): the same order.
    const few = shuffled().slice(0, 120);
    const ds = 'ds-order-few';
    await repo.stage(ds, page(few.slice(0, 60), 3));
    await repo.stage(ds, page(few.slice(60), 3));
    const r = await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now: at(13), fullListing: false }));
    expect(r.updated).toBe(few.length);
    const changes = await changesOf(ds);
    expect(changes.map((c) => c.id)).toEqual([...few].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(changes.every((c) => c.kind === 'updated' && (c.prev as { amount: number }).amount === 2)).toBe(true);
  });

  it('keeps the history kept before the migration, and deleting a connection or a company still removes its history', async () => {
    if (dialect === 'postgres') {
      const fks = await sql<{ n: number }>`select count(*)::int as n from pg_constraint where conrelid = 'record_changes'::regclass and contype = 'f'`.execute(store.db);
      expect(fks.rows[0]!.n).toBe(0);
    }
    expect(await countOf('c-b')).toBe(4); // the adds of the merge before 0032
    expect(await countOf('c-c')).toBe(4);
    expect(await countOf('c-a')).toBeGreaterThan(4);
    await store.db.deleteFrom('connections').where('id', '=', 'c-a').execute();
    expect(await countOf('c-a')).toBe(0);
    expect(await countOf('c-b')).toBe(4);
    // A company's deletion cascades to its connections, and from them to their history.
    await store.db.deleteFrom('companies').where('id', '=', 'co-1').execute();
    expect(await countOf('c-b')).toBe(0);
    expect(await countOf('c-c')).toBe(4);
    // The connection that remains still records.
    const p = await merge('c-c', at(6), [live(0, 1), live(7)]);
    expect((await changesOf(p.ds)).map((c) => [c.id, c.kind])).toEqual([
      [id(0), 'updated'],
      [id(7), 'added'],
    ]);
  });
});
