import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { finishFunctionSql, finishUpdateAtSql, QUEUE_FUNCTION_SETTINGS } from './0030-queue-plans.js';

/** The dataset's row, locked, by its id (datasets_id_key): the tuple id the completion then updates. */
export const FINISH_LOCK_SQL = `select x.ctid from datasets x where x.id = $1 for update`;

/**
 * syncline_finish_datasets again (same signature and result as 0030), locking each dataset's row before updating it
 * by tuple id.
 *
 * 0030 found the row's tuple id with a subquery in the UPDATE itself. When another transaction updated the same row
 * (a heartbeat renewing the lease, a progress or description update) and committed while the completion waited for
 * the row lock, PostgreSQL re-checked the UPDATE's condition on the row's new version, whose tuple id is not the one
 * read: the completion matched nothing, and the pull stayed held, its work done, until its lease ran out and the
 * sweeper queued it again (src/store/finish-concurrent.test.ts). Now a first statement locks the row by id — after a
 * wait it returns the new version's tuple id — and the UPDATE, a statement with a fresh snapshot, addresses the row
 * that nobody else can change any more (the claim already works this way: candidate locked, then updated by tid).
 */
export function m0036FinishLocksFirst(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return; // SQLite finishes in process, one writer at a time
      await sql
        .raw(
          finishFunctionSql(
            QUEUE_FUNCTION_SETTINGS,
            '  v_tid tid;\n',
            `${FINISH_LOCK_SQL.replace('$1', 'f.id')}
    into v_tid;
    continue when not found;
    ${finishUpdateAtSql('v_tid', 'f.worker', 'f.status', 'f.completed', 'f.s')}
    into v_row, v_read;`,
          ),
        )
        .execute(db);
    },
  };
}
