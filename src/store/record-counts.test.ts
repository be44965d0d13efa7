import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { recordEntity } from '../api/query-entities.js';
import { compileListQuery } from '../query/index.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';
import { mergedPull, offsetOracle, stagedOf } from '../../test/support/merges.js';

/**
 * Issue 17 (reads): `totalResults` comes from counts the merge keeps (record_counts) for no filter and the
 * `metadata.isDeleted` filters, and from a per-generation count of other filters; deep pages are read keys-first and,
 * in id order, seek from remembered page boundaries. Every figure here is compared with a plain COUNT(*) / OFFSET query
 * over the same records, after adds, updates, deletions (flagged and by absence from a full listing), restores, a pull
 * that failed (its transaction rolled back), and on a second repository (another process) that cached nothing.
 */
describe.each(DIALECTS)('record counts and deep pages [%s]', (dialect) => {
  let store: TestStore;
  let repo: RecordsRepository;
  const conn = 'c-counts';
  const other = 'c-other';
  let pull = 0;
  let clock = Date.UTC(2026, 0, 1);

  const doc = (i: number, v = 0) => ({ id: `r-${String(i).padStart(4, '0')}`, status: ['Paid', 'Submitted', 'Draft'][(i + v) % 3], totalAmount: (i * 7919) % 1000, v });
  const staged = stagedOf(doc);

  /** One pull: stage, then merge in a transaction (rolled back when `fail`). */
  async function pullOf(connectionId: string, records: StagedRecord[], opts: { fullListing?: boolean; fail?: boolean } = {}) {
    clock += 60_000;
    return mergedPull(store, repo, { datasetId: `ds-${++pull}`, connectionId, now: new Date(clock).toISOString(), records, ...opts });
  }

  const compiled = (query?: string, orderBy?: string) => compileListQuery(recordEntity('invoices'), { query, orderBy }, dialect);

  /** The page and count as plain OFFSET and COUNT(*) statements, the oracle. */
  const oracle = (connectionId: string, query: string | undefined, orderBy: string | undefined, page: number, pageSize: number) =>
    offsetOracle(store, dialect, connectionId, { query, orderBy, page, pageSize });

  async function listed(r: RecordsRepository, connectionId: string, query: string | undefined, orderBy: string | undefined, page: number, pageSize: number) {
    const p = await r.list(connectionId, 'invoices', { page, pageSize }, compiled(query, orderBy), 'text');
    return { total: p.total, ids: p.rows.map((x) => x.record_id) };
  }

  const QUERIES = [undefined, 'metadata.isDeleted!=true', 'metadata.isDeleted=true', 'metadata.isDeleted=false', 'metadata.isDeleted!=false', 'status=Paid', 'status!=Draft&&totalAmount>200'];

  async function expectCountsExact(r: RecordsRepository = repo) {
    for (const connectionId of [conn, other]) {
      for (const q of QUERIES) expect({ q, ...(await listed(r, connectionId, q, undefined, 1, 5)) }).toEqual({ q, ...(await oracle(connectionId, q, undefined, 1, 5)) });
    }
  }

  beforeAll(async () => {
    store = await openTestStore(dialect);
    // Page boundaries remembered from the first page on (the default skips shallow ones), so these small lists use them.
    repo = new RecordsRepository(store.db, dialect, { rememberFrom: 0 });
    const now = '2026-01-01T00:00:00.000Z';
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    for (const id of [conn, other]) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
  });
  afterAll(async () => store.cleanup());

  it('metadata.isDeleted!=true compiles to an equality (no IS NOT TRUE), and only a lone boolean test is a flag', () => {
    const c = compiled('metadata.isDeleted!=true');
    const text = store.db.selectFrom('records').selectAll().where(c.where!).compile();
    expect(text.sql).not.toMatch(/IS NOT TRUE/i);
    expect(text.parameters).toContain(0);
    expect(c.flag).toMatchObject({ path: 'metadata.isDeleted', value: false });
    expect(compiled('metadata.isDeleted=true').flag).toMatchObject({ value: true });
    expect(compiled('metadata.isDeleted!=false').flag).toMatchObject({ value: true });
    expect(compiled('metadata.isDeleted=true&&status=Paid').flag).toBeUndefined();
    expect(compiled('status=Paid').flag).toBeUndefined();
    // A nullable property keeps IS NOT TRUE: absent values match `!=` (§4.2).
    const nullable = store.db.selectFrom('records').selectAll().where(compiled('status!=Paid').where!).compile();
    expect(nullable.sql).toMatch(/IS NOT TRUE/i);
  });

  it('counts are exact after adds, updates, flagged and unlisted deletions, restores and a failed pull', async () => {
    const all = Array.from({ length: 120 }, (_, i) => i);
    expect((await pullOf(conn, staged(all), { fullListing: true }))!.added).toBe(120);
    await pullOf(other, staged(all.slice(0, 40)), { fullListing: true });
    const row = () => store.db.selectFrom('record_counts').selectAll().where('connection_id', '=', conn).where('data_type', '=', 'invoices').executeTakeFirstOrThrow();
    expect(await row()).toMatchObject({ total: 120, deleted: 0 });
    await expectCountsExact();

    // Updates (every third changes status), 10 flagged deleted by the platform, 5 new.
    const r2 = await pullOf(conn, staged([...all.filter((i) => i % 3 === 0), 200, 201, 202, 203, 204], 1, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]));
    expect(r2).toMatchObject({ added: 5, deleted: 10 });
    await expectCountsExact();

    // A full listing without 20..39: those are flagged deleted (10..19 stay deleted), the rest unchanged.
    const listedNow = [...all.filter((i) => i < 10 || i >= 40), 200, 201, 202, 203, 204];
    expect((await pullOf(conn, staged(listedNow, 1), { fullListing: true }))!.deleted).toBe(20);
    await expectCountsExact();
    expect(await row()).toMatchObject({ total: 125, deleted: 30 });

    // Restores: 10..14 listed again (content changed too), 20..24 listed again unchanged.
    const r4 = await pullOf(conn, staged([10, 11, 12, 13, 14], 2).concat(staged([20, 21, 22, 23, 24], 1)));
    expect(r4).toMatchObject({ added: 0, updated: 10, deleted: 0 });
    expect(await row()).toMatchObject({ total: 125, deleted: 20 });
    await expectCountsExact();

    // A pull whose transaction rolls back after its merge changes nothing, counts included.
    const before = await row();
    await pullOf(conn, staged([300, 301], 5, [0, 1, 2]), { fail: true });
    await pullOf(conn, staged([41, 42], 5), { fullListing: true, fail: true });
    expect(await row()).toEqual(before);
    await expectCountsExact();

    // A pull that changes nothing leaves the generation (and so every cached count) as it was.
    await pullOf(conn, staged([41, 42], 1));
    expect(await row()).toEqual(before);

    // Full listings: of every live record (the counts show nothing unlisted: no record changes), then of all but one
    // live record and one deleted one restored (the one left out is flagged).
    const live = async () => (await store.db.selectFrom('records').select('record_id').where('connection_id', '=', conn).where('is_deleted', '=', 0).execute()).map((r) => Number(r.record_id.slice(2)));
    const liveNow = await live();
    const unchanged = await store.db.selectFrom('records').selectAll().where('connection_id', '=', conn).orderBy('record_id').execute();
    const versions = (ids: number[]) => ids.map((i) => ({ id: doc(i).id, data: (unchanged.find((r) => r.record_id === doc(i).id)!.data), sourceModifiedDate: null, deleted: false }));
    expect(await pullOf(conn, versions(liveNow).map((r) => ({ ...r, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data })), { fullListing: true })).toMatchObject({ added: 0, updated: 0, deleted: 0 });
    expect(await store.db.selectFrom('records').selectAll().where('connection_id', '=', conn).orderBy('record_id').execute()).toEqual(unchanged);
    const r6 = await pullOf(conn, staged([...liveNow.slice(1), 15], 3), { fullListing: true });
    expect(r6!.deleted).toBe(1);
    expect(await live()).toEqual(expect.not.arrayContaining([liveNow[0]]));
    await expectCountsExact();

    // Another process (a fresh repository: nothing cached) sees the same exact figures.
    await expectCountsExact(new RecordsRepository(store.db, dialect));
  });

  it('a cached filtered count is replaced when a merge changes the records', async () => {
    const q = 'status=Submitted';
    const first = await listed(repo, conn, q, undefined, 1, 3);
    expect(first.total).toBe((await oracle(conn, q, undefined, 1, 3)).total);
    // Every listed record moves to another status mix (v = 7).
    const ids = (await store.db.selectFrom('records').select('record_id').where('connection_id', '=', conn).where('is_deleted', '=', 0).execute()).map((r) => Number(r.record_id.slice(2)));
    await pullOf(conn, staged(ids, 7));
    const after = await listed(repo, conn, q, undefined, 1, 3);
    const expected = await oracle(conn, q, undefined, 1, 3);
    expect(after).toEqual(expected);
    expect(after.total).not.toBe(first.total);
  });

  it('records stored without a counts row are counted, and their first merge creates an exact row', async () => {
    const json = JSON.stringify(doc(900));
    await store.db
      .insertInto('records')
      .values({ connection_id: other, data_type: 'bills', record_id: 'b-1', data: dialect === 'postgres' ? sql`${json}::jsonb` : json, content_hash: 'x', modified_date: '2026-01-01T00:00:00.000Z', source_modified_date: null, is_deleted: 1 } as never)
      .execute();
    const bills = (q?: string) => repo.list(other, 'bills', { page: 1, pageSize: 10 }, compileListQuery(recordEntity('bills'), { query: q }, dialect)).then((p) => p.total);
    expect([await bills(), await bills('metadata.isDeleted=true')]).toEqual([1, 1]);
    const ds = `ds-${++pull}`;
    await repo.stage(ds, [{ id: 'b-2', data: { id: 'b-2' }, sourceModifiedDate: null, deleted: false }]);
    await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: other, dataType: 'bills', now: '2026-02-01T00:00:00.000Z', fullListing: false }));
    expect(await store.db.selectFrom('record_counts').select(['total', 'deleted']).where('connection_id', '=', other).where('data_type', '=', 'bills').executeTakeFirst()).toEqual({
      total: 2,
      deleted: 1,
    });
    expect([await bills(), await bills('metadata.isDeleted=true'), await bills('metadata.isDeleted!=true')]).toEqual([2, 1, 1]);
  });

  it('deep pages (keys first, seeking from remembered boundaries) equal offset pages, with filters and orderBy, across merges', async () => {
    const cases: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      [undefined, '-id'],
      ['metadata.isDeleted!=true', undefined],
      ['metadata.isDeleted!=true', '-id'],
      ['status!=Draft', '-totalAmount'],
      [undefined, '-modifiedDate'],
    ];
    const pageSize = 13;
    for (let round = 0; round < 2; round++) {
      for (const [q, o] of cases) {
        const { total } = await oracle(conn, q, o, 1, pageSize);
        const pages = Math.ceil(total / pageSize) + 1; // one past the end too
        // Forward, then backward, then jumps: every order of visits must give the offset page.
        const order = [4, ...Array.from({ length: pages }, (_, i) => i + 1), ...Array.from({ length: pages }, (_, i) => pages - i).filter((p) => p % 2 === 0), 3, pages - 1, 2, 5];
        for (const p of order) expect({ q, o, p, ...(await listed(repo, conn, q, o, p, pageSize)) }).toEqual({ q, o, p, ...(await oracle(conn, q, o, p, pageSize)) });
      }
      // Between rounds, a merge adds records before, between and after the remembered boundaries and deletes some:
      // boundaries of the previous state must not be used.
      // (q-… ids sort before every r-…, r-1000… after them: both ends of both directions move.)
      const early = ['q-0001', 'q-0002', 'q-0003'].map((id) => ({ id, data: { id, status: 'Paid', totalAmount: 500 + round }, sourceModifiedDate: null, deleted: false }));
      await pullOf(conn, [...early, ...staged([5, 6, 7, 8, 9, 42, 43, 44, 45, 46, 47, 48, 49, 50, 1000, 1001, 1002, 1003, 55, 56], 9, [2, 3, 60, 61, 62, 63])]);
    }
  });
});
