/**
 * Record history (issue 16, goal 5 "pull ingest with history on vs off"), end to end: real pulls of invoices by a
 * compiled `syncline worker` process from a `syncline sim` process (the Sandbox platform over HTTP: fetch pages, map,
 * hash, stage, merge in one transaction), for a company with history on and one that opted out (sync settings
 * `keepHistory: false`, i.e. history_optouts), on one database.
 *
 * Each round links both companies to ONE new Sandbox tenant (same seed: the same invoices), then for each case pulls
 * both, in alternating order from round to round:
 * - initial load: the first pull of the tenant's `n` invoices (a full listing);
 * - 10 % changed: the simulator edits every tenth invoice (admin bulk edit: new reference, new UpdatedDateUTC), then
 *   each company pulls as the engine does after a first pull — incrementally, If-Modified-Since its previous pull, so
 *   it fetches the changed invoices (plus the overlap the connector re-reads), not all `n`;
 * - every record changed: the simulator edits all `n`, then each company pulls them all (incrementally).
 * After every pull the dataset must say exactly what was done (n added, n/10 updated, n updated; nothing else), the
 * history-on company's record_changes must hold exactly those changes for that pull, and the opted-out company's none,
 * or the benchmark stops: a figure cannot silently measure another workload. A pull's time runs from the worker's
 * claim (the dataset's `started`) until the worker is done with it (its commit call returned: workerDoneAt), which on
 * SQLite includes the WAL checkpoint that follows the commit; until 2026-12-07 22:40 UTC it ended when the dataset was
 * seen terminal, which left that checkpoint out (0.9–1.1 s of an every-record pull with history off, 1.7–1.9 s on).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Dialect, Store } from '../src/store/db.js';
import { HistoryRepository } from '../src/store/history.repository.js';
import { benchDatabase } from './support/databases.js';
import type { BenchContext, BenchRow } from './support/harness.js';
import { ensureBuilt, linkSandbox, queueTypes, ROOT, startWorker, workerDoneAt, type Linked, type WorkerProcess } from './support/sandbox.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

export interface SimProcess {
  url: string;
  admin(method: string, p: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** `syncline sim` (compiled, as `npm run syncline -- sim` runs it) on a free port; no per-minute limit to speak of. */
export async function startSimProcess(): Promise<SimProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), 'sim', '--port', '0', '--rate-per-minute', '1000000', '--concurrent', '10'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!(url = /listening on (http:\/\/\S+)/.exec(out)?.[1])) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`syncline sim did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = url;
  return {
    url: base,
    async admin(method, p, body) {
      const res = await fetch(`${base}/admin${p}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`simulator admin ${method} ${p}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits for a line of the worker's output. */
async function waitForOutput(out: () => string, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(out())) {
    if (Date.now() > deadline) throw new Error(`worker did not start: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Case = 'initial' | 'tenth' | 'every';
const CASES: Case[] = ['initial', 'tenth', 'every'];

const TERMINAL_POLL_MS = 20;

/**
 * One pull of invoices by the worker; checks it did exactly `expect` and returns its time: from the worker's claim
 * (the dataset's `started`) until the worker is done with it (the later of: this process sees it terminal, polled
 * every 20 ms; the worker logs its end, workerDoneAt), and of it the merge (from the dataset's `completed`, which is
 * the instant the merge transaction began — the records' modifiedDate and the changes' commit time share it — to that
 * end). `completed − started` alone would leave the merge out.
 */
async function pull(store: Store, worker: WorkerProcess, link: Linked, historyOn: boolean, expect: { added: number; updated: number }): Promise<{ ms: number; mergeMs: number; calls: number; full: boolean }> {
  const read = await queueTypes(store, link, ['invoices']);
  const id = read.created[0]!.id;
  const deadline = Date.now() + 30 * 60_000;
  let seenAt: number;
  for (;;) {
    const s = await store.db.selectFrom('datasets').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    seenAt = Date.now();
    if (!['Queued', 'Fetching', 'Mapping', 'Processing'].includes(s.status)) break;
    if (seenAt > deadline) throw new Error(`pull ${id} not terminal after 30 minutes: ${s.status}`);
    await new Promise((r) => setTimeout(r, TERMINAL_POLL_MS));
  }
  seenAt = Math.max(seenAt, await workerDoneAt(worker, id));
  const r = await store.db.selectFrom('datasets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const counts = { added: r.records_added, updated: r.records_updated, deleted: r.records_deleted };
  if (r.status !== 'Complete' || counts.added !== expect.added || counts.updated !== expect.updated || counts.deleted !== 0) {
    throw new Error(`pull ${id} ended ${r.status} with ${JSON.stringify(counts)}, expected ${JSON.stringify({ ...expect, deleted: 0 })}: ${r.error_message ?? ''}\n${worker.output().slice(-4000)}`);
  }
  // History recorded exactly this pull's changes (on), or nothing at all (off).
  const kinds = await store.db
    .selectFrom('record_changes')
    .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
    .where(historyOn ? 'dataset_id' : 'connection_id', '=', historyOn ? id : link.connectionId)
    .groupBy('kind')
    .execute();
  const recorded = Object.fromEntries(kinds.map((k) => [k.kind, Number(k.n)]));
  const wanted = historyOn ? Object.fromEntries(Object.entries(expect).filter(([, v]) => v > 0)) : {};
  if (JSON.stringify(recorded) !== JSON.stringify(wanted)) throw new Error(`pull ${id} (history ${historyOn ? 'on' : 'off'}) recorded ${JSON.stringify(recorded)} in record_changes, expected ${JSON.stringify(wanted)}`);
  return { ms: seenAt - Date.parse(r.started!), mergeMs: seenAt - Date.parse(r.completed!), calls: r.source_calls ?? NaN, full: r.full_listing === 1 };
}

export async function historyPull(ctx: BenchContext, dialects: Dialect[]): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 200 : Number(process.env.BENCH_HISTORY_PULL ?? 50_000);
  const rounds = Math.max(2, Number(process.env.BENCH_HISTORY_ROUNDS ?? 2));
  const tenth = Math.ceil(n / 10);
  const expected: Record<Case, { added: number; updated: number }> = { initial: { added: n, updated: 0 }, tenth: { added: 0, updated: tenth }, every: { added: 0, updated: n } };
  // dist/ current first (built only when older than its sources): the measured worker and simulator are this code, compiled.
  ensureBuilt();
  const sim = await startSimProcess();
  const rows: BenchRow[] = [];
  try {
    for (const dialect of dialects) {
      const db = await benchDatabase(ctx, dialect);
      const worker = startWorker(db.location, { SYNCLINE_SANDBOX_URL: sim.url, SYNCLINE_WORKER_CONCURRENCY: '1', LOG_LEVEL: 'debug' }, { compiled: true });
      const times: Record<Case, { on: number[]; off: number[] }> = { initial: { on: [], off: [] }, tenth: { on: [], off: [] }, every: { on: [], off: [] } };
      const merges: Record<Case, { on: number[]; off: number[] }> = { initial: { on: [], off: [] }, tenth: { on: [], off: [] }, every: { on: [], off: [] } };
      try {
        await waitForOutput(worker.output, /syncline worker started/);
        // Warm-up (not measured): the worker's first pull compiles its hot paths, which would otherwise land on
        // round 0's first company (history on) alone.
        const warm = await linkSandbox(db.store, sim.url, { invoices: Math.min(n, 2_000), bills: 0, creditNotes: 0 }, { name: 'Warm-up' });
        await sim.admin('PUT', `/tenants/${warm.tenantId}/rate-limit`, { perDay: null });
        await pull(db.store, worker, warm, true, { added: Math.min(n, 2_000), updated: 0 });
        await sim.admin('DELETE', `/tenants/${warm.tenantId}`);
        for (let r = 0; r < rounds; r++) {
          // One tenant for both companies: the same invoices, the same edits.
          const seed = `history-pull-${dialect}-${r}-${Date.now()}`;
          const size = { invoices: n, bills: 0, creditNotes: 0 };
          const on = await linkSandbox(db.store, sim.url, size, { name: `History on ${r}`, seed });
          const off = await linkSandbox(db.store, sim.url, size, { name: `History off ${r}`, seed });
          if (on.tenantId !== off.tenantId) throw new Error('the two companies were linked to different tenants');
          await new HistoryRepository(db.store.db, dialect).setKeepsHistory(off.companyId, false, new Date().toISOString());
          // Xero's 5,000 calls a day per tenant would stop a long run; this measures Syncline, not the platform's limits.
          await sim.admin('PUT', `/tenants/${on.tenantId}/rate-limit`, { perDay: null });
          const order = r % 2 === 0 ? [on, off] : [off, on];
          for (const c of CASES) {
            if (c !== 'initial') {
              const edit = await sim.admin('POST', `/tenants/${on.tenantId}/records/invoices/bulk-edit`, {
                every: c === 'tenth' ? 10 : 1,
                patch: { reference: `History bench round ${r}: ${c === 'tenth' ? '10 %' : 'every invoice'}` },
              });
              if (edit.edited !== expected[c].updated) throw new Error(`the simulator edited ${edit.edited} invoices, not ${expected[c].updated}`);
            }
            for (const link of order) {
              const historyOn = link === on;
              const p = await pull(db.store, worker, link, historyOn, expected[c]);
              times[c][historyOn ? 'on' : 'off'].push(p.ms);
              merges[c][historyOn ? 'on' : 'off'].push(p.mergeMs);
              ctx.log(`${dialect} round ${r}: ${c} pull, history ${historyOn ? 'on' : 'off'}: ${p.ms} ms, of it the merge ${p.mergeMs} ms (${p.calls} platform calls, ${p.full ? 'full listing' : 'incremental'})`);
            }
          }
          await sim.admin('DELETE', `/tenants/${on.tenantId}`);
        }
      } finally {
        await worker.stop();
        await db.drop();
      }
      const total = (a: number[]) => a.reduce((s, x) => s + x, 0);
      /** off / on of each round, and their median. */
      const roundRatios = (on: number[], off: number[]) => {
        const r = on.map((v, i) => off[i]! / v);
        const sorted = [...r].sort((a, b) => a - b);
        const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
        return `${r.map((x) => x.toFixed(3)).join(', ')} (median ${median.toFixed(3)})`;
      };
      const label: Record<Case, string> = {
        initial: `initial load of ${n.toLocaleString('en')} invoices`,
        tenth: `update pull, ${tenth.toLocaleString('en')} of ${n.toLocaleString('en')} invoices changed at the source (10 %; incremental: fetches the changed ones)`,
        every: `update pull, every one of ${n.toLocaleString('en')} invoices changed at the source`,
      };
      for (const c of CASES) {
        const count = c === 'initial' ? n : expected[c].updated;
        const { on, off } = times[c];
        const m = merges[c];
        ctx.log(`${dialect}: ${c} rounds (ms, on / off): ${on.map((v, i) => `${v} / ${off[i]}`).join(', then ')}; of them the merge ${m.on.map((v, i) => `${v} / ${m.off[i]}`).join(', then ')}`);
        rows.push({
          metric: `${DB_NAME[dialect]}: end-to-end pull (syncline worker ← syncline sim over HTTP), ${label[c]}, history on`,
          // Records the pull stored a change for, per second of its rounds' total; ratio = total off / total on.
          value: (count * on.length) / (total(on) / 1000),
          unit: 'records/s',
          baseline: { label: 'end-to-end pull, history off', value: (count * off.length) / (total(off) / 1000) },
          // Per-round ratios too: each round pulls on and off back to back, so a slow spell of the machine (the same
          // statement has been seen taking 1.7× as long for minutes at a time) moves a round's pair together and the
          // median of the rounds' ratios less than the ratio of the totals.
          note: `${rounds} rounds: ${(total(on) / 1000).toFixed(1)} s on, ${(total(off) / 1000).toFixed(1)} s off; of it the merge ${(total(m.on) / 1000).toFixed(1)} s on, ${(total(m.off) / 1000).toFixed(1)} s off; per-round ratios ${roundRatios(on, off)}`,
        });
      }
    }
  } finally {
    await sim.stop();
  }
  return rows;
}
