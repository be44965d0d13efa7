import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { IN_PROGRESS_STATUSES } from '../../domain/statuses.js';

/** SQL list literal of the in-progress statuses (constants, not user input), as in 0002's datasets_one_in_progress. */
const inProgress = IN_PROGRESS_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * The due slots of one batch ($1 now in epoch ms, $3 the batch size), oldest bound first, through the partial index
 * schedule_slots_due. FOR UPDATE SKIP LOCKED: concurrent schedulers take disjoint slots without waiting, and a slot
 * stays locked until its batch commits or rolls back. Exported for src/scheduler/schedule-due.test.ts (its plans).
 */
export const DUE_SLOTS_SQL = `
  select ctid, connection_id, data_type, company_id, next_due_ms
  from schedule_slots
  where next_due_ms is not null and next_due_ms <= $1
  order by next_due_ms
  limit $3
  for update skip locked`;

/**
 * The integration keys of the claimed slots' connections that the caller did not describe ($6), looked up one
 * connection at a time by key. The key is the id AND the company (a slot's company_id is always its connection's):
 * with the id alone, a plan made from an empty table's statistics may walk connections_company_idx, whose third
 * column is the id, instead of probing the primary key. Exported for src/scheduler/schedule-due.test.ts (its plans).
 */
export const UNKNOWN_KEYS_SQL = `
  select array_agg(distinct c.integration_key)
  from (select distinct u.id, u.company_id from unnest($9::text[], $11::text[]) u(id, company_id)) k
  cross join lateral (select c.integration_key from connections c where c.id = k.id and c.company_id = k.company_id offset 0) c
  where c.integration_key <> all($6::text[])`;

/**
 * One batch of claimed slots decided, queued and moved in ONE statement — the rules of the in-process tick
 * (src/scheduler/scheduler.ts, `schedulerTickInProcess`), which SQLite runs and which this must match:
 *
 * - each slot's effective setting: the company's entry when the company overrides the defaults and the profile's entry
 *   is not locked (the last entry of a type wins, as in effectiveSettings), else the profile's ($4: every type);
 * - off (bound cleared; re-linking or a settings change revives it): connection gone or not Linked, no setting,
 *   syncSchedule ≤ 0, or a type the integration does not read ($7: 'integrationKey|dataType' pairs it reads);
 * - rate-limited: the bound moves to the connection's reset time;
 * - busy (a dataset of the pair in progress): the bound moves to now + min(schedule, 1 h);
 * - not yet due (last end — the newest terminal `completed`, or the link time if later — + schedule − jitter after
 *   now): the bound moves to that due time;
 * - due: queued, and the bound moves to now + schedule − jitter. Jitter: the first 4 bytes of
 *   sha256('connectionId|dataType') as an unsigned integer, modulo min(1 % of the schedule, 10 minutes) in ms.
 *
 * The due types of one connection form one read (a dataset_reads row counting the datasets actually inserted),
 * inserted in due order of the read's first slot, then syncOrder, then canonical type order ($5: the data types in
 * canonical order) — so seq orders them as the in-process tick does. A dataset is Queued, or PrerequisiteNotMet at
 * once when the integration is not enabled ($8: enabled keys); the caller writes those outcomes' webhook events in
 * the same transaction (they are returned in `ended`). A pair that went in progress since its state was read (an API
 * refresh racing the tick) is skipped by the partial unique index, as the in-process INSERT does.
 *
 * Dataset ids are UUIDv7 (48 bits of milliseconds, then random bits): new ids land at the right edge of the unique
 * index on `id` instead of on a random leaf page each (random ids made a 10,000-row insert ~1.4× dearer, issue 17).
 *
 * Every large table is reached by key only, so no statistics can turn a step into a scan: connections and company
 * settings one key at a time, each pair's history by a lateral aggregate over datasets_conn_type_seq, the slots
 * by their tuple ids (row-locked by the claim, so they cannot move), datasets' in-progress check by the ON CONFLICT
 * arbiter; everything else joins the batch's own CTEs.
 *
 * Parameters: $1 now (epoch ms), $2 now (ISO text: requested, and completed of decided outcomes), $4…$8 as above, and
 * the claimed slots as four parallel arrays $9 connection ids, $10 data types, $11 company ids, $12 tuple ids (in due
 * order).
 * Returns one jsonb: {examined, queued (datasets inserted), waiting (of them Queued), ended (the others' rows)}.
 */
export const SCHEDULE_BATCH_SQL = `
  with due as materialized (
    select u.connection_id, u.data_type, u.company_id, u.tid, u.n
    from unnest($9::text[], $10::text[], $11::text[], $12::tid[]) with ordinality as u(connection_id, data_type, company_id, tid, n)
  ), profile as materialized (
    select e->>'dataType' as data_type, e as setting, e::text as setting_text, coalesce((e->>'isLocked')::boolean, false) as locked
    from jsonb_array_elements($4::jsonb) e
  ), overrides as materialized (
    -- The companies' own entries, the last of a type winning; only for companies that override the defaults.
    -- (Each large table is looked up one key at a time through a lateral that cannot be flattened: an \`= any(keys)\`
    -- scan could be planned, from statistics of empty tables, as a walk of a whole index filtered by the keys.)
    select cs.company_id, e.value->>'dataType' as data_type, (array_agg(e.value order by e.i desc))[1] as setting
    from (select distinct company_id from due) k
    cross join lateral (select cs.company_id, cs.settings from company_sync_settings cs
                        where cs.company_id = k.company_id and cs.overrides_defaults = 1 offset 0) cs
    cross join lateral jsonb_array_elements(cs.settings::jsonb) with ordinality as e(value, i)
    group by cs.company_id, e.value->>'dataType'
  ), conns as materialized (
    select c.id, c.company_id, c.integration_key, c.status, nullif(c.rate_limited_until, '') as rate_limited_until,
           nullif(c.linked_at, '') as linked_at
    from (select distinct connection_id, company_id from due) k
    cross join lateral (select c.* from connections c where c.id = k.connection_id and c.company_id = k.company_id offset 0) c
  ), slot as materialized (
    select d.connection_id, d.data_type, d.tid, d.n, c.id as conn_id, c.company_id as conn_company_id, c.integration_key,
           c.status, c.rate_limited_until, c.linked_at, x.setting, x.setting_text,
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
    -- One walk of the pair's history through datasets_conn_type_seq (a lateral aggregate: per slot, never a hashed
    -- scan of the whole index): is a dataset in progress, and the newest terminal \`completed\`.
    select r.connection_id, r.data_type,
           coalesce(round(extract(epoch from r.rate_limited_until::timestamptz) * 1000), 0) as limited_ms,
           coalesce(st.busy, false) as busy,
           greatest(coalesce(round(extract(epoch from st.last_end::timestamptz) * 1000), 0),
                    coalesce(round(extract(epoch from r.linked_at::timestamptz) * 1000), 0)) as last_end_ms,
           case when least(r.hours * 36000, 600000) < 1 then 0
                else mod(('x' || left(encode(sha256(convert_to(r.connection_id || '|' || r.data_type, 'UTF8')), 'hex'), 8))::bit(32)::bigint,
                         floor(least(r.hours * 36000, 600000))) end as jitter
    from rule r
    cross join lateral (
      select bool_or(x.status in (${inProgress})) as busy,
             max(x.completed) filter (where x.status not in (${inProgress})) as last_end
      from datasets x
      where x.connection_id = r.connection_id and x.data_type = r.data_type
    ) st
    where r.on_schedule
  ), decided as materialized (
    select r.connection_id, r.data_type, r.tid, r.n, r.conn_company_id, r.integration_key, r.setting, r.setting_text,
           case when not r.on_schedule then null
                when f.limited_ms > $1 then f.limited_ms
                when f.busy then $1 + least(r.hours * 3600000, 3600000)
                when f.last_end_ms + r.hours * 3600000 - f.jitter > $1 then f.last_end_ms + r.hours * 3600000 - f.jitter
                else $1 + r.hours * 3600000 - f.jitter end::bigint as next_due_ms,
           coalesce(r.on_schedule and f.limited_ms <= $1 and not f.busy and f.last_end_ms + r.hours * 3600000 - f.jitter <= $1, false) as queue,
           lpad(to_hex(floor(extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0') as id_ms,
           gen_random_uuid()::text as id_rand
    from rule r
    left join facts f on f.connection_id = r.connection_id and f.data_type = r.data_type
  ), reads as materialized (
    select q.connection_id, min(q.conn_company_id) as company_id, min(q.n) as first_n, gen_random_uuid()::text as read_id
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
    update schedule_slots s set next_due_ms = d.next_due_ms
    from decided d
    where s.ctid = d.tid and s.ctid = any($12::tid[])
  )
  select jsonb_build_object(
    'examined', (select count(*) from decided),
    'queued', (select count(*) from ins),
    'waiting', (select count(*) from ins where status = 'Queued'),
    'ended', coalesce((select jsonb_agg(to_jsonb(i) order by i.seq) from ins i where i.status <> 'Queued'), '[]'::jsonb))`;

/**
 * The scheduler's batch function of 0025, replaced (same signature and result), and schedule_slots without its
 * (company_id, data_type) index (issue 17).
 *
 * - Plans that stay keyed lookups whatever the statistics: 0025 kept one generic plan per session made from the
 *   statistics of its first call, so a scheduler that started on a fresh or empty database could keep hash joins over
 *   whole tables for its lifetime. Now sequential and bitmap scans are off, each large table is reached by key only
 *   (SCHEDULE_BATCH_SQL) and the slots by the tuple ids their claim returned; JIT is off (disabled paths' costs would
 *   otherwise JIT-compile every call).
 * - The index: every tick moves the bound of each slot it claims, and next_due_ms is indexed (schedule_slots_due), so
 *   each move wrote an entry in all three indexes of the table; this one (~17 % of a batch's cost at 10,000 due pulls
 *   of 1.5 M slots) served only the per-company recheck after a settings change, a rare write, which now finds the
 *   company's slots through its connections (ScheduleSlotsRepository.recheck). Both databases.
 */
export function m0026ScheduleSlotsNarrow(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`drop index if exists schedule_slots_company`.execute(db);
      if (dialect !== 'postgres') return; // SQLite runs the batch in process (src/scheduler/scheduler.ts)
      const batch = SCHEDULE_BATCH_SQL.replace(/\$(9|10|11|12)\b/g, (_m, n: string) => ({ '9': 'v_conn', '10': 'v_type', '11': 'v_comp', '12': 'v_tid' })[n]!);
      await sql
        .raw(
          `create or replace function syncline_schedule_due(bigint, text, int, jsonb, text[], text[], text[], text[]) returns jsonb
           language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off
           set enable_bitmapscan = off set jit = off as $fn$
declare
  v_conn text[];
  v_type text[];
  v_comp text[];
  v_tid tid[];
  v_unknown text[];
  v_out jsonb;
begin
  select coalesce(array_agg(s.connection_id order by s.next_due_ms), '{}'), coalesce(array_agg(s.data_type order by s.next_due_ms), '{}'),
         coalesce(array_agg(s.company_id order by s.next_due_ms), '{}'), coalesce(array_agg(s.ctid order by s.next_due_ms), '{}')
    into v_conn, v_type, v_comp, v_tid
    from (${DUE_SLOTS_SQL}) s;
  if cardinality(v_conn) = 0 then
    return jsonb_build_object('examined', 0, 'queued', 0, 'waiting', 0, 'ended', '[]'::jsonb);
  end if;
  ${UNKNOWN_KEYS_SQL.replace('$9', 'v_conn').replace('$11', 'v_comp')} into v_unknown;
  if v_unknown is not null then
    return jsonb_build_object('examined', 0, 'queued', 0, 'waiting', 0, 'ended', '[]'::jsonb, 'unknownIntegrations', to_jsonb(v_unknown));
  end if;
  ${batch} into v_out;
  if (v_out->>'waiting')::int > 0 then
    perform pg_notify('syncline_datasets', '');
  end if;
  return v_out;
end
$fn$`,
        )
        .execute(db);
    },
  };
}
