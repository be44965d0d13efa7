import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { finishReadSql, finishUpdateAtSql } from './0030-queue-plans.js';

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
      const settings = `set enable_sort = off set enable_seqscan = off set enable_bitmapscan = off set jit = off set plan_cache_mode = force_generic_plan`;
      await sql
        .raw(
          `create or replace function syncline_finish_datasets(jsonb) returns setof jsonb
           language plpgsql volatile ${settings} as $fn$
declare
  f record;
  v_tid tid;
  v_row jsonb;
  v_read text;
begin
  if exists (select 1 from webhook_consumers where disabled = 0) then
    return next jsonb_build_object('consumers', true);
    return;
  end if;
  for f in select * from jsonb_to_recordset($1) as x(id text, worker text, status text, completed text, s jsonb) order by x.completed loop
    ${FINISH_LOCK_SQL.replace('$1', 'f.id')}
    into v_tid;
    continue when not found;
    ${finishUpdateAtSql('v_tid', 'f.worker', 'f.status', 'f.completed', 'f.s')}
    into v_row, v_read;
    if found then
      ${finishReadSql('v_read', 'f.completed')};
      return next v_row;
    end if;
  end loop;
end
$fn$`,
        )
        .execute(db);
    },
  };
}
