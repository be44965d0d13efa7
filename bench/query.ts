/**
 * Issue 17 (reads): list latency over 1,000,000 invoices of one company, as the list endpoint's store work runs it
 * (RecordsRepository.list: totalResults and the page of 100, documents as JSON text), for every filter a client
 * typically sends, and page 5,000 of the million. Baselines, same run, same database and indexes:
 * - lists: the page and a COUNT(*) of the filter's rows per request, run together — how every list was answered
 *   before counts were kept by the merge (record_counts) and filtered counts were reused per generation;
 * - page 5,000: the same page read with LIMIT/OFFSET over the documents (how deep pages were read before).
 * "warm" is a repeated request (the same repository: filtered counts and page boundaries it has seen are reused while
 * no merge changed the records); "cold" is each request on a fresh repository, as the first request after a restart
 * sees it. Deep pages in id order (no filter, the deleted flag) are found through the record buckets the merge keeps
 * (record-buckets.ts), warm or cold. A trivial statement's round trip is measured as the floor at the current load. Each row's note has the 1-minute load average when it was measured (the machine is shared).
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { sql } from 'kysely';
import { recordEntity } from '../src/api/query-entities.js';
import { compileListQuery } from '../src/query/index.js';
import { RecordsRepository } from '../src/store/records.repository.js';
import { migrateToLatest, openStore, type Dialect } from '../src/store/db.js';
import { AUTH, serve } from './api.js';
import type { Stage } from './support/same-size.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';
import { customerId, insertCompany, insertCompleteDataset, invoiceId, modifiedAt, seedInvoices, settle, sharedInvoiceStore, type InvoiceStore } from './support/seed.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/** What a client typically asks of an invoice list; ids picked from the seeded data. */
export function typicalQueries(n: number): { label: string; query: string | undefined }[] {
  const from = modifiedAt(Math.floor(n * 0.9), n);
  const to = new Date(from.getTime() + 7 * 86_400_000);
  return [
    { label: 'no filter (first page)', query: undefined },
    { label: 'metadata.isDeleted!=true', query: 'metadata.isDeleted!=true' },
    { label: 'metadata.isDeleted=true', query: 'metadata.isDeleted=true' },
    { label: 'modifiedDate one-week range', query: `modifiedDate>=${from.toISOString()}&&modifiedDate<${to.toISOString()}` },
    { label: 'status=Submitted', query: 'status=Submitted' },
    { label: 'customerRef.id=…', query: `customerRef.id=${customerId(42)}` },
    { label: 'id=…', query: `id=${invoiceId(Math.floor(n / 3))}` },
  ];
}

const load = () => `load ${os.loadavg()[0]!.toFixed(1)}`;

/**
 * Garbage collections of this process (perf_hooks 'gc' entries), to tell which samples a collection paused: a sample's
 * time includes any collection that ran during it, as a server's would.
 */
const gcs: { start: number; end: number; kind: number }[] = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: ((e as { detail?: { kind?: number } }).detail)?.kind ?? 0 });
  if (gcs.length > 10_000) gcs.splice(0, 5_000);
}).observe({ entryTypes: ['gc'] });

interface Samples extends Array<number> {
  /** Samples during which a garbage collection ran, and how many of them were major (mark-compact) ones. */
  gcHit: number;
  gcMajor: number;
  /** The p99 of the samples no collection ran during. */
  p99NoGc: number;
  /** This process's CPU time (user + system) during each sample: on SQLite, the work itself; the rest is waiting. */
  cpu: number[];
}

async function samples(n: number, f: () => Promise<unknown>): Promise<Samples> {
  await f(); // warm the database cache and the plan
  const out = [] as unknown as Samples;
  const spans: [number, number][] = [];
  out.cpu = [];
  for (let i = 0; i < n; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await f();
    const e = performance.now();
    const u = process.cpuUsage(c);
    out.push(e - t);
    out.cpu.push((u.user + u.system) / 1000);
    spans.push([t, e]);
  }
  // Entries are delivered later, from a timer (not after a setImmediate): let the observer catch up first.
  await new Promise((r) => setTimeout(r, 100));
  const hit = spans.map(([t, e]) => gcs.filter((g) => g.start < e && g.end > t));
  out.gcHit = hit.filter((h) => h.length > 0).length;
  out.gcMajor = hit.filter((h) => h.some((g) => g.kind === 2 /* NODE_PERFORMANCE_GC_MAJOR */)).length;
  out.p99NoGc = percentile(out.filter((_, i) => hit[i]!.length === 0), 99);
  return out;
}

const gcNote = (s: Samples) =>
  `${s.length} samples, ${s.gcHit} during a GC (${s.gcMajor} major), p99 of the others ${s.p99NoGc.toFixed(2)} ms; this process's CPU per sample p50 ${percentile(s.cpu, 50).toFixed(2)} p99 ${percentile(s.cpu, 99).toFixed(2)} max ${Math.max(...s.cpu).toFixed(2)} ms`;

/**
 * BENCH_QUERY_SQLITE_FILE / BENCH_QUERY_PG_URL: a database kept between runs (as bench history's). The first run seeds
 * it (~100 s per database for a million invoices); later runs migrate it to the latest schema (timed: the cost of the
 * migrations on a million invoices) and only measure. Either way it is settled (seed.ts settle) before measuring.
 */
async function keptInvoiceStore(ctx: BenchContext, dialect: Dialect, n: number, location: string): Promise<InvoiceStore> {
  const store = dialect === 'sqlite' ? openStore({ sqliteFile: location }) : openStore({ databaseUrl: location, poolSize: 10 });
  const t = performance.now();
  const migrated = await migrateToLatest(store);
  const ran = (migrated.results ?? []).map((r) => r.migrationName);
  ctx.log(`${dialect}: ${ran.length ? `migrations ${ran.join(', ')} applied` : 'schema already latest'} in ${((performance.now() - t) / 1000).toFixed(1)} s (load ${os.loadavg()[0]!.toFixed(1)})`);
  const name = `Million Invoices Ltd (${n})`;
  const found = await store.db.selectFrom('companies as co').innerJoin('connections as c', 'c.company_id', 'co.id').select(['co.id as companyId', 'c.id as connectionId']).where('co.name', '=', name).executeTakeFirst();
  let ids = found;
  if (!ids) {
    const started = Date.now();
    ids = await insertCompany(store, name);
    await seedInvoices(store, ids.connectionId, n, (m) => ctx.log(`${dialect}: ${m}`));
    await insertCompleteDataset(store, ids.companyId, ids.connectionId, 'invoices', n);
    ctx.log(`${dialect}: ${n.toLocaleString('en')} invoices seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } else ctx.log(`${dialect}: reusing the seeded ${location}`);
  const s = performance.now();
  await settle(store);
  ctx.log(`${dialect}: settled (vacuum/analyze, checkpoint) in ${((performance.now() - s) / 1000).toFixed(1)} s`);
  return { db: { store, location, drop: () => store.close() }, dialect, n, ...ids };
}

/** The list as it was answered before issue 17: the page and COUNT(*) over the filter, together. */
function countingList(s: InvoiceStore, query: string | undefined, page: number, pageSize: number) {
  const db = s.db.store.db;
  const list = compileListQuery(recordEntity('invoices'), { query }, s.dialect);
  const data = s.dialect === 'postgres' ? sql<string>`records.data::text`.as('data') : ('data' as const);
  let rows = db.selectFrom('records').select(['record_id', data, 'modified_date', 'source_modified_date', 'is_deleted']).where('connection_id', '=', s.connectionId).where('data_type', '=', 'invoices');
  let count = db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', s.connectionId).where('data_type', '=', 'invoices');
  if (list.where) {
    rows = rows.where(list.where);
    count = count.where(list.where);
  }
  for (const o of list.orderBy) rows = rows.orderBy(o);
  return Promise.all([rows.limit(pageSize).offset((page - 1) * pageSize).execute(), count.executeTakeFirstOrThrow()]);
}

/**
 * The same first pages through the real endpoint, in its own process on the same database: the CLI's start of
 * `syncline serve --no-worker` (bench/support/list-server.ts: runNode's config, heap setting and startServer), with
 * bench-only routes on the same app (bench/support/same-size.ts). Requests one at a time over one keep-alive
 * connection (node:http), each timed until its whole body has arrived. What the list adds to the store's
 * list: authentication, the company, connection and dataset checks, the documents spliced into the envelope and
 * streamed. The server's repository is shared by all requests, so after the first request of a filter they are warm.
 *
 * Baseline, same run, same server process, app, auth and pool, same client: `GET /bench/body/<key>`, which runs
 * `select 1` and answers the bytes that filter's list answered (kept in memory) as one string. Real and baseline
 * requests alternate, so both see the same load. The server's own view of each request (same-size.ts's probe: time
 * from its 'request' event to the last byte handed to the socket, the store calls, CPU, collections) is logged per
 * filter and its p99 reported next to the baseline's.
 * BENCH_QUERY_SERVER_NODE_ARGS: node flags for the server (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
async function measureHttp(ctx: BenchContext, s: InvoiceStore, N: number, expectTotal: (query: string | undefined) => Promise<number>): Promise<BenchRow[]> {
  const name = DB_NAME[s.dialect];
  let location = s.db.location;
  let linkDir: string | undefined;
  if (s.dialect === 'sqlite' && path.basename(location) !== 'syncline.db') {
    // A server finds its SQLite database as <SYNCLINE_DATA_DIR>/syncline.db.
    linkDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-bench-link-'));
    symlinkSync(path.resolve(location), path.join(linkDir, 'syncline.db'));
    location = path.join(linkDir, 'syncline.db');
  }
  const nodeArgs = (process.env.BENCH_QUERY_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const server = await serve(location, s.dialect, { withBenchRoutes: true, nodeArgs });
  const rows: BenchRow[] = [];
  // The client: node:http over one keep-alive connection, each request timed until the last byte of its body has
  // arrived (kept as Buffers, checked after the timing). The bench's `fetch` + `text()` spent 1.6 ms of CPU per 200 KB
  // body here (node:http 0.7 ms) — the client's own work, which both routes paid (issue 17, docs/benchmarks.md).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const getBytes = (url: string) =>
    new Promise<Buffer>((resolve, reject) => {
      http
        .get(url, { agent, headers: AUTH }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            const body = Buffer.concat(parts);
            if (res.statusCode === 200) resolve(body);
            else reject(new Error(`${url}: ${res.statusCode} ${body.toString('utf8', 0, 300)}`));
          });
          res.on('error', reject);
        })
        .on('error', reject);
    });
  const get = async (url: string) => (await getBytes(url)).toString('utf8');
  const takeStages = async () => {
    const r = await fetch(`${server.url}/bench/stages`, { method: 'POST', headers: AUTH });
    if (r.status !== 200) throw new Error(`stages: ${r.status} ${await r.text()}`);
    return (await r.json()) as Stage[];
  };
  try {
    let i = 0;
    for (const c of typicalQueries(s.n)) {
      const url = `${server.url}/companies/${s.companyId}/data/invoices?page=1&pageSize=100${c.query ? `&query=${encodeURIComponent(c.query)}` : ''}`;
      const sameUrl = `${server.url}/bench/body/q${i++}`;
      const firstText = await get(url);
      const first = JSON.parse(firstText) as { totalResults: number; results: unknown[] };
      const total = await expectTotal(c.query);
      if (first.totalResults !== total || first.results.length !== Math.min(100, total)) throw new Error(`${name}: ${c.label}: the endpoint answered ${first.totalResults} (${first.results.length} on the page), the store ${total}`);
      const put = await fetch(sameUrl, { method: 'PUT', headers: { ...AUTH, 'content-type': 'text/plain; charset=utf-8' }, body: firstText });
      if (put.status !== 204) throw new Error(`${sameUrl}: ${put.status} ${await put.text()}`);
      if ((await get(sameUrl)) !== firstText) throw new Error(`${sameUrl} does not answer the list's bytes`);
      await get(url); // warm both, then forget the warm-ups' stages
      await takeStages();
      const t: number[] = [];
      const b: number[] = [];
      const cpuT: number[] = [];
      const cpuB: number[] = [];
      const expected = Buffer.from(firstText, 'utf8');
      const timed = async (u: string, into: number[], cpu: number[]) => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const body = await getBytes(u);
        into.push(performance.now() - t0);
        const d = process.cpuUsage(c0);
        cpu.push((d.user + d.system) / 1000);
        if (!body.equals(expected)) throw new Error(`${u}: the body differs from the first answer`);
      };
      for (let k = 0; k < N; k++) {
        // Alternate which goes first.
        if (k % 2) {
          await timed(sameUrl, b, cpuB);
          await timed(url, t, cpuT);
        } else {
          await timed(url, t, cpuT);
          await timed(sameUrl, b, cpuB);
        }
      }
      const stages = await takeStages();
      const real = stages.filter((x) => x.url.startsWith('/companies/'));
      const same = stages.filter((x) => x.url.startsWith('/bench/body/'));
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      const note = load();
      const pp = (v: number[]) => `p50 ${percentile(v, 50).toFixed(2)} p99 ${percentile(v, 99).toFixed(2)} max ${Math.max(...v).toFixed(2)}`;
      const storeKeys = [...new Set(real.flatMap((x) => Object.keys(x.store)))];
      const storeSum = real.map((x) => Object.values(x.store).reduce((a, v) => a + v, 0));
      ctx.log(
        `${s.dialect}: HTTP ${c.label} (${first.results.length} records, ${Buffer.byteLength(firstText)} bytes; server RSS ${rss.toFixed(0)} MB; ${note})\n` +
          `  client: list ${pp(t)} ms, same bytes ${pp(b)} ms; client CPU per request: list ${pp(cpuT)}, same bytes ${pp(cpuB)} ms\n` +
          `  server, list (${real.length}): request→last byte ${pp(real.map((x) => x.total))}; →headers ${pp(real.map((x) => x.head))}; store calls (sum) ${pp(storeSum)}; ` +
          `${storeKeys.map((k) => `${k} ${pp(real.map((x) => x.store[k] ?? 0))}`).join('; ')}; CPU ${pp(real.map((x) => x.cpu))}; GC ${pp(real.map((x) => x.gcMs))} (${real.filter((x) => x.gcs > 0).length} requests overlapped a GC)\n` +
          `  server, same bytes (${same.length}): request→last byte ${pp(same.map((x) => x.total))}; CPU ${pp(same.map((x) => x.cpu))}; GC ${pp(same.map((x) => x.gcMs))} (${same.filter((x) => x.gcs > 0).length} overlapped a GC)`,
      );
      for (const p of [50, 99]) {
        rows.push({ metric: `${name}: ${c.label} through the endpoint (HTTP, server process) p${p}`, value: percentile(t, p), unit: 'ms', baseline: { label: `the same bytes after auth + select 1, same server and client, p${p}`, value: percentile(b, p) }, note });
      }
      rows.push({
        metric: `${name}: ${c.label} through the endpoint, in the server (request → last byte to the socket) p99`,
        value: percentile(real.map((x) => x.total), 99),
        unit: 'ms',
        baseline: { label: 'the same bytes after auth + select 1, in the server, p99', value: percentile(same.map((x) => x.total), 99) },
        note,
      });
    }
  } finally {
    agent.destroy();
    await server.stop();
    if (linkDir) rmSync(linkDir, { recursive: true, force: true });
  }
  return rows;
}

export async function measureQueries(ctx: BenchContext, dialect: Dialect): Promise<BenchRow[]> {
  const smoke = ctx.size === 'smoke';
  const n = smoke ? 5_000 : 1_000_000;
  // Samples per figure: a p99 of 40 samples is their second-worst, one pause of the machine; 200 make it the third-worst
  // of 200 (BENCH_QUERY_SAMPLES; baselines, which count every match, keep fewer).
  const N = smoke ? 3 : Number(process.env.BENCH_QUERY_SAMPLES ?? 200);
  const NB = smoke ? 3 : 20;
  const keptAt = dialect === 'sqlite' ? process.env.BENCH_QUERY_SQLITE_FILE : process.env.BENCH_QUERY_PG_URL;
  const s = keptAt ? await keptInvoiceStore(ctx, dialect, n, keptAt) : await sharedInvoiceStore(ctx, dialect, n);
  const db = s.db.store.db;
  const list = (repo: RecordsRepository, query: string | undefined, page: number) =>
    repo.list(s.connectionId, 'invoices', { page, pageSize: 100 }, compileListQuery(recordEntity('invoices'), { query }, dialect), 'text');
  const rows: BenchRow[] = [];
  const name = DB_NAME[dialect];

  // BENCH_QUERY_ONLY=http: only the endpoint rows (the store's rows are skipped).
  const storeRows = process.env.BENCH_QUERY_ONLY !== 'http';
  for (const c of storeRows ? typicalQueries(n) : []) {
    const repo = new RecordsRepository(db, dialect);
    const warm = await samples(N, () => list(repo, c.query, 1));
    const cold = await samples(N, () => list(new RecordsRepository(db, dialect), c.query, 1));
    const base = await samples(NB, () => countingList(s, c.query, 1, 100));
    const note = load();
    ctx.log(`${dialect}: ${c.label}: warm p50 ${percentile(warm, 50).toFixed(2)} p99 ${percentile(warm, 99).toFixed(2)} ms (${gcNote(warm)}), cold p50 ${percentile(cold, 50).toFixed(2)} p99 ${percentile(cold, 99).toFixed(2)} ms (${gcNote(cold)}), COUNT(*) p99 ${percentile(base, 99).toFixed(2)} ms (${note})`);
    for (const p of [50, 99]) rows.push({ metric: `${name}: ${c.label} p${p}`, value: percentile(warm, p), unit: 'ms', baseline: { label: `page + COUNT(*) per request, p${p}`, value: percentile(base, p) }, note });
    rows.push({ metric: `${name}: ${c.label} p99, cold (fresh repository per request)`, value: percentile(cold, 99), unit: 'ms', baseline: { label: 'page + COUNT(*) per request, p99', value: percentile(base, 99) }, note });
  }

  // The floor at this load: one trivial statement's round trip on the same pool (what any list costs at least).
  if (storeRows) {
    const floor = await samples(N, () => sql`select 1 as one`.execute(db));
    const note = load();
    ctx.log(`${dialect}: select 1: p50 ${percentile(floor, 50).toFixed(2)} ms, p99 ${percentile(floor, 99).toFixed(2)} ms (${note})`);
    for (const p of [50, 99]) rows.push({ metric: `${name}: one trivial statement (select 1), the round-trip floor, p${p}`, value: percentile(floor, p), unit: 'ms', note });
  }

  // Page 5,000 of pageSize 100 (offset 499,900), no filter and metadata.isDeleted!=true.
  const deep = smoke ? 40 : 5_000;
  for (const query of storeRows ? [undefined, 'metadata.isDeleted!=true'] : []) {
    const label = `page ${deep.toLocaleString('en')} (pageSize 100)${query ? `, ${query}` : ''}`;
    const repo = new RecordsRepository(db, dialect);
    const expected = (await countingList(s, query, deep, 100))[0].map((r) => r.record_id);
    const got = (await list(repo, query, deep)).rows.map((r) => r.record_id);
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${dialect}: ${label}: the keyset page differs from the offset page`);
    const warm = await samples(N, () => list(repo, query, deep));
    const cold = await samples(N, () => list(new RecordsRepository(db, dialect), query, deep));
    const base = await samples(smoke ? 2 : 3, () => countingList(s, query, deep, 100));
    const note = load();
    ctx.log(`${dialect}: ${label}: warm p99 ${percentile(warm, 99).toFixed(2)} ms (${gcNote(warm)}), cold p99 ${percentile(cold, 99).toFixed(2)} ms (${gcNote(cold)}), OFFSET p50 ${percentile(base, 50).toFixed(0)} ms (${note})`);
    rows.push({ metric: `${name}: ${label} p99, warm (same repository)`, value: percentile(warm, 99), unit: 'ms', baseline: { label: 'LIMIT/OFFSET page + COUNT(*), p99', value: percentile(base, 99) }, note });
    rows.push({ metric: `${name}: ${label} p99, cold (fresh repository per request)`, value: percentile(cold, 99), unit: 'ms', baseline: { label: 'LIMIT/OFFSET page + COUNT(*), p99', value: percentile(base, 99) }, note });
  }
  // BENCH_QUERY_HTTP=0 leaves the endpoint figures out.
  if (process.env.BENCH_QUERY_HTTP !== '0') {
    rows.push(...(await measureHttp(ctx, s, N, async (query) => (await list(new RecordsRepository(db, dialect), query, 1)).total)));
  }
  if (keptAt) await s.db.drop(); // closes the kept database, never drops it
  return rows;
}

export const query: Benchmark = {
  name: 'query',
  description:
    'list latency over 1,000,000 invoices of one company (totalResults + page of 100, as the endpoint runs them) for typical filters and for page 5,000, vs counting rows and OFFSET paging per request',
  async run(ctx) {
    const parts = (process.env.BENCH_QUERY_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
    const rows: BenchRow[] = [];
    for (const d of parts) rows.push(...(await measureQueries(ctx, d)));
    return rows;
  },
};
