import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { QUERY_INDEX_KEYS } from './0006-query-indexes.js';

/**
 * Issue 17 (reads): exact record counts per (connection, data type), kept by the merge in the transaction that changes
 * the records (records.repository `merge`), so a list's `totalResults` for no filter and for `metadata.isDeleted`
 * is one primary-key lookup instead of counting up to a million index entries (the count was ~95 % of a list's time).
 * `generation` moves with every merge that changed a record of the pair: counts of other filters, computed once, are
 * reused while it stays the same (they are exact for that state of the records).
 *
 * Every writer of `records` must keep this row true; today the merge is the only one (rows go with their connection
 * through the foreign key).
 *
 * The filter indexes the list endpoint pages through end with `record_id`: lists are in id order, so a page of
 * `status=…` or `customerRef.id=…` is an index range already in page order (no sort of every match, and on SQLite no
 * fetch of every matching row to learn its id), and a modifiedDate range gives its ids from the index alone. Same
 * names and keys as migrations 0003 and 0006 (the query-indexes test checks the compiler still matches them).
 */
export function m0021RecordCounts(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`create table record_counts (
                  connection_id text not null references connections(id) on delete cascade,
                  data_type text not null,
                  total integer not null,
                  deleted integer not null,
                  generation integer not null,
                  primary key (connection_id, data_type)
                )`.execute(db);
      await sql`insert into record_counts (connection_id, data_type, total, deleted, generation)
                select connection_id, data_type, count(*), coalesce(sum(is_deleted), 0), 1 from records group by connection_id, data_type`.execute(db);
      const keys = QUERY_INDEX_KEYS[dialect];
      const widened: Record<string, string> = {
        records_status: keys.records_status!,
        records_customer_ref: keys.records_customer_ref!,
        records_supplier_ref: keys.records_supplier_ref!,
        records_modified: 'modified_date',
      };
      for (const [name, key] of Object.entries(widened)) {
        await sql.raw(`drop index ${name}`).execute(db);
        await sql.raw(`create index ${name} on records (connection_id, data_type, ${key}, record_id)`).execute(db);
      }
    },
  };
}
