import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { recordEntity } from '../api/query-entities.js';
import { compileListQuery } from '../query/index.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';
import { mergedPull, stagedOf } from '../../test/support/merges.js';
import { asOfKeptCounts, asOfRecords, asOfUnchangedSince, HistoryRepository, keptCountsOf } from './history.repository.js';

/**
 * asOf `totalResults` (issue 16, migration 0028): no filter and `metadata.isDeleted` from the counts the merges keep as
 * of each instant (record_counts_at), other filters counted once per (pair, filter, instant) and reused while no merge
 * commits at or before the instant. Every total is compared with two oracles: the records table as it stood after each
 * pull (copied here after every commit) and a plain COUNT(*) over the asOf view; at pull instants, between pulls, before
 * the first, after a merge at an instant already read, after a merge committed out of instant order, after pruning, and
 * on a fresh repository (another process, nothing cached).
 */
describe.each(DIALECTS)('asOf counts [%s]', (dialect) => {
  let store: TestStore;
  let repo: RecordsRepository;
  let history: HistoryRepository;
  const conn = 'c-asof';
  const pre = 'c-pre';
  let pull = 0;
  const t0 = Date.UTC(2026, 0, 1);
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();

  const doc = (i: number, v = 0) => ({ id: `r-${String(i).padStart(4, '0')}`, status: ['Paid', 'Submitted', 'Draft'][(i + v) % 3], customerRef: { id: `cust-${(i + v) % 4}` }, v });
  const staged = stagedOf(doc);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

  type State = { data: ReturnType<typeof doc>; deleted: boolean };
  /** The records of `conn` after each committed pull, by instant (a second merge at an instant replaces its copy). */
  const snapshots: { at: string; rows: Map<string, State> }[] = [];

  async function pullAt(now: string, records: StagedRecord[], opts: { fullListing?: boolean; fail?: boolean; connectionId?: string } = {}) {
    const connectionId = opts.connectionId ?? conn;
    await mergedPull(store, repo, { datasetId: `ds-${++pull}`, connectionId, now, records, fullListing: opts.fullListing, fail: opts.fail });
    if (opts.fail) return;
    if (connectionId !== conn) return;
    const rows = await store.db.selectFrom('records').select(['record_id', 'data', 'is_deleted']).where('connection_id', '=', conn).where('data_type', '=', 'invoices').execute();
    const copy = new Map(rows.map((r) => [r.record_id, { data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as State['data'], deleted: r.is_deleted === 1 }]));
    if (snapshots.at(-1)?.at === now) snapshots.pop();
    snapshots.push({ at: now, rows: copy });
  }

  const QUERIES: [string | undefined, (s: State) => boolean][] = [
    [undefined, () => true],
    ['metadata.isDeleted=true', (s) => s.deleted],
    ['metadata.isDeleted!=true', (s) => !s.deleted],
    ['metadata.isDeleted=false', (s) => !s.deleted],
    ['status=Submitted', (s) => s.data.status === 'Submitted'],
    ['status!=Paid', (s) => s.data.status !== 'Paid'],
    ['customerRef.id=cust-1&&metadata.isDeleted!=true', (s) => s.data.customerRef.id === 'cust-1' && !s.deleted],
  ];
  const compiled = (query?: string) => compileListQuery(recordEntity('invoices'), { query }, dialect);

  /** The oracle: the copy of the last pull committed at or before T, filtered; ids in id order. */
  function expectedAt(T: string, keep: (s: State) => boolean): { total: number; ids: string[] } {
    const snap = snapshots.filter((s) => s.at <= T).at(-1);
    const ids = snap ? [...snap.rows].filter(([, s]) => keep(s)).map(([id]) => id).sort() : [];
    return { total: ids.length, ids: ids.slice(0, 4) };
  }

  /** A plain COUNT(*) over the asOf view. */
  async function directCount(connectionId: string, T: string, query?: string): Promise<number> {
    const r = await store.db.selectFrom(asOfRecords(store.db, connectionId, 'invoices', T, compiled(query).where)).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async function listedAt(r: RecordsRepository, connectionId: string, T: string, query?: string) {
    const p = await r.list(connectionId, 'invoices', { page: 1, pageSize: 4 }, compiled(query), 'text', T);
    return { total: p.total, ids: p.rows.map((x) => x.record_id) };
  }

  async function expectExactAt(T: string, r: RecordsRepository = repo) {
    for (const [q, keep] of QUERIES) {
      const expected = expectedAt(T, keep);
      expect({ T, q, ...(await listedAt(r, conn, T, q)) }).toEqual({ T, q, ...expected });
      expect({ T, q, n: await directCount(conn, T, q) }).toEqual({ T, q, n: expected.total });
    }
    // A scan as of T (what the aged reports read), in keyset pages of 3 across both halves of the view: every record
    // as it stood, once, in id order.
    const scanned: [string, boolean, number][] = [];
    await r.scan(conn, 'invoices', (rows) => scanned.push(...rows.map((x): [string, boolean, number] => [x.record_id, x.is_deleted === 1, (typeof x.data === 'string' ? JSON.parse(x.data) : (x.data as any)).v])), { asOf: T, batch: 3 });
    const snap = snapshots.filter((x) => x.at <= T).at(-1);
    const stood = snap ? [...snap.rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, x]): [string, boolean, number] => [id, x.deleted, x.data.v]) : [];
    expect({ T, scanned }).toEqual({ T, scanned: stood });
    // The kept counts alone (what no filter and the deleted flag read), where a pull has committed.
    if (snapshots[0]!.at <= T) {
      const kept = keptCountsOf(await asOfKeptCounts(store.db, conn, 'invoices', T).executeTakeFirstOrThrow());
      expect({ T, kept }).toEqual({ T, kept: { total: expectedAt(T, () => true).total, deleted: expectedAt(T, (s) => s.deleted).total } });
    }
  }

  const keptRows = () =>
    store.db.selectFrom('record_counts_at').select(['committed_at', 'total', 'deleted', 'generation']).where('connection_id', '=', conn).where('data_type', '=', 'invoices').orderBy('committed_at').execute();

  beforeAll(async () => {
    store = await openTestStore(dialect);
    repo = new RecordsRepository(store.db, dialect);
    history = new HistoryRepository(store.db, dialect);
    const now = '2025-12-01T00:00:00.000Z';
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    for (const id of [conn, pre]) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
    // Pulls: an initial load; updates, adds and flagged deletions; a full listing that leaves records out (flagged)
    // and restores two; a pull that fails after its merge; an update-only pull; adds.
    await pullAt(at(10), staged(range(0, 60)), { fullListing: true });
    await pullAt(at(20), staged([...range(0, 60).filter((i) => i % 3 === 0 && (i < 5 || i > 9)), ...range(60, 70)], 1, [5, 6, 7, 8, 9]));
    await pullAt(at(30), staged([...range(0, 5), 5, 6, ...range(20, 70)], 1), { fullListing: true });
    const logged = (await keptRows()).length;
    await pullAt(at(35), staged([100, 101, 102], 4, [0, 1, 2]), { fail: true });
    expect((await keptRows()).length).toBe(logged); // a failed pull leaves no counts
    await pullAt(at(40), staged(range(20, 30), 2));
    await pullAt(at(50), staged(range(70, 75)));
  });
  afterAll(async () => store.cleanup());

  const INSTANTS = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60].map(at);

  it('totals equal the records as they stood, at pull instants, between pulls and before the first, cached or not', async () => {
    // One row per instant a merge changed records at; an update-only pull moves no count but has its row (generation).
    expect((await keptRows()).map((r) => [r.committed_at, Number(r.total), Number(r.deleted)])).toEqual([
      [at(10), 60, 0],
      [at(20), 70, 5],
      [at(30), 70, 13],
      [at(40), 70, 13],
      [at(50), 75, 13],
    ]);
    for (const T of INSTANTS) await expectExactAt(T);
    // Again (filtered counts now cached), and from a repository that cached nothing.
    for (const T of INSTANTS) await expectExactAt(T);
    const fresh = new RecordsRepository(store.db, dialect);
    for (const T of [5, 15, 30, 50].map(at)) await expectExactAt(T, fresh);
  });

  it('a cached filtered count stays while merges commit after its instant, and is recounted after one at its instant', async () => {
    const T = at(50);
    const q = 'status=Submitted';
    const generation = async () => Number((await store.db.selectFrom('record_counts').select('generation').where('connection_id', '=', conn).executeTakeFirstOrThrow()).generation);
    const first = await listedAt(repo, conn, T, q);
    expect(first).toEqual(expectedAt(T, (s) => s.data.status === 'Submitted'));
    const g = await generation();
    expect(await asOfUnchangedSince(store.db, conn, 'invoices', T, g)).toBe(true);
    // A merge committed at T itself (same instant: a clock that did not move) changes what T shows.
    await pullAt(T, staged([30, 33, 36, 39, 42], 2)); // five Submitted become Draft
    expect(await asOfUnchangedSince(store.db, conn, 'invoices', T, g)).toBe(false);
    const after = await listedAt(repo, conn, T, q);
    expect(after).toEqual(expectedAt(T, (s) => s.data.status === 'Submitted'));
    expect(after.total).toBe(first.total - 5);
    await expectExactAt(T);
    // A merge after T leaves T's records alone: the count made before it still holds.
    const g2 = await generation();
    await pullAt(at(55), staged(range(40, 70), 2));
    expect(await asOfUnchangedSince(store.db, conn, 'invoices', T, g2)).toBe(true);
    expect(await listedAt(repo, conn, T, q)).toEqual(after);
    await expectExactAt(T);
    await expectExactAt(at(55));
    // The row at T counts both merges at that instant.
    expect((await keptRows()).find((r) => r.committed_at === T)).toMatchObject({ total: 75, deleted: 13 });
  });

  it('a merge committed with an instant earlier than one already counted keeps every instant exact', async () => {
    await pullAt(at(70), staged(range(75, 80)));
    await pullAt(at(65), staged(range(80, 85), 0, [70, 71])); // committed after at(70), instant before it
    const rows = await keptRows();
    expect(rows.find((r) => r.committed_at === at(65))).toMatchObject({ total: 80, deleted: 15 });
    expect(rows.find((r) => r.committed_at === at(70))).toMatchObject({ total: 85, deleted: 15 });
    for (const T of [60, 62, 65, 67, 70, 80].map(at)) {
      for (const [q] of QUERIES) expect({ T, q, n: (await listedAt(repo, conn, T, q)).total }).toEqual({ T, q, n: await directCount(conn, T, q) });
    }
  });

  it('after pruning: counts from the floor on are exact, older rows are gone, older instants are refused', async () => {
    // Retention cut at 25 minutes: the changes of the pulls at 10 and 20 go, the floor rises to 20.
    let removed = 0;
    for (let n = await history.pruneBatch(at(25), 7); n > 0; n = await history.pruneBatch(at(25), 7)) removed += n;
    expect(removed).toBeGreaterThan(60);
    expect((await history.floor(conn, 'invoices')).floorAt).toBe(at(20));
    expect((await keptRows())[0]!.committed_at).toBe(at(20)); // the newest row at or before the floor stays
    const resolve = (asOf: string) => history.resolveAsOf({ companyId: 'co', connectionId: conn, dataType: 'invoices', asOf, now: new Date(t0 + 86_400_000) });
    await expect(resolve(at(15))).rejects.toMatchObject({ statusCode: 400, validation: [{ itemId: 'asOf', message: expect.stringMatching(/before the recorded history/) }] });
    const fresh = new RecordsRepository(store.db, dialect);
    for (const T of [20, 25, 30, 45].map(at)) {
      expect(await resolve(T)).toBe(T);
      await expectExactAt(T, fresh);
      await expectExactAt(T);
    }
    for (const [q] of QUERIES) expect((await listedAt(fresh, conn, at(90), q)).total).toBe(await directCount(conn, at(90), q));
  });

  it('records stored before any merge (no kept counts before it) are counted from the view, exactly', async () => {
    const json = (v: unknown) => (dialect === 'postgres' ? sql`${JSON.stringify(v)}::jsonb` : JSON.stringify(v));
    await store.db
      .insertInto('records')
      .values(
        [0, 1, 2].map((i) => ({ connection_id: pre, data_type: 'invoices', record_id: doc(i).id, data: json(doc(i)), content_hash: 'x', modified_date: at(1), source_modified_date: null, is_deleted: i === 2 ? 1 : 0 })) as never,
      )
      .execute();
    await pullAt(at(10), staged([3, 4]), { connectionId: pre });
    const kept = async (T: string) => keptCountsOf(await asOfKeptCounts(store.db, pre, 'invoices', T).executeTakeFirstOrThrow());
    expect(await kept(at(5))).toBeUndefined(); // records stood before the first row: not known from the rows
    expect(await kept(at(10))).toEqual({ total: 5, deleted: 1 });
    for (const T of [1, 5, 10, 20].map(at)) {
      for (const [q] of QUERIES) expect({ T, q, n: (await listedAt(repo, pre, T, q)).total }).toEqual({ T, q, n: await directCount(pre, T, q) });
    }
    expect((await listedAt(repo, pre, at(5))).total).toBe(3);
  });
});
