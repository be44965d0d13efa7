import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { QUERY_INDEX_KEYS } from './0006-query-indexes.js';
import { storedKeyColumns } from './0024-record-query-keys.js';

/**
 * Counts as of a moment (issue 16, cost goal: an asOf list of a million invoices in < 100 ms). An asOf list's
 * `totalResults` was ~95 % of its time (docs/benchmarks.md, history): the count of the view at T read every match.
 *
 * `record_counts_at` keeps record_counts (migration 0021) as it stood after each instant a merge committed at: one row
 * per (connection, data type, committed_at) of a merge that changed a record, written by the merge in its transaction
 * (records.repository `logCountsAt`). The number of records stored at T and how many of them were flagged deleted is
 * then the row of the last instant at or before T — one primary-key probe —, for no filter and `metadata.isDeleted`.
 * `added` / `deleted_delta` are that instant's own moves of the two counts: a merge that commits with an instant earlier
 * than one already logged (it should not happen: merges of a pair are serialised and take their instant inside their
 * transaction; clocks can still disagree) sets its row from the counts now minus the moves logged after it, and adds its
 * moves to the later rows, so every row stays the counts of the records as the asOf view shows them at that instant.
 * `generation` is record_counts.generation after the latest merge at that instant (0: backfilled here): a filtered
 * asOf count, computed once, stays exact until a merge commits at or before its instant, which this tells
 * (records.repository asOfCountStillValid, through record_counts_at_generation).
 *
 * Pruning (retention, opt-out; history.repository raiseFloor) keeps the newest row at or before the history floor and
 * removes older ones: no asOf read before the floor is answered.
 *
 * The filter indexes the list endpoint uses end with (record_id, modified_date): the current half of an asOf count
 * (`key = v AND modified_date <= T`) is then read from the index alone instead of fetching every match's row to learn
 * its date (40,000 row reads for `status=Submitted` of a million invoices); record_id stays right after the key, so a
 * page in id order is still an index range in page order (migration 0021).
 */
export function m0028HistoryCounts(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`create table record_counts_at (
                  connection_id text not null references connections(id) on delete cascade,
                  data_type text not null,
                  committed_at text not null,
                  total integer not null,
                  deleted integer not null,
                  added integer not null,
                  deleted_delta integer not null,
                  generation integer not null,
                  primary key (connection_id, data_type, committed_at)
                )`.execute(db);
      await sql`create index record_counts_at_generation on record_counts_at (connection_id, data_type, generation)`.execute(db);
      await backfillCountsAt(db);
      const keys = QUERY_INDEX_KEYS[dialect];
      const rebuilt = ['records_status', 'records_customer_ref', 'records_supplier_ref'] as const;
      // A new database runs migration 0024 (added later, numbered before this one) first: its stored key columns are
      // then the keys (the same values), as 0024 itself makes them on a database that ran this migration already.
      const stored = await storedKeyColumns(db, dialect);
      for (const name of rebuilt) {
        await sql.raw(`drop index ${name}`).execute(db);
        await sql.raw(`create index ${name} on records (connection_id, data_type, ${stored.get(name) ?? keys[name]!}, record_id, modified_date)`).execute(db);
      }
      // SQLite drops a dropped index's statistics and has none for the new one: with statistics for the other indexes
      // (a database that ran ANALYZE) it then took a rebuilt index, covering for `record_id`, as cheaper than the
      // primary key and sorted a million ids for a plain first page (3.8 s instead of 1 ms, found by the history
      // benchmark). The rebuilt indexes get their statistics back; a database without statistics stays without.
      if (dialect === 'sqlite') {
        const stats = await sql<{ n: number }>`select count(*) as n from sqlite_master where name = 'sqlite_stat1'`.execute(db);
        if (Number(stats.rows[0]?.n ?? 0) > 0) for (const name of rebuilt) await sql.raw(`analyze ${name}`).execute(db);
      }
    },
  };
}

/**
 * record_counts_at rows for the history already kept (of every pair with a record_counts row, or of one pair), counted
 * back from record_counts: the counts at an instant are the counts now minus the moves of the changes committed after
 * it — an `added` change adds a record, a `deleted` one flags one (with no previous state, the baseline of a record
 * stored deleted before history existed, migration 0014, it also adds one), an `undeleted` one restores one. Rows only
 * from the history floor on (the floor's own instant gets one): no read before it is answered, and changes before it
 * may be pruned. Exact when every change after the floor is recorded, as the merge guarantees (a merge with history
 * off raises the floor). Also used by the benchmark's seed and by tests that write history directly.
 */
export async function backfillCountsAt(db: Kysely<any>, pair?: { connectionId: string; dataType: string }): Promise<void> {
  const only = (alias: string) => (pair ? sql`and ${sql.ref(`${alias}.connection_id`)} = ${pair.connectionId} and ${sql.ref(`${alias}.data_type`)} = ${pair.dataType}` : sql``);
  if (pair) await sql`delete from record_counts_at where connection_id = ${pair.connectionId} and data_type = ${pair.dataType}`.execute(db);
  // Moves per (pair, instant) after the floor.
  const moves = sql`select c.connection_id, c.data_type, c.committed_at,
                           sum(case when c.kind = 'added' or (c.kind = 'deleted' and c.prev_modified_date is null) then 1 else 0 end) as a,
                           sum(case when c.kind = 'deleted' then 1 when c.kind = 'undeleted' then -1 else 0 end) as d
                    from record_changes c
                    join record_counts rc on rc.connection_id = c.connection_id and rc.data_type = c.data_type
                    left join history_floors f on f.connection_id = c.connection_id and f.data_type = c.data_type
                    where c.committed_at > coalesce(f.floor_at, '') ${only('c')}
                    group by c.connection_id, c.data_type, c.committed_at`;
  // Each instant: the counts now minus the moves of later instants.
  await sql`insert into record_counts_at (connection_id, data_type, committed_at, total, deleted, added, deleted_delta, generation)
            select m.connection_id, m.data_type, m.committed_at,
                   rc.total - coalesce(sum(m.a) over later, 0), rc.deleted - coalesce(sum(m.d) over later, 0), m.a, m.d, 0
            from (${moves}) m
            join record_counts rc on rc.connection_id = m.connection_id and rc.data_type = m.data_type
            where m.a <> 0 or m.d <> 0
            window later as (partition by m.connection_id, m.data_type order by m.committed_at desc rows between unbounded preceding and 1 preceding)`.execute(db);
  // The floor's instant: the counts now minus every move after it.
  await sql`insert into record_counts_at (connection_id, data_type, committed_at, total, deleted, added, deleted_delta, generation)
            select f.connection_id, f.data_type, f.floor_at, rc.total - coalesce(sum(m.a), 0), rc.deleted - coalesce(sum(m.d), 0), 0, 0, 0
            from history_floors f
            join record_counts rc on rc.connection_id = f.connection_id and rc.data_type = f.data_type
            left join (${moves}) m on m.connection_id = f.connection_id and m.data_type = f.data_type
            where f.floor_at is not null and f.floor_at <> '' ${only('f')}
            group by f.connection_id, f.data_type, f.floor_at, rc.total, rc.deleted`.execute(db);
}
