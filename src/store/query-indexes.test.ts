import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { recordEntity } from '../api/query-entities.js';
import { compileListQuery } from '../query/index.js';
import { INDEXED_ORDERS, RecordsRepository } from './records.repository.js';
import { rebucket } from './record-buckets.js';
import { asOfChangedSince } from './history.repository.js';
import { backfillCountsAt } from './migrations/0028-history-counts.js';
import { backfillPastKeys } from './migrations/0033-history-past-keys.js';

/**
 * The common record filters are index lookups on both databases (migration 0006 and 0003), and a page in the default
 * order (id) is read in index order without sorting the company's records: checked on the plans of the very
 * statements a list endpoint runs, so a compiler change that stops matching an index fails here.
 */
describe.each(DIALECTS)('record query indexes [%s]', (dialect) => {
  let store: TestStore;
  const conn = 'c-0001';
  beforeAll(async () => {
    store = await openTestStore(dialect);
    const now = '2026-01-01T00:00:00.000Z';
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    for (const id of [conn, 'c-0002']) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
    const rows = [];
    for (let i = 0; i < 2000; i++) {
      const data = { id: `inv-${i}`, status: ['Paid', 'Submitted', 'Draft', 'Void'][i % 4], customerRef: { id: `cust-${i % 50}` }, supplierRef: { id: `sup-${i % 50}` }, totalAmount: i };
      const json = JSON.stringify(data);
      rows.push({
        connection_id: i % 2 ? conn : 'c-0002',
        data_type: i % 3 ? 'invoices' : 'bills',
        record_id: `inv-${i}`,
        data: dialect === 'postgres' ? sql`${json}::jsonb` : json,
        content_hash: String(i),
        modified_date: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
        source_modified_date: null,
        is_deleted: i % 50 === 0 ? 1 : 0,
      });
    }
    for (let i = 0; i < rows.length; i += 200) await store.db.insertInto('records').values(rows.slice(i, i + 200) as never).execute();
    await sql.raw(dialect === 'postgres' ? 'analyze records' : 'analyze').execute(store.db);
  });
  afterAll(async () => store.cleanup());

  /** The plan of the page query and of the count query a list endpoint runs for these parameters. */
  async function plans(dataType: 'invoices' | 'bills', params: { query?: string; orderBy?: string }): Promise<{ page: string; count: string }> {
    const q = compileListQuery(recordEntity(dataType), params, dialect);
    let page = store.db.selectFrom('records').select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted']).where('connection_id', '=', conn).where('data_type', '=', dataType);
    let count = store.db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', conn).where('data_type', '=', dataType);
    if (q.where) {
      page = page.where(q.where);
      count = count.where(q.where);
    }
    for (const o of q.orderBy) page = page.orderBy(o);
    // PostgreSQL: seq scans off, so on this small table the plan shows which index the planner CAN use.
    const run = (c: CompiledQuery) =>
      store.db.connection().execute(async (db) => {
        if (dialect === 'sqlite') return (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows.map((x) => x.detail).join('\n');
        await sql`set enable_seqscan = off`.execute(db);
        try {
          return (await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]))).rows.map((x) => x['QUERY PLAN']).join('\n');
        } finally {
          await sql`reset enable_seqscan`.execute(db);
        }
      });
    return { page: await run(page.limit(100).offset(0).compile()), count: await run(count.compile()) };
  }

  const cases: [string, 'invoices' | 'bills', string][] = [
    ['id=inv-7', 'invoices', 'records_id_folded'],
    ['status=Paid', 'invoices', 'records_status'],
    ['customerRef.id=cust-7', 'invoices', 'records_customer_ref'],
    ['supplierRef.id=sup-7', 'bills', 'records_supplier_ref'],
    ['modifiedDate>=2025-01-10&&modifiedDate<2025-01-11', 'invoices', 'records_modified'],
    ['metadata.isDeleted=true', 'invoices', 'records_deleted'],
    // `!=` on the NOT NULL flag compiles to an equality (`is_deleted = 1` here, `= 0` for `!=true`): an index range;
    // `(…) IS NOT TRUE` never is (issue 17). `!=false` is the selective one on this data (2 % deleted), so the
    // planner has a reason to take the index; `!=true` (98 %) is checked on the deep-page key walk below.
    ['metadata.isDeleted!=false', 'invoices', 'records_deleted'],
  ];
  it.each(cases)('%s is served by %s (page and count)', async (query, dataType, index) => {
    const p = await plans(dataType, { query });
    expect(p.count).toContain(index);
    // The page may walk the id order instead when the planner expects that to be cheaper; either is an index.
    expect(p.page).toMatch(new RegExp(`${index}|records_pk|sqlite_autoindex_records_1`));
  });

  it('the keys of a page in id order (no filter, deleted flag, status, references) come from one index in page order: no sort', async () => {
    const expected: [string | undefined, RegExp][] = [
      [undefined, /records_pk|sqlite_autoindex_records_1/],
      ['metadata.isDeleted!=true', /records_deleted|records_pk|sqlite_autoindex_records_1/],
      // Migration 0021 ends these indexes with record_id: the matches are in id order inside the index.
      ['status=Paid', /records_status/],
      ['customerRef.id=cust-7', /records_customer_ref/],
    ];
    for (const [query, index] of expected) {
      const q = compileListQuery(recordEntity('invoices'), { query }, dialect);
      let keys = store.db.selectFrom('records').select('record_id').where('connection_id', '=', conn).where('data_type', '=', 'invoices');
      if (q.where) keys = keys.where(q.where);
      for (const o of q.orderBy) keys = keys.orderBy(o);
      const c = keys.limit(100).offset(500).compile();
      const plan = await store.db.connection().execute(async (db) => {
        if (dialect === 'sqlite') return (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows.map((x) => x.detail).join('\n');
        // On this small table sorting 700 keys is cheaper; with seq scans, bitmap scans and sorts off the plan shows
        // whether an index alone CAN give the keys in order (the plan a million records get).
        await sql`set enable_seqscan = off; set enable_bitmapscan = off; set enable_sort = off`.execute(db);
        try {
          return (await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]))).rows.map((x) => x['QUERY PLAN']).join('\n');
        } finally {
          await sql`reset enable_seqscan; reset enable_bitmapscan; reset enable_sort`.execute(db);
        }
      });
      expect(plan).toMatch(index);
      if (dialect === 'sqlite') {
        expect(plan).toMatch(/COVERING INDEX/);
        expect(plan).not.toMatch(/TEMP B-TREE/);
      } else {
        // status and the references too since migration 0024 (their keys are stored columns, their indexes plain ones).
        expect(plan).toMatch(/Index Only Scan/);
        expect(plan).not.toMatch(/Sort/);
      }
    }
  });

  it('a page in the default order (id) reads the primary key in order: no sort of all matching records', async () => {
    const p = await plans('invoices', {});
    if (dialect === 'postgres') {
      expect(p.page).toContain('records_pk');
      expect(p.page).not.toMatch(/Sort/);
    } else {
      expect(p.page).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('pages are the same whether a filter matches few records (read filter-first) or many (read in id order)', async () => {
    const repo = new RecordsRepository(store.db, dialect);
    // 10,050 more records on a third connection: a filter matching all of them takes the id-order path on PostgreSQL.
    const now = '2026-01-01T00:00:00.000Z';
    await store.db
      .insertInto('connections')
      .values({ id: 'c-many', company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
      .execute();
    const gen =
      dialect === 'postgres'
        ? sql`insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
              select 'c-many', 'invoices', 'm-' || lpad(i::text, 6, '0'), jsonb_build_object('status', case when i % 2 = 0 then 'Paid' else 'Draft' end), 'h', ${now}, null, 0
              from generate_series(1, 20100) s(i)`
        : sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < 20100)
              insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
              select 'c-many', 'invoices', 'm-' || printf('%06d', i), json_object('status', case when i % 2 = 0 then 'Paid' else 'Draft' end), 'h', ${now}, null, 0 from s`;
    await gen.execute(store.db);
    const ids = (query: string, page: number, pageSize: number) =>
      repo.list('c-many', 'invoices', { page, pageSize }, compileListQuery(recordEntity('invoices'), { query, orderBy: '-id' }, dialect)).then((r) => ({ total: r.total, ids: r.rows.map((x) => x.record_id) }));
    const expected = (from: number, n: number, step: number) => Array.from({ length: n }, (_, k) => `m-${String(from - k * step).padStart(6, '0')}`);
    // 10,050 Paid: the id-order path.
    expect(await ids('status=Paid', 3, 100)).toEqual({ total: 10_050, ids: expected(20100 - 200 * 2, 100, 2) });
    // 5 matches: the filter-first path, same order and paging rules.
    const few = 'status=Draft&&{id=m-000001||id=m-000003||id=m-000005||id=m-000007||id=m-000009}';
    expect(await ids(few, 2, 2)).toEqual({ total: 5, ids: ['m-000005', 'm-000003'] });
    expect(await ids(few, 3, 2)).toEqual({ total: 5, ids: ['m-000001'] });
    expect(await ids(few, 4, 2)).toEqual({ total: 5, ids: [] });
    await store.db.deleteFrom('records').where('connection_id', '=', 'c-many').execute();
  });

  /** The statements `run` sends through a repository on this store, compiled as sent. */
  async function sent(run: (repo: RecordsRepository, db: typeof store.db) => Promise<unknown>, opts: { bucketSize?: number } = {}): Promise<CompiledQuery[]> {
    // Compiled only (a filter's identity is its compiled text) is not sent: only queries that returned a result count.
    const compiled = new Map<unknown, CompiledQuery>();
    const out: CompiledQuery[] = [];
    const db = store.db.withPlugin({
      transformQuery: (args) => {
        compiled.set(args.queryId, store.db.getExecutor().compileQuery(args.node, args.queryId));
        return args.node;
      },
      transformResult: async (args) => {
        out.push(compiled.get(args.queryId)!);
        return args.result;
      },
    });
    await run(new RecordsRepository(db, dialect, opts), db);
    return out;
  }
  /** PostgreSQL: seq scans off (`strict`: bitmap scans and plain sorts too), so on this small table the plan shows what the planner CAN do. */
  const explainAll = (c: CompiledQuery, strict = false) =>
    store.db.connection().execute(async (db) => {
      if (dialect === 'sqlite') return (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows.map((x) => x.detail).join('\n');
      await sql`set enable_seqscan = off`.execute(db);
      if (strict) await sql`set enable_bitmapscan = off; set enable_sort = off`.execute(db);
      try {
        return (await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]))).rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await sql`reset enable_seqscan; reset enable_bitmapscan; reset enable_sort`.execute(db);
      }
    });
  const scansRecords = (plan: string) => (dialect === 'postgres' ? /Seq Scan on records/.test(plan) : /SCAN records(?! USING)/.test(plan));

  it('deep pages in id order read the buckets by their key and walk one index from the bucket bound; the merge keeps them through indexes', async () => {
    // Buckets of 50 over this connection's invoices, as the merge cuts them, and its counts row.
    await sql`insert into record_counts (connection_id, data_type, total, deleted, generation)
              select connection_id, data_type, count(*), sum(is_deleted), 1 from records where connection_id = ${conn} and data_type = 'invoices' group by connection_id, data_type`.execute(store.db);
    await rebucket(store.db, dialect, conn, 'invoices', '', null, 50);
    for (const [query, orderBy, index] of [
      [undefined, undefined, /records_pk|sqlite_autoindex_records_1/],
      [undefined, '-id', /records_pk|sqlite_autoindex_records_1/],
      ['metadata.isDeleted!=true', undefined, /records_deleted|records_pk|sqlite_autoindex_records_1/],
      ['metadata.isDeleted!=true', '-id', /records_deleted|records_pk|sqlite_autoindex_records_1/],
    ] as const) {
      const statements = await sent((r) => r.list(conn, 'invoices', { page: 5, pageSize: 50 }, compileListQuery(recordEntity('invoices'), { query, orderBy }, dialect)), { bucketSize: 50 });
      expect(statements).toHaveLength(2);
      const pick = await explainAll(statements[0]!);
      const page = await explainAll(statements[1]!);
      expect(pick).toMatch(dialect === 'postgres' ? /record_buckets_pkey/ : /sqlite_autoindex_record_buckets_1/);
      // The keys are walked from the bucket's bound (an index range that starts at it), so at most a bucket is skipped.
      expect(page).toMatch(index);
      expect(page).toMatch(dialect === 'postgres' ? /Index Cond: .*record_id [<>]=? / : /record_id[<>]=?\?/);
      expect(scansRecords(page)).toBe(false);
      // The page comes out of that index in its order: no sort of the page's documents (SQLite sorted each 5,000-document
      // page of `record_id in (keys) order by record_id` in a temporary B-tree, held in the C heap).
      expect(await explainAll(statements[1]!, true)).not.toMatch(dialect === 'postgres' ? /Sort/ : /TEMP B-TREE/);
    }
    // A merge that adds and deletes a few records recounts only their buckets: through records_modified (the records
    // it wrote), the primary key and records_deleted, never a scan of the records.
    await new RecordsRepository(store.db, dialect).stage('ds-plan', [
      { id: 'inv-1001', data: { id: 'inv-1001' }, sourceModifiedDate: null, deleted: false },
      { id: 'inv-1', data: { id: 'inv-1' }, sourceModifiedDate: null, deleted: true },
    ]);
    const merged = await sent((r, db) => db.transaction().execute(async (trx) => {
      await r.merge(trx, { datasetId: 'ds-plan', connectionId: conn, dataType: 'invoices', now: '2027-01-01T00:00:00.000Z', fullListing: false });
      throw new Error('rolled back: the plans are what this checks');
    }).catch(() => undefined), { bucketSize: 50 });
    const maintenance = merged.filter((c) => /update record_buckets/.test(c.sql));
    expect(maintenance.length).toBeGreaterThan(0);
    const plans: string[] = [];
    for (const c of maintenance) plans.push(await explainAll(c));
    expect(plans.join('\n')).toMatch(/records_modified/);
    for (const plan of plans) {
      expect(plan).toMatch(/records_pk|sqlite_autoindex_records_1/);
      expect(plan).toMatch(/records_deleted/);
      expect(scansRecords(plan)).toBe(false);
    }
  });

  it('the orders served without an unbounded sort (INDEXED_ORDERS) are read in the order of an index', async () => {
    for (const path of INDEXED_ORDERS) {
      for (const orderBy of [path, `-${path}`]) {
        const q = compileListQuery(recordEntity('invoices'), { orderBy }, dialect);
        let page = store.db.selectFrom('records').select('record_id').where('connection_id', '=', conn).where('data_type', '=', 'invoices');
        for (const o of q.orderBy) page = page.orderBy(o);
        const plan = await explainAll(page.limit(100).compile(), true);
        expect(scansRecords(plan)).toBe(false);
        // The ordering property comes from the index; at most the tiebreak is sorted within equal values (descending:
        // the index read backwards, ids ascending within each value — PostgreSQL's Incremental Sort).
        if (dialect === 'postgres') expect(plan).not.toMatch(/(^|->\s+)Sort\s+\(cost/m);
        else expect(plan).not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
      }
    }
  });
});

/**
 * The same for reads as of a moment (issue 16, migration 0020): the filter is applied inside both halves of the asOf
 * view, so each half uses its own indexes (records' for current rows, record_changes' expression indexes on
 * `prev_data` for replaced states); an unfiltered page in id order merges two index walks without sorting; the
 * unfiltered count reads only the adds after the instant. Checked on the statements RecordsRepository runs, and the
 * answers checked against the states computed here.
 */
describe.each(DIALECTS)('history query indexes [%s]', (dialect) => {
  let store: TestStore;
  const conn = 'c-0001';
  const day = 86_400_000;
  const t0 = Date.UTC(2025, 0, 1);
  const iso = (ms: number) => new Date(ms).toISOString();
  // Record i is added on day i; every third one is edited on day i + 40 (status and customer change), every seventh
  // deleted on day i + 70. 600 invoices and 300 bills on this connection, as many on another.
  const docOf = (i: number, edited: boolean) => ({ id: `r-${String(i).padStart(4, '0')}`, status: edited ? 'Void' : ['Paid', 'Submitted', 'Draft'][i % 3], customerRef: { id: `cust-${edited ? 99 : i % 20}` }, supplierRef: { id: `sup-${i % 20}` }, totalAmount: i });
  const typeOf = (i: number) => (i % 3 === 2 ? 'bills' : 'invoices');
  const N = 900;
  type State = { doc: ReturnType<typeof docOf>; modified: string; deleted: boolean };
  /** The state of record i at instant `at` (undefined: not stored yet), as the history written below says. */
  function stateAt(i: number, at: number): State | undefined {
    if (t0 + i * day > at) return undefined;
    const edited = i % 3 === 0 && t0 + (i + 40) * day <= at;
    const deleted = i % 7 === 0 && t0 + (i + 70) * day <= at;
    const modified = deleted ? i + 70 : edited ? i + 40 : i;
    return { doc: docOf(i, edited), modified: iso(t0 + modified * day), deleted };
  }

  beforeAll(async () => {
    store = await openTestStore(dialect);
    const now = '2026-01-01T00:00:00.000Z';
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: now }).execute();
    for (const id of [conn, 'c-0002']) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
        .execute();
    }
    const json = (v: unknown) => (dialect === 'postgres' ? sql`${JSON.stringify(v)}::jsonb` : JSON.stringify(v));
    const records = [];
    const changes = [];
    for (const c of [conn, 'c-0002']) {
      for (let i = 0; i < N; i++) {
        const last = stateAt(i, Infinity)!;
        records.push({ connection_id: c, data_type: typeOf(i), record_id: last.doc.id, data: json(last.doc), content_hash: String(i), modified_date: last.modified, source_modified_date: null, is_deleted: last.deleted ? 1 : 0 });
        const change = (kind: string, at: number, prev: State | undefined) => ({
          connection_id: c,
          data_type: typeOf(i),
          record_id: last.doc.id,
          dataset_id: null,
          committed_at: iso(at),
          kind,
          content_hash: 'h',
          source_modified_date: null,
          prev_data: prev ? json(prev.doc) : null,
          prev_content_hash: prev ? 'h' : null,
          prev_modified_date: prev ? prev.modified : null,
          prev_source_modified_date: null,
          prev_is_deleted: prev ? (prev.deleted ? 1 : 0) : null,
        });
        changes.push(change('added', t0 + i * day, undefined));
        if (i % 3 === 0) changes.push(change('updated', t0 + (i + 40) * day, stateAt(i, t0 + (i + 39) * day)));
        if (i % 7 === 0) changes.push(change('deleted', t0 + (i + 70) * day, stateAt(i, t0 + (i + 69) * day)));
      }
    }
    changes.sort((a, b) => a.committed_at.localeCompare(b.committed_at));
    for (let i = 0; i < records.length; i += 200) await store.db.insertInto('records').values(records.slice(i, i + 200) as never).execute();
    for (let i = 0; i < changes.length; i += 200) await store.db.insertInto('record_changes').values(changes.slice(i, i + 200) as never).execute();
    // Written by hand, so their previous states' keys are too (PostgreSQL: the merge copies them from records, 0033).
    if (dialect === 'postgres') await backfillPastKeys(store.db);
    await sql.raw(dialect === 'postgres' ? 'analyze' : 'analyze').execute(store.db);
  });
  afterAll(async () => store.cleanup());

  const at = iso(t0 + 500.5 * day);
  // PostgreSQL: seq scans (and, for the page order, sorts) off, so on these small tables the plan shows what the
  // planner CAN do; at a million records it prefers it anyway (docs/benchmarks.md, history).
  const explain = (c: CompiledQuery, noSort = false) =>
    store.db.connection().execute(async (db) => {
      if (dialect === 'sqlite') return (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows.map((x) => x.detail).join('\n');
      await sql`set enable_seqscan = off`.execute(db);
      if (noSort) await sql`set enable_sort = off`.execute(db);
      try {
        return (await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]))).rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await sql`reset enable_seqscan`.execute(db);
        await sql`reset enable_sort`.execute(db);
      }
    });
  /** The statements an asOf list runs (after its counts); `filterFirstMax` 0: every non-empty half walks in order. */
  const statements = (dataType: 'invoices' | 'bills', params: { query?: string; orderBy?: string }, filterFirstMax?: number, page = { page: 1, pageSize: 100 }) =>
    new RecordsRepository(store.db, dialect).asOfStatements(conn, dataType, page, compileListQuery(recordEntity(dataType), params, dialect), 'value', at, filterFirstMax);

  const cases: [string, string, string, 'invoices' | 'bills'][] = [
    ['id=r-0300', 'records_id_folded', 'record_changes_past_id_folded', 'invoices'],
    ['status=Submitted', 'records_status', 'record_changes_past_status', 'invoices'],
    ['customerRef.id=cust-7', 'records_customer_ref', 'record_changes_past_customer_ref', 'invoices'],
    ['supplierRef.id=sup-5', 'records_supplier_ref', 'record_changes_past_supplier_ref', 'bills'],
  ];
  it.each(cases)('asOf %s: the count reads %s and %s, and so does the page of few matches', async (query, current, past, dataType) => {
    const s = await statements(dataType, { query });
    const count = await explain(s.count.compile());
    expect(count).toContain(current);
    expect(count).toContain(past);
    if (s.page) expect(await explain(s.page.compile())).toContain(current);
  });

  it('asOf, unfiltered: a page walks the records primary key and record_changes_past in id order (no sort of the view); the count reads record_changes_added', async () => {
    const s = await statements('invoices', {}, 0);
    const page = await explain(s.page!.compile(), true);
    expect(page).toContain('record_changes_past');
    if (dialect === 'postgres') {
      expect(page).toContain('records_pk');
      expect(page).not.toMatch(/\bSort +\(/); // a Sort node; Merge Append's "Sort Key" is the merge
    } else {
      // Each half walks its index in id order (no sort of the table); the merge sorts only the ≤ 100 candidates of
      // each half (a SCAN of the co-routine holding them).
      expect(page).toContain('sqlite_autoindex_records_1');
      expect(page).toContain('MERGE (UNION ALL)');
      const lines = page.split('\n');
      lines.forEach((l, i) => l.includes('TEMP B-TREE') && expect(lines[i - 1], page).toBe('SCAN records'));
    }
    const count = await explain(s.count.compile());
    expect(count).toContain('record_changes_added');
    expect(count).toContain('record_changes_window'); // the replaced half, counted up to a cap
    // A small replaced half is read through record_changes_window first.
    expect(await explain((await statements('invoices', {})).page!.compile())).toContain('record_changes_window');
  });

  it('asOf answers are the states at the instant: filtered, ordered, paged and counted, either way a half is read', async () => {
    const repo = new RecordsRepository(store.db, dialect);
    const T = t0 + 500.5 * day;
    for (const [dataType, query, keep] of [
      ['invoices', undefined, () => true],
      ['invoices', 'status=Void', (s: State) => s.doc.status === 'Void'],
      ['invoices', 'status=Submitted', (s: State) => s.doc.status === 'Submitted'],
      ['bills', 'supplierRef.id=sup-4||metadata.isDeleted=true', (s: State) => s.doc.supplierRef.id === 'sup-4' || s.deleted],
      ['invoices', 'customerRef.id=cust-99', (s: State) => s.doc.customerRef.id === 'cust-99'],
      ['invoices', 'modifiedDate>=2026-01-01&&metadata.isDeleted!=true', (s: State) => s.modified >= '2026-01-01' && !s.deleted],
      ['invoices', 'id=r-9999', () => false],
    ] as const) {
      const expected: string[] = [];
      for (let i = 0; i < N; i++) {
        const s = stateAt(i, T);
        if (s && typeOf(i) === dataType && keep(s)) expected.push(s.doc.id);
      }
      expected.sort().reverse();
      for (const filterFirstMax of [undefined, 0]) {
        const got: string[] = [];
        for (let p = 1; ; p++) {
          const s = await statements(dataType, { query, orderBy: '-id' }, filterFirstMax, { page: p, pageSize: 70 });
          expect(s.total, `${dataType} ${query}`).toBe(expected.length);
          const rows = s.page ? await s.page.execute() : [];
          got.push(...rows.map((x) => x.record_id));
          for (const x of rows) {
            const st = stateAt(Number(x.record_id.slice(2)), T)!;
            expect(typeof x.data === 'string' ? JSON.parse(x.data) : x.data).toEqual(st.doc);
            expect([x.modified_date, x.is_deleted]).toEqual([st.modified, st.deleted ? 1 : 0]);
          }
          if (rows.length < 70) break;
        }
        expect(got, `${dataType} ${query} ${filterFirstMax}`).toEqual(expected);
      }
      // and through list(), as the endpoint calls it
      const r = await repo.list(conn, dataType, { page: 1, pageSize: 5 }, compileListQuery(recordEntity(dataType), { query, orderBy: '-id' }, dialect), 'text', iso(T));
      expect([r.total, r.rows.map((x) => x.record_id)]).toEqual([expected.length, expected.slice(0, 5)]);
    }
  });
  it('asOf counts kept by the merges (migration 0028): no filter and the deleted flag are a primary-key probe, a filtered count reads its indexes alone, answers unchanged', async () => {
    // The counts the merges would have kept for this history, as the migration computes them for history already kept.
    await sql`insert into record_counts (connection_id, data_type, total, deleted, generation)
              select connection_id, data_type, count(*), sum(is_deleted), 1 from records group by connection_id, data_type`.execute(store.db);
    await backfillCountsAt(store.db);
    await sql.raw(dialect === 'postgres' ? 'vacuum analyze records, record_counts_at' : 'analyze').execute(store.db);
    const T = t0 + 500.5 * day;
    const expected = (dataType: string, keep: (s: State) => boolean) => {
      let n = 0;
      for (let i = 0; i < N; i++) {
        const s = stateAt(i, T);
        if (s && typeOf(i) === dataType && keep(s)) n++;
      }
      return n;
    };
    const pk = dialect === 'postgres' ? 'record_counts_at_pkey' : 'sqlite_autoindex_record_counts_at_1';
    for (const [query, keep] of [
      [undefined, () => true],
      ['metadata.isDeleted=true', (s: State) => s.deleted],
      ['metadata.isDeleted!=true', (s: State) => !s.deleted],
    ] as const) {
      const s = await statements('invoices', { query });
      expect(s.total, query).toBe(expected('invoices', keep));
      // Counted from the kept row: the statement is the kept-counts one, no count of the view's halves.
      expect(s.count).toBe(s.kept);
      const plan = await explain(s.kept.compile());
      expect(plan).toContain(pk);
      expect(plan).not.toContain('record_changes_added');
      expect(plan).toContain('record_changes_window'); // the replaced half, counted up to a cap (index-only)
      if (dialect === 'sqlite') {
        expect(plan).toMatch(/COVERING INDEX record_changes_window/);
        expect(plan).not.toMatch(/SCAN record_counts_at|SCAN records\b/);
      } else {
        expect(plan).not.toMatch(/Seq Scan/);
      }
    }
    // A filtered count: the current half from the filter index alone (migration 0028 ends it with modified_date).
    const s = await statements('invoices', { query: 'status=Submitted' });
    expect(s.total).toBe(expected('invoices', (x) => x.doc.status === 'Submitted'));
    const count = await explain(s.count.compile());
    if (dialect === 'sqlite') expect(count).toMatch(/COVERING INDEX records_status/);
    // PostgreSQL: the key is a stored column since migration 0024 and the date is in the index, so the current half
    // can be counted from records_status alone (record-query-keys.test.ts checks that it is, with no heap fetch).
    else expect(count).toMatch(/(Bitmap Index Scan on|Index (Only )?Scan using) records_status[^\n]*\n\s*Index Cond: [^\n]*status_key = [^\n]*modified_date <=/);
    expect(count).toContain('record_changes_past_status');
    // Whether a cached count still holds: the merges since its generation, through record_counts_at_generation.
    const since = await explain(asOfChangedSince(store.db, conn, 'invoices', iso(T), 0).compile());
    expect(since).toContain('record_counts_at_generation');
  });
});
