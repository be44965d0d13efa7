import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

export function m0003Records(dialect: Dialect): Migration {
  const pg = dialect === 'postgres';
  const json = pg ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>) {
      // The cache: one row per (connection, data type, platform record id). `data` is the mapped document without
      // Syncline's own fields (modifiedDate, metadata), which live in columns so they can be indexed.
      await db.schema
        .createTable('records')
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('data_type', 'text', (c) => c.notNull())
        .addColumn('record_id', 'text', (c) => c.notNull())
        .addColumn('data', sql.raw(json), (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('modified_date', 'text', (c) => c.notNull())
        .addColumn('source_modified_date', 'text')
        .addColumn('is_deleted', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('records_pk', ['connection_id', 'data_type', 'record_id'])
        .execute();
      await db.schema.createIndex('records_modified').on('records').columns(['connection_id', 'data_type', 'modified_date']).execute();
      await db.schema.createIndex('records_source_modified').on('records').columns(['connection_id', 'data_type', 'source_modified_date']).execute();
      await db.schema.createIndex('records_deleted').on('records').columns(['connection_id', 'data_type', 'is_deleted', 'record_id']).execute();

      // Pages of a running pull land here first; they reach `records` in one transaction when the pull completes
      // (sync-behaviour.md §2.3). Unlogged on PostgreSQL: a crash loses only work that is redone anyway.
      await sql
        .raw(
          `create ${pg ? 'unlogged ' : ''}table record_staging (
            dataset_id text not null,
            record_id text not null,
            data ${json} not null,
            content_hash text not null,
            source_modified_date text,
            deleted integer not null,
            primary key (dataset_id, record_id)
          )`,
        )
        .execute(db);
    },
  };
}
