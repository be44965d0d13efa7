import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { openTestStore, type TestStore } from '../../test/support/stores.js';
import { claimCandidates, requeueExpired } from './datasets.repository.js';
import { finishReadSql, finishUpdateAtSql } from './migrations/0030-queue-plans.js';
import { FINISH_LOCK_SQL } from './migrations/0036-finish-locks-first.js';
import { CLAIM_CANDIDATE_SQL, claimUpdateSql } from './migrations/0034-queue-claim-statements.js';

/** The settings migrations 0030 and 0034 give both queue functions. */
const FUNCTION_SETTINGS = ['enable_sort=off', 'enable_seqscan=off', 'enable_bitmapscan=off', 'jit=off', 'plan_cache_mode=force_generic_plan'];

/**
 * The statements of the claim (migration 0034) and completion (0030) functions with their plpgsql variables as parameters,
 * and what their generic plan must look like whatever the statistics (issue 17: 0029's generic plans, made from an
 * empty table's statistics, walked the whole claim-order index for each claim and hashed every running dataset for
 * each completion).
 */
const STATEMENTS: { name: string; text: string; types: string; args: string; must: RegExp[] }[] = [
  {
    name: 'candidate',
    text: CLAIM_CANDIDATE_SQL,
    types: '(text, text, text, text[], int[])',
    args: `('w', '2026-01-02T00:00:00.000Z', '2026-01-02T00:01:00.000Z', '{mqjo,other}', '{1,4}')`,
    must: [/LockRows/, /Index Scan using datasets_claim_order on datasets d\b/, /Index (Only )?Scan using datasets_running_slot on datasets r\b/, /connections_pkey|connections_company_idx/],
  },
  {
    // The update by tuple id, its connection by key, and the facts its RETURNING reads (0034), each a keyed walk.
    name: 'claim_update',
    text: claimUpdateSql('$6', '$7', '$8'),
    types: '(text, text, text, text[], int[], tid, text, int)',
    args: `('w', '2026-01-02T00:00:00.000Z', '2026-01-02T00:01:00.000Z', '{mqjo}', '{1}', '(0,1)', 'conn-1', 1)`,
    must: [
      /Tid Scan on datasets d\b/,
      /TID Cond: \(ctid = \$6\)/,
      // connections_company_idx only when keyed by the company first (never a walk of the whole index for an id).
      /Index Scan using connections_(pkey|company_idx) on connections c\b.*\n\s+Index Cond: \((\(company_id = d\.company_id\)|id = \$7)/,
      /Index Scan Backward using datasets_conn_type_seq on datasets p\b/,
      /Index Cond: \(\(connection_id = \$7\) AND \(data_type = d\.data_type\)\)/,
      /Index Scan Backward using datasets_conn_type_seq on datasets f\b/,
    ],
  },
  {
    name: 'claim_staging',
    text: 'delete from record_staging s where s.dataset_id = $1',
    types: '(text)',
    args: `('ds-1')`,
    must: [/Index Scan using record_staging_pkey/],
  },
  {
    name: 'finish_lock',
    text: FINISH_LOCK_SQL,
    types: '(text)',
    args: `('ds-1')`,
    must: [/Index Scan using datasets_id_key on datasets x/],
  },
  {
    name: 'finish_update',
    text: finishUpdateAtSql('$1', '$2', '$3', '$4', '$5'),
    types: '(tid, text, text, text, jsonb)',
    args: `('(0,1)', 'w', 'Complete', '2026-01-02T00:00:00.000Z', '{}')`,
    must: [/Tid Scan on datasets d\b/],
  },
  {
    name: 'finish_read',
    text: finishReadSql('$1', '$2'),
    types: '(text, text)',
    args: `('r', '2026-01-02T00:00:00.000Z')`,
    must: [/Index Scan using dataset_reads_pkey/],
  },
];

/** Generic plan of each statement under the functions' settings. */
async function plans(db: Kysely<unknown>): Promise<Map<string, string>> {
  return db.transaction().execute(async (trx) => {
    for (const s of FUNCTION_SETTINGS) {
      const [k, v] = s.split('=');
      await sql.raw(`set local ${k} = ${v}`).execute(trx);
    }
    const out = new Map<string, string>();
    for (const s of STATEMENTS) {
      await sql.raw(`prepare plan_${s.name}${s.types} as ${s.text}`).execute(trx);
      const r = await sql.raw<{ 'QUERY PLAN': string }>(`explain execute plan_${s.name}${s.args}`).execute(trx);
      await sql.raw(`deallocate plan_${s.name}`).execute(trx);
      out.set(s.name, r.rows.map((x) => x['QUERY PLAN']).join('\n'));
    }
    return out;
  });
}

function expectKeyed(all: Map<string, string>) {
  for (const s of STATEMENTS) {
    const plan = all.get(s.name)!;
    for (const re of s.must) expect(plan, `${s.name}:\n${plan}`).toMatch(re);
    // Never the whole table, never a bitmap of a whole partial index, never a sort of the queue, never a join whose
    // inner side is walked in full for each row.
    expect(plan, `${s.name}:\n${plan}`).not.toMatch(/Seq Scan on (datasets|connections|record_staging|dataset_reads)\b|Bitmap|Sort|Join Filter/);
    if (s.name === 'candidate' || s.name === 'claim_update' || s.name === 'finish_update') expect(plan).toMatch(/\$[0-9]/); // truly generic
  }
}

describe('dataset claim plan [postgres]', () => {
  let store: TestStore;
  const now = '2026-01-01T00:00:00.000Z';
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => store.cleanup());

  it('both queue functions run with sorting, sequential and bitmap scans, and JIT off, and one generic plan', async () => {
    const fn = await sql<{ proname: string; proconfig: string[] | null; lanname: string }>`
      select p.proname, p.proconfig, l.lanname from pg_proc p join pg_language l on l.oid = p.prolang
      where p.proname in ('syncline_claim_datasets', 'syncline_finish_datasets') order by p.proname`.execute(store.db);
    expect(fn.rows.map((r) => r.proname)).toEqual(['syncline_claim_datasets', 'syncline_finish_datasets']);
    for (const r of fn.rows) {
      expect(r.lanname).toBe('plpgsql');
      expect(r.proconfig).toEqual(FUNCTION_SETTINGS);
    }
  });

  // Sessions plan once, at their first call: in a fresh database (never analyzed), after an ANALYZE of empty tables,
  // or with a loaded history and a long queue — every plan must stay keyed in all three.
  it('the generic plans of the claim and completion statements stay keyed lookups and index walks, whatever the statistics', async () => {
    expectKeyed(await plans(store.db as Kysely<unknown>));
    await sql`analyze`.execute(store.db);
    expectKeyed(await plans(store.db as Kysely<unknown>));
    await sql
      .raw(
        `insert into companies (id, name, description, tags, created_at) values ('co', 'Co', null, '{}', '${now}');
         insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync)
           select 'conn-' || i, 'co', 'mqjo', 'Linked', null, null, null, '${now}', '${now}', null from generate_series(1, 3000) s(i);
         insert into dataset_reads (read_id, company_id, connection_id, trigger, initial, first_link, pending, created_at, completed_at)
           select 'r' || i, 'co', 'conn-' || i, 'refresh', 0, 0, 1, '${now}', null from generate_series(1, 3000) s(i);
         insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, read_id, trigger, sync_order, settings, attempts, completed)
           select 'old-' || i, 'co', 'conn-' || (i % 3000 + 1), 'invoices', 'Complete', 100, '${now}', 'r1', 'refresh', 6, '{}', 1, '${now}' from generate_series(1, 6000) s(i);
         insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, read_id, trigger, sync_order, settings, attempts)
           select 'ds-' || i, 'co', 'conn-' || i, 'invoices', 'Queued', 0, '${now}', 'r' || i, 'refresh', i % 17, '{}', 0 from generate_series(1, 3000) s(i);
         analyze;`,
      )
      .execute(store.db);
    expectKeyed(await plans(store.db as Kysely<unknown>));
  });

  it('the sweeper finds expired leases through datasets_running_slot, in its generic plan too (datasets_leases is gone)', async () => {
    const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'datasets'`.execute(store.db);
    expect(indexes.rows.map((r) => r.indexname)).not.toContain('datasets_leases');
    const plan = await store.db.transaction().execute(async (trx) => {
      // Sequential scans off: this checks that the partial index can serve the generic plan at all (a tiny test table
      // is otherwise read whole, as it should be).
      await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
      await sql`set local enable_seqscan = off`.execute(trx);
      const c = requeueExpired(trx, '2026-01-02T00:00:00.000Z').compile();
      expect(c.parameters.length).toBeGreaterThan(0);
      await sql.raw(`prepare sweep_requeue as ${c.sql}`).execute(trx);
      const literal = (p: unknown) => (p === null ? 'null' : `'${String(p).replace(/'/g, "''")}'`);
      const r = await sql.raw<{ 'QUERY PLAN': string }>(`explain execute sweep_requeue(${c.parameters.map(literal).join(', ')})`).execute(trx);
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan (using|on) datasets_running_slot\b/);
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it('the SQLite-shaped candidate query walks datasets_claim_order and sorts nothing', async () => {
    const plan = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_sort = off`.execute(trx);
      const c = claimCandidates(trx, 'postgres', '2026-01-02T00:00:00.000Z', { mqjo: 1 }).compile();
      const r = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]));
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('datasets_claim_order');
    expect(plan).not.toMatch(/Sort/);
  });
});
