import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import type { Dialect } from './db.js';
import type { Database } from './schema.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';

/**
 * A merge whose pull listed records it does not change (a full listing, an update pull) leaves those records alone
 * (issue 17, migration 0024's regression): on PostgreSQL the upsert reads staging by the ids the statistics pass found
 * to write, so an unchanged record is neither rewritten nor locked (ON CONFLICT DO UPDATE locks a conflicting row even
 * when its WHERE is false) and its stored key columns are not computed. Checked on both databases for the result of a
 * merge mixing every kind; on PostgreSQL also that unchanged rows keep their tuple untouched (same ctid, no xmax) and
 * that the upsert's plan reads no `records` (only its conflict check probes the primary key).
 */
describe.each(DIALECTS)('merge leaves unchanged listed records alone [%s]', (dialect: Dialect) => {
  let store: TestStore;
  let repo: RecordsRepository;
  let pull = 0;
  const conn = 'c-1';
  const t0 = Date.UTC(2026, 0, 1);
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
  const id = (i: number) => `inv-${String(i).padStart(4, '0')}`;
  const doc = (i: number, v = 0) => ({ id: id(i), status: v ? 'Void' : 'Paid', customerRef: { id: `cu-${(i + v) % 7}` }, amount: i * 10 + v });
  const live = (i: number, v = 0): StagedRecord => ({ id: id(i), data: doc(i, v), sourceModifiedDate: null, deleted: false });
  const gone = (i: number): StagedRecord => ({ id: id(i), data: doc(i), sourceModifiedDate: null, deleted: true });
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

  async function stage(records: StagedRecord[]): Promise<string> {
    const ds = `ds-${++pull}`;
    await repo.stage(ds, records);
    return ds;
  }
  async function merge(ds: string, now: string, fullListing: boolean, r = repo) {
    return store.db.transaction().execute((trx) => r.merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now, fullListing }));
  }
  const stored = async () =>
    (await store.db.selectFrom('records').select(['record_id', 'data', 'modified_date', 'is_deleted']).where('connection_id', '=', conn).orderBy('record_id').execute()).map((r) => ({
      id: r.record_id,
      data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
      modified: r.modified_date,
      deleted: r.is_deleted,
    }));
  /** PostgreSQL: each record's tuple id and xmax (0 unless a transaction updated, deleted or locked it). */
  const tuples = async () =>
    new Map(
      (await sql<{ record_id: string; ctid: string; xmax: string }>`select record_id, ctid::text as ctid, xmax::text as xmax from records where connection_id = ${conn}`.execute(store.db)).rows.map(
        (r) => [r.record_id, { ctid: r.ctid, xmax: r.xmax }],
      ),
    );

  beforeAll(async () => {
    store = await openTestStore(dialect);
    repo = new RecordsRepository(store.db, dialect);
    const now = at(0);
    await seedLinkedConnections(store.db, { companyId: 'co-1', connectionIds: [conn], at: now });
    // 0…199 stored, 190…194 then deleted by the platform.
    expect(await merge(await stage(range(0, 200).map((i) => live(i))), at(1), true)).toMatchObject({ added: 200, updated: 0, deleted: 0 });
    expect(await merge(await stage(range(190, 195).map(gone)), at(2), false)).toMatchObject({ added: 0, updated: 0, deleted: 5 });
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('writes only the records a full listing changed, adds, restores or leaves out, and leaves the unchanged ones untouched', async () => {
    const before = await stored();
    const tuplesBefore = dialect === 'postgres' ? await tuples() : undefined;
    // A full listing: every tenth record changed, 190 and 191 listed again (restored), 195…199 not listed (deleted),
    // 200…204 new, the rest unchanged.
    const listed = [...range(0, 192), ...range(200, 205)].map((i) => live(i, i < 190 && i % 10 === 3 ? 1 : 0));
    const r = await merge(await stage(listed), at(3), true);
    expect({ added: r.added, updated: r.updated, deleted: r.deleted }).toEqual({ added: 5, updated: 19 + 2, deleted: 5 });

    const after = await stored();
    const byId = new Map(before.map((b) => [b.id, b]));
    for (const a of after) {
      const i = Number(a.id.slice(4));
      const b = byId.get(a.id);
      if (i >= 200) expect(a).toEqual({ id: a.id, data: doc(i), modified: at(3), deleted: 0 });
      else if (i >= 195) expect(a).toEqual({ ...b, modified: at(3), deleted: 1 });
      else if (i === 190 || i === 191) expect(a).toEqual({ id: a.id, data: doc(i), modified: at(3), deleted: 0 });
      else if (i >= 192) expect(a).toEqual(b); // deleted before and not listed: stays as it was
      else if (i % 10 === 3) expect(a).toEqual({ id: a.id, data: doc(i, 1), modified: at(3), deleted: 0 });
      else expect(a).toEqual(b); // unchanged: modifiedDate kept (invariant 4)
    }
    expect(after).toHaveLength(205);

    if (tuplesBefore) {
      const now = await tuples();
      const untouched = range(0, 190).filter((i) => i % 10 !== 3);
      for (const i of untouched) expect(now.get(id(i)), id(i)).toEqual({ ctid: tuplesBefore.get(id(i))!.ctid, xmax: '0' });
      for (const i of [3, 13, 190]) expect(now.get(id(i))!.ctid).not.toBe(tuplesBefore.get(id(i))!.ctid);
    }
  });

  it.runIf(dialect === 'postgres')('plans the upsert of an update pull without reading records (only its conflict check probes the primary key)', async () => {
    // The merge's statements, captured from a merge rolled back, then explained on the staged rows it left.
    const captured: CompiledQuery[] = [];
    const pool = new pg.Pool({ connectionString: store.location, max: 1 });
    const logged = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && captured.push(e.query)) });
    try {
      const ds = await stage([...range(0, 205)].map((i) => live(i, i % 10 === 7 ? 2 : 0)));
      await sql`analyze records, record_staging`.execute(store.db);
      const rollback = new Error('rollback');
      await expect(logged.transaction().execute(async (trx) => (await new RecordsRepository(logged, 'postgres').merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now: at(4), fullListing: true }), Promise.reject(rollback)))).rejects.toBe(rollback);
      const upsert = captured.find((q) => /^\s*(with up as \()?\s*insert into records/.test(q.sql));
      expect(upsert, 'the upsert ran').toBeDefined();
      expect(upsert!.sql).toContain('unnest(');
      let plan = '';
      await expect(
        logged.transaction().execute(async (trx) => {
          const r = await trx.executeQuery<{ 'QUERY PLAN': string }>({ ...upsert!, sql: `explain (analyze, costs off) ${upsert!.sql}` } as CompiledQuery<{ 'QUERY PLAN': string }>);
          plan = r.rows.map((x) => x['QUERY PLAN']).join('\n');
          throw rollback;
        }),
      ).rejects.toBe(rollback);
      expect(plan).toMatch(/Insert on records/);
      expect(plan, plan).not.toMatch(/Scan (using \w+ )?on records\b|Scan using records_\w+ on/);
      expect(plan, plan).toMatch(/record_staging/);
      // Only the rows to write were proposed: 19 changed (7, 17, … 187), 19 changed back (3, 13, … 183: edited by the
      // pull above) and 8 restored (192…199, deleted and listed again) — not the 205 staged.
      expect(plan, plan).toMatch(/Conflicting Tuples: 46\b/);
    } finally {
      await logged.destroy();
    }
  });
});
