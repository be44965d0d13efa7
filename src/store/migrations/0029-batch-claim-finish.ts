import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';

/** Statuses in which a worker holds a dataset (constants, not user input), as in 0002's datasets_running_slot. */
const runningList = IN_PROGRESS_STATUSES.filter((s) => s !== 'Queued').map((s) => `'${s}'`).join(', ');

/**
 * ONE dataset claimed: 0022's statement unchanged ($1 worker, $2 now, $3 lease expiry, $4/$5 integration keys and
 * their maximum pulls per connection). Exported so that src/store/claim-plan.test.ts prepares exactly this text and
 * checks its generic plan.
 */
export const CLAIM_ONE_SQL = `
  with cand as (
    select d.seq, d.connection_id,
           greatest(1, coalesce((select u.m from unnest($4::text[], $5::int[]) u(k, m) where u.k = c.integration_key limit 1), 1)) as max_slots
    from datasets d join connections c on c.id = d.connection_id
    where d.status = 'Queued' and (d.not_before is null or d.not_before <= $2)
      and (select count(*) from datasets r where r.connection_id = d.connection_id and r.status in (${runningList}))
          < greatest(1, coalesce((select u.m from unnest($4::text[], $5::int[]) u(k, m) where u.k = c.integration_key limit 1), 1))
    order by d.requested, d.sync_order, d.seq
    limit 1
    for update of d skip locked
  ), claimed as (
    update datasets d set status = 'Fetching', lease_owner = $1, lease_expires = $3,
      run_slot = (select min(g.slot) from generate_series(0, cand.max_slots - 1) g(slot)
                  where not exists (select 1 from datasets r where r.connection_id = cand.connection_id
                                    and r.status in (${runningList}) and r.run_slot = g.slot)),
      attempts = d.attempts + 1, started = coalesce(d.started, $2), status_description = null
    from cand
    where d.seq = cand.seq and d.status = 'Queued'
    returning d.*
  ), cleared as (
    delete from record_staging s using claimed where s.dataset_id = claimed.id
  )
  select to_jsonb(claimed) || jsonb_build_object(
      'integration_key', c.integration_key,
      'connection_status', c.status,
      'connection_info', c.connection_info,
      'last_cursor', (select p.cursor_out from datasets p where p.connection_id = claimed.connection_id
                        and p.data_type = claimed.data_type and p.status = 'Complete' order by p.seq desc limit 1),
      'last_full_completed', (select p.completed from datasets p where p.connection_id = claimed.connection_id
                        and p.data_type = claimed.data_type and p.status = 'Complete' and p.full_listing = 1
                        order by p.seq desc limit 1),
      'completes_since_full', (select count(*) from datasets p where p.connection_id = claimed.connection_id
                        and p.data_type = claimed.data_type and p.status = 'Complete'
                        and p.seq > coalesce((select max(f.seq) from datasets f where f.connection_id = claimed.connection_id
                                               and f.data_type = claimed.data_type and f.status = 'Complete'
                                               and f.full_listing = 1), 0)))
  from claimed join connections c on c.id = claimed.connection_id`;

/**
 * Terminal transitions of several held datasets that merged nothing, and their reads counted down, in ONE statement
 * ($1: a jsonb array of {id, worker, status, completed, set} where `set` holds the other columns to write). Only
 * while no webhook consumer is enabled (read in the same snapshot as the update): then these transitions write no
 * event. With one, nothing changes and the single row says so; the caller takes the outbox path.
 */
export const FINISH_UNMERGED_SQL = `
  with subs as (select exists (select 1 from webhook_consumers where disabled = 0) as consumers),
  f as (select * from jsonb_to_recordset($1) as f(id text, worker text, status text, completed text, s jsonb)),
  done as (
    update datasets d set status = f.status, completed = f.completed, progress = 100,
      lease_owner = null, lease_expires = null, run_slot = null,
      status_description = case when f.s ? 'status_description' then f.s->>'status_description' else d.status_description end,
      error_message = case when f.s ? 'error_message' then f.s->>'error_message' else d.error_message end,
      cursor_in = case when f.s ? 'cursor_in' then f.s->>'cursor_in' else d.cursor_in end,
      cursor_out = case when f.s ? 'cursor_out' then f.s->>'cursor_out' else d.cursor_out end,
      validation = case when f.s ? 'validation' then f.s->>'validation' else d.validation end,
      full_listing = case when f.s ? 'full_listing' then (f.s->>'full_listing')::int else d.full_listing end,
      source_calls = case when f.s ? 'source_calls' then (f.s->>'source_calls')::int else d.source_calls end,
      records_added = case when f.s ? 'records_added' then (f.s->>'records_added')::int else d.records_added end,
      records_updated = case when f.s ? 'records_updated' then (f.s->>'records_updated')::int else d.records_updated end,
      records_deleted = case when f.s ? 'records_deleted' then (f.s->>'records_deleted')::int else d.records_deleted end
    from f
    where d.id = f.id and d.lease_owner = f.worker and d.status in (${runningList}) and not (select consumers from subs)
    returning d.*
  ), counted as (
    update dataset_reads r set pending = r.pending - c.n,
      completed_at = case when r.pending - c.n <= 0 then c.at else r.completed_at end
    from (select read_id, count(*)::int as n, max(completed) as at from done group by read_id) c
    where r.read_id = c.read_id and r.pending > 0
  )
  select case when (select consumers from subs) then jsonb_build_object('consumers', true) else to_jsonb(done) end
  from (select 1) one left join done on true
  where (select consumers from subs) or done.id is not null`;

/**
 * The queue's two hot statements as plpgsql functions (issue 17). 0022's claim was a LANGUAGE sql function: its body
 * was parsed and planned at every call, and on this machine that planning cost 2–3 times the execution (pg_stat_statements
 * with track_planning: ~6.9 ms planning against ~2.7 ms execution a claim under load; docs/benchmarks.md). A plpgsql
 * function keeps its statements' plans for the session, and `plan_cache_mode = force_generic_plan` makes that one plan
 * from the first call (its generic plan walks datasets_claim_order and sorts nothing: claim-plan.test.ts).
 *
 * - syncline_claim_datasets($1..$5 as 0022, $6 n): up to `n` datasets claimed in one round trip, one after another in
 *   the function's transaction, each by CLAIM_ONE_SQL — so each sees the previous ones' run slots and per-connection
 *   counts exactly as separate claims would; it stops at the first that finds nothing.
 * - syncline_finish_datasets($1): FINISH_UNMERGED_SQL, so a worker's no-op completions that end at once go in one
 *   round trip.
 *
 * 0022's syncline_claim_dataset stays for workers of the previous version during a rolling upgrade.
 */
export function m0029BatchClaimFinish(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return; // SQLite claims and finishes in process (round trips are cheap)
      await sql
        .raw(
          `create function syncline_claim_datasets(text, text, text, text[], int[], int) returns setof jsonb
           language plpgsql volatile set enable_sort = off set plan_cache_mode = force_generic_plan as $fn$
declare
  got bigint;
begin
  for i in 1 .. greatest($6, 1) loop
    return query ${CLAIM_ONE_SQL};
    get diagnostics got = row_count;
    exit when got = 0;
  end loop;
end
$fn$`,
        )
        .execute(db);
      await sql
        .raw(
          `create function syncline_finish_datasets(jsonb) returns setof jsonb
           language plpgsql volatile set plan_cache_mode = force_generic_plan as $fn$
begin
  return query ${FINISH_UNMERGED_SQL};
end
$fn$`,
        )
        .execute(db);
    },
  };
}
