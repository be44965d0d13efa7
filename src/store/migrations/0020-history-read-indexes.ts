import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { QUERY_INDEX_KEYS } from './0006-query-indexes.js';

/**
 * The indexes reads as of a moment need (issue 16), so an asOf list costs about what the same list of the current
 * store costs instead of 3–50× (docs/benchmarks.md, history). The asOf view (history.repository asOfRecords) is the
 * current rows not changed since T plus, for each record changed since, the `prev_*` state of its change whose
 * interval [prev_modified_date, committed_at) holds T. Only changes with a previous state (`prev_modified_date` not
 * null: not `added`) can be in that second half, so every index of it is partial: an initial load, all `added`
 * changes, adds nothing to them.
 *
 * - `record_changes_window` is rebuilt partial (it was full in 0014: `added` rows were dead weight in it).
 * - `record_changes_past`: the second half in id order (a page in the default order merges it with the records
 *   primary key and stops after one page), the window columns in the key so the interval is checked in the index.
 * - `record_changes_added`: the unfiltered asOf count is the count of the type now minus the records added after T
 *   (records are never removed, only flagged deleted; every add after the history floor is recorded), so it reads
 *   only the adds after T instead of both halves of the view.
 * - The query compiler's common filter keys (0006), on `prev_data` instead of `data`, so a filter on the second half
 *   is an index range too; the window columns trail them. `history query indexes` in src/store/query-indexes.test.ts
 *   checks with EXPLAIN on both databases that each one is used.
 */
export const HISTORY_INDEX_KEYS: Record<Dialect, Record<string, string>> = {
  postgres: pastKeys('postgres'),
  sqlite: pastKeys('sqlite'),
};

function pastKeys(dialect: Dialect): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, key] of Object.entries(QUERY_INDEX_KEYS[dialect])) {
    out[name.replace(/^records_/, 'record_changes_past_')] = key.replace(/\bdata\b/g, 'prev_data');
  }
  return out;
}

export function m0020HistoryReadIndexes(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      const past = 'where prev_modified_date is not null';
      await sql`drop index record_changes_window`.execute(db);
      // prev_is_deleted too: a deleted-flag filter on the second half is then checked in the index.
      await sql.raw(`create index record_changes_window on record_changes (connection_id, data_type, committed_at, prev_modified_date, prev_is_deleted) ${past}`).execute(db);
      await sql.raw(`create index record_changes_past on record_changes (connection_id, data_type, record_id, committed_at, prev_modified_date) ${past}`).execute(db);
      await sql.raw(`create index record_changes_added on record_changes (connection_id, data_type, committed_at) where kind = 'added'`).execute(db);
      for (const [name, key] of Object.entries(HISTORY_INDEX_KEYS[dialect])) {
        await sql.raw(`create index ${name} on record_changes (connection_id, data_type, ${key}, committed_at, prev_modified_date) ${past}`).execute(db);
      }
    },
  };
}
