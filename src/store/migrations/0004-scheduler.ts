import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

export function m0004Scheduler(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      // One row per (linked connection, data type) with a schedule. `next_due_ms` is a LOWER BOUND of when the pair is
      // next due (epoch ms): the scheduler claims rows whose bound has passed through the index, recomputes the real
      // due time from the datasets, and either queues the pair or moves the bound. Null: nothing scheduled.
      await db.schema
        .createTable('schedule_slots')
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('data_type', 'text', (c) => c.notNull())
        .addColumn('company_id', 'text', (c) => c.notNull())
        .addColumn('next_due_ms', 'bigint')
        .addPrimaryKeyConstraint('schedule_slots_pk', ['connection_id', 'data_type'])
        .execute();
      await sql`create index schedule_slots_due on schedule_slots (next_due_ms) where next_due_ms is not null`.execute(db);
      await db.schema.createIndex('schedule_slots_company').on('schedule_slots').columns(['company_id', 'data_type']).execute();
      // Keep-alive looks for linked connections whose refresh token has been idle the longest.
      await db.schema.createIndex('connections_token_idle').on('connections').columns(['status', 'token_used_at']).execute();
    },
  };
}
