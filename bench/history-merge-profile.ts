/**
 * Profile of one merge (issue 16, history cost): where a pull's merge spends its time with history on and off, per
 * statement, in wall time and CPU (SQLite: this process; PostgreSQL: this process plus the server backend, from
 * /proc/<pid>/stat) — CPU is what a loaded 2-core machine does not distort. One database is prepared once (N invoices
 * merged, then an update of every record staged — MODE=initial: only the first pull staged), then each variant runs the
 * same merge, committed, on its own copy (SQLite: a file copy; PostgreSQL: CREATE DATABASE … TEMPLATE), after its own
 * statements in the merge's transaction (e.g. an opt-out row: history off; DROP INDEX: what an index costs).
 *
 *   VARIANTS='{"off":["insert into history_optouts (company_id, since) values ('"'"'$COMPANY'"'"', '"'"'2026-01-01'"'"')"],"on":[]}' \
 *     DIALECT=sqlite|postgres MODE=update|initial N=50000 EDIT=3 FULL=0 node --import tsx bench/history-merge-profile.ts
 *
 * EVERY=10: the update pull stages (and changes) every tenth invoice only, as an incremental pull of a 10 % change
 * (its own prepared database: base-update-every10).
 *
 * PostgreSQL: a throwaway server, or PGBASE=<admin url>; RESEED=1 prepares the database again.
 */
import { copyFileSync, rmSync, existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import { openStore, migrateToLatest, type Store } from '../src/store/db.js';
import { RecordsRepository, type StagedRecord } from '../src/store/records.repository.js';
import { insertCompany } from './support/seed.js';
import { invoice, sourceDateOf } from './history.js';
import { startTempPostgres } from '../test/support/postgres.js';
import { newId } from '../src/lib/ids.js';
import { processCpuMs } from './support/proc.js';

const N = Number(process.env.N ?? 50000);
const dialect = (process.env.DIALECT ?? 'sqlite') as 'sqlite' | 'postgres';
const MODE = `${process.env.MODE ?? 'update'}${process.env.EVERY && process.env.EVERY !== '1' ? `_every${process.env.EVERY}` : ''}`;
const BASE = `/tmp/histcost/base-${MODE}.db`;
const RUN = '/tmp/histcost/run.db';
const PGBASE = process.env.PGBASE ?? '';

const EVERY = Number(process.env.EVERY ?? 1);
async function stage(repo: RecordsRepository, ds: string, edit: number, at: string, every = 1) {
  for (let from = 0; from < N; from += 1000) {
    const page: StagedRecord[] = [];
    for (let i = from; i < Math.min(N, from + 1000); i += every) {
      const doc = invoice(i, edit);
      page.push({ id: doc.id as string, data: doc, sourceModifiedDate: sourceDateOf(edit, at), deleted: false });
    }
    await repo.stage(ds, page);
  }
}

async function setup(store: Store) {
  await migrateToLatest(store);
  const c = await insertCompany(store, 'exp');
  const repo = new RecordsRepository(store.db, store.dialect);
  const ds0 = newId();
  await stage(repo, ds0, 0, '2026-02-01T00:00:00.000Z');
  if (process.env.MODE === 'initial') return { ...c, ds1: ds0, now: '2026-02-01T00:00:00.000Z' };
  await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds0, connectionId: c.connectionId, dataType: 'invoices', now: '2026-02-01T00:00:00.000Z', fullListing: false }));
  const ds1 = newId();
  await stage(repo, ds1, Number(process.env.EDIT ?? 3), '2026-04-01T00:00:00.000Z', EVERY);
  return { ...c, ds1, now: '2026-04-01T00:00:00.000Z' };
}

async function variant(name: string, mk: () => Kysely<any>, ctx: { connectionId: string; companyId: string; ds1: string; now: string }, pre: string[]) {
  const rows: [string, number, number][] = [];
  let backend = 0;
  const ticks = () => (backend ? processCpuMs(backend) * 1000 : 0); // µs, as process.cpuUsage()
  let b0 = 0;
  let cpu0 = process.cpuUsage();
  const log = (e: LogEvent) => {
    const c0 = process.cpuUsage(cpu0);
    const b = ticks();
    const c = { user: c0.user + b - b0, system: c0.system };
    b0 = b;
    cpu0 = process.cpuUsage();
    if (e.level !== 'query') return;
    rows.push([e.query.sql.replace(/\s+/g, ' ').slice(0, 110), e.queryDurationMillis, (c.user + c.system) / 1000]);
  };
  const db = mk();
  (db as any).__log = log;
  const repo = new RecordsRepository(db, dialect);
  const t = performance.now();
  await db.transaction().execute(async (trx) => {
    for (const p of pre) await sql.raw(p).execute(trx);
    if (dialect === 'postgres') backend = Number((await sql<{ p: number }>`select pg_backend_pid() as p`.execute(trx)).rows[0]!.p);
    b0 = ticks();
    rows.length = 0;
    cpu0 = process.cpuUsage();
    await repo.merge(trx, { datasetId: ctx.ds1, connectionId: ctx.connectionId, dataType: 'invoices', now: ctx.now, fullListing: process.env.FULL === '1' });
  });
  const wall = performance.now() - t;
  await db.destroy();
  const tot = rows.reduce((a, r) => a + r[1], 0);
  const cpu = rows.reduce((a, r) => a + r[2], 0);
  console.log(`== ${name}: merge+commit wall ${wall.toFixed(0)} ms, statements ${tot.toFixed(0)} ms wall / ${cpu.toFixed(0)} ms cpu (node + backend)`);
  for (const r of rows.sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${r[1].toFixed(0).padStart(6)} ms wall ${r[2].toFixed(0).padStart(6)} ms cpu  ${r[0]}`);
}

let logFn: (e: LogEvent) => void = () => {};
async function main() {
  const variants: Record<string, string[]> = JSON.parse(process.env.VARIANTS ?? '{}');
  if (dialect === 'sqlite') {
    let ctx: any;
    if (!existsSync(BASE) || process.env.RESEED) {
      rmSync(BASE, { force: true });
      const store = openStore({ sqliteFile: BASE });
      ctx = await setup(store);
      await sql`pragma wal_checkpoint(truncate)`.execute(store.db);
      await store.close();
      require('fs').writeFileSync(BASE + '.json', JSON.stringify(ctx));
    }
    ctx = JSON.parse(require('fs').readFileSync(BASE + '.json', 'utf8'));
    for (const [name, pre] of Object.entries(variants)) {
      for (const f of [RUN, RUN + '-wal', RUN + '-shm']) rmSync(f, { force: true });
      copyFileSync(BASE, RUN);
      const mk = () => {
        const d = new BetterSqlite3(RUN);
        d.pragma('journal_mode = WAL'); d.pragma('synchronous = NORMAL'); d.pragma('foreign_keys = ON');
        const k: any = new Kysely({ dialect: new SqliteDialect({ database: d }), log: (e) => k.__log(e) });
        return k;
      };
      await variant(name, mk, ctx, pre.map((p) => p.replace('$COMPANY', ctx.companyId)));
    }
  } else {
    // PostgreSQL: one database, each variant rolled back? No: commit matters; reseed per variant via template.
    const tmp = PGBASE ? undefined : await startTempPostgres();
    const admin = PGBASE || tmp!.url;
    const c0 = new pg.Client({ connectionString: admin }); await c0.connect();
    const u = new URL(admin);
    let ctx: any;
    if (process.env.RESEED || !(await c0.query(`select 1 from pg_database where datname = 'exp_base_${MODE}'`)).rowCount) {
      await c0.query(`drop database if exists exp_base_${MODE} with (force)`);
      await c0.query(`create database exp_base_${MODE}`);
      u.pathname = `/exp_base_${MODE}`;
      const store = openStore({ databaseUrl: u.toString(), poolSize: 2 });
      ctx = await setup(store);
      await sql`vacuum analyze`.execute(store.db);
      await store.db.insertInto('instance' as any).values({}).execute().catch(() => {});
      await store.close();
      require('fs').writeFileSync(`/tmp/histcost/pgbase-${MODE}.json`, JSON.stringify(ctx));
    }
    ctx = JSON.parse(require('fs').readFileSync(`/tmp/histcost/pgbase-${MODE}.json`, 'utf8'));
    for (const [name, pre] of Object.entries(variants)) {
      await c0.query('drop database if exists exp_run with (force)');
      await c0.query(`create database exp_run template exp_base_${MODE}`);
      u.pathname = '/exp_run';
      const url = u.toString();
      const pre0 = new pg.Client({ connectionString: url }); await pre0.connect(); await pre0.query('vacuum analyze'); await pre0.query('checkpoint'); await pre0.end();
      const mk = () => {
        const pool = new pg.Pool({ connectionString: url, max: 1 });
        pool.on('error', () => {});
        const k: any = new Kysely({ dialect: new PostgresDialect({ pool }), log: (e) => k.__log(e) });
        return k;
      };
      await variant(name, mk, ctx, pre.map((p) => p.replace('$COMPANY', ctx.companyId)));
    }
    await c0.query('drop database if exists exp_run with (force)');
    await c0.end();
    tmp?.stop();
  }
}
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
main().catch((e) => { console.error(e); process.exit(1); });
