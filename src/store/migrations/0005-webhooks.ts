import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

export function m0005Webhooks(dialect: Dialect): Migration {
  const pg = dialect === 'postgres';
  const seq = (c: any) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('webhook_consumers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('company_tags', 'text')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled_at', 'text')
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_until', 'text')
        .addColumn('failing_since', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      // The outbox. Written in the transaction of the change that caused the event, and only when at least one
      // consumer matched; company and connection ids carry no foreign key because deletion events outlive both.
      await db.schema
        .createTable('webhook_events')
        .addColumn('seq', pg ? 'bigint' : 'integer', seq)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('msg_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('company_id', 'text')
        .addColumn('connection_id', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('generated_at', 'text', (c) => c.notNull())
        .execute();

      // One row per (consumer, event): the retry state of that message. Deleting the consumer cancels its deliveries.
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('consumer_id', 'text', (c) => c.notNull().references('webhook_consumers.id').onDelete('cascade'))
        .addColumn('event_id', 'text', (c) => c.notNull().references('webhook_events.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('failed_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('webhook_deliveries_consumer_event', ['consumer_id', 'event_id'])
        .execute();
      // Claiming: due pending deliveries per consumer.
      await sql
        .raw(`create index webhook_deliveries_due on webhook_deliveries (consumer_id, next_attempt_at) where status = 'pending'`)
        .execute(db);
      await db.schema.createIndex('webhook_deliveries_failed').on('webhook_deliveries').columns(['consumer_id', 'failed_at']).execute();

      await db.schema
        .createTable('webhook_attempts')
        .addColumn('seq', pg ? 'bigint' : 'integer', seq)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
        .addColumn('consumer_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('success', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('webhook_attempts_consumer').on('webhook_attempts').columns(['consumer_id', 'seq']).execute();
      await db.schema.createIndex('webhook_attempts_event').on('webhook_attempts').columns(['event_id', 'seq']).execute();

      // Reads (sync-behaviour.md §1): how many of a read's datasets are still in progress. Each dataset that becomes
      // terminal decrements `pending` in its own transaction; the row lock serialises concurrent finishers, so exactly
      // one of them sees 0 and emits read.completed.
      await db.schema
        .createTable('dataset_reads')
        .addColumn('read_id', 'text', (c) => c.primaryKey())
        .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('trigger', 'text', (c) => c.notNull())
        /** 1 for the read a connection becoming Linked started (read.completed.initial). */
        .addColumn('initial', 'integer', (c) => c.notNull())
        /** 1 for the connection's first-ever initial read (legacy NewCompanySynchronized). */
        .addColumn('first_link', 'integer', (c) => c.notNull())
        .addColumn('pending', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('completed_at', 'text')
        .execute();
      await db.schema.createIndex('dataset_reads_connection').on('dataset_reads').columns(['connection_id', 'initial']).execute();
    },
  };
}
