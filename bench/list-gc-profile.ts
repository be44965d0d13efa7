/**
 * Issue 17, list p99: a profile of RecordsRepository.list's first page (100 invoices, documents as text, as the endpoint
 * reads them) on a kept database of bench query (seeded by it), one request at a time, per filter of the query bench:
 * wall time per sample, the samples a garbage collection of this process ran during (perf_hooks: kind 1 = scavenge,
 * 4 = mark-compact, with its duration), this process's CPU per sample and per thread (/proc/self/task/<tid>/schedstat:
 * the main thread against V8's helper threads, which run the parallel scavenge), and what one list allocates in the
 * young generation (new_space used before and after, for samples no collection interrupted). The five slowest samples
 * are listed with their collections and CPU.
 *
 *   PROF_URL=postgres://…/q_million [PROF_N=200] [PROF_FILTERS=0,1,4] [PROF_RENDER=1] [PROF_DB=<another db.ts>] \
 *     node [--trace-gc-nvp] --import tsx bench/list-gc-profile.ts
 *
 * PROF_FILTERS: indexes into bench query's typicalQueries; PROF_RENDER=1 also renders each row as the endpoint does
 * (recordJson); PROF_DB: the store module to open the database with (e.g. a checkout of a base commit's
 * src/store/db.ts, for an A/B of the driver path in alternating runs). PROF_URL may also be a SQLite file.
 */
import os from 'node:os';
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { sql } from 'kysely';
import { recordEntity } from '../src/api/query-entities.js';
import { compileListQuery } from '../src/query/index.js';
import { RecordsRepository, recordJson } from '../src/store/records.repository.js';
const { openStore } = (await import(process.env.PROF_DB ?? '../src/store/db.js')) as typeof import('../src/store/db.js');
import { percentile } from './support/harness.js';
import { typicalQueries } from './query.js';

const gcs: { start: number; end: number; kind: number; dur: number }[] = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration, dur: e.duration, kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0 });
}).observe({ entryTypes: ['gc'] });

import { readdirSync, readFileSync } from 'node:fs';
/** Per-thread CPU (ns, /proc schedstat) by thread name. */
function threads(): Map<string, number> {
  const m = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() + (tid === String(process.pid) ? '(main)' : '');
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      m.set(name, (m.get(name) ?? 0) + ns);
    } catch {}
  }
  return m;
}
const diff = (a: Map<string, number>, b: Map<string, number>) => [...b].map(([k, v]) => [k, (v - (a.get(k) ?? 0)) / 1e6] as const).filter(([, v]) => v > 0.5);
const newUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

const url = process.env.PROF_URL ?? 'postgres://syncline@127.0.0.1:46663/q_million';
const dialect = url.startsWith('postgres') ? 'postgres' : 'sqlite';
const store = dialect === 'postgres' ? openStore({ databaseUrl: url, poolSize: 10 }) : openStore({ sqliteFile: url });
const db = store.db;
const N = Number(process.env.PROF_N ?? 200);
const render = process.env.PROF_RENDER === '1';
const conn = await db.selectFrom('companies as co').innerJoin('connections as c', 'c.company_id', 'co.id').select(['c.id as connectionId']).where('co.name', 'like', 'Million Invoices Ltd%').executeTakeFirstOrThrow();
const queries = typicalQueries(1_000_000);
const pick = process.env.PROF_FILTERS ? process.env.PROF_FILTERS.split(',').map(Number) : queries.map((_, i) => i);
console.log(`node ${process.version} ${process.execArgv.join(' ')} load ${os.loadavg()[0]!.toFixed(1)}`);
for (const i of pick) {
  const c = queries[i]!;
  const repo = new RecordsRepository(db, dialect);
  const compiled = () => compileListQuery(recordEntity('invoices'), { query: c.query }, dialect);
  const run = async () => {
    const p = await repo.list(conn.connectionId, 'invoices', { page: 1, pageSize: 100 }, compiled(), 'text');
    if (render) {
      let n = 0;
      for (const r of p.rows) n += recordJson(r, { withModifiedDate: true }).length;
      return n;
    }
    return p.rows.length;
  };
  for (let w = 0; w < 5; w++) await run();
  const wall: number[] = [];
  const cpu: number[] = [];
  const alloc: number[] = [];
  const spans: [number, number][] = [];
  const th: (readonly (readonly [string, number])[])[] = [];
  for (let k = 0; k < N; k++) {
    const th0 = threads();
    const u0 = process.cpuUsage();
    const a0 = newUsed();
    const t = performance.now();
    await run();
    const e = performance.now();
    const a1 = newUsed();
    const u = process.cpuUsage(u0);
    wall.push(e - t);
    cpu.push((u.user + u.system) / 1000);
    if (a1 >= a0) alloc.push(a1 - a0);
    spans.push([t, e]);
    th.push(diff(th0, threads()));
  }
  await new Promise((r) => setTimeout(r, 100));
  const hits = spans.map(([t, e]) => gcs.filter((g) => g.start < e && g.end > t));
  const clean = wall.filter((_, k) => hits[k]!.length === 0);
  const gcDur = hits.flat().map((g) => g.dur);
  const slow = wall.map((w, k) => ({ w, k })).sort((a, b) => b.w - a.w).slice(0, 5);
  console.log(
    `${c.label}: wall p50 ${percentile(wall, 50).toFixed(2)} p90 ${percentile(wall, 90).toFixed(2)} p99 ${percentile(wall, 99).toFixed(2)} max ${Math.max(...wall).toFixed(2)}; ` +
      `no-GC p99 ${percentile(clean, 99).toFixed(2)}; GC-hit ${wall.length - clean.length}/${wall.length} (gc pause p50 ${percentile(gcDur, 50).toFixed(2)} max ${Math.max(0, ...gcDur).toFixed(2)} ms); ` +
      `cpu p50 ${percentile(cpu, 50).toFixed(2)} p99 ${percentile(cpu, 99).toFixed(2)}; alloc/request p50 ${(percentile(alloc, 50) / 1024).toFixed(0)} KiB (load ${os.loadavg()[0]!.toFixed(1)})`,
  );
  console.log(`  slowest: ${slow.map((s) => `${s.w.toFixed(1)}ms[gc ${hits[s.k]!.map((g) => `${g.kind}:${g.dur.toFixed(1)}`).join('+') || '-'}; cpu ${cpu[s.k]!.toFixed(1)}; ${th[s.k]!.map(([n, v]) => `${n}=${v.toFixed(1)}`).join(' ')}]`).join(' ')}`);
}
const one = [] as number[];
for (let k = 0; k < N; k++) {
  const t = performance.now();
  await sql`select 1`.execute(db);
  one.push(performance.now() - t);
}
console.log(`select 1: p50 ${percentile(one, 50).toFixed(2)} p99 ${percentile(one, 99).toFixed(2)}`);
console.log(`heap: ${JSON.stringify(v8.getHeapSpaceStatistics().filter((s) => ['new_space', 'old_space'].includes(s.space_name)).map((s) => [s.space_name, (s.space_size / 1048576).toFixed(1)]))}`);
await store.close();
