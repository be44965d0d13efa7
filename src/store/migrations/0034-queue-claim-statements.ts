import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';
import { QUEUE_FUNCTION_SETTINGS } from './0030-queue-plans.js';

/** Statuses in which a worker holds a dataset (constants, not user input), as in 0002's datasets_running_slot. */
const runningList = IN_PROGRESS_STATUSES.filter((s) => s !== 'Queued').map((s) => `'${s}'`).join(', ');

/** Pulls one connection may run at once (0030's expression): `$4`/`$5`, 1 for any other key. */
const maxSlots = (connection: string) =>
  `greatest(1, case when exists (select 1 from unnest($5::int[]) m where m > 1)
     then coalesce((select u.m from unnest($4::text[], $5::int[]) u(k, m)
                    where u.k = (select c.integration_key from connections c where c.id = ${connection}) limit 1), 1)
     else 1 end)`;

/*
 * The statements of the claim, with the plpgsql variables they use as arguments so that src/store/claim-plan.test.ts
 * can prepare exactly these texts with parameters in their place and check their generic plans.
 */

/**
 * 0030's candidate (the oldest claimable dataset in claim order whose connection runs fewer pulls than its maximum,
 * row-locked), which also says whether it was ever claimed (`started` is set by the first claim and never cleared):
 * only a pull claimed before can have staged pages to clear.
 */
export const CLAIM_CANDIDATE_SQL = `
    select d.ctid, d.connection_id, d.started is null, ${maxSlots('d.connection_id')}
    from datasets d
    where d.status = 'Queued' and (d.not_before is null or d.not_before <= $2)
      and (select count(*) from datasets r where r.connection_id = d.connection_id and r.status in (${runningList}))
          < ${maxSlots('d.connection_id')}
    order by d.requested, d.sync_order, d.seq
    limit 1
    for update of d skip locked`;

/**
 * The locked candidate (`tid`, of connection `conn` running at most `max` pulls) goes Fetching with the lowest free run
 * slot of its connection, as in 0030 — and the same statement returns what the run needs (0030 read it in a statement
 * of its own): the row, its connection's key, status and info (the connection joined by its key), and the facts deciding
 * an incremental or full listing, each a keyed walk of datasets_conn_type_seq. The connection is named by its company
 * too: a generic plan made over a never-analyzed `connections` may take connections_company_idx (company_id, created_at,
 * id) for it, which is keyed only when the company is given (a connection always exists: datasets cascade with it).
 * The facts read the statement's snapshot,
 * which does not include this update: they are about the pair's Complete pulls, which it does not change.
 */
export const claimUpdateSql = (tid: string, conn: string, max: string) => `
    update datasets d set status = 'Fetching', lease_owner = $1, lease_expires = $3,
      run_slot = (select min(g.slot) from generate_series(0, ${max} - 1) g(slot)
                  where not exists (select 1 from datasets r where r.connection_id = ${conn}
                                    and r.status in (${runningList}) and r.run_slot = g.slot)),
      attempts = d.attempts + 1, started = coalesce(d.started, $2), status_description = null
    where d.ctid = ${tid}
    returning to_jsonb(d)
      || (select jsonb_build_object('integration_key', c.integration_key, 'connection_status', c.status, 'connection_info', c.connection_info)
          from connections c where c.id = ${conn} and c.company_id = d.company_id)
      || jsonb_build_object(
      'last_cursor', (select p.cursor_out from datasets p where p.connection_id = ${conn}
                        and p.data_type = d.data_type and p.status = 'Complete' order by p.seq desc limit 1),
      'last_full_completed', (select p.completed from datasets p where p.connection_id = ${conn}
                        and p.data_type = d.data_type and p.status = 'Complete' and p.full_listing = 1
                        order by p.seq desc limit 1),
      'completes_since_full', (select count(*) from datasets p where p.connection_id = ${conn}
                        and p.data_type = d.data_type and p.status = 'Complete'
                        and p.seq > coalesce((select f.seq from datasets f where f.connection_id = ${conn}
                                               and f.data_type = d.data_type and f.status = 'Complete'
                                               and f.full_listing = 1 order by f.seq desc limit 1), 0))), d.id`;

/**
 * Issue 17, the queue's statements and index entries per dataset (profile in docs/benchmarks.md, queue):
 *
 * - syncline_claim_datasets, same signature and result as 0029/0030, in two statements per claimed dataset instead of
 *   four: the facts come back from the claim's UPDATE (RETURNING), and the staging reset runs only for a pull claimed
 *   before (a first claim has nothing staged). Every plpgsql statement costs an executor start-up and a snapshot on
 *   top of its work (executor start-up alone was ~13 % of a backend's CPU claiming and finishing no-op pulls, perf).
 * - datasets_leases is dropped: every dataset's claim inserted an entry in it (and each heartbeat, which moves
 *   `lease_expires`, one more: no heartbeat could be a HOT update), and its only reader, the sweeper, finds the running
 *   datasets through datasets_running_slot, whose predicate is the same (as many rows as pulls running anywhere).
 *
 * SQLite claims and finishes in process, through its own indexes: unchanged.
 */
export function m0034QueueClaimStatements(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      const settings = QUEUE_FUNCTION_SETTINGS;
      await sql
        .raw(
          `create or replace function syncline_claim_datasets(text, text, text, text[], int[], int) returns setof jsonb
           language plpgsql volatile ${settings} as $fn$
declare
  v_tid tid;
  v_conn text;
  v_first boolean;
  v_max int;
  v_id text;
  v_out jsonb;
begin
  for i in 1 .. greatest($6, 1) loop
    ${CLAIM_CANDIDATE_SQL}
    into v_tid, v_conn, v_first, v_max;
    exit when not found;
    ${claimUpdateSql('v_tid', 'v_conn', 'v_max')}
    into v_out, v_id;
    exit when not found;
    if not v_first then
      delete from record_staging s where s.dataset_id = v_id;
    end if;
    return next v_out;
  end loop;
end
$fn$`,
        )
        .execute(db);
      await sql`drop index datasets_leases`.execute(db);
    },
  };
}
