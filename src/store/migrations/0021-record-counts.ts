import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Issue 17 (reads): exact record counts per (connection, data type), kept by the merge in the transaction that changes
 * the records (records.repository `merge`), so a list's `totalResults` for no filter and for `metadata.isDeleted`
 * is one primary-key lookup instead of counting up to a million index entries (the count was ~95 % of a list's time).
 * `generation` moves with every merge that changed a record of the pair: counts of other filters, computed once, are
 * reused while it stays the same (they are exact for that state of the records).
 *
 * Every writer of `records` must keep this row true; today the merge is the only one (rows go with their connection
 * through the foreign key).
 */
export function m0021RecordCounts(_dialect: Dialect): Migration {
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
    },
  };
}
