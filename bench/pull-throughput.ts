import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { SourceRecord } from '../src/connectors/connector.js';
import type { Dialect } from '../src/store/db.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { benchDatabase } from './support/databases.js';
import type { Benchmark, BenchContext, BenchRow } from './support/harness.js';
import { linkSandbox, queueTypes, startWorker, waitTerminal, type Linked } from './support/sandbox.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const MB = 1024 * 1024;

interface PullResult {
  recordsPerSecond: number;
  seconds: number;
  peakRss: number;
  idleRss: number;
}

/** Waits for a line of the worker's output. */
async function waitForOutput(out: () => string, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(out())) {
    if (Date.now() > deadline) throw new Error(`worker did not start: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * End to end: a `syncline worker` child process pulls the tenant's invoices from the simulator into the database
 * (fetch pages over HTTP, map, stage, merge in one transaction). Rate = records / (completed − started) of the dataset.
 */
async function pullOnce(ctx: BenchContext, dialect: Dialect, sim: Simulator, n: number): Promise<PullResult & { db: Awaited<ReturnType<typeof benchDatabase>>; link: Linked }> {
  const db = await benchDatabase(ctx, dialect);
  const link = await linkSandbox(db.store, sim.url, { invoices: n, bills: 0, creditNotes: 0 });
  const worker = startWorker(db.location, { SYNCLINE_SANDBOX_URL: sim.url, SYNCLINE_WORKER_CONCURRENCY: '1', LOG_LEVEL: 'info' });
  try {
    await waitForOutput(worker.output, /syncline worker started/);
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = worker.memory()?.rss ?? NaN;
    const read = await queueTypes(db.store, link, ['invoices']);
    const id = read.created[0]!.id;
    const [row] = await waitTerminal(db.store, [id], 30 * 60_000);
    const peakRss = worker.memory()?.peak ?? NaN;
    if (row!.status !== 'Complete' || row!.records_added !== n) throw new Error(`pull ended ${row!.status} with ${row!.records_added} records: ${row!.error_message ?? ''}\n${worker.output()}`);
    const seconds = (Date.parse(row!.completed) - Date.parse(row!.started)) / 1000;
    return { recordsPerSecond: n / seconds, seconds, peakRss, idleRss, db, link };
  } finally {
    await worker.stop();
  }
}

/**
 * Baseline: the same mapped documents — read back, 1,000 at a time, from the records the pull just stored — upserted
 * into a bare `(id primary key, data)` table with the same driver: better-sqlite3, one prepared statement in one
 * transaction per 1,000; pg, one multi-row INSERT … ON CONFLICT per 1,000. Only the upserts are timed.
 */
async function bareUpsert(dialect: Dialect, location: string, connectionId: string): Promise<number> {
  let timed = 0;
  let count = 0;
  if (dialect === 'sqlite') {
    const sqlite = new BetterSqlite3(location);
    try {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.exec('create table bare_records (id text primary key, data text not null)');
      const read = sqlite.prepare("select record_id, data from records where connection_id = ? and data_type = 'invoices' and record_id > ? order by record_id limit 1000");
      const stmt = sqlite.prepare('insert into bare_records (id, data) values (?, ?) on conflict (id) do update set data = excluded.data');
      const tx = sqlite.transaction((page: SourceRecord[]) => {
        for (const r of page) stmt.run(r.id, JSON.stringify(r.data));
      });
      for (let after = ''; ; ) {
        const rows = read.all(connectionId, after) as { record_id: string; data: string }[];
        if (rows.length === 0) break;
        const page: SourceRecord[] = rows.map((r) => ({ id: r.record_id, data: JSON.parse(r.data), sourceModifiedDate: null, deleted: false }));
        const t = performance.now();
        tx(page);
        timed += performance.now() - t;
        count += page.length;
        after = rows.at(-1)!.record_id;
      }
    } finally {
      sqlite.close();
    }
  } else {
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    try {
      await client.query('create table bare_records (id text primary key, data jsonb not null)');
      for (let after = ''; ; ) {
        const { rows } = await client.query<{ record_id: string; data: Record<string, unknown> }>(
          "select record_id, data from records where connection_id = $1 and data_type = 'invoices' and record_id > $2 order by record_id limit 1000",
          [connectionId, after],
        );
        if (rows.length === 0) break;
        const t = performance.now();
        const values: string[] = [];
        const params: string[] = [];
        for (const r of rows) {
          params.push(r.record_id, JSON.stringify(r.data));
          values.push(`($${params.length - 1}, $${params.length}::jsonb)`);
        }
        await client.query(`insert into bare_records (id, data) values ${values.join(', ')} on conflict (id) do update set data = excluded.data`, params);
        timed += performance.now() - t;
        count += rows.length;
        after = rows.at(-1)!.record_id;
      }
    } finally {
      await client.end();
    }
  }
  return count / (timed / 1000);
}

export const pullThroughput: Benchmark = {
  name: 'pull-throughput',
  description: 'end-to-end invoice pulls from the Sandbox platform by a `syncline worker` process (records/s, worker peak RSS) vs a bare bulk upsert of the same mapped documents with the same driver',
  async run(ctx) {
    const sizes = ctx.size === 'smoke' ? [2_000] : [10_000, 100_000, 1_000_000];
    // No platform rate limit here: this measures Syncline, not the politeness rules (see the politeness benchmark).
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 1_000_000, concurrent: 10 } });
    const rows: BenchRow[] = [];
    try {
      for (const dialect of ['sqlite', 'postgres'] as const) {
        for (const n of sizes) {
          ctx.log(`${dialect}: pulling ${n.toLocaleString('en')} invoices`);
          const r = await pullOnce(ctx, dialect, sim, n);
          try {
            ctx.log(`${dialect}: ${r.recordsPerSecond.toFixed(0)} records/s in ${r.seconds.toFixed(1)} s, peak RSS ${(r.peakRss / MB).toFixed(0)} MiB; bare upsert of the same documents`);
            const bare = await bareUpsert(dialect, r.db.location, r.link.connectionId);
            const label = `${DB_NAME[dialect]}, ${n.toLocaleString('en')} invoices`;
            rows.push({
              metric: `${label}: pull throughput`,
              value: r.recordsPerSecond,
              unit: 'records/s',
              baseline: { label: 'bare bulk upsert, same driver', value: bare },
              note: `${r.seconds.toFixed(1)} s`,
            });
            rows.push({ metric: `${label}: worker peak RSS`, value: r.peakRss / MB, unit: 'MiB', baseline: { label: 'the same worker idle before the pull', value: r.idleRss / MB } });
          } finally {
            await r.db.drop();
          }
        }
      }
    } finally {
      await sim.close();
    }
    return rows;
  },
};
