/**
 * Issue 17, list p99 on PostgreSQL: the invoice list endpoint of two builds of the server side by side, on one kept
 * database of a million invoices (bench query's BENCH_QUERY_PG_URL / BENCH_QUERY_SQLITE_FILE, seeded by a run of bench
 * query), in alternating rounds so both see the same machine load.
 *
 *   BENCH_AB_BASE=/path/to/a/checkout/of/the/base/commit  BENCH_AB_DB=postgres://…/q_million  \
 *     node --import tsx bench/list-endpoint-ab.ts [rounds=3] [requests=200]
 *
 * Each build runs `src/cli/main.ts serve --no-worker` of its own tree (a checkout needs package.json, tsconfig.json, src/
 * and a node_modules link) with `--trace-gc`, so each server's young-generation collections during the measured
 * requests are counted and timed from its own trace. Requests are sent one at a time over one keep-alive connection and
 * timed until the whole body has arrived; every response is checked to be byte-for-byte the other build's.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/postgres.js';
import { AUTH } from './api.js';
import { percentile } from './support/harness.js';
import { ROOT, SECRET_KEY } from './support/sandbox.js';
import { typicalQueries } from './query.js';
import { openStore } from '../src/store/db.js';

const base = process.env.BENCH_AB_BASE;
const location = process.env.BENCH_AB_DB;
if (!base || !location) throw new Error('set BENCH_AB_BASE (a checkout of the base commit) and BENCH_AB_DB (the kept database)');
const rounds = Number(process.argv[2] ?? 3);
const requests = Number(process.argv[3] ?? 200);
const dialect = location.startsWith('postgres') ? 'postgres' : 'sqlite';
const API_KEY = 'BenchApiKey0123456789abcdefghijklmnopqrs';

interface Server {
  label: string;
  url: string;
  pid: number;
  /** Scavenge pauses (ms) the server's --trace-gc printed since the last call. */
  takeScavenges(): number[];
  stop(): Promise<void>;
}

async function start(label: string, root: string): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const db: Record<string, string> = dialect === 'postgres' ? { DATABASE_URL: location! } : { SYNCLINE_DATA_DIR: path.dirname(location!) };
  const c = spawn(process.execPath, ['--trace-gc', '--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'serve', '--no-worker'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...db, PORT: String(port), LOG_LEVEL: 'warn', SYNCLINE_API_KEY: API_KEY, SYNCLINE_SECRET_KEY: SECRET_KEY, SYNCLINE_SANDBOX_URL: 'http://127.0.0.1:9' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  let scavenges: number[] = [];
  let out = '';
  c.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) {
      // [pid:0x…]  1234 ms: Scavenge 30.1 (45.2) -> 15.0 (46.2) MB, 2.31 / 0.00 ms  (average mu = …) allocation failure;
      const m = /: Scavenge[^,]*, ([\d.]+) \/ [\d.]+ ms/.exec(l);
      if (m) scavenges.push(Number(m[1]));
      else if (out.length < 20_000) out += `${l}\n`;
    }
  });
  c.stderr!.on('data', (d) => (out.length < 20_000 ? (out += d) : undefined));
  const exited = new Promise<void>((r) => c.on('exit', () => r()));
  const deadline = Date.now() + 120_000;
  while (!(await fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false))) {
    if (c.exitCode !== null || Date.now() > deadline) throw new Error(`${label} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    label,
    url,
    pid: c.pid!,
    takeScavenges: () => {
      const s = scavenges;
      scavenges = [];
      return s;
    },
    stop: async () => {
      if (c.exitCode === null) c.kill('SIGTERM');
      await exited;
    },
  };
}

const store = dialect === 'postgres' ? openStore({ databaseUrl: location, poolSize: 1 }) : openStore({ sqliteFile: location });
const { companyId } = await store.db.selectFrom('companies').select('id as companyId').where('name', 'like', 'Million Invoices Ltd%').executeTakeFirstOrThrow();
await store.close();
const servers = [await start('base', base), await start('this', ROOT)];
const queries = typicalQueries(1_000_000);
const times = new Map<string, number[]>();
const gcs = new Map<string, number[]>();
const loads: number[] = [];
const bodies = new Map<string, string>();
try {
  for (let round = 0; round < rounds; round++) {
    // Alternate which build goes first in a round.
    const order = round % 2 ? [...servers].reverse() : servers;
    for (const q of queries) {
      for (const s of order) {
        const url = `${s.url}/companies/${companyId}/data/invoices?page=1&pageSize=100${q.query ? `&query=${encodeURIComponent(q.query)}` : ''}`;
        const get = async () => {
          const r = await fetch(url, { headers: AUTH });
          const body = await r.text();
          if (r.status !== 200) throw new Error(`${s.label} ${q.label}: ${r.status} ${body.slice(0, 200)}`);
          return body;
        };
        const first = await get();
        const other = bodies.get(q.label);
        if (other === undefined) bodies.set(q.label, first);
        else if (other !== first) throw new Error(`${q.label}: the two builds answered differently`);
        s.takeScavenges();
        const key = `${s.label}\u0000${q.label}`;
        const t = times.get(key) ?? [];
        for (let i = 0; i < requests; i++) {
          const t0 = performance.now();
          await get();
          t.push(performance.now() - t0);
        }
        times.set(key, t);
        // Trace lines arrive over a pipe: give them a moment.
        await new Promise((r) => setTimeout(r, 200));
        gcs.set(key, [...(gcs.get(key) ?? []), ...s.takeScavenges()]);
        loads.push(os.loadavg()[0]!);
      }
    }
    process.stderr.write(`round ${round + 1} of ${rounds} done (load ${os.loadavg()[0]!.toFixed(1)})\n`);
  }
} finally {
  for (const s of servers) await s.stop();
}
console.log(`| filter (${dialect}, ${rounds} rounds × ${requests} requests per build, load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}) | base p50 / p99 | this p50 / p99 | p99 this/base | base scavenges (count, median / max ms) | this scavenges |`);
console.log('|---|---|---|---|---|---|');
for (const q of queries) {
  const b = times.get(`base\u0000${q.label}`)!;
  const t = times.get(`this\u0000${q.label}`)!;
  const g = (k: string) => {
    const v = gcs.get(`${k}\u0000${q.label}`) ?? [];
    return `${v.length}, ${v.length ? percentile(v, 50).toFixed(1) : '–'} / ${v.length ? Math.max(...v).toFixed(1) : '–'}`;
  };
  const f = (v: number[]) => `${percentile(v, 50).toFixed(2)} / ${percentile(v, 99).toFixed(2)} ms`;
  console.log(`| ${q.label} | ${f(b)} | ${f(t)} | ${(percentile(t, 99) / percentile(b, 99)).toFixed(2)}× | ${g('base')} | ${g('this')} |`);
}
