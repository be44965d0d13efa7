/**
 * Benchmarks and drills against the Sandbox platform: link connections the way the link flow does (the connector's
 * authorize() creates the tenant and grants tokens), and run the real `syncline worker` as child processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SandboxConnector } from '../../src/connectors/xero/index.js';
import { newId } from '../../src/lib/ids.js';
import { SecretBox } from '../../src/lib/secrets.js';
import { defaultSetting } from '../../src/domain/sync-settings.js';
import type { DataType } from '../../src/domain/data-types.js';
import type { Store } from '../../src/store/db.js';
import { queueRead, type ReadResult } from '../../src/store/enqueue.js';
import type { ConnectionRow } from '../../src/store/connections.repository.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SECRET_KEY = 'bench-secret-key-0123456789abcdef';
export const secretBox = new SecretBox(SECRET_KEY);

export interface Linked {
  companyId: string;
  connectionId: string;
  tenantId: string;
}

/**
 * A company with a Linked Sandbox connection whose tenant has `size` (invoices, or a TenantSize object): the tenant
 * is created by the connector's authorize(), seeded by the connection id (or `opts.seed`), as linking through the API does.
 */
export async function linkSandbox(store: Store, simUrl: string, size: number | Record<string, number>, opts: { name?: string; expireAccessToken?: boolean; seed?: string } = {}): Promise<Linked> {
  const now = new Date().toISOString();
  const companyId = newId();
  const connectionId = newId();
  const connector = new SandboxConnector({ baseUrl: simUrl, tenantSize: size });
  // `seed`: the tenant of that seed (created by the first link, shared by later ones: several connections to one tenant).
  const { credentials, connectionInfo } = await connector.authorize({ connectionId: opts.seed ?? connectionId, companyName: opts.name ?? `Bench ${connectionId.slice(0, 8)}`, signal: AbortSignal.timeout(60_000) });
  if (opts.expireAccessToken) credentials.accessTokenExpiresAt = new Date(Date.now() - 1000).toISOString();
  await store.db.insertInto('companies').values({ id: companyId, name: opts.name ?? 'Bench', description: null, tags: '{}', created_at: now }).execute();
  await store.db
    .insertInto('connections')
    .values({
      id: connectionId,
      company_id: companyId,
      integration_key: 'mqjo',
      status: 'Linked',
      credentials: secretBox.sealJson(credentials),
      connection_info: JSON.stringify(connectionInfo),
      errors: null,
      created_at: now,
      updated_at: now,
      last_sync: null,
      linked_at: now,
    })
    .execute();
  return { companyId, connectionId, tenantId: connectionInfo.tenantId! };
}

/** Queues one read of the given types on a linked connection (as POST …/data/queue/{type} would). */
export async function queueTypes(store: Store, link: Linked, types: DataType[]): Promise<ReadResult> {
  const connection = (await store.db.selectFrom('connections').selectAll().where('id', '=', link.connectionId).executeTakeFirstOrThrow()) as ConnectionRow;
  return queueRead(store.db, store.dialect, {
    companyId: link.companyId,
    connection,
    settings: types.map((t) => defaultSetting(t)),
    trigger: 'refresh',
    now: new Date().toISOString(),
    supports: () => true,
    integrationEnabled: true,
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  /** stdout + stderr so far (JSON log lines). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident set size now and at its peak (VmRSS, VmHWM), bytes; undefined once the process is gone. */
  memory(): { rss: number; peak: number } | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Builds dist/ when it is missing or older than its sources (scripts/ensure-build.mjs, as `npm start` does). */
export function ensureBuilt(): void {
  const built = spawnSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (built.status !== 0) throw new Error('scripts/ensure-build.mjs failed');
}

export interface WorkerOptions {
  /**
   * Run the compiled worker (`node dist/src/cli/main.js worker`, as `npm start` and an installed `syncline` run it)
   * instead of src/cli/main.ts through tsx, whose loader alone adds ~60–80 MiB of RSS. Call ensureBuilt() first.
   */
  compiled?: boolean;
}

/**
 * The real `syncline worker` (src/cli/main.ts through tsx, or dist/ when `compiled`) on the given database: SQLite
 * when `database` is a file path (its directory becomes the data dir, so the file must be named syncline.db), else a
 * postgres:// URL.
 */
export function startWorker(database: string, env: Record<string, string> = {}, opts: WorkerOptions = {}): WorkerProcess {
  const db: Record<string, string> = database.startsWith('postgres') ? { DATABASE_URL: database } : { SYNCLINE_DATA_DIR: path.dirname(database) };
  // BENCH_CPU_PROF_DIR: write a V8 CPU profile of the worker (the profiling behind docs/benchmarks.md).
  const prof = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  // BENCH_MEM_SAMPLE_DIR: sample the worker's memory (heap, external, native) and write its peaks there at exit.
  const memDir = process.env.BENCH_MEM_SAMPLE_DIR;
  const mem = memDir ? ['--import', pathToFileURL(path.join(ROOT, 'bench/support/mem-sampler.mjs')).href] : [];
  const memEnv: Record<string, string> = memDir ? { BENCH_MEM_SAMPLE_FILE: path.join(memDir, `worker-${Date.now()}-${process.pid}.json`) } : {};
  // BENCH_WORKER_NODE_ARGS: extra node / V8 flags for the worker (GC experiments, e.g. --max-semi-space-size=4).
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry = opts.compiled ? [path.join(ROOT, 'dist/src/cli/main.js')] : ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];
  const child = spawn(process.execPath, [...prof, ...nodeArgs, ...mem, ...entry, 'worker'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', SYNCLINE_SECRET_KEY: SECRET_KEY, ...db, ...memEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    exited,
    memory() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
        return { rss: kb('VmRSS'), peak: kb('VmHWM') };
      } catch {
        return undefined;
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * When the worker finished a pull it merged: the `time` of its `dataset complete` log line (debug level: start the
 * worker with LOG_LEVEL=debug), written when the merge transaction's commit call has returned. On SQLite that is later
 * than the moment the pull is seen terminal: the commit is visible first, and then the same call checkpoints the WAL
 * (copies the transaction's pages into the database file, with its fsyncs), during which the worker does nothing else
 * — a cost of the pull, which a pull's time must include. Waits for the line (the worker flushes it right after the
 * commit) and throws if it never comes.
 */
export async function workerDoneAt(worker: WorkerProcess, datasetId: string, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of worker.output().split('\n')) {
      if (!line.includes(datasetId) || !line.includes('"dataset complete"')) continue;
      let t = NaN;
      try {
        t = Date.parse((JSON.parse(line) as { time: string }).time);
      } catch {
        // the line's end has not arrived yet
      }
      if (Number.isFinite(t)) return t;
    }
    if (Date.now() > deadline) throw new Error(`the worker never logged the end of pull ${datasetId} (is it started with LOG_LEVEL=debug?)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls until every dataset of the ids is terminal; returns their rows. */
export async function waitTerminal(store: Store, ids: string[], timeoutMs: number, onPoll?: () => void): Promise<Record<string, any>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await store.db.selectFrom('datasets').selectAll().where('id', 'in', ids).execute();
    if (rows.length === ids.length && rows.every((r) => !['Queued', 'Fetching', 'Mapping', 'Processing'].includes(r.status))) return rows;
    if (Date.now() > deadline) throw new Error(`datasets not terminal after ${timeoutMs} ms: ${rows.map((r) => r.status).join(', ')}`);
    onPoll?.();
    await new Promise((r) => setTimeout(r, 100));
  }
}
