import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { databaseWithout, DIALECTS, openTestStore } from '../../test/support/stores.js';
import { recordEntity } from '../api/query-entities.js';
import { accountingEntity, compileListQuery, matches, prepareListQuery, rowComparator } from '../query/index.js';
import { migrateToLatest, type Dialect, type Store } from './db.js';
import { RECORD_KEY_COLUMNS, recordKeyExpression } from './migrations/0024-record-query-keys.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';

/**
 * Migration 0024 (issue 17, reads): on PostgreSQL the folded keys of `status`, `customerRef.id` and `supplierRef.id`
 * are stored generated columns and their indexes plain ones, so a count of such a filter is read from the index alone.
 * Run here as a deployment meets it — records stored first, the migration after every other — and checked: the answers
 * (totals, pages, in every order, for odd values: other JSON types, absent, mixed and non-ASCII case) are the same
 * before and after and equal the in-memory evaluator's; the columns follow later merges; the counts are index-only
 * with no heap fetch; a new database (0024 before 0028, which rebuilds these indexes) gets the same indexes. SQLite:
 * the migration changes nothing and the compiler still folds the document's value (its expression indexes are covering).
 */
describe.each(DIALECTS)('migration 0024, stored query keys [%s]', (dialect: Dialect) => {
  let store: Store;
  let drop: () => Promise<void>;
  const conn = 'c-keys';
  const now = '2026-01-01T00:00:00.000Z';

  const STATUSES: unknown[] = ['Submitted', 'SUBMITTED', 'submitted', 'Paid', 'PartiallyPaid', 5, null, undefined, 'ÉTAT', 'état', ''];
  const CUSTOMERS: unknown[] = [{ id: 'C-1' }, { id: 'c-1' }, { id: 'c-2' }, { id: 7 }, {}, 'C-1', undefined];
  /** Document i of a data type at version v (a later pull moves statuses and references). */
  function docOf(i: number, v = 0): Record<string, unknown> {
    const d: Record<string, unknown> = { id: `r-${String(i).padStart(3, '0')}`, totalAmount: i };
    const s = STATUSES[(i + v) % STATUSES.length];
    if (s !== undefined) d.status = s;
    const c = CUSTOMERS[(i * 3 + v) % CUSTOMERS.length];
    if (c !== undefined) {
      d.customerRef = c;
      d.supplierRef = c;
    }
    return d;
  }
  const N = 66;
  let docs: Record<'invoices' | 'bills', Record<string, unknown>[]>;

  const QUERIES: [string, 'invoices' | 'bills', string | undefined, string | undefined][] = [
    ['status=submitted', 'invoices', 'status=submitted', undefined],
    ['status=SUBMITTED, by -id', 'invoices', 'status=SUBMITTED', '-id'],
    ['status!=Paid', 'invoices', 'status!=Paid', undefined],
    ['status~MIT', 'invoices', 'status~MIT', undefined],
    ['status=état (non-ASCII folds by ASCII only)', 'invoices', 'status=état', undefined],
    ['status= (empty string)', 'invoices', 'status=""', undefined],
    ['customerRef.id=c-1', 'invoices', 'customerRef.id=c-1', undefined],
    ['customerRef.id!=C-1', 'invoices', 'customerRef.id!=C-1', undefined],
    ['supplierRef.id=C-1', 'bills', 'supplierRef.id=C-1', undefined],
    ['combined, by status', 'invoices', 'status!=Paid&&customerRef.id~c', 'status'],
    ['by -status (code-point order of the value, not the key)', 'invoices', 'totalAmount<40', '-status'],
  ];

  /** The record entity as it was before 0024: the same fields, every document filter folding the document's value. */
  const legacyEntity = (dataType: 'invoices' | 'bills') =>
    accountingEntity(dataType, {
      document: sql.ref('records.data'),
      fields: {
        id: { type: 'string', sql: sql.ref('records.record_id') },
        modifiedDate: { type: 'date', dateFormat: 'canonical', sql: sql.ref('records.modified_date') },
        sourceModifiedDate: { type: 'date', dateFormat: 'canonical', sql: sql.ref('records.source_modified_date') },
        'metadata.isDeleted': { type: 'boolean', booleanAsInteger: true, notNull: true, sql: sql.ref('records.is_deleted') },
      },
    });

  /** Every page of a list through RecordsRepository (as the endpoint runs it), and its total. */
  async function answer(dataType: 'invoices' | 'bills', query: string | undefined, orderBy: string | undefined, entity = recordEntity(dataType)) {
    const repo = new RecordsRepository(store.db, dialect);
    const list = compileListQuery(entity, { query, orderBy }, dialect);
    const ids: string[] = [];
    let total = -1;
    for (let page = 1; page < 50; page++) {
      const p = await repo.list(conn, dataType, { page, pageSize: 7 }, list, 'text');
      total = p.total;
      ids.push(...p.rows.map((r) => r.record_id));
      if (p.rows.length < 7) break;
    }
    return { total, ids };
  }
  /** The same answer from the in-memory evaluator (query-language semantics) over the documents. */
  function expected(dataType: 'invoices' | 'bills', query: string | undefined, orderBy: string | undefined) {
    const prepared = prepareListQuery(recordEntity(dataType), { query, orderBy });
    const ids = docs[dataType]
      .filter((d) => matches(prepared, d))
      .sort(rowComparator(prepared.order))
      .map((d) => d.id as string);
    return { total: ids.length, ids };
  }
  async function allAnswers(legacy = false) {
    const out: Record<string, unknown> = {};
    for (const [label, dataType, query, orderBy] of QUERIES) out[label] = await answer(dataType, query, orderBy, legacy ? legacyEntity(dataType) : recordEntity(dataType));
    return out;
  }
  const explain = (c: CompiledQuery, analyze = false) =>
    store.db.connection().execute(async (db) => {
      if (dialect === 'sqlite') return (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows.map((x) => x.detail).join('\n');
      // Seq and bitmap scans off: on this small table the plan shows whether the planner CAN read the index alone.
      await sql`set enable_seqscan = off; set enable_bitmapscan = off`.execute(db);
      try {
        return (await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${analyze ? '(analyze, costs off) ' : ''}${c.sql}`, [...c.parameters]))).rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await sql`reset enable_seqscan; reset enable_bitmapscan`.execute(db);
      }
    });
  const countOf = (dataType: 'invoices' | 'bills', query: string) =>
    store.db
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('connection_id', '=', conn)
      .where('data_type', '=', dataType)
      .where(compileListQuery(recordEntity(dataType), { query }, dialect).where!)
      .compile();

  let before: Record<string, unknown>;
  beforeAll(async () => {
    // Every migration but 0024, then records, then 0024 (as on a database that existed before it).
    ({ store, drop } = await databaseWithout(dialect, ['0024-record-query-keys']));
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    await store.db
      .insertInto('connections')
      .values({ id: conn, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
      .execute();
    docs = { invoices: [], bills: [] };
    const rows = [];
    for (const dataType of ['invoices', 'bills'] as const) {
      for (let i = 0; i < N; i++) {
        const d = docOf(i + (dataType === 'bills' ? 1 : 0));
        docs[dataType].push(d);
        const json = JSON.stringify(d);
        rows.push({ connection_id: conn, data_type: dataType, record_id: d.id as string, data: dialect === 'postgres' ? sql`${json}::jsonb` : json, content_hash: json, modified_date: now, source_modified_date: null, is_deleted: 0 });
      }
    }
    await store.db.insertInto('records').values(rows as never).execute();
    before = await allAnswers(true);
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store.close();
    await drop();
  });

  it('the answers are the evaluator’s, and the same before and after the migration', async () => {
    for (const [label, dataType, query, orderBy] of QUERIES) expect(before[label], label).toEqual(expected(dataType, query, orderBy));
    expect(await allAnswers()).toEqual(before);
    // and the compiler before 0024 still answers the same on the migrated table (the expression indexes' values)
    expect(await allAnswers(true)).toEqual(before);
  });

  it('PostgreSQL: each key column holds the key expression of every row, and its index is a plain one on it; SQLite: nothing changed', async () => {
    const compiledSql = store.db.selectFrom('records').select('record_id').where(compileListQuery(recordEntity('invoices'), { query: 'status=Paid&&customerRef.id=x' }, dialect).where!).compile().sql;
    if (dialect === 'sqlite') {
      expect(compiledSql).not.toMatch(/_key\b/);
      const cols = await sql<{ name: string }>`select name from pragma_table_info('records')`.execute(store.db);
      expect(cols.rows.map((c) => c.name)).not.toContain('status_key');
      return;
    }
    expect(compiledSql).toContain('"records"."status_key"');
    expect(compiledSql).toContain('"records"."customer_ref_key"');
    for (const column of Object.keys(RECORD_KEY_COLUMNS) as (keyof typeof RECORD_KEY_COLUMNS)[]) {
      const differs = await sql<{ n: number }>`select count(*)::int as n from records where ${sql.ref(column)} is distinct from ${sql.raw(recordKeyExpression(column))}`.execute(store.db);
      expect(differs.rows[0]!.n, column).toBe(0);
      const some = await sql<{ n: number }>`select count(*)::int as n from records where ${sql.ref(column)} is not null`.execute(store.db);
      expect(some.rows[0]!.n, column).toBeGreaterThan(0);
      const def = await sql<{ indexdef: string }>`select indexdef from pg_indexes where indexname = ${RECORD_KEY_COLUMNS[column].index}`.execute(store.db);
      expect(def.rows[0]!.indexdef).toContain(`(connection_id, data_type, ${column}, record_id, modified_date)`);
    }
  });

  it('counts of the key filters are read from the index alone (PostgreSQL: Index Only Scan, no heap fetch)', async () => {
    if (dialect === 'postgres') await sql`vacuum analyze records`.execute(store.db);
    else await sql`analyze`.execute(store.db);
    for (const [dataType, query, index] of [
      ['invoices', 'status=Submitted', 'records_status'],
      ['invoices', 'customerRef.id=c-1', 'records_customer_ref'],
      ['bills', 'supplierRef.id=c-2', 'records_supplier_ref'],
    ] as const) {
      if (dialect === 'sqlite') {
        expect(await explain(countOf(dataType, query))).toMatch(new RegExp(`COVERING INDEX ${index}`));
        continue;
      }
      const plan = await explain(countOf(dataType, query), true);
      expect(plan, query).toMatch(new RegExp(`Index Only Scan using ${index}`));
      expect(plan, query).toMatch(/Heap Fetches: 0/);
    }
  });

  it('the key columns follow the documents through later merges', async () => {
    const repo = new RecordsRepository(store.db, dialect);
    const next: StagedRecord[] = [];
    for (let i = 0; i < N; i += 2) {
      const d = docOf(i, 1 + (i % 5));
      next.push({ id: d.id as string, data: d, sourceModifiedDate: null, deleted: false });
      docs.invoices[i] = d;
    }
    await repo.stage('ds-1', next);
    await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: 'ds-1', connectionId: conn, dataType: 'invoices', now: '2026-01-02T00:00:00.000Z', fullListing: false }));
    for (const [label, dataType, query, orderBy] of QUERIES) expect(await answer(dataType, query, orderBy), label).toEqual(expected(dataType, query, orderBy));
  });

  it('a new database (0024 runs before 0028, which rebuilds these indexes) gets the same indexes', async () => {
    const fresh = await openTestStore(dialect);
    try {
      if (dialect === 'sqlite') return;
      const defs = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes where indexname in ('records_status', 'records_customer_ref', 'records_supplier_ref')`.execute(fresh.db);
      expect(defs.rows).toHaveLength(3);
      for (const [column, { index }] of Object.entries(RECORD_KEY_COLUMNS)) {
        expect(defs.rows.find((d) => d.indexname === index)!.indexdef).toContain(`(connection_id, data_type, ${column}, record_id, modified_date)`);
      }
    } finally {
      await fresh.cleanup();
    }
  });
});
