import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Record history (issue 16): versions, the change feed and reads as of a moment, all from one table.
 *
 * `record_changes` holds one row per change a pull committed to a record (added, updated, deleted, undeleted), written
 * in the merge transaction. Each row keeps the record's state BEFORE the change (`prev_*`; null for `added`) and the
 * new content hash and sourceModifiedDate; the state after the last change is the current `records` row. So:
 * - a version's content is the next change's `prev_data` (or the current row), its diff is from this row's `prev_data`;
 * - the state at instant T of a record is its current row when `records.modified_date <= T` (every change sets
 *   modified_date = committed_at), otherwise the `prev_*` of its change whose interval `[prev_modified_date,
 *   committed_at)` contains T — exactly one such row per record that existed at T, none for one that did not;
 * - the change feed of (connection, data type) is the rows in `seq` order.
 *
 * `seq` is one global, ever-increasing sequence (AUTOINCREMENT on SQLite: never reused even after pruning). Merges of
 * one (connection, data type) are serialised (RecordsRepository.merge), so within a feed seq order is commit order.
 *
 * Records stored before this migration get one baseline change each (kind `added`, or `deleted` for a deleted record,
 * no previous state) so following a feed from the start still reproduces the store; `history_floors` marks the newest
 * such modified date: an asOf before it cannot be answered (400), since what changed earlier was never recorded.
 */
export function m0014RecordHistory(dialect: Dialect): Migration {
  const pg = dialect === 'postgres';
  const json = pg ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>) {
      await sql
        .raw(
          `create table record_changes (
            seq ${pg ? 'bigint generated always as identity primary key' : 'integer primary key autoincrement'},
            connection_id text not null references connections(id) on delete cascade,
            data_type text not null,
            record_id text ${pg ? 'collate "C" ' : ''}not null,
            dataset_id text,
            committed_at text not null,
            kind text not null,
            content_hash text not null,
            source_modified_date text,
            prev_data ${json},
            prev_content_hash text,
            prev_modified_date text,
            prev_source_modified_date text,
            prev_is_deleted integer
          )`,
        )
        .execute(db);
      // The feed (and a pull's own changes, a seq range of it).
      await sql`create index record_changes_feed on record_changes (connection_id, data_type, seq)`.execute(db);
      // A record's versions; the asOf view's past rows in id order (merged with the records primary key).
      await sql`create index record_changes_record on record_changes (connection_id, data_type, record_id, seq)`.execute(db);
      // The asOf view's past rows by instant: committed_at > T and prev_modified_date <= T (index-only on PostgreSQL).
      await sql`create index record_changes_window on record_changes (connection_id, data_type, committed_at, prev_modified_date)`.execute(db);

      // One row per pull that changed something: its seq range (its changes, the records.changed cursor range).
      await db.schema
        .createTable('history_pulls')
        .addColumn('dataset_id', 'text', (c) => c.primaryKey())
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('data_type', 'text', (c) => c.notNull())
        .addColumn('first_seq', 'bigint', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('committed_at', 'text', (c) => c.notNull())
        .addColumn('added', 'integer', (c) => c.notNull())
        .addColumn('updated', 'integer', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull())
        .execute();

      // Where the history of (connection, data type) stops being complete: asOf < floor_at and feed cursors < floor_seq
      // are refused (400). Raised by pruning (retention, opt-out) and by merges of a company that opted out.
      await db.schema
        .createTable('history_floors')
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('data_type', 'text', (c) => c.notNull())
        .addColumn('floor_at', 'text')
        .addColumn('floor_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('history_floors_pk', ['connection_id', 'data_type'])
        .execute();

      // Companies that turned history off (sync settings `keepHistory: false`): no changes are recorded for them and the
      // pruner removes what was kept.
      await db.schema
        .createTable('history_optouts')
        .addColumn('company_id', 'text', (c) => c.primaryKey().references('companies.id').onDelete('cascade'))
        .addColumn('since', 'text', (c) => c.notNull())
        .execute();

      await sql`insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date)
                select connection_id, data_type, record_id, null, modified_date, case when is_deleted = 1 then 'deleted' else 'added' end,
                       content_hash, source_modified_date
                from records order by connection_id, data_type, record_id`.execute(db);
      await sql`insert into history_floors (connection_id, data_type, floor_at, floor_seq)
                select connection_id, data_type, max(modified_date), 0 from records group by connection_id, data_type`.execute(db);
    },
  };
}
