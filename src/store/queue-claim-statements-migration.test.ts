import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { databaseWithout, DIALECTS } from '../../test/support/stores.js';
import { migrateToLatest, type Dialect, type Store } from './db.js';
import { DatasetsRepository, type ClaimedDataset } from './datasets.repository.js';
import { queueRead } from './enqueue.js';
import { defaultSetting } from '../domain/sync-settings.js';
import type { ConnectionRow } from './connections.repository.js';
import type { DataType } from '../domain/data-types.js';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();

/**
 * Migration 0034 (the claim in two statements, datasets_leases dropped) over a database whose queue 0030's functions
 * were running: a pull they claimed ends; a pull handed back with staged pages is claimed again from an empty staging;
 * pulls left queued are claimed in claim order with the facts of the history written before; an expired lease is still
 * swept.
 */
describe.each(DIALECTS)('migration 0034 over a running queue [%s]', (dialect: Dialect) => {
  let store: Store;
  let drop: () => Promise<void>;
  let conn: ConnectionRow;
  let other: ConnectionRow;
  let datasets: DatasetsRepository;
  let held: ClaimedDataset;
  let handedBack: ClaimedDataset;
  let expired: ClaimedDataset;

  const queue = (c: ConnectionRow, types: DataType[], now: string) =>
    queueRead(store.db, dialect, { companyId: c.company_id, connection: c, settings: types.map((t) => defaultSetting(t)), trigger: 'refresh', now, supports: () => true, integrationEnabled: true });

  beforeAll(async () => {
    ({ store, drop } = await databaseWithout(dialect, ['0034-queue-claim-statements']));
    datasets = new DatasetsRepository(store.db, dialect);
    await store.db.insertInto('companies').values({ id: 'co', name: 'Co', description: null, tags: '{}', created_at: T0 }).execute();
    for (const id of ['conn', 'other', 'third']) {
      await store.db
        .insertInto('connections')
        .values({ id, company_id: 'co', integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: '{"tenantId":"t"}', errors: null, created_at: T0, updated_at: T0, last_sync: null })
        .execute();
    }
    const row = async (id: string) => (await store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as ConnectionRow;
    conn = await row('conn');
    other = await row('other');
    // History under 0030: conn's invoices pulled once, a full listing.
    await queue(conn, ['invoices'], at(0));
    const first = (await datasets.claim({ workerId: 'old', now: at(1), leaseExpires: at(2), maxPerConnection: { mqjo: 1 } }))!;
    expect(await datasets.finishUnmerged(first.id, 'old', 'Complete', at(3), { cursor_out: 'c0', full_listing: 1 })).toMatchObject({ status: 'Complete' });
    // Then conn: invoices and bills queued; other: invoices queued; third: invoices queued.
    await queue(conn, ['invoices', 'bills'], at(10));
    await queue(other, ['invoices'], at(11));
    await queue(await row('third'), ['invoices'], at(12));
    // 0030 claims conn's first (held through the migration) and other's; other's stages a page and is handed back.
    held = (await datasets.claim({ workerId: 'old', now: at(13), leaseExpires: at(90), maxPerConnection: { mqjo: 1 } }))!;
    handedBack = (await datasets.claim({ workerId: 'old', now: at(13), leaseExpires: at(90), maxPerConnection: { mqjo: 1 } }))!;
    expect([held.connection_id, handedBack.connection_id]).toEqual(['conn', 'other']);
    // third's is claimed by a worker that then dies (its lease runs out after the migration).
    expired = (await datasets.claim({ workerId: 'dead', now: at(14), leaseExpires: at(15), maxPerConnection: { mqjo: 1 } }))!;
    expect(expired.connection_id).toBe('third');
    await store.db.insertInto('record_staging').values({ dataset_id: handedBack.id, record_id: 'r1', data: '{}', content_hash: 'h', source_modified_date: null, deleted: 0 }).execute();
    expect(await datasets.handBack('old', [handedBack.id])).toBe(1);
    if (dialect === 'postgres') {
      const idx = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'datasets'`.execute(store.db);
      expect(idx.rows.map((r) => r.indexname)).toContain('datasets_leases'); // as it stood before 0034
    }
    await migrateToLatest(store);
  });
  afterAll(async () => {
    await store.close();
    await drop();
  });

  it('a pull claimed before the migration ends; the next are claimed in claim order, a handed-back one from an empty staging', async () => {
    const ended = await datasets.finishUnmerged(held.id, 'old', 'Complete', at(20), { cursor_out: 'c1', full_listing: 0 });
    expect(ended).toMatchObject({ id: held.id, status: 'Complete', cursor_out: 'c1', lease_owner: null, run_slot: null, progress: 100, completed: at(20) });
    // conn's slot, freed by the completion, goes to its bills (queued first in claim order); then other's handed-back pull.
    const next = await datasets.claimMany({ workerId: 'new', now: at(20), leaseExpires: at(21), maxPerConnection: { mqjo: 1 }, n: 3 });
    expect(next.map((d) => [d.connection_id, d.data_type, d.status, d.attempts])).toEqual([
      ['conn', 'bills', 'Fetching', 1],
      ['other', 'invoices', 'Fetching', 1],
    ]);
    // The handed-back pull starts from an empty staging (it had been claimed before: its pages are cleared).
    expect(await store.db.selectFrom('record_staging').select('record_id').where('dataset_id', '=', handedBack.id).execute()).toEqual([]);
    expect(next[1]).toMatchObject({ id: handedBack.id, integration_key: 'mqjo', connection_status: 'Linked', connection_info: '{"tenantId":"t"}' });
    const read = await store.db.selectFrom('dataset_reads').select(['pending', 'completed_at']).where('read_id', '=', held.read_id).executeTakeFirstOrThrow();
    expect(read).toEqual({ pending: 1, completed_at: null });
    for (const d of next) expect(await datasets.finishUnmerged(d.id, 'new', 'Complete', at(22), {})).toMatchObject({ status: 'Complete' });
    expect(await store.db.selectFrom('dataset_reads').select(['pending', 'completed_at']).where('read_id', '=', held.read_id).executeTakeFirstOrThrow()).toEqual({
      pending: 0,
      completed_at: at(22),
    });
  });

  it('the facts of the history written before the migration reach the new claim', async () => {
    await queue(conn, ['invoices'], at(30));
    expect(await datasets.claim({ workerId: 'new', now: at(31), leaseExpires: at(32), maxPerConnection: { mqjo: 1 } })).toMatchObject({
      connection_id: 'conn',
      data_type: 'invoices',
      last_cursor: 'c1',
      last_full_completed: at(3),
      completes_since_full: 1,
    });
  });

  it('a lease that expired is still swept back to the queue (PostgreSQL: through datasets_running_slot)', async () => {
    if (dialect === 'postgres') {
      const idx = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'datasets'`.execute(store.db);
      expect(idx.rows.map((r) => r.indexname)).not.toContain('datasets_leases');
    }
    const { requeued, failed } = await datasets.sweep(at(25), 3, at(-1000));
    expect(failed).toEqual([]);
    expect(requeued.map((d) => [d.id, d.status, d.lease_owner, d.run_slot])).toEqual([[expired.id, 'Queued', null, null]]);
    expect(await datasets.claim({ workerId: 'new', now: at(26), leaseExpires: at(27), maxPerConnection: { mqjo: 1 } })).toMatchObject({ id: expired.id, attempts: 2 });
  });
});
