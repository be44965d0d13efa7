import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { databaseWithout, DIALECTS } from '../../test/support/stores.js';
import { migrateToLatest, type Dialect, type Store } from './db.js';
import { DatasetsRepository, type DatasetRow } from './datasets.repository.js';
import { queueRead } from './enqueue.js';
import { defaultSetting } from '../domain/sync-settings.js';
import type { ConnectionRow } from './connections.repository.js';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();

/**
 * Migration 0030 (the queue functions rewritten with keyed plans) over a database that 0029's functions were running:
 * a pull they claimed ends through the new completion, with its read counted down; pulls they left queued are claimed
 * by the new claim, in claim order, with the facts of the history written before the migration.
 */
describe.each(DIALECTS)('migration 0030 over a running queue [%s]', (dialect: Dialect) => {
  let store: Store;
  let drop: () => Promise<void>;
  let conn: ConnectionRow;
  let held: DatasetRow;
  let datasets: DatasetsRepository;

  beforeAll(async () => {
    // 0034 replaces the claim function again and 0036 the completion: the database as it stood before 0030 had neither.
    ({ store, drop } = await databaseWithout(dialect, ['0030-queue-plans', '0034-queue-claim-statements', '0036-finish-locks-first']));
    datasets = new DatasetsRepository(store.db, dialect);

    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: T0 }).execute();
    await store.db
      .insertInto('connections')
      .values({ id: 'conn', company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: T0, updated_at: T0, last_sync: null })
      .execute();
    conn = (await store.db.selectFrom('connections').selectAll().where('id', '=', 'conn').executeTakeFirstOrThrow()) as ConnectionRow;
    const queue = (types: ('invoices' | 'bills' | 'customers')[], now: string) =>
      queueRead(store.db, dialect, { companyId: 'co', connection: conn, settings: types.map((t) => defaultSetting(t)), trigger: 'refresh', now, supports: () => true, integrationEnabled: true });
    // History under 0029: invoices pulled twice (a full listing, then an incremental one).
    for (const [i, full] of [[0, 1], [1, 0]] as const) {
      await queue(['invoices'], at(i * 10));
      const ds = (await datasets.claim({ workerId: 'old', now: at(i * 10 + 1), leaseExpires: at(i * 10 + 2), maxPerConnection: { mqjo: 1 } }))!;
      expect(await datasets.finishUnmerged(ds.id, 'old', 'Complete', at(i * 10 + 3), { cursor_out: `c${i}`, full_listing: full })).toMatchObject({ status: 'Complete' });
    }
    // Then a refresh of three types: 0029 claims the first in sync order, customers (it is running when the migration
    // comes); invoices and bills stay queued.
    await queue(['invoices', 'bills', 'customers'], at(30));
    held = (await datasets.claim({ workerId: 'old', now: at(31), leaseExpires: at(90), maxPerConnection: { mqjo: 3 } }))!;
    expect(held).toMatchObject({ data_type: 'customers', status: 'Fetching', last_cursor: null, completes_since_full: 0 });
    if (dialect === 'postgres') {
      const fn = await sql<{ proconfig: string[] }>`select proconfig from pg_proc where proname = 'syncline_claim_datasets'`.execute(store.db);
      expect(fn.rows[0]!.proconfig).not.toContain('enable_seqscan=off'); // 0029's function ran the claims above
    }
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store.close();
    await drop();
  });

  it('a pull claimed before the migration ends through the new completion; its read is counted down', async () => {
    const ended = await datasets.finishUnmerged(held.id, 'old', 'Complete', at(40), { cursor_out: 'k1', full_listing: 1, records_added: 0 });
    expect(ended).toMatchObject({ id: held.id, status: 'Complete', cursor_out: 'k1', full_listing: 1, lease_owner: null, run_slot: null, progress: 100, completed: at(40) });
    // Not held any more: a second completion changes nothing.
    expect(await datasets.finishUnmerged(held.id, 'old', 'InternalError', at(41))).toBeUndefined();
    const read = await store.db.selectFrom('dataset_reads').select(['pending', 'completed_at']).where('read_id', '=', held.read_id).executeTakeFirstOrThrow();
    expect(read).toEqual({ pending: 2, completed_at: null });
  });

  it('pulls queued before the migration are claimed by the new claim in claim order, with the facts of the older history', async () => {
    const max = { mqjo: 2 };
    const claimed = await datasets.claimMany({ workerId: 'new', now: at(42), leaseExpires: at(43), maxPerConnection: max, n: 3 });
    expect(claimed.map((d) => [d.data_type, d.run_slot, d.status, d.attempts])).toEqual([
      ['invoices', 0, 'Fetching', 1],
      ['bills', 1, 'Fetching', 1],
    ]);
    // invoices: the two pulls before the migration (newest cursor c1, the full listing completed at minute 3).
    expect(claimed[0]).toMatchObject({ integration_key: 'mqjo', connection_status: 'Linked', last_cursor: 'c1', last_full_completed: at(3), completes_since_full: 1 });
    expect(claimed[1]).toMatchObject({ last_cursor: null, last_full_completed: null, completes_since_full: 0 });
    expect(await datasets.finishUnmerged(claimed[0]!.id, 'new', 'Complete', at(44), { cursor_out: 'c2', full_listing: 0 })).toMatchObject({ status: 'Complete' });
    expect(await datasets.finishUnmerged(claimed[1]!.id, 'new', 'Complete', at(44))).toMatchObject({ status: 'Complete' });
    const read = await store.db.selectFrom('dataset_reads').select(['pending', 'completed_at']).where('read_id', '=', held.read_id).executeTakeFirstOrThrow();
    expect(read).toEqual({ pending: 0, completed_at: at(44) });
    // invoices' history, written before the migration and after: the newest cursor, two incremental pulls since the full one.
    await queueRead(store.db, dialect, { companyId: 'co', connection: conn, settings: [defaultSetting('invoices')], trigger: 'refresh', now: at(50), supports: () => true, integrationEnabled: true });
    expect(await datasets.claim({ workerId: 'new', now: at(51), leaseExpires: at(52), maxPerConnection: max })).toMatchObject({
      data_type: 'invoices',
      last_cursor: 'c2',
      last_full_completed: at(3),
      completes_since_full: 2,
    });
  });
});
