import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';

/** Statuses in which a worker holds a dataset (constants, not user input), as in 0002's datasets_running_slot. */
const runningList = IN_PROGRESS_STATUSES.filter((s) => s !== 'Queued').map((s) => `'${s}'`).join(', ');

/**
 * The dataset claim as ONE round trip on PostgreSQL (issue 17: a no-op dataset cost 15 statements, six of them the
 * claim's BEGIN, SET LOCAL, candidates, running slots, UPDATE and COMMIT, four more the run's reads before starting).
 *
 * A function, not a plain statement, for its `SET enable_sort = off`: the queue swings from empty to thousands between
 * ANALYZEs, and with stale statistics the planner sorts the whole queue instead of walking datasets_claim_order (the
 * reason for the SET LOCAL the transaction used to send; src/store/claim-plan.test.ts). A LANGUAGE sql function with a
 * SET clause is never inlined and is planned at each call with its arguments (a custom plan: the generic plan of the
 * old claim took ~180 ms a claim), so the plan stays the index walk.
 *
 * - `cand`: the oldest claimable dataset in claim order whose connection runs fewer pulls than its maximum (`$4`/`$5`:
 *   integration keys and their maximum pulls per connection; any other key: 1), row-locked with SKIP LOCKED so
 *   concurrent claimers in any process take different rows without waiting;
 * - `claimed`: it goes Fetching with the lowest free run slot of its connection; the unique index on (connection,
 *   run slot) stays the final guard (a claimer racing for the same slot fails, the caller tries again later);
 * - `cleared`: staged pages a previous attempt left (a requeued pull) are removed;
 * - the result (one jsonb: the dataset row and what its run needs) joins in the connection and the facts deciding an
 *   incremental or full listing, so the run starts without another read.
 */
export function m0022ClaimFunction(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return; // SQLite claims in a transaction of its own (in-process: round trips are cheap)
      await sql
        .raw(
          `create function syncline_claim_dataset(text, text, text, text[], int[]) returns setof jsonb
           language sql volatile set enable_sort = off as $fn$
  with cand as (
    select d.seq, d.connection_id,
           greatest(1, coalesce((select u.m from unnest($4, $5) u(k, m) where u.k = c.integration_key limit 1), 1)) as max_slots
    from datasets d join connections c on c.id = d.connection_id
    where d.status = 'Queued' and (d.not_before is null or d.not_before <= $2)
      and (select count(*) from datasets r where r.connection_id = d.connection_id and r.status in (${runningList}))
          < greatest(1, coalesce((select u.m from unnest($4, $5) u(k, m) where u.k = c.integration_key limit 1), 1))
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
  from claimed join connections c on c.id = claimed.connection_id
$fn$`,
        )
        .execute(db);
    },
  };
}
