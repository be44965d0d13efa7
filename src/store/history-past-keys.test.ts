import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { databaseWithout, DIALECTS } from '../../test/support/stores.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { recordEntity } from '../api/query-entities.js';
import { compileListQuery } from '../query/index.js';
import { migrateToLatest, type Dialect, type Store } from './db.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';

/**
 * Migration 0033 (PostgreSQL): record_changes keeps its previous states' folded keys (status, customerRef.id,
 * supplierRef.id) as columns the merge copies from the records row it replaces, instead of index expressions over the
 * previous document. Checked on a database that kept history before 0033: the migration fills the keys of the changes
 * written before it (and leaves `added` changes without), the merges after it write them, the indexes are on the
 * columns, and asOf lists filtered by each key answer exactly what was stored at each instant — before and after the
 * migration, on both databases (SQLite has no key columns: the migration does nothing there, the answers are the same).
 * The same repository answers before and after the later merge: its cached asOf counts of a filter at an instant
 * outlive a merge after the instant, which moves records from the current half to the replaced one (kept as exact
 * half sizes, the replaced half was taken as empty and left out: every record the merge changed was missing).
 */
describe.each(DIALECTS)('history past keys, migration 0033 [%s]', (dialect: Dialect) => {
  let store: Store;
  let drop: () => Promise<void>;
  let repo: RecordsRepository;
  let pull = 0;
  const conn = 'c-1';
  const t0 = Date.UTC(2026, 0, 1);
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
  const id = (i: number) => `inv-${String(i).padStart(3, '0')}`;
  const STATUSES = ['Paid', 'Submitted', 'Draft'];
  /** Version v of record i: status and customer move with v; every fourth has no customer, every fifth a supplier. */
  const doc = (i: number, v: number): Record<string, unknown> => ({
    id: id(i),
    status: STATUSES[(i + v) % 3],
    ...(i % 4 === 0 ? {} : { customerRef: { id: `Cust-${(i + v) % 5}` } }),
    ...(i % 5 === 0 ? { supplierRef: { id: `Sup-${v}` } } : {}),
    amount: i * 10 + v,
  });
  const N = 40;
  /** The version of record i stored at pull p (p = 1, 2, 3 at minutes 1, 2, 3): pull 2 edits odd ids, pull 3 every third. */
  const versionAt = (i: number, p: number) => (p >= 3 && i % 3 === 0 ? 2 : p >= 2 && i % 2 === 1 ? 1 : 0);
  const staged = (p: number): StagedRecord[] => Array.from({ length: N }, (_, i) => ({ id: id(i), data: doc(i, versionAt(i, p)), sourceModifiedDate: null, deleted: false }));

  const TYPES = ['invoices', 'bills'] as const;
  async function merge(p: number, type: string) {
    const ds = `ds-${++pull}`;
    await repo.stage(ds, staged(p));
    await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: conn, dataType: type, now: at(p), fullListing: true }));
    return ds;
  }
  /** The ids an asOf list filtered by `query` returns (every page), sorted. */
  async function idsAsOf(type: (typeof TYPES)[number], query: string, asOf: string): Promise<string[]> {
    const list = compileListQuery(recordEntity(type), { query }, dialect);
    const page = await repo.list(conn, type, { page: 1, pageSize: 1000 }, list, 'value', asOf);
    return page.rows.map((r) => r.record_id).sort();
  }
  /** What the same filter matches among the versions stored at pull p (folded: the query language compares case-insensitively). */
  function expected(path: 'status' | 'customerRef.id' | 'supplierRef.id', value: string, p: number): string[] {
    const get = (d: Record<string, unknown>) => (path === 'status' ? d.status : ((d[path.split('.')[0]!] as { id?: string } | undefined)?.id ?? null));
    return Array.from({ length: N }, (_, i) => i)
      .filter((i) => {
        const v = get(doc(i, versionAt(i, p)));
        return typeof v === 'string' && v.toLowerCase() === value.toLowerCase();
      })
      .map(id);
  }
  const probes: [(typeof TYPES)[number], 'status' | 'customerRef.id' | 'supplierRef.id', string][] = [
    ['invoices', 'status', 'Paid'],
    ['invoices', 'status', 'submitted'],
    ['invoices', 'customerRef.id', 'cust-2'],
    ['invoices', 'customerRef.id', 'CUST-4'],
    ['bills', 'status', 'Draft'],
    ['bills', 'supplierRef.id', 'sup-0'],
    ['bills', 'supplierRef.id', 'Sup-1'],
  ];
  async function checkAnswers(pulls: number) {
    for (let p = 1; p <= pulls; p++) {
      // Half a minute after pull p: the state it committed (pull p + 1, if any, is later).
      const asOf = new Date(t0 + p * 60_000 + 30_000).toISOString();
      for (const [type, path, value] of probes) expect(await idsAsOf(type, `${path}=${value}`, asOf), `${type} ${path}=${value} as of pull ${p}`).toEqual(expected(path, value, p));
    }
  }

  beforeAll(async () => {
    // Every migration but 0033; two pulls merged by a merge of that schema (on PostgreSQL: previous states written
    // without keys, as before 0033 — the columns do not exist yet), then 0033, then a third pull.
    ({ store, drop } = await databaseWithout(dialect, ['0033-history-past-keys']));
    repo = new RecordsRepository(store.db, dialect);
    const now = at(0);
    await seedLinkedConnections(store.db, { companyId: 'co-1', connectionIds: [conn], at: now });
    for (const p of [1, 2]) {
      for (const type of TYPES) {
        if (dialect === 'postgres') {
          const ds = `ds-${++pull}`;
          await repo.stage(ds, staged(p));
          await preMigrationMerge(store, ds, p, type);
        } else await merge(p, type);
      }
    }
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  /**
   * PostgreSQL before 0033: the previous states as a merge wrote them then (without key columns), then the upsert.
   * Only what this test needs: pulls that change or add records (no deletions).
   */
  async function preMigrationMerge(s: Store, ds: string, p: number, type: string) {
    await s.db.transaction().execute(async (trx) => {
      await sql`insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                                            prev_data, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted)
                select ${conn}, ${type}, s.record_id, ${ds}, ${at(p)}, case when r.record_id is null then 'added' else 'updated' end, s.content_hash, s.source_modified_date,
                       r.data, r.content_hash, r.modified_date, r.source_modified_date, r.is_deleted
                from record_staging s left join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                where s.dataset_id = ${ds} and (r.record_id is null or r.content_hash <> s.content_hash)
                order by s.record_id`.execute(trx);
      await sql`insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
                select ${conn}, ${type}, s.record_id, s.data, s.content_hash, ${at(p)}, s.source_modified_date, 0 from record_staging s where s.dataset_id = ${ds}
                on conflict (connection_id, data_type, record_id) do update set data = excluded.data, content_hash = excluded.content_hash, modified_date = excluded.modified_date
                where records.content_hash <> excluded.content_hash`.execute(trx);
      await sql`delete from record_staging where dataset_id = ${ds}`.execute(trx);
      await sql`insert into record_counts_at (connection_id, data_type, committed_at, total, deleted, added, deleted_delta, generation)
                values (${conn}, ${type}, ${at(p)}, ${N}, 0, ${p === 1 ? N : 0}, 0, ${p})`.execute(trx);
      await sql`insert into record_counts (connection_id, data_type, total, deleted, generation) values (${conn}, ${type}, ${N}, 0, ${p})
                on conflict (connection_id, data_type) do update set generation = excluded.generation`.execute(trx);
    });
  }

  it('fills the keys of the changes written before it, and asOf filters by each key answer what was stored, before and after a later merge', async () => {
    await migrateToLatest(store);
    if (dialect === 'postgres') {
      const rows = await sql<{ record_id: string; kind: string; prev_data: Record<string, unknown> | null; prev_status_key: string | null; prev_customer_ref_key: string | null; prev_supplier_ref_key: string | null }>`
        select record_id, kind, prev_data, prev_status_key, prev_customer_ref_key, prev_supplier_ref_key from record_changes where connection_id = ${conn} order by seq`.execute(store.db);
        expect(rows.rows.filter((r) => r.kind === 'updated')).toHaveLength(N); // pull 2: the odd ids of both types
      for (const r of rows.rows) {
        const keys = [r.prev_status_key, r.prev_customer_ref_key, r.prev_supplier_ref_key];
        if (r.kind === 'added') expect(keys).toEqual([null, null, null]);
        else {
          const d = r.prev_data!;
          const fold = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : null);
          expect(keys, r.record_id).toEqual([fold(d.status), fold((d.customerRef as { id?: unknown } | undefined)?.id), fold((d.supplierRef as { id?: unknown } | undefined)?.id)]);
        }
      }
      const defs = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes where tablename = 'record_changes' and indexname like 'record_changes_past_%'`.execute(store.db);
      const def = (n: string) => defs.rows.find((r) => r.indexname === n)?.indexdef ?? '';
      expect(def('record_changes_past_status')).toMatch(/\(connection_id, data_type, prev_status_key, committed_at, prev_modified_date\) WHERE \(prev_modified_date IS NOT NULL\)/);
      expect(def('record_changes_past_customer_ref')).toMatch(/prev_customer_ref_key, committed_at/);
      expect(def('record_changes_past_supplier_ref')).toMatch(/prev_supplier_ref_key, committed_at/);
    }
    await checkAnswers(2);
    // A merge after the migration writes the keys itself: the state every third record had before pull 3.
    const ds3 = [await merge(3, 'invoices'), await merge(3, 'bills')];
    if (dialect === 'postgres') {
      const written = await sql<{ n: number; keyed: number }>`select count(*)::int as n, count(prev_status_key)::int as keyed from record_changes where dataset_id = ${ds3[1]}`.execute(store.db);
      const changed = Array.from({ length: N }, (_, i) => i).filter((i) => versionAt(i, 3) !== versionAt(i, 2)).length;
      expect(changed).toBe(14);
      expect(written.rows[0]).toEqual({ n: changed, keyed: changed }); // every previous state has a status
    }
    await checkAnswers(3);
  });
});
