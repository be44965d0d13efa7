import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';

/** SQL list literal of the in-progress statuses (constants, not user input), as in 0002's datasets_one_in_progress. */
const inProgress = IN_PROGRESS_STATUSES.map((s) => `'${s}'`).join(', ');

/** An ISO-8601 text column or expression as epoch milliseconds (bigint), as the batch has always converted them. */
const epochMs = (iso: string) => `round(extract(epoch from (${iso})::timestamptz) * 1000)::bigint`;

/**
 * The due slots of one batch ($1 now in epoch ms, $3 the batch size), oldest bound first, through the partial index
 * schedule_slots_due, with each pair's last end kept on the slot. FOR UPDATE SKIP LOCKED: concurrent schedulers take
 * disjoint slots without waiting, and a slot stays locked until its batch commits or rolls back. Exported for
 * src/scheduler/schedule-due.test.ts (its plans).
 */
export const DUE_SLOTS_SQL = `
  select ctid, connection_id, data_type, company_id, next_due_ms, last_end_ms
  from schedule_slots
  where next_due_ms is not null and next_due_ms <= $1
  order by next_due_ms
  limit $3
  for update skip locked`;

/**
 * The claimed slots' connections ($9 ids, $11 companies: a slot's company_id is always its connection's, and with the
 * id alone a plan made from an empty table's statistics may walk connections_company_idx instead of probing a key),
 * looked up ONCE per batch, one connection at a time. The function checks their integration keys against the ones the
 * caller described ($6) and hands the rows to the batch as arrays (0026 looked each connection up twice). Exported for
 * src/scheduler/schedule-due.test.ts (its plans).
 */
export const CONNS_SQL = `
  select coalesce(array_agg(c.id), '{}'), coalesce(array_agg(c.integration_key), '{}'), coalesce(array_agg(c.status), '{}'),
         coalesce(array_agg(nullif(c.rate_limited_until, '')), '{}'), coalesce(array_agg(nullif(c.linked_at, '')), '{}')
  from (select distinct u.id, u.company_id from unnest($9::text[], $11::text[]) u(id, company_id)) k
  cross join lateral (select c.id, c.integration_key, c.status, c.rate_limited_until, c.linked_at
                      from connections c where c.id = k.id and c.company_id = k.company_id offset 0) c`;

/**
 * One batch of claimed slots decided, queued and moved in ONE statement — the rules of the in-process tick
 * (src/scheduler/scheduler.ts, `schedulerTickInProcess`), which SQLite runs and which this must match (0026's rules;
 * only where the facts come from changed):
 *
 * - each slot's effective setting: the company's entry when the company overrides the defaults and the profile's entry
 *   is not locked (the last entry of a type wins, as in effectiveSettings), else the profile's ($4: every type);
 * - off (bound cleared; re-linking or a settings change revives it): connection gone or not Linked, no setting,
 *   syncSchedule ≤ 0, or a type the integration does not read ($7: 'integrationKey|dataType' pairs it reads);
 * - rate-limited: the bound moves to the connection's reset time;
 * - busy (a dataset of the pair in progress — one probe of the partial unique index datasets_one_in_progress): the
 *   bound moves to now + min(schedule, 1 h);
 * - not yet due (last end — the slot's last_end_ms, which the datasets trigger of this migration keeps equal to the
 *   newest terminal `completed` of the pair, or the link time if later — + schedule − jitter after now): the bound
 *   moves to that due time;
 * - due: queued, and the bound moves to now + schedule − jitter. Jitter: the first 4 bytes of
 *   sha256('connectionId|dataType') as an unsigned integer, modulo min(1 % of the schedule, 10 minutes) in ms.
 *
 * The due types of one connection form one read (a dataset_reads row counting the datasets actually inserted),
 * inserted in due order of the read's first slot, then syncOrder, then canonical type order ($5: the data types in
 * canonical order) — so seq orders them as the in-process tick does. A dataset is Queued, or PrerequisiteNotMet at
 * once when the integration is not enabled ($8: enabled keys); the caller writes those outcomes' webhook events in
 * the same transaction (they are returned in `ended`). A pair that went in progress since the probe (an API refresh
 * racing the tick) is skipped by the partial unique index, as the in-process INSERT does.
 *
 * Dataset ids are UUIDv7 (48 bits of milliseconds, then random bits): new ids land at the right edge of the unique
 * index on `id` instead of on a random leaf page each.
 *
 * Every large table is reached by key only: company settings one key at a time, busy by one probe of the partial
 * index, the slots by the tuple ids their claim returned (row-locked by the claim, so they cannot move), datasets'
 * in-progress check by the ON CONFLICT arbiter; everything else joins the batch's own CTEs and arrays.
 *
 * Parameters: $1 now (epoch ms), $2 now (ISO text: requested, and completed of decided outcomes), $4…$8 as above, the
 * claimed slots as parallel arrays in due order ($9 connection ids, $10 data types, $11 company ids, $12 tuple ids,
 * $13 last ends in epoch ms) and their connections as parallel arrays ($14 ids, $15 integration keys, $16 statuses,
 * $17 rate-limit resets, $18 link times).
 * Returns one jsonb: {examined, queued (datasets inserted), waiting (of them Queued), ended (the others' rows)}.
 */
export const SCHEDULE_BATCH_SQL = `
  with due as materialized (
    select u.connection_id, u.data_type, u.company_id, u.tid, u.last_end_ms, u.n
    from unnest($9::text[], $10::text[], $11::text[], $12::tid[], $13::bigint[]) with ordinality as u(connection_id, data_type, company_id, tid, last_end_ms, n)
  ), conns as materialized (
    select c.id, c.integration_key, c.status, coalesce(${epochMs('c.rate_limited_until')}, 0) as limited_ms,
           coalesce(${epochMs('c.linked_at')}, 0) as linked_ms
    from unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[]) c(id, integration_key, status, rate_limited_until, linked_at)
  ), profile as materialized (
    select e->>'dataType' as data_type, e as setting, e::text as setting_text, coalesce((e->>'isLocked')::boolean, false) as locked
    from jsonb_array_elements($4::jsonb) e
  ), overrides as materialized (
    -- The companies' own entries, the last of a type winning; only for companies that override the defaults.
    -- (Looked up one key at a time through a lateral that cannot be flattened: an \`= any(keys)\` scan could be
    -- planned, from statistics of empty tables, as a walk of a whole index filtered by the keys.)
    select cs.company_id, e.value->>'dataType' as data_type, (array_agg(e.value order by e.i desc))[1] as setting
    from (select distinct company_id from due) k
    cross join lateral (select cs.company_id, cs.settings from company_sync_settings cs
                        where cs.company_id = k.company_id and cs.overrides_defaults = 1 offset 0) cs
    cross join lateral jsonb_array_elements(cs.settings::jsonb) with ordinality as e(value, i)
    group by cs.company_id, e.value->>'dataType'
  ), slot as materialized (
    select d.connection_id, d.data_type, d.tid, d.n, d.company_id, d.last_end_ms, c.id as conn_id, c.integration_key,
           c.status, c.limited_ms, c.linked_ms, x.setting, x.setting_text,
           coalesce((x.setting->>'syncSchedule')::numeric, 0) as hours
    from due d
    left join conns c on c.id = d.connection_id
    left join profile p on p.data_type = d.data_type
    left join overrides o on o.company_id = d.company_id and o.data_type = d.data_type
    cross join lateral (
      select case when o.setting is not null and not coalesce(p.locked, false) then o.setting else p.setting end as setting,
             case when o.setting is not null and not coalesce(p.locked, false) then o.setting::text else p.setting_text end as setting_text
    ) x
  ), rule as (
    select s.*,
           s.conn_id is not null and s.status = 'Linked' and s.setting is not null and s.hours > 0
             and (s.integration_key || '|' || s.data_type) = any($7::text[]) as on_schedule
    from slot s
  ), facts as (
    -- Facts of the slots on a schedule only: busy (one probe of the partial index per slot — a lateral with LIMIT,
    -- so it cannot become one hashed scan of every dataset in progress per batch), the last end, the jitter.
    select r.*, b.busy is not null as busy,
           greatest(coalesce(r.last_end_ms, 0), r.linked_ms) as last_end,
           case when not r.on_schedule or least(r.hours * 36000, 600000) < 1 then 0
                else mod(('x' || left(encode(sha256(convert_to(r.connection_id || '|' || r.data_type, 'UTF8')), 'hex'), 8))::bit(32)::bigint,
                         floor(least(r.hours * 36000, 600000))) end as jitter
    from rule r
    left join lateral (select 1 as busy from datasets x
                       where x.connection_id = r.connection_id and x.data_type = r.data_type and x.status in (${inProgress})
                       limit 1) b on r.on_schedule
  ), decided as materialized (
    select f.connection_id, f.data_type, f.tid, f.n, f.company_id, f.integration_key, f.setting, f.setting_text,
           case when not f.on_schedule then null
                when f.limited_ms > $1 then f.limited_ms
                when f.busy then $1 + least(f.hours * 3600000, 3600000)
                when f.last_end + f.hours * 3600000 - f.jitter > $1 then f.last_end + f.hours * 3600000 - f.jitter
                else $1 + f.hours * 3600000 - f.jitter end::bigint as next_due_ms,
           coalesce(f.on_schedule and f.limited_ms <= $1 and not f.busy and f.last_end + f.hours * 3600000 - f.jitter <= $1, false) as queue,
           lpad(to_hex(floor(extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0') as id_ms,
           gen_random_uuid()::text as id_rand
    from facts f
  ), reads as materialized (
    select q.connection_id, min(q.company_id) as company_id, min(q.n) as first_n, gen_random_uuid()::text as read_id
    from decided q
    where q.queue
    group by q.connection_id
  ), ins as (
    insert into datasets (id, company_id, connection_id, data_type, status, error_message, progress, requested, completed,
                          read_id, trigger, sync_order, settings, attempts)
    select substr(q.id_ms, 1, 8) || '-' || substr(q.id_ms, 9, 4) || '-7' || substr(q.id_rand, 16),
           rd.company_id, q.connection_id, q.data_type,
           case when q.integration_key = any($8::text[]) then 'Queued' else 'PrerequisiteNotMet' end,
           case when q.integration_key = any($8::text[]) then null
                else 'The integration is not enabled or not configured on this instance.' end,
           case when q.integration_key = any($8::text[]) then 0 else 100 end,
           $2,
           case when q.integration_key = any($8::text[]) then null else $2 end,
           rd.read_id, 'schedule', (q.setting->>'syncOrder')::int, q.setting_text, 0
    from decided q join reads rd on rd.connection_id = q.connection_id
    where q.queue
    order by rd.first_n, (q.setting->>'syncOrder')::int, array_position($5::text[], q.data_type)
    on conflict (connection_id, data_type) where status in (${inProgress}) do nothing
    returning seq, id, company_id, connection_id, data_type, status, read_id, requested, completed,
              records_added, records_updated, records_deleted
  ), opened as (
    insert into dataset_reads (read_id, company_id, connection_id, trigger, initial, first_link, pending, created_at, completed_at)
    select i.read_id, min(i.company_id), min(i.connection_id), 'schedule', 0, 0, count(*), $2, null
    from ins i
    group by i.read_id
  ), moved as (
    -- By tuple id alone (0026 also filtered each row by \`ctid = any(all the batch's tuple ids)\`: a scan of the
    -- whole array per slot, quadratic in the batch size).
    update schedule_slots s set next_due_ms = d.next_due_ms
    from decided d
    where s.ctid = d.tid
  )
  select jsonb_build_object(
    'examined', (select count(*) from decided),
    'queued', (select count(*) from ins),
    'waiting', (select count(*) from ins where status = 'Queued'),
    'ended', coalesce((select jsonb_agg(to_jsonb(i) order by i.seq) from ins i where i.status <> 'Queued'), '[]'::jsonb))`;

/** The batch function's definition (exported so a profile can reinstall it on a copy of a large database). */
export function scheduleDueFunctionSql(): string {
  const batch = SCHEDULE_BATCH_SQL.replace(/\$(9|10|11|12|13|14|15|16|17|18)\b/g, (_m, n: string) => `v_${n}`);
  return `create or replace function syncline_schedule_due(bigint, text, int, jsonb, text[], text[], text[], text[]) returns jsonb
           language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off
           set enable_bitmapscan = off set jit = off as $fn$
declare
  v_9 text[]; v_10 text[]; v_11 text[]; v_12 tid[]; v_13 bigint[];
  v_14 text[]; v_15 text[]; v_16 text[]; v_17 text[]; v_18 text[];
  v_unknown text[];
  v_out jsonb;
begin
  -- The claim's rows arrive in due order (its ORDER BY … LIMIT … FOR UPDATE); the arrays keep it, all aligned.
  select coalesce(array_agg(s.connection_id), '{}'), coalesce(array_agg(s.data_type), '{}'), coalesce(array_agg(s.company_id), '{}'),
         coalesce(array_agg(s.ctid), '{}'), coalesce(array_agg(s.last_end_ms), '{}')
    into v_9, v_10, v_11, v_12, v_13
    from (${DUE_SLOTS_SQL}) s;
  if cardinality(v_9) = 0 then
    return jsonb_build_object('examined', 0, 'queued', 0, 'waiting', 0, 'ended', '[]'::jsonb);
  end if;
  ${CONNS_SQL.replace('$9', 'v_9').replace('$11', 'v_11')} into v_14, v_15, v_16, v_17, v_18;
  select array_agg(distinct k) into v_unknown from unnest(v_15) k where k <> all($6::text[]);
  if v_unknown is not null then
    return jsonb_build_object('examined', 0, 'queued', 0, 'waiting', 0, 'ended', '[]'::jsonb, 'unknownIntegrations', to_jsonb(v_unknown));
  end if;
  ${batch} into v_out;
  if (v_out->>'waiting')::int > 0 then
    perform pg_notify('syncline_datasets', '');
  end if;
  return v_out;
end
$fn$`;
}

/** The newest terminal end of each pair, from the history (the backfill, and a slot created for a pair with history). */
const historyLastEnd = (conn: string, type: string) => `
  (select ${epochMs('max(x.completed)')} from datasets x
   where x.connection_id = ${conn} and x.data_type = ${type} and x.completed is not null and x.status not in (${inProgress}))`;

/**
 * Each schedule slot keeps its pair's last end (issue 17): `last_end_ms`, the newest terminal `completed` of the
 * (connection, data type) pair in epoch ms (null: the pair never ended a pull), so the due scan reads one column of the
 * row it already locked instead of walking the pair's whole history through datasets_conn_type_seq per due slot (an
 * index descent and a heap fetch per past pull — growing with the history). PostgreSQL only: SQLite runs the tick in
 * process and reads the history (src/scheduler/schedule-due.test.ts holds the two to the same outcomes, which also
 * proves the column equals the history).
 *
 * Kept by triggers, so every path that ends a pull (worker finish, batch finish, sweeper, unlink, cancel, outcomes
 * decided at queue time) keeps it without knowing about it:
 * - datasets AFTER INSERT / AFTER UPDATE, row-level, only when the row is terminal with a `completed` (the WHEN clause
 *   is evaluated without calling the function, so queueing, claiming, progress and lease updates pay nothing): the
 *   slot's last_end_ms becomes the greater of itself and the row's end. Monotone, as the history's max is (datasets
 *   are never deleted but with their connection, and a terminal dataset never returns to progress).
 * - schedule_slots BEFORE INSERT: a slot created for a pair that already has history (a re-link adds slots of types
 *   that were pulled on demand) starts from it.
 * A finish updates the slot row; while a scheduler batch holds that slot (FOR UPDATE, a batch's lifetime) the finish
 * waits for it. The batch never waits for a finishing pull: it sees that pull in progress (busy) and inserts nothing
 * for the pair, so the two cannot deadlock.
 *
 * The batch function is replaced (same signature and result): facts from the slot and one probe of
 * datasets_one_in_progress, connections looked up once, slots moved by tuple id alone (SCHEDULE_BATCH_SQL).
 */
export function m0035ScheduleSlotLastEnd(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return; // SQLite runs the batch in process (src/scheduler/scheduler.ts)
      await sql.raw(`alter table schedule_slots add column last_end_ms bigint`).execute(db);
      await sql
        .raw(
          `update schedule_slots s set last_end_ms = h.ms
           from (select connection_id, data_type, ${epochMs('max(completed)')} as ms from datasets
                 where completed is not null and status not in (${inProgress}) group by connection_id, data_type) h
           where s.connection_id = h.connection_id and s.data_type = h.data_type`,
        )
        .execute(db);
      await sql
        .raw(
          `create function syncline_slot_last_end() returns trigger language plpgsql as $fn$
           begin
             update schedule_slots s set last_end_ms = ${epochMs('new.completed')}
             where s.connection_id = new.connection_id and s.data_type = new.data_type
               and (s.last_end_ms is null or s.last_end_ms < ${epochMs('new.completed')});
             return null;
           end
           $fn$;
           create trigger datasets_slot_last_end_ins after insert on datasets for each row
             when (new.completed is not null and new.status not in (${inProgress}))
             execute function syncline_slot_last_end();
           create trigger datasets_slot_last_end_upd after update of status, completed on datasets for each row
             when (new.completed is not null and new.status not in (${inProgress})
                   and (old.completed is distinct from new.completed or old.status in (${inProgress})))
             execute function syncline_slot_last_end();
           create function syncline_slot_history_end() returns trigger language plpgsql as $fn$
           begin
             new.last_end_ms := ${historyLastEnd('new.connection_id', 'new.data_type')};
             return new;
           end
           $fn$;
           create trigger schedule_slots_history_end before insert on schedule_slots for each row
             when (new.last_end_ms is null) execute function syncline_slot_history_end();`,
        )
        .execute(db);
      await sql.raw(scheduleDueFunctionSql()).execute(db);
    },
  };
}
