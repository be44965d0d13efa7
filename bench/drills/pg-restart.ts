/**
 * Drill: PostgreSQL restarted (crash-stopped, `pg_ctl stop -m immediate`) while `syncline worker` processes are in
 * the middle of pulls. The pulls must recover on their own: every dataset ends Complete, the store equals the
 * platform's truth, and no staging rows are left behind.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { migrateToLatest, openStore } from '../../src/store/db.js';
import { startSimulator } from '../../src/sim/server.js';
import type { TempPostgres } from '../../test/support/postgres.js';
import { linkSandbox, queueTypes, startWorker, waitTerminal, type Linked, type WorkerProcess } from '../support/sandbox.js';
import { compareWithTruth } from './truth.js';

export interface PgRestartOptions {
  /** A PostgreSQL server this drill may restart (not one shared with anything else). */
  server: TempPostgres;
  pulls: number;
  invoicesPerTenant: number;
  workers: number;
  leaseSeconds: number;
  /** How long the server stays down. */
  downMs: number;
  timeoutMs: number;
  /** Run dist/src/cli/main.js (built and current: ensureBuilt) instead of the sources through tsx. */
  compiledWorkers?: boolean;
  log?: (m: string) => void;
}

export interface PgRestartResult {
  statuses: Record<string, number>;
  /** Staged records (in flight) when the server went down. */
  stagedAtRestart: number;
  /** Seconds from the restart until every pull had ended. */
  recoverySeconds: number;
  problems: string[];
}

export async function pgRestartDrill(o: PgRestartOptions): Promise<PgRestartResult> {
  const log = o.log ?? (() => {});
  const name = `drill_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: o.server.url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(o.server.url);
  u.pathname = `/${name}`;
  const url = u.toString();
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 1_000_000, concurrent: 10 } });
  const store = openStore({ databaseUrl: url, poolSize: 4 });
  const workers: WorkerProcess[] = [];
  const problems: string[] = [];
  try {
    await migrateToLatest(store);
    const links: Linked[] = [];
    for (let i = 0; i < o.pulls; i++) links.push(await linkSandbox(store, sim.url, { invoices: o.invoicesPerTenant, bills: 0, creditNotes: 0 }, { name: `Restart ${i}` }));
    // Started together: each start is mostly a Node process loading its modules, and nothing is queued yet.
    for (let i = 0; i < o.workers; i++) workers.push(startWorker(url, { SYNCLINE_SANDBOX_URL: sim.url, SYNCLINE_WORKER_CONCURRENCY: '2', SYNCLINE_LEASE_SECONDS: String(o.leaseSeconds), LOG_LEVEL: 'info' }, { compiled: o.compiledWorkers ?? false }));
    await Promise.all(
      workers.map(async (w) => {
        const deadline = Date.now() + 60_000;
        while (!/syncline worker started/.test(w.output())) {
          if (w.child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start: ${w.output()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    const ids: string[] = [];
    for (const l of links) ids.push((await queueTypes(store, l, ['invoices'])).created[0]!.id);

    // Mid-pull: pages are being staged.
    let staged = 0;
    const deadline = Date.now() + o.timeoutMs;
    while (staged === 0) {
      if (Date.now() > deadline) throw new Error('no pull started');
      staged = Number((await sql<{ n: number }>`select count(*) as n from record_staging`.execute(store.db)).rows[0]!.n);
      if (staged === 0) await new Promise((r) => setTimeout(r, 20));
    }
    log(`${staged} records staged: PostgreSQL goes down (immediate) for ${o.downMs} ms`);
    const restartedAt = Date.now();
    await o.server.restart({ mode: 'immediate', downMs: o.downMs });
    log('PostgreSQL is back');

    let rows: Record<string, any>[] = [];
    for (;;) {
      try {
        rows = await waitTerminal(store, ids, o.timeoutMs);
        break;
      } catch (err) {
        // The drill's own pool may hand out a connection that died with the server once.
        if (!/terminat|ECONNRESET|connection/i.test((err as Error).message) || Date.now() > deadline) {
          for (const w of workers) log(`worker ${w.child.pid} output:\n${w.output().split('\n').slice(-60).join('\n')}`);
          throw err;
        }
      }
    }
    const recoverySeconds = (Date.now() - restartedAt) / 1000;
    const statuses: Record<string, number> = {};
    for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    log(`all ended ${recoverySeconds.toFixed(1)} s after the restart: ${JSON.stringify(statuses)}`);
    for (const r of rows) if (r.status !== 'Complete') problems.push(`dataset ${r.id} ended ${r.status}: ${r.error_message}`);
    const left = Number((await sql<{ n: number }>`select count(*) as n from record_staging`.execute(store.db)).rows[0]!.n);
    if (left > 0) problems.push(`${left} staging rows left behind`);
    for (const [i, l] of links.entries()) problems.push(...(await compareWithTruth(sim.url, store, l, 'invoices')).map((p) => `pull ${i}: ${p}`));
    return { statuses, stagedAtRestart: staged, recoverySeconds, problems };
  } finally {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await store.close();
    await sim.close();
  }
}
