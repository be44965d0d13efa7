import { sql, type Kysely } from 'kysely';
import type { Dialect } from './db.js';
import type { Database } from './schema.js';

/** A merge adding at least this many records, and at least as many as the pair held, refreshes the statistics. */
export const ANALYZE_AFTER_ADDED = 1000;

/** Per database handle: the ANALYZE running, and whether another merge asked for one while it ran. */
const state = new WeakMap<object, { running: Promise<void>; again: boolean }>();

/**
 * PostgreSQL: refreshes the planner's statistics of `records` (ANALYZE: a sample of 30,000 rows, whatever the table's
 * size) after a merge that at least doubled its pair — a connection's first pull, most often. Autovacuum analyzes a
 * table only once a tenth of it has changed, so a new connection's records can stay unknown to the statistics for a
 * long time; the planner then takes the pair for a row or two and may join a pull's staging to it by rescanning the
 * whole pair for each staged row instead of probing the primary key (a 5,000-record update of a 50,000-record pair
 * took 149 s that way: docs/benchmarks.md, history). Answers whether it analyzed (false: not needed, or SQLite, whose
 * planner does not use table statistics here). Calls while one runs make one more run after it; failures are left to
 * the caller to log. Run after the merge's commit, never inside it (ANALYZE waits on autovacuum's lock).
 */
export async function refreshRecordStats(db: Kysely<Database>, dialect: Dialect, merged: { added: number; liveBefore: number }): Promise<boolean> {
  if (dialect !== 'postgres' || merged.added < ANALYZE_AFTER_ADDED || merged.added < merged.liveBefore) return false;
  const s = state.get(db);
  if (s) {
    s.again = true;
    await s.running;
    return true;
  }
  const entry = { running: Promise.resolve(), again: false };
  entry.running = (async () => {
    try {
      do {
        entry.again = false;
        await sql`analyze records`.execute(db);
      } while (entry.again);
    } finally {
      state.delete(db);
    }
  })();
  state.set(db, entry);
  await entry.running;
  return true;
}
