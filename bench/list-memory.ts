/**
 * Issue 12 item 9: memory of concurrent large list reads. Fifty concurrent `GET …/data/invoices?pageSize=5000` took the
 * server from 252 MB to 670 MB RSS before list responses were streamed within a per-process record budget
 * (src/api/list-stream.ts). Here a real `syncline serve` process (SQLite) serves a company of 50,000 invoices; its RSS
 * is sampled from /proc/<pid>/status (VmRSS) every 50 ms at idle and while 50 concurrent reads (real sockets, fetch,
 * bodies read fully) run. Baseline, same run, on a fresh server of its own: the same 50 reads one at a time. The budget is not
 * configurable, so an unbounded run is not part of this benchmark.
 */
import { readFileSync } from 'node:fs';
import type { Benchmark, BenchContext, BenchRow } from './support/harness.js';
import { AUTH, serve } from './api.js';
import { sharedInvoiceStore, type InvoiceStore } from './support/seed.js';

const MB = 2 ** 20;

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples the process's RSS every `ms` until stopped; returns the peak seen. */
function sampler(pid: number, ms = 50): { stop(): number } {
  let peak = rssBytes(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), ms);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

/** Idle RSS: the median of 10 samples 50 ms apart. */
async function idleRss(pid: number): Promise<number> {
  const s: number[] = [];
  for (let i = 0; i < 10; i++) {
    s.push(rssBytes(pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  return s.sort((a, b) => a - b)[5]!;
}

async function readOne(url: string, pageSize: number): Promise<number> {
  const r = await fetch(url, { headers: AUTH });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${text.slice(0, 200)}`);
  const n = (JSON.parse(text) as { results: unknown[] }).results.length;
  if (n !== pageSize) throw new Error(`${url}: ${n} results, expected ${pageSize}`);
  return text.length;
}

/** One phase on a fresh server process: warm-up, idle RSS, then the reads (`parallel` at a time) with RSS sampled. */
async function phase(ctx: BenchContext, s: InvoiceStore, pageSize: number, reads: number, parallel: boolean) {
  const server = await serve(s.db.location, 'sqlite');
  const pages = Math.ceil(s.n / pageSize);
  const url = (i: number) => `${server.url}/companies/${s.companyId}/data/invoices?page=${(i % pages) + 1}&pageSize=${pageSize}`;
  try {
    // Warm-up: one read of every page (JIT, SQLite page cache), so the measured reads do not pay for first use.
    for (let i = 0; i < pages; i++) await readOne(url(i), pageSize);
    const idle = await idleRss(server.pid);
    const sm = sampler(server.pid);
    const started = Date.now();
    let bytes = 0;
    if (parallel) bytes = (await Promise.all(Array.from({ length: reads }, (_, i) => readOne(url(i), pageSize)))).reduce((a, b) => a + b, 0);
    else for (let i = 0; i < reads; i++) bytes += await readOne(url(i), pageSize);
    const secs = (Date.now() - started) / 1000;
    const peak = sm.stop();
    ctx.log(`list-memory: ${parallel ? 'concurrent' : 'one at a time'}: idle ${(idle / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, ${secs.toFixed(1)} s, ${(bytes / MB).toFixed(0)} MB of bodies`);
    return { idle, peak, secs, perResponse: bytes / reads };
  } finally {
    await server.stop();
  }
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 5_000 : 50_000;
  const pageSize = ctx.size === 'smoke' ? 500 : 5_000;
  const reads = ctx.size === 'smoke' ? 10 : 50;
  const s = await sharedInvoiceStore(ctx, 'sqlite', n);
  // Each phase on its own fresh server: a heap grown by one phase would hide the other's growth.
  const seq = await phase(ctx, s, pageSize, reads, false);
  const conc = await phase(ctx, s, pageSize, reads, true);
  const label = `${reads} × pageSize=${pageSize} of ${n.toLocaleString('en')} invoices`;
  return [
    { metric: 'server RSS at idle (after warm-up)', value: conc.idle / MB, unit: 'MB', baseline: { label: 'baseline server', value: seq.idle / MB } },
    { metric: `peak server RSS, ${label}, concurrent`, value: conc.peak / MB, unit: 'MB', baseline: { label: 'same reads one at a time', value: seq.peak / MB } },
    { metric: `RSS increase over idle, ${label}, concurrent`, value: (conc.peak - conc.idle) / MB, unit: 'MB', baseline: { label: 'same reads one at a time', value: (seq.peak - seq.idle) / MB } },
    { metric: `wall time, ${label}, concurrent`, value: conc.secs, unit: 's', baseline: { label: 'one at a time', value: seq.secs }, note: `${(conc.perResponse / MB).toFixed(1)} MB per response` },
  ];
}

export const listMemory: Benchmark = {
  name: 'list-memory',
  description:
    'server RSS (VmRSS, sampled every 50 ms) while 50 concurrent GET …/data/invoices?pageSize=5000 run against `syncline serve` (SQLite, 50,000 invoices), vs the same reads one at a time',
  run,
};
