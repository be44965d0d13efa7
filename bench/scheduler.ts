import { sql } from 'kysely';
import { createLogger } from '../src/lib/logger.js';
import { systemClock } from '../src/lib/clock.js';
import { V1_READ_TYPES } from '../src/domain/data-types.js';
import { defaultSetting } from '../src/domain/sync-settings.js';
import { DEFAULT_SCHEDULER_OPTIONS, schedulerTick, type SchedulerDeps } from '../src/scheduler/scheduler.js';
import { benchDatabase, type BenchDb } from './support/databases.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';

const HOUR = 3_600_000;
/** 15 of the types the Sandbox reads, each on the default weekly schedule. */
const TYPES = V1_READ_TYPES.filter((t) => t !== 'cashFlowStatement' && t !== 'profitAndLoss').slice(0, 15);
const conn = (i: string) => `'d0000000-0000-4000-8000-' || lpad(to_hex(${i}), 12, '0')`;
const comp = (i: string) => `'c0000000-0000-4000-8000-' || lpad(to_hex(${i}), 12, '0')`;

/**
 * `companies` companies, each with a linked connection whose 15 types have a weekly schedule and one completed pull
 * each (the last one): spread over the past week, so every slot is due some time in the coming week. Nothing is due
 * now. Rows are generated inside PostgreSQL.
 */
export async function seed(ctx: BenchContext, db: BenchDb, companies: number, nowMs: number): Promise<void> {
  const now = new Date(nowMs).toISOString();
  const types = `(values ${TYPES.map((t, k) => `('${t}', ${k})`).join(', ')}) as t(data_type, k)`;
  const setting = (t: string) => JSON.stringify(defaultSetting(t as never)).replace(/'/g, "''");
  const settingsCase = `case t.data_type ${TYPES.map((t) => `when '${t}' then '${setting(t)}'`).join(' ')} end`;
  const started = Date.now();
  await sql
    .raw(
      `insert into companies (id, name, description, tags, created_at)
         select ${comp('i')}, 'Scheduled ' || i, null, '{}', '${now}' from generate_series(1, ${companies}) s(i);
       insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync, linked_at)
         select ${conn('i')}, ${comp('i')}, 'mqjo', 'Linked', null, null, null, '${now}', '${now}', null, '2020-01-01T00:00:00.000Z'
         from generate_series(1, ${companies}) s(i);`,
    )
    .execute(db.store.db);
  ctx.log(`scheduler: ${companies.toLocaleString('en')} companies and connections`);
  // Last pull of pair (i, k) ended `age` ago, age spread over the past week (never due before 168 h).
  const ageMs = `((i * 7919 + k * 104729) % ${160 * HOUR})::bigint + ${HOUR}`;
  for (let from = 1; from <= companies; from += 25_000) {
    const to = Math.min(companies, from + 24_999);
    // Generated history, as a restore would load it: without triggers (each slot's last end — migration 0035's
    // last_end_ms, which the datasets trigger keeps — is written with the slot from the same expression).
    await sql
      .raw(
        `set session_replication_role = replica;
         insert into dataset_reads (read_id, company_id, connection_id, trigger, initial, first_link, pending, created_at, completed_at)
           select 'read-' || i, ${comp('i')}, ${conn('i')}, 'schedule', 0, 0, 0, '${now}', '${now}' from generate_series(${from}, ${to}) s(i);
         insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, started, completed, read_id, trigger, sync_order, settings, attempts, full_listing)
           select md5(i || '-' || k)::uuid::text, ${comp('i')}, ${conn('i')}, t.data_type, 'Complete', 100,
                  to_char(to_timestamp((${nowMs} - ${ageMs}) / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  to_char(to_timestamp((${nowMs} - ${ageMs}) / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  to_char(to_timestamp((${nowMs} - ${ageMs}) / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'read-' || i, 'schedule', k, ${settingsCase}, 1, 1
           from generate_series(${from}, ${to}) s(i), ${types};
         insert into schedule_slots (connection_id, data_type, company_id, next_due_ms, last_end_ms)
           select ${conn('i')}, t.data_type, ${comp('i')}, ${nowMs} - ${ageMs} + ${168 * HOUR - 10 * 60_000},
                  ${nowMs} - ${ageMs}
           from generate_series(${from}, ${to}) s(i), ${types};
         set session_replication_role = origin;`,
      )
      .execute(db.store.db);
    ctx.log(`scheduler: ${to.toLocaleString('en')} companies × ${TYPES.length} types seeded`);
  }
  await sql.raw('analyze').execute(db.store.db);
  ctx.log(`scheduler: seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * Makes `pairs` slots due now: the last pulls of 5 types of pairs/5 connections ended 169 hours ago — in their history
 * and on their slots (moving an end backwards is nothing a pull does, so the datasets trigger would not follow it).
 */
export async function makeDue(db: BenchDb, pairs: number, nowMs: number, round: number): Promise<void> {
  const conns = pairs / 5;
  const ended = new Date(nowMs - 169 * HOUR).toISOString();
  const first = round * conns + 1;
  const ids = `select ${conn('i')} from generate_series(${first}, ${first + conns - 1}) s(i)`;
  const due = TYPES.slice(0, 5).map((t) => `'${t}'`).join(', ');
  await sql
    .raw(
      `update datasets set completed = '${ended}' where connection_id in (${ids}) and data_type in (${due});
       update schedule_slots set next_due_ms = ${nowMs - 60_000}, last_end_ms = ${Date.parse(ended)} where connection_id in (${ids}) and data_type in (${due});`,
    )
    .execute(db.store.db);
}

export const scheduler: Benchmark = {
  name: 'scheduler',
  description: 'scheduler on PostgreSQL with 100,000 companies × 15 data types on weekly schedules (1.5 M slots, 1.5 M past pulls): an idle tick, and queueing 10,000 due pulls',
  async run(ctx) {
    const companies = ctx.size === 'smoke' ? 2_000 : 100_000;
    const duePairs = ctx.size === 'smoke' ? 500 : 10_000;
    const db = await benchDatabase(ctx, 'postgres');
    const rows: BenchRow[] = [];
    try {
      const nowMs = Date.now();
      await seed(ctx, db, companies, nowMs);
      const deps: SchedulerDeps = { store: db.store, clock: systemClock, log: createLogger('silent'), supports: () => true, integrationEnabled: () => true };

      // Idle: nothing due. The baseline is the same search for due slots with PostgreSQL's index scans turned off.
      const idle: number[] = [];
      for (let i = 0; i < (ctx.size === 'smoke' ? 5 : 100); i++) {
        const t = performance.now();
        const r = await schedulerTick(deps, DEFAULT_SCHEDULER_OPTIONS);
        idle.push(performance.now() - t);
        if (r.queued !== 0) throw new Error(`an idle tick queued ${r.queued}`);
      }
      const scan: number[] = [];
      for (let i = 0; i < (ctx.size === 'smoke' ? 3 : 10); i++) {
        const t = performance.now();
        await db.store.db.transaction().execute(async (trx) => {
          await sql`set local enable_indexscan = off`.execute(trx);
          await sql`set local enable_bitmapscan = off`.execute(trx);
          await sql`select * from schedule_slots where next_due_ms is not null and next_due_ms <= ${Date.now()} order by next_due_ms limit 500 for update skip locked`.execute(trx);
        });
        scan.push(performance.now() - t);
      }
      rows.push({ metric: 'idle tick (nothing due), p50', value: percentile(idle, 50), unit: 'ms', baseline: { label: 'the due-slot search without its index, p50', value: percentile(scan, 50) } });
      rows.push({ metric: 'idle tick (nothing due), p99', value: percentile(idle, 99), unit: 'ms' });

      // Due: 10,000 pairs (5 types of 2,000 connections) came due; ticks until all are queued. Baseline: inserting
      // the same number of Queued datasets in one bare INSERT … SELECT.
      const rounds = ctx.size === 'smoke' ? 1 : 3;
      const times: number[] = [];
      const bare: number[] = [];
      for (let round = 0; round < rounds; round++) {
        await makeDue(db, duePairs, Date.now(), round);
        const t = performance.now();
        let queued = 0;
        let ticks = 0;
        while (queued < duePairs) {
          const r = await schedulerTick(deps, DEFAULT_SCHEDULER_OPTIONS);
          queued += r.queued;
          ticks++;
          if (r.queued === 0) throw new Error(`only ${queued} of ${duePairs} due pulls were queued`);
        }
        times.push(performance.now() - t);
        ctx.log(`scheduler: ${queued} pulls queued in ${ticks} tick(s), ${(times.at(-1)! / 1000).toFixed(2)} s`);
        await sql`update datasets set status = 'Cancelled', completed = ${new Date().toISOString()} where status = 'Queued'`.execute(db.store.db);

        const b = performance.now();
        await sql
          .raw(
            `insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, read_id, trigger, sync_order, settings, attempts)
               select md5('bare-${round}-' || i)::uuid::text, ${comp('i')}, ${conn('i')}, 'invoices', 'Queued', 0, '${new Date().toISOString()}', 'bare', 'schedule', 6, '{}', 0
               from generate_series(${companies - duePairs + 1}, ${companies}) s(i)`,
          )
          .execute(db.store.db);
        bare.push(performance.now() - b);
        await sql`delete from datasets where read_id = 'bare'`.execute(db.store.db);
      }
      rows.push({
        metric: `queue ${duePairs.toLocaleString('en')} due pulls (median of ${rounds})`,
        value: percentile(times, 50) / 1000,
        unit: 's',
        baseline: { label: `one bare INSERT of ${duePairs.toLocaleString('en')} queued datasets`, value: percentile(bare, 50) / 1000 },
      });
    } finally {
      await db.drop();
    }
    return rows;
  },
};
