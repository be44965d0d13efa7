import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Record history's write path, PostgreSQL (issue 16, cost goal: ingest with history on ≤ 15 % slower than off).
 *
 * `record_changes.connection_id` referenced `connections` (migration 0014) only so that deleting a connection (or its
 * company) removes its history. PostgreSQL checks a foreign key once per inserted row (a lookup of the connection with
 * a row lock, through a trigger), so an initial load of 50,000 records paid 50,000 such checks for its `added` rows
 * alone. The constraint is replaced by a statement-level trigger on `connections` that removes the history of the
 * connections a statement deleted (directly or by the cascade from `companies`): the same effect for deletions, and
 * nothing per history row. A history row never names a connection that does not exist: the merge writes one only
 * with, or from, a `records` row of that connection, and `records` keeps its own foreign key (a merge racing a
 * deletion waits on that key's lock, and the trigger, a later statement, then sees and removes what it committed).
 *
 * SQLite: unchanged (its foreign-key check is an in-process primary-key probe, and dropping it would rebuild the table).
 */
export function m0032HistoryWritePath(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      const fks = await sql<{ conname: string }>`select conname from pg_constraint
                                                 where conrelid = 'record_changes'::regclass and contype = 'f'`.execute(db);
      for (const fk of fks.rows) await sql`alter table record_changes drop constraint ${sql.id(fk.conname)}`.execute(db);
      await sql`create function record_changes_of_deleted_connections() returns trigger language plpgsql as $$
                begin
                  delete from record_changes c using deleted_connections d where c.connection_id = d.id;
                  return null;
                end $$`.execute(db);
      await sql`create trigger connections_delete_record_changes after delete on connections
                referencing old table as deleted_connections
                for each statement execute function record_changes_of_deleted_connections()`.execute(db);
    },
  };
}
