import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { dueDeliveries, dueDeliveriesPostgres, dueDeliveriesSqlite } from './claim-webhook-deliveries.sql.js';

/**
 * Claiming reads a consumer's due deliveries in index order, whatever its backlog: no sort of the backlog, no scan of
 * other consumers' rows. Checked on the plans of the statements the sender runs, and on what they return.
 */
describe.each(DIALECTS)('webhook delivery claims [%s]', (dialect) => {
  let store: TestStore;
  const now = '2026-01-01T00:00:00.000Z';

  beforeAll(async () => {
    store = await openTestStore(dialect);
    for (const [id, disabled] of [['dead', 0], ['fine', 0], ['off', 1]] as const) {
      await store.db
        .insertInto('webhook_consumers')
        .values({ id, url: 'https://x.example/', event_types: '[]', company_tags: null, disabled, disabled_at: null, secret: 's', previous_secret: null, previous_secret_until: null, failing_since: null, created_at: now })
        .execute();
    }
    const events = [];
    const deliveries = [];
    for (let i = 0; i < 3000; i++) {
      const id = `e${String(i).padStart(5, '0')}`;
      events.push({ id, msg_id: `msg_${id}`, event_type: 'company.created', company_id: null, connection_id: null, data: '{}', generated_at: now });
      // A deep backlog for one consumer, all due at the same instant; a few for the others.
      const consumer = i % 100 === 0 ? 'fine' : i % 100 === 1 ? 'off' : 'dead';
      // Random delivery ids: the order must come from insertion, not from the id.
      deliveries.push({ id: `${(i * 7919) % 3001}-${i}`, consumer_id: consumer, event_id: id, status: 'pending', attempts: 0, next_attempt_at: now, lease_owner: null, lease_expires: null, delivered_at: null, failed_at: null, created_at: now });
    }
    for (let i = 0; i < events.length; i += 300) {
      await store.db.insertInto('webhook_events').values(events.slice(i, i + 300)).execute();
      await store.db.insertInto('webhook_deliveries').values(deliveries.slice(i, i + 300)).execute();
    }
    await sql.raw(dialect === 'postgres' ? 'analyze webhook_deliveries' : 'analyze').execute(store.db);
  });
  afterAll(async () => store.cleanup());

  const plan = (c: CompiledQuery) =>
    store.db.connection().execute(async (db) => {
      if (dialect === 'sqlite') {
        return (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${c.sql}`, [...c.parameters]))).rows.map((x) => x.detail).join('\n');
      }
      // Seq scans off: on this small table the plan shows which index the planner can use.
      await sql`set enable_seqscan = off`.execute(db);
      try {
        const r = await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${c.sql}`, [...c.parameters]));
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await sql`set enable_seqscan = on`.execute(db);
      }
    });

  it('reads each consumer through the due index, without sorting its backlog', async () => {
    const p = await plan((dialect === 'postgres' ? dueDeliveriesPostgres(now, 4) : dueDeliveriesSqlite('dead', now, 4)).compile(store.db));
    expect(p).toMatch(/webhook_deliveries_due/);
    expect(p).not.toMatch(dialect === 'postgres' ? /Sort/ : /TEMP B-TREE/);
  });

  it('returns at most perConsumer per enabled consumer, oldest first', async () => {
    const due = await store.db.transaction().execute((trx) => dueDeliveries(trx, dialect, now, 4));
    const byConsumer = (c: string) => due.filter((d) => d.consumer_id === c).map((d) => d.id);
    expect(byConsumer('dead')).toEqual(['2-2', '3-3', '4-4', '5-5'].map((_, i) => `${((i + 2) * 7919) % 3001}-${i + 2}`));
    expect(byConsumer('fine')).toEqual([0, 100, 200, 300].map((i) => `${(i * 7919) % 3001}-${i}`));
    expect(byConsumer('off')).toEqual([]);
  });
});
