import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';

/** Statuses in which a worker holds a dataset (constants, not user input), as in 0002's datasets_running_slot. */
const runningList = IN_PROGRESS_STATUSES.filter((s) => s !== 'Queued').map((s) => `'${s}'`).join(', ');

/**
 * Pulls one connection may run at once: `$4`/`$5` (integration keys, their maxima), 1 for any other key. The
 * connection's integration key is looked up only when some integration allows more than one (none does by default).
 */
const maxSlots = (connection: string) =>
  `greatest(1, case when exists (select 1 from unnest($5::int[]) m where m > 1)
     then coalesce((select u.m from unnest($4::text[], $5::int[]) u(k, m)
                    where u.k = (select c.integration_key from connections c where c.id = ${connection}) limit 1), 1)
     else 1 end)`;

/*
 * The statements of the claim and the completion, each reading or writing ONE table (subqueries on others are keyed
 * lookups), with the plpgsql variables they use as arguments so that src/store/claim-plan.test.ts can prepare exactly
 * these texts with parameters in their place and check their generic plans.
 */

/** The oldest claimable dataset in claim order whose connection runs fewer pulls than its maximum, row-locked. */
export const CLAIM_CANDIDATE_SQL = `
    select d.ctid, d.connection_id, ${maxSlots('d.connection_id')}
    from datasets d
    where d.status = 'Queued' and (d.not_before is null or d.not_before <= $2)
      and (select count(*) from datasets r where r.connection_id = d.connection_id and r.status in (${runningList}))
          < ${maxSlots('d.connection_id')}
    order by d.requested, d.sync_order, d.seq
    limit 1
    for update of d skip locked`;

/**
 * The locked candidate (`tid`: its row, locked by CLAIM_CANDIDATE_SQL in the same transaction, so it is still
 * Queued) goes Fetching with the lowest free run slot of its connection (`conn`, `max` slots). Addressed by its tuple
 * id: a TID scan whatever the statistics say.
 */
export const claimUpdateSql = (tid: string, conn: string, max: string) => `
    update datasets d set status = 'Fetching', lease_owner = $1, lease_expires = $3,
      run_slot = (select min(g.slot) from generate_series(0, ${max} - 1) g(slot)
                  where not exists (select 1 from datasets r where r.connection_id = ${conn}
                                    and r.status in (${runningList}) and r.run_slot = g.slot)),
      attempts = d.attempts + 1, started = coalesce(d.started, $2), status_description = null
    where d.ctid = ${tid}
    returning to_jsonb(d), d.id, d.data_type`;

/** What the run needs besides the dataset row (`row`, jsonb): 0022's facts, one keyed lookup each. */
export const claimFactsSql = (row: string, conn: string, type: string) => `
    select ${row} || jsonb_build_object(
      'integration_key', c.integration_key,
      'connection_status', c.status,
      'connection_info', c.connection_info,
      'last_cursor', (select p.cursor_out from datasets p where p.connection_id = ${conn}
                        and p.data_type = ${type} and p.status = 'Complete' order by p.seq desc limit 1),
      'last_full_completed', (select p.completed from datasets p where p.connection_id = ${conn}
                        and p.data_type = ${type} and p.status = 'Complete' and p.full_listing = 1
                        order by p.seq desc limit 1),
      'completes_since_full', (select count(*) from datasets p where p.connection_id = ${conn}
                        and p.data_type = ${type} and p.status = 'Complete'
                        and p.seq > coalesce((select f.seq from datasets f where f.connection_id = ${conn}
                                               and f.data_type = ${type} and f.status = 'Complete'
                                               and f.full_listing = 1 order by f.seq desc limit 1), 0)))
    from connections c where c.id = ${conn}`;

/**
 * One held dataset (`id`, held by `worker`) ends with `status` at `completed`, `s` holding the other columns to write
 * (absent keys are kept). Found through datasets_id_key by a subquery and updated by tuple id, so no partial index
 * whose predicate the status test implies can be walked instead.
 */
export const finishUpdateSql = (id: string, worker: string, status: string, completed: string, s: string) =>
  finishUpdateAtSql(`(select x.ctid from datasets x where x.id = ${id})`, worker, status, completed, s);

/**
 * finishUpdateSql's update of the row at tuple id `tid` (an expression). Migration 0036 passes the tid of a row it
 * has locked first: a tid read without the lock goes stale when another transaction updates the row meanwhile.
 */
export const finishUpdateAtSql = (tid: string, worker: string, status: string, completed: string, s: string) => `
    update datasets d set status = ${status}, completed = ${completed}, progress = 100,
      lease_owner = null, lease_expires = null, run_slot = null,
      status_description = case when ${s} ? 'status_description' then ${s}->>'status_description' else d.status_description end,
      error_message = case when ${s} ? 'error_message' then ${s}->>'error_message' else d.error_message end,
      cursor_in = case when ${s} ? 'cursor_in' then ${s}->>'cursor_in' else d.cursor_in end,
      cursor_out = case when ${s} ? 'cursor_out' then ${s}->>'cursor_out' else d.cursor_out end,
      validation = case when ${s} ? 'validation' then ${s}->>'validation' else d.validation end,
      full_listing = case when ${s} ? 'full_listing' then (${s}->>'full_listing')::int else d.full_listing end,
      source_calls = case when ${s} ? 'source_calls' then (${s}->>'source_calls')::int else d.source_calls end,
      records_added = case when ${s} ? 'records_added' then (${s}->>'records_added')::int else d.records_added end,
      records_updated = case when ${s} ? 'records_updated' then (${s}->>'records_updated')::int else d.records_updated end,
      records_deleted = case when ${s} ? 'records_deleted' then (${s}->>'records_deleted')::int else d.records_deleted end
    where d.ctid = ${tid}
      and d.lease_owner = ${worker} and d.status in (${runningList})
    returning to_jsonb(d), d.read_id`;

/** The ended dataset's read counted down (`read`), completed at `at` when it was its last pending dataset. */
export const finishReadSql = (read: string, at: string) => `
    update dataset_reads r set pending = r.pending - 1,
      completed_at = case when r.pending - 1 <= 0 then ${at} else r.completed_at end
    where r.read_id = ${read} and r.pending > 0`;

/** The planner settings the queue's functions run with (0030, 0034, 0036; why: below). */
export const QUEUE_FUNCTION_SETTINGS = `set enable_sort = off set enable_seqscan = off set enable_bitmapscan = off set jit = off set plan_cache_mode = force_generic_plan`;

/**
 * syncline_finish_datasets with `settings`: `declarations` (more plpgsql variables, each line `  name type;\n`) and
 * `endOne`, the statements that end dataset `f` (id, worker, status, completed, s) into `v_row, v_read` (found when it
 * ended). 0030: the update alone; 0036: the row locked first.
 */
export const finishFunctionSql = (settings: string, declarations: string, endOne: string) =>
  `create or replace function syncline_finish_datasets(jsonb) returns setof jsonb
           language plpgsql volatile ${settings} as $fn$
declare
  f record;
${declarations}  v_row jsonb;
  v_read text;
begin
  if exists (select 1 from webhook_consumers where disabled = 0) then
    return next jsonb_build_object('consumers', true);
    return;
  end if;
  for f in select * from jsonb_to_recordset($1) as x(id text, worker text, status text, completed text, s jsonb) order by x.completed loop
    ${endOne}
    if found then
      ${finishReadSql('v_read', 'f.completed')};
      return next v_row;
    end if;
  end loop;
end
$fn$`;

/**
 * The queue's two functions again, same signatures and results as 0029, with plans that stay index lookups whatever
 * the statistics were when the session planned them (issue 17).
 *
 * 0029 kept one generic plan per session (`plan_cache_mode = force_generic_plan`), made at the session's first call —
 * in a fresh database, or any time the queue's partial indexes were empty, from statistics saying the tables were
 * empty. Those plans joined the claimed candidate back to `datasets` by walking all of datasets_claim_order (1,470
 * entries for one row, mid-benchmark) and hashed a sequential scan of every running dataset — or of the whole table —
 * for each completion; pg_stat_statements counted ~800 buffers per claimed dataset and ~70 per completion in the
 * queue benchmark, where a keyed plan needs ~60 and ~10. Now every statement touches one table, addressed by key
 * or by tuple id (TID scans), and the functions run with sequential and bitmap scans off, so the only plans left are
 * index walks and keyed lookups; claim-plan.test.ts checks them over empty, never-analyzed and loaded tables.
 *
 * - syncline_claim_datasets($1 worker, $2 now, $3 lease expiry, $4/$5 integration keys and their maximum pulls per
 *   connection, $6 n): up to n claims in the function's transaction, one after another (each sees the previous ones'
 *   run slots and per-connection counts): candidate (locked, SKIP LOCKED), update by tuple id, staging reset, facts.
 * - syncline_finish_datasets($1 jsonb [{id, worker, status, completed, s}]): while no webhook consumer is enabled,
 *   each held dataset ended and its read counted down (in completion order, so a read completes at its latest
 *   dataset's completion, as 0029's grouped countdown did); with one, nothing changes and one row says so.
 */
export function m0030QueuePlans(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return; // SQLite claims and finishes in process
      const settings = QUEUE_FUNCTION_SETTINGS;
      await sql
        .raw(
          `create or replace function syncline_claim_datasets(text, text, text, text[], int[], int) returns setof jsonb
           language plpgsql volatile ${settings} as $fn$
declare
  v_tid tid;
  v_conn text;
  v_max int;
  v_row jsonb;
  v_id text;
  v_type text;
  v_out jsonb;
begin
  for i in 1 .. greatest($6, 1) loop
    ${CLAIM_CANDIDATE_SQL}
    into v_tid, v_conn, v_max;
    exit when not found;
    ${claimUpdateSql('v_tid', 'v_conn', 'v_max')}
    into v_row, v_id, v_type;
    delete from record_staging s where s.dataset_id = v_id;
    ${claimFactsSql('v_row', 'v_conn', 'v_type')}
    into v_out;
    return next v_out;
  end loop;
end
$fn$`,
        )
        .execute(db);
      await sql
        .raw(finishFunctionSql(settings, '', `${finishUpdateSql('f.id', 'f.worker', 'f.status', 'f.completed', 'f.s')}
    into v_row, v_read;`))
        .execute(db);
    },
  };
}
