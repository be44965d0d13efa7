import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { openTestStore, type TestStore } from '../../test/support/stores.js';
import { claimCandidates } from './datasets.repository.js';

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

  // The one-statement claim (migration 0022's function) plans its body at each call, under its own SET enable_sort =
  // off; its body walks the index with a custom plan and with a generic one alike (a generic plan of the old claim took
  // ~180 ms a claim, issue 17), so preparing it anywhere keeps the plan good.
  it.each(['force_custom_plan', 'force_generic_plan'])('the claim function walks datasets_claim_order and sorts nothing (%s)', async (mode) => {
    const fn = await sql<{ prosrc: string; proconfig: string[] | null }>`select prosrc, proconfig from pg_proc where proname = 'syncline_claim_dataset'`.execute(store.db);
    expect(fn.rows).toHaveLength(1);
    expect(fn.rows[0]!.proconfig).toEqual(['enable_sort=off']);
    const plan = await store.db.transaction().execute(async (trx) => {
      await sql`set local enable_sort = off`.execute(trx);
      await sql.raw(`set local plan_cache_mode = ${mode}`).execute(trx);
      await sql.raw(`prepare claim_plan(text, text, text, text[], int[]) as ${fn.rows[0]!.prosrc}`).execute(trx);
      const r = await sql<{ 'QUERY PLAN': string }>`explain execute claim_plan('w', '2026-01-02T00:00:00.000Z', '2026-01-02T00:01:00.000Z', '{mqjo,other}', '{1,4}')`.execute(trx);
      await sql`deallocate claim_plan`.execute(trx);
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('datasets_claim_order');
    expect(plan).not.toMatch(/Sort/);
  });
});
