import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';

/** SQL list literal of the in-progress statuses, for the partial unique index (constants, not user input). */
const inProgressList = IN_PROGRESS_STATUSES.map((s) => `'${s}'`).join(', ');
/** Statuses in which a worker holds the dataset (everything in progress except Queued). */
const runningList = IN_PROGRESS_STATUSES.filter((s) => s !== 'Queued').map((s) => `'${s}'`).join(', ');

export function m0002Datasets(dialect: Dialect): Migration {
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<any>) {
      // Datasets are the queue. `seq` orders them exactly (timestamps can tie); `id` is the public uuid.
      await db.schema
        .createTable('datasets')
        .addColumn('seq', pg ? 'bigint' : 'integer', (c) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('company_id', 'text', (c) => c.notNull().references('companies.id').onDelete('cascade'))
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('data_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_description', 'text')
        .addColumn('error_message', 'text')
        .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('requested', 'text', (c) => c.notNull())
        .addColumn('started', 'text')
        .addColumn('completed', 'text')
        .addColumn('read_id', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('sync_order', 'integer', (c) => c.notNull())
        /** JSON snapshot of the effective SyncSetting when queued (settings are read at queue time). */
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires', 'text')
        /** Per-connection concurrency slot while running; the unique index below caps parallel pulls per connection. */
        .addColumn('run_slot', 'integer')
        .addColumn('not_before', 'text')
        .addColumn('cursor_in', 'text')
        .addColumn('cursor_out', 'text')
        .addColumn('full_listing', 'integer')
        .addColumn('records_added', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('records_updated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('records_deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('source_calls', 'integer')
        .execute();

      // Invariant 1: at most one in-progress dataset per (connection, data type), enforced by the database.
      await sql
        .raw(`create unique index datasets_one_in_progress on datasets (connection_id, data_type) where status in (${inProgressList})`)
        .execute(db);
      // At most one running dataset per (connection, slot): caps concurrent pulls per connection across processes.
      await sql.raw(`create unique index datasets_running_slot on datasets (connection_id, run_slot) where status in (${runningList})`).execute(db);
      // Claiming: the oldest queued datasets.
      await sql.raw(`create index datasets_queued on datasets (requested, seq) where status = 'Queued'`).execute(db);
      // Sweeper: running datasets by lease expiry.
      await sql.raw(`create index datasets_leases on datasets (lease_expires) where status in (${runningList})`).execute(db);
      await db.schema.createIndex('datasets_company_requested').on('datasets').columns(['company_id', 'requested']).execute();
      await db.schema.createIndex('datasets_conn_type_seq').on('datasets').columns(['connection_id', 'data_type', 'seq']).execute();

      await db.schema
        .createTable('company_sync_settings')
        .addColumn('company_id', 'text', (c) => c.primaryKey().references('companies.id').onDelete('cascade'))
        .addColumn('overrides_defaults', 'integer', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .execute();

      // Connection-level sync state used by the worker and the scheduler.
      for (const col of ['rate_limited_until', 'linked_at', 'token_used_at', 'last_keep_alive', 'refresh_token_expires_at']) {
        await db.schema.alterTable('connections').addColumn(col, 'text').execute();
      }
    },
  };
}
