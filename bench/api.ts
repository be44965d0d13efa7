import { spawn } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../test/support/postgres.js';
import type { Dialect } from '../src/store/db.js';
import type { Benchmark, BenchContext, BenchRow } from './support/harness.js';
import { ROOT, SECRET_KEY } from './support/sandbox.js';
import { customerId, sharedInvoiceStore } from './support/seed.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const API_KEY = 'BenchApiKey0123456789abcdefghijklmnopqrs';
export const AUTH = { authorization: `Basic ${Buffer.from(API_KEY).toString('base64')}` };

export interface Served {
  url: string;
  /** The server process's id (its /proc/<pid>/status gives its RSS). */
  pid: number;
  stop(): Promise<void>;
}

/** Starts a child process and waits until `probe` (given its output) yields the URL it serves. */
async function start(args: string[], env: Record<string, string>, probe: (out: string) => Promise<string | undefined>): Promise<Served> {
  const c = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  c.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => c.on('exit', () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = await probe(out);
    if (url) {
      return {
        url,
        pid: c.pid!,
        async stop() {
          if (c.exitCode === null) c.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (c.exitCode !== null || Date.now() > deadline) throw new Error(`${args.join(' ')} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The real server, `syncline serve --no-worker`, on the seeded database; warnings-only logs, as the baseline's.
 * `withBenchRoutes`: started through bench/support/list-server.ts instead — the same start (runNode's) plus the bench-only
 * routes and stage probe of bench/support/same-size.ts on the same app. `nodeArgs` go to the server's node (e.g.
 * `--cpu-prof`).
 */
export async function serve(location: string, dialect: Dialect, opts: { withBenchRoutes?: boolean; nodeArgs?: string[] } = {}): Promise<Served> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const db: Record<string, string> = dialect === 'postgres' ? { DATABASE_URL: location } : { SYNCLINE_DATA_DIR: path.dirname(location) };
  const entry = opts.withBenchRoutes ? [path.join(ROOT, 'bench/support/list-server.ts')] : [path.join(ROOT, 'src/cli/main.ts'), 'serve', '--no-worker'];
  return start(
    [...(opts.nodeArgs ?? []), ...entry],
    {
      ...db,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SYNCLINE_API_KEY: API_KEY,
      SYNCLINE_SECRET_KEY: SECRET_KEY,
      // A platform URL, so no simulator starts in-process (nothing here calls it).
      SYNCLINE_SANDBOX_URL: 'http://127.0.0.1:9',
    },
    async () => ((await fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false)) ? url : undefined),
  );
}

/** The baseline: a bare Fastify route running `select 1` over the same kind of store, on the same database. */
async function bareFastify(location: string, dialect: Dialect): Promise<Served> {
  const db: Record<string, string> = dialect === 'postgres' ? { DATABASE_URL: location } : { SQLITE_FILE: location };
  return start([path.join(ROOT, 'bench/support/bare-fastify.ts')], db, async (out) => /^url (\S+)$/m.exec(out)?.[1]);
}

/** Measures the baseline route on the seeded database, in its own process, stopped before the server starts. */
async function baseline(location: string, dialect: Dialect, seconds: number) {
  const b = await bareFastify(location, dialect);
  try {
    return await load(`${b.url}/trivial-query`, seconds);
  } finally {
    await b.stop();
  }
}

async function load(url: string, seconds: number, headers: Record<string, string> = {}): Promise<{ rps: number; p50: number; p99: number }> {
  // Warm-up (JIT, caches, pool connections), then the measured run.
  await autocannon({ url, connections: 10, duration: 1, headers });
  const r = await autocannon({ url, connections: 10, duration: seconds, headers });
  if (r.non2xx || r.errors || r.timeouts) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

async function measure(ctx: BenchContext, dialect: Dialect, seconds: number): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 5_000 : 1_000_000;
  const s = await sharedInvoiceStore(ctx, dialect, n);
  ctx.log(`api: ${DB_NAME[dialect]} baseline (bare Fastify, select 1)`);
  const bare = await baseline(s.db.location, dialect, seconds);
  const server = await serve(s.db.location, dialect);
  const rows: BenchRow[] = [];
  try {
    const cases = [
      { label: 'dataStatus', path: `/companies/${s.companyId}/dataStatus` },
      { label: 'company list (page of 100 of 1,001)', path: '/companies?page=1&pageSize=100' },
      {
        label: `invoices with query=customerRef.id=… (of ${n.toLocaleString('en')})`,
        path: `/companies/${s.companyId}/data/invoices?page=1&pageSize=100&query=${encodeURIComponent(`customerRef.id=${customerId(42)}`)}`,
      },
    ];
    for (const c of cases) {
      ctx.log(`api: ${DB_NAME[dialect]} ${c.label}`);
      const r = await load(server.url + c.path, seconds, AUTH);
      const label = `${DB_NAME[dialect]}: ${c.label}`;
      rows.push({ metric: `${label}, requests/s`, value: r.rps, unit: 'req/s', baseline: { label: 'bare Fastify route running select 1 over the same pool', value: bare.rps } });
      rows.push({ metric: `${label}, p50`, value: r.p50, unit: 'ms', baseline: { label: 'bare Fastify select 1', value: bare.p50 } });
      rows.push({ metric: `${label}, p99`, value: r.p99, unit: 'ms', baseline: { label: 'bare Fastify select 1', value: bare.p99 } });
    }
  } finally {
    await server.stop();
  }
  return rows;
}

export const api: Benchmark = {
  name: 'api',
  description: 'HTTP API under load (autocannon, 10 connections, server in its own process): requests/s and latency of dataStatus, a company list and an invoice query over 1,000,000 invoices, vs a bare Fastify route running one trivial query (select 1) over the same kind of pool on the same database',
  async run(ctx) {
    // BENCH_SECONDS: a longer measured run at the smoke size (dataStatus does not depend on the number of invoices).
    const seconds = Number(process.env.BENCH_SECONDS) || (ctx.size === 'smoke' ? 1 : 10);
    const dialects = (process.env.BENCH_DIALECTS?.split(',') ?? ['sqlite', 'postgres']) as Dialect[];
    const rows: BenchRow[] = [];
    for (const d of dialects) rows.push(...(await measure(ctx, d, seconds)));
    return rows;
  },
};
