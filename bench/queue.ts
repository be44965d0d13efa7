import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { runMigrations } from 'graphile-worker';
import { sql } from 'kysely';
import { benchDatabase, type BenchDb } from './support/databases.js';
import type { Benchmark, BenchContext, BenchRow } from './support/harness.js';
import { ROOT, SECRET_KEY } from './support/sandbox.js';
import { MS_PER_TICK, procStatFields, processCpuMs } from './support/proc.js';

interface Proc {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Statements a stopped process reported sending (bench/support/statement-count.ts), 0 when it printed none. */
const statementsOf = (p: Proc) => Number(/^statements (\d+)$/m.exec(p.output())?.[1] ?? 0);
/** CPU ms a stopped process used from "ready" to its exit (start-up excluded). */
const cpuOf = (p: Proc) => Number(/^cpu (\d+)$/m.exec(p.output())?.[1] ?? 0) - Number(/^cpu0 (\d+)$/m.exec(p.output())?.[1] ?? 0);

/**
 * CPU ms used so far by the whole PostgreSQL server `url` points at (postmaster, its live processes, and what its
 * exited children used), from /proc — undefined when the server is not a local process we can read. On a machine
 * shared with other work, CPU per item is the load-independent figure: rates follow whatever CPU share we get.
 */
export async function serverCpuMs(url: string): Promise<number | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const pid = (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const postmaster = Number(procStatFields(pid)[1]);
    if (!readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes('postgres')) return undefined;
    const pm = procStatFields(postmaster);
    let ms = (Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14])) * MS_PER_TICK; // utime stime cutime cstime
    for (const child of readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      try {
        ms += processCpuMs(Number(child));
      } catch {
        // exited meanwhile: counted in the postmaster's cutime once reaped
      }
    }
    return ms;
  } catch {
    return undefined;
  } finally {
    await c.end();
  }
}

export async function spawnReady(script: string, env: Record<string, string>): Promise<Proc> {
  // BENCH_CPU_PROF_DIR: write a V8 CPU profile of each child (the profiling behind docs/benchmarks.md).
  const prof = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + 60_000;
  while (!/^ready$/m.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${script} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `n` companies, each with one linked (no-op) connection. */
export async function seedConnections(db: BenchDb, n: number): Promise<void> {
  const now = new Date().toISOString();
  await sql
    .raw(
      `insert into companies (id, name, description, tags, created_at)
         select 'c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'Queue ' || i, null, '{}', '${now}' from generate_series(1, ${n}) s(i);
       insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync, linked_at)
         select 'd0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'mqjo', 'Linked', null, null, null, '${now}', '${now}', null, '${now}'
         from generate_series(1, ${n}) s(i);`,
    )
    .execute(db.store.db);
}

/**
 * One queued dataset per connection, each its own read (as `POST …/data/queue/invoices` makes them), inserted in one
 * statement, then NOTIFY, as a commit of queueRead does.
 */
export async function queueBatch(db: BenchDb, n: number): Promise<void> {
  const now = new Date().toISOString();
  const tag = randomBytes(4).toString('hex');
  const setting = JSON.stringify({ dataType: 'invoices', fetchOnFirstLink: true, syncSchedule: 168, syncOrder: 6, isLocked: false });
  await sql
    .raw(
      `insert into dataset_reads (read_id, company_id, connection_id, trigger, initial, first_link, pending, created_at, completed_at)
         select 'r${tag}-' || i, 'c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'd0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'refresh', 0, 0, 1, '${now}', null
         from generate_series(1, ${n}) s(i);
       insert into datasets (id, company_id, connection_id, data_type, status, progress, requested, read_id, trigger, sync_order, settings, attempts)
         select md5('${tag}' || i)::uuid::text, 'c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'd0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'),
                'invoices', 'Queued', 0, '${now}', 'r${tag}-' || i, 'refresh', 6, '${setting}', 0
         from generate_series(1, ${n}) s(i);
       select pg_notify('syncline_datasets', '');`,
    )
    .execute(db.store.db);
}

interface Result {
  rate: number;
  perItem: number;
  /** CPU ms per item: the worker processes' (from ready to exit) and the PostgreSQL server's (while the items ran). */
  cpu: { workers: number; server: number | undefined };
}

function cpuPerItem(workers: Proc[], server0: number | undefined, server1: number | undefined, n: number): Result['cpu'] {
  return {
    workers: workers.reduce((a, w) => a + cpuOf(w), 0) / n,
    server: server0 !== undefined && server1 !== undefined ? (server1 - server0) / n : undefined,
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Datasets/s, and statements per dataset sent by the worker processes from their start to their stop. */
export async function syncline(ctx: BenchContext, db: BenchDb, processes: number, n: number): Promise<Result> {
  const workers: Proc[] = [];
  try {
    for (let i = 0; i < processes; i++) {
      workers.push(await spawnReady('bench/support/noop-worker.ts', { DATABASE_URL: db.location, SYNCLINE_SECRET_KEY: SECRET_KEY, LOG_LEVEL: 'warn', SYNCLINE_WORKER_CONCURRENCY: '4' }));
    }
    await new Promise((r) => setTimeout(r, 500)); // LISTEN connected everywhere
    const server0 = await serverCpuMs(db.location);
    const t0 = performance.now();
    await queueBatch(db, n);
    await until(async () => {
      const r = await sql<{ n: number }>`select count(*) as n from datasets where status in ('Queued', 'Fetching', 'Processing')`.execute(db.store.db);
      return Number(r.rows[0]!.n) === 0;
    }, 10 * 60_000);
    const seconds = (performance.now() - t0) / 1000;
    const server1 = await serverCpuMs(db.location);
    const done = await sql<{ n: number }>`select count(*) as n from datasets where status = 'Complete'`.execute(db.store.db);
    for (const w of workers) await w.stop();
    const perItem = workers.reduce((a, w) => a + statementsOf(w), 0) / n;
    const cpu = cpuPerItem(workers, server0, server1, n);
    ctx.log(
      `queue: syncline ${processes} process(es): ${(n / seconds).toFixed(0)} datasets/s (${done.rows[0]!.n} complete in all), ${perItem.toFixed(2)} statements per dataset, ` +
        `CPU per dataset ${cpu.workers.toFixed(3)} ms workers + ${cpu.server?.toFixed(3) ?? '?'} ms PostgreSQL`,
    );
    return { rate: n / seconds, perItem, cpu };
  } finally {
    for (const w of workers) await w.stop();
  }
}

/**
 * graphile-worker jobs/s and statements per job. `task`: `noop` does nothing; `write` inserts one row and one outbox row
 * in one transaction of its own (the writes a Syncline dataset's completion makes).
 */
async function graphile(ctx: BenchContext, url: string, processes: number, n: number, task: 'noop' | 'write'): Promise<Result> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const workers: Proc[] = [];
  try {
    for (let i = 0; i < processes; i++) workers.push(await spawnReady('bench/support/graphile-worker-process.ts', { DATABASE_URL: url, CONCURRENCY: '4' }));
    await new Promise((r) => setTimeout(r, 500));
    const server0 = await serverCpuMs(url);
    const t0 = performance.now();
    await client.query(
      `select count(*) from graphile_worker.add_jobs(array(select ($2::text, json_build_object('n', i), null, null, null, null, null, null)::graphile_worker.job_spec from generate_series(1, $1) s(i)))`,
      [n, task],
    );
    await until(async () => Number((await client.query('select count(*) as n from graphile_worker._private_jobs')).rows[0].n) === 0, 10 * 60_000);
    const seconds = (performance.now() - t0) / 1000;
    const server1 = await serverCpuMs(url);
    for (const w of workers) await w.stop();
    const perItem = workers.reduce((a, w) => a + statementsOf(w), 0) / n;
    const cpu = cpuPerItem(workers, server0, server1, n);
    ctx.log(
      `queue: graphile-worker ${task} ${processes} process(es): ${(n / seconds).toFixed(0)} jobs/s, ${perItem.toFixed(2)} statements per job, ` +
        `CPU per job ${cpu.workers.toFixed(3)} ms workers + ${cpu.server?.toFixed(3) ?? '?'} ms PostgreSQL`,
    );
    return { rate: n / seconds, perItem, cpu };
  } finally {
    for (const w of workers) await w.stop();
    await client.end();
  }
}

export const queue: Benchmark = {
  name: 'queue',
  description:
    'datasets claimed and completed per second by 1, 2 and 4 worker processes (4 pulls each, no-op connector) on PostgreSQL, next to graphile-worker 0.16 (concurrency 4 per process) on the same server running no-op jobs and jobs that write one row and one outbox row in their transaction; statements per dataset / per job counted at the driver',
  async run(ctx) {
    const n = ctx.size === 'smoke' ? 200 : Number(process.env.BENCH_QUEUE_N ?? 10_000);
    const counts = (process.env.BENCH_QUEUE_PROCESSES ?? '1,2,4').split(',').map(Number);
    const db = await benchDatabase(ctx, 'postgres');
    const gw = await benchDatabase(ctx, 'postgres');
    const rows: BenchRow[] = [];
    try {
      await seedConnections(db, n);
      await runMigrations({ connectionString: gw.location });
      await sql`create table bench_rows (id bigserial primary key, n int not null, at timestamptz not null);
                create table bench_outbox (id bigserial primary key, row_id bigint not null references bench_rows(id), event text not null)`.execute(gw.store.db);
      for (const processes of counts) {
        const ours = await syncline(ctx, db, processes, n);
        const noop = await graphile(ctx, gw.location, processes, n, 'noop');
        const write = await graphile(ctx, gw.location, processes, n, 'write');
        const label = `${processes} worker process${processes > 1 ? 'es' : ''}`;
        rows.push({
          metric: `${label}: datasets claimed and completed`,
          value: ours.rate,
          unit: '/s',
          baseline: { label: 'graphile-worker jobs writing one row + one outbox row in their transaction', value: write.rate },
          note: `${n.toLocaleString('en')} each`,
        });
        rows.push({ metric: `${label}: datasets claimed and completed`, value: ours.rate, unit: '/s', baseline: { label: 'graphile-worker no-op jobs', value: noop.rate } });
        if (ours.cpu.server !== undefined && noop.cpu.server !== undefined && write.cpu.server !== undefined) {
          const total = (r: Result) => r.cpu.workers + r.cpu.server!;
          const cpuNote = (r: Result) => `${r.cpu.workers.toFixed(2)} workers + ${r.cpu.server!.toFixed(2)} PostgreSQL`;
          rows.push({
            metric: `${label}: CPU per no-op dataset, worker processes + PostgreSQL server (${cpuNote(ours)}; graphile-worker write ${cpuNote(write)}, no-op ${cpuNote(noop)})`,
            value: total(ours),
            unit: 'ms',
            baseline: { label: 'graphile-worker job writing one row + one outbox row', value: total(write) },
          });
          rows.push({ metric: `${label}: CPU per no-op dataset, worker processes + PostgreSQL server`, value: total(ours), unit: 'ms', baseline: { label: 'graphile-worker no-op job', value: total(noop) } });
        }
        rows.push({
          metric: `${label}: statements per no-op dataset (claim to Complete; every statement the workers sent, idle polls included)`,
          value: ours.perItem,
          unit: 'statements',
          baseline: { label: 'graphile-worker statements per no-op job', value: noop.perItem },
        });
      }
    } finally {
      await db.drop();
      await gw.drop().catch(() => {});
    }
    return rows;
  },
};
