import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { openTestStore, type TestStore } from '../../test/support/stores.js';
import { claimCandidates } from './datasets.repository.js';
import { CLAIM_ONE_SQL } from './migrations/0029-batch-claim-finish.js';

/**
 * The claim reads the queue in claim order through datasets_claim_order whatever the statistics say: 3,000 datasets
 * queued at once, never analyzed (as after a scheduler batch), still no sort of the queue.
 */
describe('dataset claim plan [postgres]', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore('postgres');
    const now = '2026-01-01T00:00:00.000Z';
    await sql
      .raw(
        `insert into companies (id, name, description, tags, created_at) values ('co', 'Co', null, '{}', '${now}');
         insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync)
           select 'conn-' || i, 'co', 'mqjo', 'Linked', null, null, null, '${now}', '${now}', null from generate_series(1, 3000) s(i);
         insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, read_id, trigger, sync_order, settings, attempts)
           select 'ds-' || i, 'co', 'conn-' || i, 'invoices', 'Queued', 0, '${now}', 'r', 'refresh', i % 17, '{}', 0 from generate_series(1, 3000) s(i);`,
      )
      .execute(store.db);
  });
  afterAll(async () => store.cleanup());

  it('walks datasets_claim_order and sorts nothing', async () => {
    const plan = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_sort = off`.execute(trx);
      const c = claimCandidates(trx, 'postgres', '2026-01-02T00:00:00.000Z', { mqjo: 1 }).compile();
      const r = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]));
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('datasets_claim_order');
    expect(plan).not.toMatch(/Sort/);
  });

  // The claim (migration 0029's plpgsql function, running 0022's statement up to n times) keeps one plan for the
  // session: under its own SET enable_sort = off and plan_cache_mode = force_generic_plan, the generic plan of that
  // statement — and a custom one alike — walks the index (a generic plan of the old claim took ~180 ms a claim,
  // issue 17).
  it('the claim function runs with sorting off and one generic plan', async () => {
    const fn = await sql<{ proconfig: string[] | null; lanname: string }>`
      select p.proconfig, l.lanname from pg_proc p join pg_language l on l.oid = p.prolang where p.proname = 'syncline_claim_datasets'`.execute(store.db);
    expect(fn.rows).toHaveLength(1);
    expect(fn.rows[0]!.lanname).toBe('plpgsql');
    expect(fn.rows[0]!.proconfig).toEqual(['enable_sort=off', 'plan_cache_mode=force_generic_plan']);
  });
  it.each(['force_custom_plan', 'force_generic_plan'])('the claim statement walks datasets_claim_order and sorts nothing (%s)', async (mode) => {
    const plan = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_sort = off`.execute(trx);
      await sql.raw(`set local plan_cache_mode = ${mode}`).execute(trx);
      await sql.raw(`prepare claim_plan(text, text, text, text[], int[]) as ${CLAIM_ONE_SQL}`).execute(trx);
      const r = await sql<{ 'QUERY PLAN': string }>`explain execute claim_plan('w', '2026-01-02T00:00:00.000Z', '2026-01-02T00:01:00.000Z', '{mqjo,other}', '{1,4}')`.execute(trx);
      await sql`deallocate claim_plan`.execute(trx);
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('datasets_claim_order');
    expect(plan).not.toMatch(/Sort/);
    if (mode === 'force_generic_plan') expect(plan).toMatch(/\$2/); // truly generic: the parameter, not a value
  });
});
