import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { rebucket } from '../record-buckets.js';

/**
 * Issue 17 (reads, deep pages): record_buckets — each (connection, data type)'s ids cut into ranges `[lo, hi)` of
 * about 1,000 records with their exact counts of records and of deleted ones, kept by the merge (record-buckets.ts),
 * so a deep page in id order is found by summing counts instead of walking every key before it. `lo` and `hi` are
 * record ids and compare as `records.record_id` does (`COLLATE "C"` on PostgreSQL). Backfilled here for every pair
 * already stored (one index-only walk of its ids).
 */
export function m0031RecordBuckets(dialect: Dialect): Migration {
  const collate = dialect === 'postgres' ? 'collate "C"' : '';
  return {
    async up(db: Kysely<any>) {
      await sql
        .raw(
          `create table record_buckets (
            connection_id text not null references connections(id) on delete cascade,
            data_type text not null,
            lo text ${collate} not null,
            hi text ${collate},
            total integer not null,
            deleted integer not null,
            primary key (connection_id, data_type, lo)
          )`,
        )
        .execute(db);
      const pairs = await sql<{ connection_id: string; data_type: string }>`select connection_id, data_type from record_counts`.execute(db);
      for (const p of pairs.rows) await rebucket(db, dialect, p.connection_id, p.data_type);
    },
  };
}
