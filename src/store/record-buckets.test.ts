import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { recordEntity } from '../api/query-entities.js';
import { RequestValidationError } from '../domain/errors.js';
import { compileListQuery } from '../query/index.js';
import { RecordsRepository, UNINDEXED_ORDER_MAX, type StagedRecord } from './records.repository.js';
import { mergedPull, offsetOracle } from '../../test/support/merges.js';

/**
 * Issue 17 (reads, deep pages): the record buckets (record-buckets.ts, migration 0031) stay exact through every kind
 * of merge — adds spread out and concentrated in one range (a bucket cut again), before the first and after the last
 * id, flagged and unlisted deletions, restores, a rolled-back pull, a pull that changes most of the pair — and every
 * page they serve (no filter, `metadata.isDeleted`, both directions, on a fresh repository too) equals the OFFSET
 * page. Buckets of 4 records here, so a few dozen records make many of them.
 */
const SIZE = 4;

describe.each(DIALECTS)('record buckets [%s]', (dialect) => {
  let store: TestStore;
  let repo: RecordsRepository;
  const conn = 'c-buckets';
  let pull = 0;
  let clock = Date.UTC(2026, 0, 1);

  const doc = (id: string, v = 0) => ({ id, status: 'Paid', totalAmount: v });
  const live = (ids: string[], v = 0): StagedRecord[] => ids.map((id) => ({ id, data: doc(id, v), sourceModifiedDate: null, deleted: false }));
  const gone = (ids: string[]): StagedRecord[] => ids.map((id) => ({ id, data: doc(id), sourceModifiedDate: null, deleted: true }));
  const ids = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => `r-${String(from + i * step).padStart(4, '0')}`);

  async function pullOf(records: StagedRecord[], opts: { fullListing?: boolean; fail?: boolean; connectionId?: string } = {}) {
    clock += 60_000;
    return mergedPull(store, repo, { ...opts, datasetId: `ds-${++pull}`, connectionId: opts.connectionId ?? conn, now: new Date(clock).toISOString(), records });
  }

  const buckets = (connectionId = conn) =>
    store.db.selectFrom('record_buckets').select(['lo', 'hi', 'total', 'deleted']).where('connection_id', '=', connectionId).where('data_type', '=', 'invoices').orderBy('lo').execute();

  /** Contiguous from '' to the end, each count equal to a COUNT(*) of its range, summing to record_counts. */
  async function expectBucketsExact() {
    const bs = await buckets();
    expect(bs.length).toBeGreaterThan(1);
    expect(bs[0]!.lo).toBe('');
    for (let i = 0; i < bs.length; i++) expect(bs[i]!.hi).toBe(i + 1 < bs.length ? bs[i + 1]!.lo : null);
    const rows = await store.db.selectFrom('records').select(['record_id', 'is_deleted']).where('connection_id', '=', conn).where('data_type', '=', 'invoices').execute();
    const actual = bs.map((b) => {
      const inside = rows.filter((r) => r.record_id >= b.lo && (b.hi === null || r.record_id < b.hi));
      return { lo: b.lo, total: inside.length, deleted: inside.filter((r) => r.is_deleted === 1).length };
    });
    expect(bs.map((b) => ({ lo: b.lo, total: Number(b.total), deleted: Number(b.deleted) }))).toEqual(actual);
    for (const b of bs) expect(Number(b.total)).toBeLessThanOrEqual(2 * SIZE);
    const counts = await store.db.selectFrom('record_counts').select(['total', 'deleted']).where('connection_id', '=', conn).where('data_type', '=', 'invoices').executeTakeFirstOrThrow();
    expect({ total: bs.reduce((a, b) => a + Number(b.total), 0), deleted: bs.reduce((a, b) => a + Number(b.deleted), 0) }).toEqual({
      total: Number(counts.total),
      deleted: Number(counts.deleted),
    });
  }

  const compiled = (query?: string, orderBy?: string) => compileListQuery(recordEntity('invoices'), { query, orderBy }, dialect);

  const oracle = (query: string | undefined, orderBy: string | undefined, page: number, pageSize: number) => offsetOracle(store, dialect, conn, { query, orderBy, page, pageSize });

  /** Every page of the lists the buckets serve, on this repository (and on a fresh one: `fresh`), against OFFSET. */
  async function expectPagesExact(fresh = false) {
    const pageSize = 4;
    for (const r of fresh ? [repo, new RecordsRepository(store.db, dialect, { bucketSize: SIZE })] : [repo]) {
      for (const q of [undefined, 'metadata.isDeleted!=true', 'metadata.isDeleted=true']) {
        for (const o of [undefined, '-id']) {
          const { total } = await oracle(q, o, 1, pageSize);
          for (let p = 1; p <= Math.ceil(total / pageSize) + 1; p++) {
            const got = await r.list(conn, 'invoices', { page: p, pageSize }, compiled(q, o), 'text');
            expect({ q, o, p, total: got.total, ids: got.rows.map((x) => x.record_id) }).toEqual({ q, o, p, ...(await oracle(q, o, p, pageSize)) });
          }
        }
      }
    }
  }

  beforeAll(async () => {
    store = await openTestStore(dialect);
    repo = new RecordsRepository(store.db, dialect, { bucketSize: SIZE });
    const now = '2026-01-01T00:00:00.000Z';
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    for (const id of [conn, 'c-gone', 'c-big']) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
  });
  afterAll(async () => store.cleanup());

  it('stay exact through adds, a cut, deletions, restores and a rolled-back pull, and serve the OFFSET pages', async () => {
    // First pull: every even id up to 98 (50 records), cut from scratch.
    await pullOf(live(ids(0, 98, 2)), { fullListing: true });
    await expectBucketsExact();
    await expectPagesExact(true);

    // 9 ids between r-0030 and r-0032: one bucket grows past 2 × SIZE and is cut again alone; 2 odd ids elsewhere.
    const before = (await buckets()).length;
    await pullOf(live([...'abcdefghi'].map((c) => `r-0030${c}`).concat(['r-0061', 'r-0077'])));
    expect((await buckets()).length).toBeGreaterThan(before);
    await expectBucketsExact();
    await expectPagesExact();

    // Before the first id and after the last; three flagged deleted by the platform; content updates.
    await pullOf([...live(['a-0001', 'a-0002', 'z-0001']), ...live(ids(10, 16, 2), 1), ...gone(['r-0020', 'r-0030c', 'r-0098'])]);
    await expectBucketsExact();
    await expectPagesExact();

    // A full listing without r-0040..r-0048: those are flagged deleted.
    const all = (await store.db.selectFrom('records').select('record_id').where('connection_id', '=', conn).where('is_deleted', '=', 0).execute()).map((r) => r.record_id);
    await pullOf(live(all.filter((id) => !(id >= 'r-0040' && id <= 'r-0048'))), { fullListing: true });
    await expectBucketsExact();
    await expectPagesExact();

    // Restores (listed again), and a pull that rolls back after its merge changes nothing.
    await pullOf(live(['r-0020', 'r-0042', 'r-0044'], 2));
    await expectBucketsExact();
    const kept = await buckets();
    await pullOf([...live(ids(100, 110)), ...gone(ids(0, 8, 2))], { fail: true });
    expect(await buckets()).toEqual(kept);
    await expectPagesExact();

    // A pull that adds more than a quarter of the pair: cut again from scratch.
    await pullOf(live(ids(101, 199, 2)));
    await expectBucketsExact();
    await expectPagesExact(true);
  });

  it('go with their connection', async () => {
    await pullOf(live(ids(0, 20)), { connectionId: 'c-gone' });
    expect((await buckets('c-gone')).length).toBeGreaterThan(1);
    await store.db.deleteFrom('connections').where('id', '=', 'c-gone').execute();
    expect(await buckets('c-gone')).toEqual([]);
  });

  it('an order no index serves is answered up to UNINDEXED_ORDER_MAX matches and refused (400, orderBy) above', async () => {
    const n = UNINDEXED_ORDER_MAX + 1;
    const gen =
      dialect === 'postgres'
        ? sql`insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
              select 'c-big', 'invoices', 'b-' || lpad(i::text, 6, '0'), jsonb_build_object('status', case when i % 2 = 0 then 'Paid' else 'Draft' end, 'totalAmount', (i * 7919) % 1000), 'h', '2026-01-01T00:00:00.000Z', null, 0
              from generate_series(1, ${n}) s(i)`
        : sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n})
              insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
              select 'c-big', 'invoices', 'b-' || printf('%06d', i), json_object('status', case when i % 2 = 0 then 'Paid' else 'Draft' end, 'totalAmount', (i * 7919) % 1000), 'h', '2026-01-01T00:00:00.000Z', null, 0 from s`;
    await gen.execute(store.db);
    await store.db.insertInto('record_counts').values({ connection_id: 'c-big', data_type: 'invoices', total: n, deleted: 0, generation: 1 }).execute();
    const list = (query: string | undefined, orderBy: string) => repo.list('c-big', 'invoices', { page: 2, pageSize: 5 }, compiled(query, orderBy), 'text');
    for (const r of [repo, new RecordsRepository(store.db, dialect)]) {
      const refused = await r.list('c-big', 'invoices', { page: 1, pageSize: 5 }, compiled(undefined, '-totalAmount')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RequestValidationError);
      expect(refused).toMatchObject({ statusCode: 400, validation: [{ itemId: 'orderBy', validatorName: 'OrderBy' }] });
      expect((refused as Error & { validation: { message: string }[] }).validation[0]!.message).toContain(`${n} records match`);
      await expect(r.list('c-big', 'invoices', { page: 1, pageSize: 5 }, compiled('status=Paid', '-totalAmount'))).resolves.toBeDefined();
    }
    // Narrowed to half, the same order is served and is the OFFSET page; indexed orders are served over all of them.
    const oracleBig = async (query: string | undefined, orderBy: string) => {
      const l = compiled(query, orderBy);
      let rows = store.db.selectFrom('records').select('record_id').where('connection_id', '=', 'c-big').where('data_type', '=', 'invoices');
      if (l.where) rows = rows.where(l.where);
      for (const o of l.orderBy) rows = rows.orderBy(o);
      return (await rows.limit(5).offset(5).execute()).map((r) => r.record_id);
    };
    for (const [q, o] of [['status=Paid', '-totalAmount'], [undefined, '-modifiedDate'], [undefined, 'sourceModifiedDate'], ['status=Paid', '-metadata.isDeleted']] as const) {
      expect((await list(q, o)).rows.map((r) => r.record_id)).toEqual(await oracleBig(q, o));
    }
  });
});
