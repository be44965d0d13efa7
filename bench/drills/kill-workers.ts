/**
 * Drill: `kill -9` of worker processes at random points across many pulls.
 *
 * Real `syncline worker` processes (short leases) pull invoices from the Sandbox platform into one PostgreSQL
 * database while the drill SIGKILLs one of them every few hundred milliseconds — mid-fetch, and on purpose sometimes
 * while it merges — and starts a replacement. Then: every dataset must end terminal, the store must equal the
 * platform's truth for every pull that completed, and a pull that did not complete must have left nothing behind
 * (its staging rows included). A pull that ran out of attempts (3 by default: killed too often) is queued once more,
 * as a client would, and must then complete.
 */
import { sql } from 'kysely';
import { migrateToLatest, openStore } from '../../src/store/db.js';
import { startSimulator } from '../../src/sim/server.js';
import { linkSandbox, queueTypes, startWorker, waitTerminal, type Linked, type WorkerProcess } from '../support/sandbox.js';
import { compareWithTruth } from './truth.js';

export interface KillDrillOptions {
  databaseUrl: string;
  pulls: number;
  invoicesPerTenant: number;
  workers: number;
  concurrency: number;
  kills: number;
  leaseSeconds: number;
  timeoutMs: number;
  /** Run dist/src/cli/main.js (built and current: ensureBuilt) instead of the sources through tsx. */
  compiledWorkers?: boolean;
  log?: (m: string) => void;
}

export interface KillDrillResult {
  pulls: number;
  kills: number;
  killsWhileMerging: number;
  /** Terminal statuses after the chaos, before any retry. */
  statuses: Record<string, number>;
  requeuedByClient: number;
  /** Problems found; empty when the drill passed. */
  problems: string[];
  seconds: number;
}

const rand = (a: number, b: number) => a + Math.random() * (b - a);

async function waitStarted(w: WorkerProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!/syncline worker started/.test(w.output())) {
    if (w.child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start: ${w.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function killWorkersDrill(o: KillDrillOptions): Promise<KillDrillResult> {
  const log = o.log ?? (() => {});
  const started = Date.now();
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 1_000_000, concurrent: 10 } });
  const store = openStore({ databaseUrl: o.databaseUrl, poolSize: 4 });
  const workers: WorkerProcess[] = [];
  const env = { SYNCLINE_SANDBOX_URL: sim.url, SYNCLINE_WORKER_CONCURRENCY: String(o.concurrency), SYNCLINE_LEASE_SECONDS: String(o.leaseSeconds), LOG_LEVEL: 'info' };
  const spawnWorker = async () => {
    const w = startWorker(o.databaseUrl, env, { compiled: o.compiledWorkers ?? false });
    workers.push(w);
    await waitStarted(w);
    return w;
  };
  const problems: string[] = [];
  try {
    await migrateToLatest(store);
    const links: Linked[] = [];
    for (let i = 0; i < o.pulls; i++) links.push(await linkSandbox(store, sim.url, { invoices: o.invoicesPerTenant, bills: 0, creditNotes: 0 }, { name: `Drill ${i}` }));
    // Started together: each start is mostly a Node process loading its modules, and nothing is queued yet.
    await Promise.all(Array.from({ length: o.workers }, () => spawnWorker()));
    const ids: string[] = [];
    for (const l of links) ids.push((await queueTypes(store, l, ['invoices'])).created[0]!.id);
    log(`${o.pulls} pulls queued, ${o.workers} workers`);

    let kills = 0;
    let killsWhileMerging = 0;
    const deadline = Date.now() + o.timeoutMs;
    while (kills < o.kills && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, rand(200, 900)));
      const held = await store.db.selectFrom('datasets').select(['lease_owner', 'status', 'attempts']).where('id', 'in', ids).where('lease_owner', 'is not', null).execute();
      if (held.length === 0) {
        const open = await store.db.selectFrom('datasets').select('id').where('id', 'in', ids).where('status', 'in', ['Queued', 'Fetching', 'Processing']).execute();
        if (open.length === 0) break; // everything ended before the kills ran out
        continue;
      }
      // A victim whose every held pull has attempts to spare (the third attempt of a pull is never killed here).
      const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      const holding = (w: WorkerProcess) => held.filter((h) => h.lease_owner!.includes(`:${w.child.pid}:`));
      const candidates = alive.filter((w) => holding(w).length > 0 && holding(w).every((h) => h.attempts <= 2));
      if (candidates.length === 0) continue;
      const merging = candidates.filter((w) => holding(w).some((h) => h.status === 'Processing'));
      const victim = merging.length && Math.random() < 0.7 ? merging[Math.floor(Math.random() * merging.length)]! : candidates[Math.floor(Math.random() * candidates.length)]!;
      const whileMerging = holding(victim).some((h) => h.status === 'Processing');
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills++;
      if (whileMerging) killsWhileMerging++;
      log(`kill -9 #${kills} of worker ${victim.child.pid} holding ${holding(victim).map((h) => `${h.status}/${h.attempts}`).join(', ')}`);
      // A replacement, joining when it has started; the others carry on meanwhile.
      workers.push(startWorker(o.databaseUrl, env, { compiled: o.compiledWorkers ?? false }));
    }

    const rows = await waitTerminal(store, ids, o.timeoutMs);
    const statuses: Record<string, number> = {};
    for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    log(`after the chaos: ${JSON.stringify(statuses)}`);

    // Nothing left half-done: no staging rows of any ended pull.
    const staged = await sql<{ n: number }>`select count(*) as n from record_staging where dataset_id in (${sql.join(ids)})`.execute(store.db);
    if (Number(staged.rows[0]!.n) > 0) problems.push(`${staged.rows[0]!.n} staging rows left by ended pulls`);

    let requeuedByClient = 0;
    for (const [i, l] of links.entries()) {
      const r = rows.find((x) => x.connection_id === l.connectionId)!;
      if (r.status !== 'Complete') {
        // All or nothing: a pull that never completed wrote nothing.
        const n = await store.db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', l.connectionId).executeTakeFirstOrThrow();
        if (Number(n.n) > 0) problems.push(`pull ${i} ended ${r.status} but ${n.n} records are stored`);
        if (r.status !== 'InternalError') problems.push(`pull ${i} ended ${r.status}: ${r.error_message}`);
        const again = (await queueTypes(store, l, ['invoices'])).created[0]!.id;
        const [done] = await waitTerminal(store, [again], o.timeoutMs);
        requeuedByClient++;
        if (done!.status !== 'Complete') problems.push(`pull ${i} queued again ended ${done!.status}: ${done!.error_message}`);
      }
      problems.push(...(await compareWithTruth(sim.url, store, l, 'invoices')).map((p) => `pull ${i}: ${p}`));
    }
    return { pulls: o.pulls, kills, killsWhileMerging, statuses, requeuedByClient, problems, seconds: (Date.now() - started) / 1000 };
  } finally {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await store.close();
    await sim.close();
  }
}
