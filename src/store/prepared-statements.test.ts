import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { createTestDatabase } from '../../test/support/stores.js';
import { DatasetEntity, recordEntity } from '../api/query-entities.js';
import { compileListQuery } from '../query/index.js';
import { openStore, type Store } from './db.js';
import type { Database } from './schema.js';
import { RecordsRepository } from './records.repository.js';
import { DatasetsRepository } from './datasets.repository.js';
import { CompaniesRepository } from './companies.repository.js';
import { ConnectionsRepository } from './connections.repository.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { StatementNames } from './prepared-statements.js';
import { dataStatusFacts } from './data-status.sql.js';

/** pg_prepared_statements of the store's one pooled connection (poolSize 1), prepared by Syncline. */
async function prepared(store: Store): Promise<{ name: string; statement: string; executions: number }[]> {
  const r = await sql<{ name: string; statement: string; executions: number }>`
    select name, statement, (generic_plans + custom_plans)::int as executions from pg_prepared_statements where name like 'syncline_%'`.execute(store.db);
  return r.rows;
}

describe('statement names', () => {
  it('names a parameterised DML text from its second sighting, never a parameterless or utility one, and at most maxNamed', () => {
    const n = new StatementNames(2);
    expect(n.nameFor('select 1 where 1 = $1', [1])).toBeUndefined();
    const a = n.nameFor('select 1 where 1 = $1', [2]);
    expect(a).toMatch(/^syncline_[0-9a-f]{24}$/);
    expect(n.nameFor('select 1 where 1 = $1', [3])).toBe(a);
    for (let i = 0; i < 3; i++) expect(n.nameFor('select 2; select 3', [])).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(n.nameFor('create table x (a int)', [1])).toBeUndefined();
    n.nameFor(' WITH x as (select $1) select * from x', [1]);
    expect(n.nameFor(' WITH x as (select $1) select * from x', [1])).toMatch(/^syncline_/);
    n.nameFor('update t set a = $1', [1]);
    expect(n.nameFor('update t set a = $1', [1])).toBeUndefined(); // the bound (2) is reached
    expect(n.size).toBe(2);
  });
});

describe('prepared statements [postgres]', () => {
  let location: string;
  let drop: () => Promise<void>;
  let store: Store;
  beforeAll(async () => {
    ({ location, drop } = await createTestDatabase('postgres'));
    store = openStore({ databaseUrl: location, poolSize: 1 });
  });
  afterAll(async () => {
    await store.close();
    await drop();
  });

  it('a statement run again is prepared once on its connection and reused; a one-off is not prepared', async () => {
    const q = (id: string) => store.db.selectFrom('companies').select(['id', 'name']).where('id', '=', id);
    const text = q('x').compile().sql;
    await store.db.insertInto('companies').values({ id: 'p1', name: 'P1', description: null, tags: '{}', created_at: '2026-01-01T00:00:00.000Z' }).execute();
    for (let i = 0; i < 4; i++) expect(await q(i % 2 ? 'p1' : 'nope').execute()).toEqual(i % 2 ? [{ id: 'p1', name: 'P1' }] : []);
    await store.db.selectFrom('companies').select('id').where('name', '=', 'once').execute();
    const rows = await prepared(store);
    expect(rows.filter((r) => r.statement === text)).toEqual([{ name: expect.stringMatching(/^syncline_/), statement: text, executions: 3 }]);
    expect(rows.some((r) => r.statement.includes('"name" ='))).toBe(false);
    await q('p1').execute();
    expect((await prepared(store)).filter((r) => r.statement === text).map((r) => r.executions)).toEqual([4]);
  });

  it('errors keep their meaning, inside and outside transactions', async () => {
    const ins = (id: string) => store.db.insertInto('companies').values({ id, name: 'Dup', description: null, tags: '{}', created_at: '2026-01-01T00:00:00.000Z' }).execute();
    await ins('dup');
    for (let i = 0; i < 3; i++) await expect(ins('dup')).rejects.toMatchObject({ code: '23505' });
    await expect(
      store.db.transaction().execute(async (trx) => {
        await trx.insertInto('companies').values({ id: 'in-tx', name: 'T', description: null, tags: '{}', created_at: '2026-01-01T00:00:00.000Z' }).execute();
        await trx.insertInto('companies').values({ id: 'dup', name: 'Dup', description: null, tags: '{}', created_at: '2026-01-01T00:00:00.000Z' }).execute();
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await store.db.selectFrom('companies').select('id').where('id', '=', 'in-tx').execute()).toEqual([]);
  });

  it('a table changed under a prepared select * by another connection still answers, with the new column', async () => {
    await sql`create table prep_t (a int)`.execute(store.db);
    await sql`insert into prep_t values (1)`.execute(store.db);
    const db = store.db as unknown as Kysely<{ prep_t: { a: number } }>;
    const read = () => db.selectFrom('prep_t').selectAll().where('a', '>', 0).execute();
    for (let i = 0; i < 3; i++) expect(await read()).toEqual([{ a: 1 }]);
    const other = new pg.Client({ connectionString: location });
    await other.connect();
    await other.query('alter table prep_t add column b int default 7');
    await other.end();
    expect(await read()).toEqual([{ a: 1, b: 7 }]);
    expect(await read()).toEqual([{ a: 1, b: 7 }]);
    // In a transaction the statement cannot be run again (the transaction is aborted): the error surfaces once, and
    // the connection is replaced, so the next use answers.
    const other2 = new pg.Client({ connectionString: location });
    await other2.connect();
    for (let i = 0; i < 3; i++) expect(await read()).toEqual([{ a: 1, b: 7 }]);
    await other2.query('alter table prep_t add column c int default 8');
    await other2.end();
    await expect(db.transaction().execute(async (trx) => trx.selectFrom('prep_t').selectAll().where('a', '>', 0).execute())).rejects.toMatchObject({ code: '0A000' });
    expect(await read()).toEqual([{ a: 1, b: 7, c: 8 }]);
  });

  it('keeps at most maxPreparedStatements statements on a connection; 0 prepares none', async () => {
    for (const max of [2, 0]) {
      const s = openStore({ databaseUrl: location, poolSize: 1, maxPreparedStatements: max });
      try {
        for (let k = 0; k < 5; k++) {
          for (let i = 0; i < 2; i++) expect(await s.db.selectFrom('companies').select(sql<number>`${sql.raw(String(k))}::int`.as("k")).where('id', '=', 'p1').execute()).toEqual([{ k }]);
        }
        expect((await prepared(s)).length).toBe(max);
      } finally {
        await s.close();
      }
    }
  });
});

/**
 * PostgreSQL keeps a generic plan for a prepared statement after five executions when it estimates it no dearer, and
 * a generic plan knows no parameter value. Every statement of the hot reads (API key, company, current connection,
 * dataStatus, pull history, record lists and counts for the query bench's filters) is planned here generically
 * (plan_cache_mode = force_generic_plan) with sequential scans off: a table read by a sequential scan means that no
 * index serves the statement without knowing its parameters, and preparing it would be a trap (the old claim query's
 * generic plan took ~180 ms a claim, issue 17).
 */
describe('generic plans of the hot reads use indexes [postgres]', () => {
  let location: string;
  let drop: () => Promise<void>;
  let pool: pg.Pool;
  let db: Kysely<Database>;
  const captured: CompiledQuery[] = [];
  const conn = 'c-0002'; // 1,000 invoices (and c-0001 1,000 bills, c-0003 1,000 invoices)
  beforeAll(async () => {
    ({ location, drop } = await createTestDatabase('postgres'));
    pool = new pg.Pool({ connectionString: location, max: 1 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => void captured.push(e.query) });
    const now = '2026-01-01T00:00:00.000Z';
    await sql
      .raw(
        `insert into companies (id, name, description, tags, created_at) select 'co-' || i, 'Co ' || i, null, '{}', '${now}' from generate_series(1, 300) s(i);
         insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync)
           select 'c-' || lpad(i::text, 4, '0'), 'co-' || (1 + i % 300), 'mqjo', 'Linked', null, null, null, '${now}', '${now}', null from generate_series(1, 600) s(i);
         insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
           select 'c-' || lpad((1 + i % 3)::text, 4, '0'), case when i % 3 = 0 then 'bills' else 'invoices' end, 'inv-' || i,
                  jsonb_build_object('id', 'inv-' || i, 'status', (array['Paid','Submitted','Draft','Void'])[1 + i % 4], 'customerRef', jsonb_build_object('id', 'cust-' || i % 50),
                                     'supplierRef', jsonb_build_object('id', 'sup-' || i % 50), 'totalAmount', i),
                  'h' || i, to_char(timestamp '2025-01-01' + i * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), null, (i % 50 = 0)::int
           from generate_series(1, 3000) s(i);
         insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, read_id, trigger, sync_order, settings, attempts)
           select 'ds-' || i, 'co-' || (1 + (i % 600) % 300), 'c-' || lpad((1 + i % 600)::text, 4, '0'), (array['invoices','bills','customers'])[1 + i % 3],
                  case when i <= 600 and i % 5 = 0 then 'Queued' else 'Complete' end, 0, '${now}', 'r', 'refresh', 0, '{}', 0 from generate_series(1, 3000) s(i);
         analyze;`,
      )
      .execute(db);
  });
  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  /** The generic plan of a captured statement, with sequential scans off. */
  async function genericPlan(c: CompiledQuery): Promise<string> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('set local enable_seqscan = off');
      await client.query('set local plan_cache_mode = force_generic_plan');
      await client.query(`prepare hot_plan as ${c.sql}`);
      const args = c.parameters.map((v) => (v === null ? 'null' : client.escapeLiteral(typeof v === 'object' ? JSON.stringify(v) : String(v))));
      const r = await client.query<{ 'QUERY PLAN': string }>(`explain execute hot_plan${args.length ? `(${args.join(', ')})` : ''}`);
      if (process.env.SHOW_PLANS) console.log(c.sql, '\n', r.rows.map((x) => x['QUERY PLAN']).join('\n'));
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    } finally {
      await client.query('rollback');
      await client.query('deallocate all');
      client.release();
    }
  }

  async function statementsOf(run: () => Promise<unknown>): Promise<CompiledQuery[]> {
    captured.length = 0;
    await run();
    return captured.filter((c) => c.parameters.length > 0 && /^\s*(select|with)\b/i.test(c.sql));
  }

  const reads: [string, () => Promise<unknown>][] = [
    ['API key by hash', () => new ApiKeysRepository(db).findByHash('abc')],
    ['company by id', () => new CompaniesRepository(db).get('co-7')],
    ['current connection', () => new ConnectionsRepository(db).current('co-7')],
    ['dataStatus (one statement)', () => dataStatusFacts(db, 'postgres', 'co-7')],
    ['latest dataset per type', () => new DatasetsRepository(db, 'postgres').latestPerType('c-0007', 'Complete')],
    ['pull history', () => new DatasetsRepository(db, 'postgres').listForCompany('co-7', { page: 1, pageSize: 100 }, compileListQuery(DatasetEntity, { query: 'status=Complete' }, 'postgres'))],
  ];
  it.each(reads)('%s', async (_label, run) => {
    const stmts = await statementsOf(run);
    expect(stmts.length).toBeGreaterThan(0);
    for (const s of stmts) expect(await genericPlan(s), s.sql).not.toMatch(/Seq Scan/);
  });

  it('dataStatus probes datasets_conn_type_seq per data type (no hash of every dataset)', async () => {
    const [s] = await statementsOf(() => dataStatusFacts(db, 'postgres', 'co-7'));
    const plan = await genericPlan(s!);
    expect(plan).toContain('datasets_conn_type_seq');
    expect(plan).not.toMatch(/Hash/);
  });

  const filters: (string | undefined)[] = [
    undefined,
    'metadata.isDeleted!=true',
    'id=inv-7',
    'status=Paid',
    'customerRef.id=cust-7',
    'modifiedDate>=2025-01-10&&modifiedDate<2025-01-20',
    'metadata.isDeleted=true',
  ];
  it.each(filters)('invoice list and count, query=%s, pages 1, 2 and 30', async (query) => {
    const repo = new RecordsRepository(db, 'postgres');
    for (const page of [1, 2, 30]) {
      const list = () => repo.list(conn, 'invoices', { page, pageSize: 10 }, compileListQuery(recordEntity('invoices'), { query }, 'postgres'), 'text');
      const stmts = await statementsOf(list);
      const r = await list();
      expect(r.total).toBeGreaterThan(0);
      expect(r.rows).toHaveLength(Math.min(10, Math.max(0, r.total - (page - 1) * 10)));
      if (r.rows.length > 0) expect(stmts.some((s) => /\blimit\b/.test(s.sql))).toBe(true);
      for (const s of stmts) expect(await genericPlan(s), s.sql).not.toMatch(/Seq Scan/);
    }
  });
});
