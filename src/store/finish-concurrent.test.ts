import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { openTestStore, type TestStore } from '../../test/support/stores.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { DatasetsRepository } from './datasets.repository.js';
import { queueRead } from './enqueue.js';
import { defaultSetting } from '../domain/sync-settings.js';
import type { ConnectionRow } from './connections.repository.js';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();

/**
 * The one-statement completion (syncline_finish_datasets) while another transaction updates the same dataset row — a
 * heartbeat renewing its lease, a progress or description update — and commits while the completion waits for its
 * row lock. Addressed by a tuple id read before the wait (0030), the completion re-checked `ctid = …` against the row's
 * new version, matched nothing and left the pull held until its lease ran out (found while trying a completion that
 * claims, issue 17). It must end the dataset.
 */
describe('completion racing an update of the same dataset [postgres]', () => {
  let store: TestStore;
  let datasets: DatasetsRepository;
  let conn: ConnectionRow;

  beforeAll(async () => {
    store = await openTestStore('postgres');
    datasets = new DatasetsRepository(store.db, 'postgres');
    conn = (await seedLinkedConnections(store.db, { companyId: 'co', connectionIds: ['conn'], at: T0, connectionInfo: '{}' }))[0]!;
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('a heartbeat committed while the completion waits for the row does not make the completion miss it', async () => {
    await queueRead(store.db, 'postgres', { companyId: 'co', connection: conn, settings: [defaultSetting('invoices')], trigger: 'refresh', now: at(0), supports: () => true, integrationEnabled: true });
    const held = (await datasets.claim({ workerId: 'w', now: at(1), leaseExpires: at(5), maxPerConnection: { mqjo: 1 } }))!;
    expect(held).toBeDefined();

    const other = new pg.Client({ connectionString: store.location });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`update datasets set lease_expires = $2, progress = 40 where id = $1`, [held.id, at(6)]);
      const finishing = datasets.finishUnmerged(held.id, 'w', 'Complete', at(2), { cursor_out: 'c1', full_listing: 1 });
      // Wait (for the event, not for time) until the completion is blocked on the row the open transaction holds.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where wait_event_type = 'Lock' and query like '%syncline_finish_datasets%'`.execute(store.db);
        if (waiting.rows[0]!.n > 0) break;
        if (Date.now() > deadline) throw new Error('the completion never waited for the row lock');
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query('commit');
      const ended = await finishing;
      expect(ended).toMatchObject({ id: held.id, status: 'Complete', cursor_out: 'c1', lease_owner: null, progress: 100, completed: at(2) });
    } finally {
      await other.end();
    }
    const row = await store.db.selectFrom('datasets').select(['status', 'lease_owner']).where('id', '=', held.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'Complete', lease_owner: null });
  });
});
