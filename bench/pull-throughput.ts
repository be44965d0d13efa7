import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { SourceRecord } from '../src/connectors/connector.js';
import type { Dialect } from '../src/store/db.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { benchDatabase } from './support/databases.js';
import type { Benchmark, BenchContext, BenchRow } from './support/harness.js';
import { ensureBuilt, linkSandbox, queueTypes, startWorker, waitTerminal, workerDoneAt, type Linked } from './support/sandbox.js';

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
 * End to end: a compiled `syncline worker` child process (`node dist/src/cli/main.js worker`, as production runs it;
 * until 2026-12-07 the worker ran through tsx, whose loader alone added 55–70 MiB to its RSS) pulls the tenant's
 * invoices from the simulator into the database (fetch pages over HTTP, map, stage, merge in one transaction). Rate =
 * records / (done − started), done being when the worker is done with the pull (the later of: seen terminal, polled
 * every 100 ms; the worker's log of its end, workerDoneAt — on SQLite after the WAL checkpoint that follows the
 * commit). The dataset's `completed` is the merge's clock reading, taken before the merge runs: until 2026-12-07 the
 * rate was records / (completed − started), which left the merge out and read high.
 */
async function pullOnce(ctx: BenchContext, dialect: Dialect, sim: Simulator, n: number): Promise<PullResult & { db: Awaited<ReturnType<typeof benchDatabase>>; link: Linked }> {
  const db = await benchDatabase(ctx, dialect);
  const link = await linkSandbox(db.store, sim.url, { invoices: n, bills: 0, creditNotes: 0 });
  const worker = startWorker(db.location, { SYNCLINE_SANDBOX_URL: sim.url, SYNCLINE_WORKER_CONCURRENCY: '1', LOG_LEVEL: 'debug' }, { compiled: true });
  try {
    await waitForOutput(worker.output, /syncline worker started/);
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = worker.memory()?.rss ?? NaN;
    const read = await queueTypes(db.store, link, ['invoices']);
    const id = read.created[0]!.id;
    const [row] = await waitTerminal(db.store, [id], 30 * 60_000);
    const seenAt = Math.max(Date.now(), await workerDoneAt(worker, id));
    const peakRss = worker.memory()?.peak ?? NaN;
    if (row!.status !== 'Complete' || row!.records_added !== n) throw new Error(`pull ended ${row!.status} with ${row!.records_added} records: ${row!.error_message ?? ''}\n${worker.output()}`);
    const seconds = (seenAt - Date.parse(row!.started)) / 1000;
    return { recordsPerSecond: n / seconds, seconds, peakRss, idleRss, db, link };
  } finally {
    await worker.stop();
  }
}

/**
 * Baselines: the same mapped documents — read back, 1,000 at a time, from the records the pull just stored — upserted
 * with the same driver into
 * - `bare`: a `(id primary key, data)` table with nothing else;
 * - `indexed`: a copy of `records` itself — its columns, primary key, foreign key to `connections` and every
 *   secondary index, created from the catalogue so it follows the migrations — with each row's stored content hash
 *   and dates (a bulk upsert that pays the table's index maintenance, and no hashing, staging or history).
 * better-sqlite3: one prepared statement in one transaction per 1,000; pg: one multi-row INSERT … ON CONFLICT per
 * 1,000. Only the upserts are timed.
 */
async function bulkUpsert(dialect: Dialect, location: string, connectionId: string, kind: 'bare' | 'indexed'): Promise<number> {
  let timed = 0;
  let count = 0;
  const table = `${kind}_records`;
  const readSql = (p: (i: number) => string) =>
    `select record_id, data, content_hash, modified_date, source_modified_date from records where connection_id = ${p(1)} and data_type = 'invoices' and record_id > ${p(2)} order by record_id limit 1000`;
  type Row = { record_id: string; data: string | Record<string, unknown>; content_hash: string; modified_date: string; source_modified_date: string | null };
  if (dialect === 'sqlite') {
    const sqlite = new BetterSqlite3(location);
    try {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
      let upsert: string;
      if (kind === 'bare') {
        sqlite.exec(`create table ${table} (id text primary key, data text not null)`);
        upsert = `insert into ${table} (id, data) values (?, ?) on conflict (id) do update set data = excluded.data`;
      } else {
        const objects = sqlite.prepare("select type, sql from sqlite_master where tbl_name = 'records' and sql is not null order by type desc").all() as { type: string; sql: string }[];
        for (const o of objects) sqlite.exec(o.sql.replace(/\b(on\s+|table\s+)"?records"?/i, `$1${table}`).replace(/^(create (?:unique )?index\s+)"?(\w+)"?/i, `$1${kind}_$2`));
        upsert = `insert into ${table} (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted) values (?, 'invoices', ?, ?, ?, ?, ?, 0)
                  on conflict (connection_id, data_type, record_id) do update set data = excluded.data, content_hash = excluded.content_hash,
                    modified_date = excluded.modified_date, source_modified_date = excluded.source_modified_date`;
      }
      const read = sqlite.prepare(readSql(() => '?'));
      const stmt = sqlite.prepare(upsert);
      const tx = sqlite.transaction((page: (Row & { doc: SourceRecord['data'] })[]) => {
        for (const r of page) {
          if (kind === 'bare') stmt.run(r.record_id, JSON.stringify(r.doc));
          else stmt.run(connectionId, r.record_id, JSON.stringify(r.doc), r.content_hash, r.modified_date, r.source_modified_date);
        }
      });
      for (let after = ''; ; ) {
        const rows = read.all(connectionId, after) as Row[];
        if (rows.length === 0) break;
        const page = rows.map((r) => ({ ...r, doc: JSON.parse(r.data as string) as SourceRecord['data'] }));
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
      if (kind === 'bare') {
        await client.query(`create table ${table} (id text primary key, data jsonb not null)`);
      } else {
        await client.query(`create table ${table} (like records including defaults including constraints including indexes)`);
        await client.query(`alter table ${table} add foreign key (connection_id) references connections (id) on delete cascade`);
      }
      for (let after = ''; ; ) {
        const { rows } = await client.query<Row>(readSql((i) => `$${i}`), [connectionId, after]);
        if (rows.length === 0) break;
        const t = performance.now();
        const values: string[] = [];
        const params: (string | null)[] = [];
        const p = (v: string | null) => (params.push(v), `$${params.length}`);
        for (const r of rows) {
          if (kind === 'bare') values.push(`(${p(r.record_id)}, ${p(JSON.stringify(r.data))}::jsonb)`);
          else values.push(`(${p(connectionId)}, 'invoices', ${p(r.record_id)}, ${p(JSON.stringify(r.data))}::jsonb, ${p(r.content_hash)}, ${p(r.modified_date)}, ${p(r.source_modified_date)}, 0)`);
        }
        await client.query(
          kind === 'bare'
            ? `insert into ${table} (id, data) values ${values.join(', ')} on conflict (id) do update set data = excluded.data`
            : `insert into ${table} (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted) values ${values.join(', ')}
               on conflict (connection_id, data_type, record_id) do update set data = excluded.data, content_hash = excluded.content_hash,
                 modified_date = excluded.modified_date, source_modified_date = excluded.source_modified_date`,
          params,
        );
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

/** BENCH_PULL_SIZES (comma-separated invoice counts, e.g. `200000`) replaces the full run's sizes. */
function pullSizes(ctx: BenchContext): number[] {
  if (ctx.size === 'smoke') return [2_000];
  const env = process.env.BENCH_PULL_SIZES;
  if (env) return env.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
  return [10_000, 100_000, 1_000_000];
}

export const pullThroughput: Benchmark = {
  name: 'pull-throughput',
  description: 'end-to-end invoice pulls from the Sandbox platform by a compiled `syncline worker` process (records/s, worker peak RSS) vs bulk upserts of the same mapped documents with the same driver, into a bare one-index table and into a table with the same indexes and keys as records',
  async run(ctx) {
    const sizes = pullSizes(ctx);
    // dist/ current first (built only when older than its sources), so the measured worker is this code, compiled.
    ensureBuilt();
    // No platform rate limit here: this measures Syncline, not the politeness rules (see the politeness benchmark).
    const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 1_000_000, concurrent: 10 } });
    const rows: BenchRow[] = [];
    try {
      for (const dialect of ['sqlite', 'postgres'] as const) {
        for (const n of sizes) {
          ctx.log(`${dialect}: pulling ${n.toLocaleString('en')} invoices`);
          const r = await pullOnce(ctx, dialect, sim, n);
          try {
            ctx.log(`${dialect}: ${r.recordsPerSecond.toFixed(0)} records/s in ${r.seconds.toFixed(1)} s, peak RSS ${(r.peakRss / MB).toFixed(0)} MiB; bulk upserts of the same documents`);
            const bare = await bulkUpsert(dialect, r.db.location, r.link.connectionId, 'bare');
            const indexed = await bulkUpsert(dialect, r.db.location, r.link.connectionId, 'indexed');
            ctx.log(`${dialect}: bare upsert ${bare.toFixed(0)} records/s, into a copy of records ${indexed.toFixed(0)} records/s`);
            const label = `${DB_NAME[dialect]}, ${n.toLocaleString('en')} invoices`;
            rows.push({
              metric: `${label}: pull throughput`,
              value: r.recordsPerSecond,
              unit: 'records/s',
              baseline: { label: 'bare bulk upsert, same driver', value: bare },
              note: `${r.seconds.toFixed(1)} s`,
            });
            rows.push({
              metric: `${label}: pull throughput`,
              value: r.recordsPerSecond,
              unit: 'records/s',
              baseline: { label: 'bulk upsert into a table with the same indexes and keys as records, same driver', value: indexed },
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
