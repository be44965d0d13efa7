import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Indexes for the housekeeping daemon's webhook retention (issue 12 item 8): old events are found by time, and
 * deleting an event cascades to its deliveries (by event_id) and their attempts (by delivery_id) — without these two
 * indexes each cascaded delete scanned the whole table on PostgreSQL (SQLite's unique (consumer_id, event_id) index
 * does not lead with event_id either).
 */
export function m0010HousekeepingIndexes(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createIndex('webhook_events_generated').on('webhook_events').columns(['generated_at']).execute();
      await db.schema.createIndex('webhook_deliveries_event').on('webhook_deliveries').columns(['event_id']).execute();
      await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id']).execute();
    },
  };
}
