import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { loadPg } from '../lib/load-pg.js';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import type { Database } from './schema.js';
import { migrations } from './migrations/index.js';
import { preparingPool, StatementNames } from './prepared-statements.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** The pg pool when on PostgreSQL (LISTEN/NOTIFY needs its own client). */
  readonly pool: pg.Pool | undefined;
  /**
   * A value that differs whenever the database may have changed since it was last read. Read it BEFORE reading what it
   * guards: an answer read after version v is then at least as new as v, and still current while the version reads v.
   * - SQLite: a commit by any other connection (another process: `PRAGMA data_version`) or a row changed through this
   *   one, committed or not (`total_changes()`) — two trivial statements on the driver, outside Kysely.
   * - PostgreSQL: the current snapshot (`pg_current_snapshot()`: xmin, xmax and the transactions in progress). Two
   *   equal snapshots see exactly the same committed transactions, so every table reads the same under both; any
   *   transaction that wrote anything in the cluster since (it was given an id at or above xmax, or it was in progress
   *   and has ended) changes it. One trivial statement.
   */
  readonly changeVersion?: (() => string | Promise<string>) | undefined;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** postgres:// URL; unset → SQLite. */
  databaseUrl?: string | undefined;
  /** SQLite file path, or ':memory:'. Defaults to `<dataDir>/syncline.db`. */
  sqliteFile?: string;
  dataDir?: string;
  poolSize?: number;
  /** PostgreSQL: how many distinct SQL texts may be prepared (named) per connection; 0 prepares none. Default 500. */
  maxPreparedStatements?: number;
}

/** pg returns int8 (COUNT, SUM) as strings by default; every int8 we read is a count well inside 2^53. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number.parseInt(v, 10);
    return loadPg().types.getTypeParser(oid, format as 'text');
  },
};

export function openStore(opts: StoreOptions): Store {
  if (opts.databaseUrl) {
    const pool = new (loadPg().Pool)({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      types: pgTypes as pg.CustomTypesConfig,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client losing its server must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    // Nor a checked-out one: pg emits 'error' on a client whose socket dies mid-query (or mid-transaction, between
    // queries), and pg-pool listens only while the client is idle. Unhandled, that event killed every worker process
    // when PostgreSQL restarted (the pg-restart drill). The query in flight still rejects; the pool drops the client
    // on release because it is no longer queryable.
    pool.on('connect', (client) => client.on('error', () => {}));
    // Hot statements are prepared once per connection, keyed by their SQL text (prepared-statements.ts).
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool, new StatementNames(opts.maxPreparedStatements ?? 500)) }) });
    const changeVersion = async () => String((await pool.query<{ v: string }>('select pg_current_snapshot()::text as v')).rows[0]!.v);
    return { db, dialect: 'postgres', pool, changeVersion, close: () => db.destroy() };
  }
  const file = opts.sqliteFile ?? path.join(opts.dataDir ?? './data', 'syncline.db');
  if (file !== ':memory:') createPrivateFile(file);
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  const dataVersion = database.prepare('pragma data_version').pluck();
  const totalChanges = database.prepare('select total_changes()').pluck();
  const changeVersion = () => `${dataVersion.get() as number}.${totalChanges.get() as number}`;
  return { db, dialect: 'sqlite', pool: undefined, changeVersion, close: () => db.destroy() };
}

/**
 * The database holds sealed credentials, webhook secrets and every company's accounting data: it is created readable by
 * its owner only (0600), in a directory Syncline creates 0700. SQLite's unix VFS gives the `-wal` and `-shm` files it
 * creates next to it the database file's own mode, so they are 0600 too. An existing file keeps the mode its operator
 * chose.
 */
export function createPrivateFile(file: string): void {
  ensurePrivateDir(path.dirname(path.resolve(file)));
  if (!existsSync(file)) {
    try {
      closeSync(openSync(file, 'wx', 0o600));
    } catch (err) {
      // Another process created it at the same moment: it is theirs and already 0600.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Creates `dir` (and missing parents) 0700; an existing directory is left as it is. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Kysely's SQLite driver prepares every statement it runs; preparing (parsing and planning) was a quarter of the CPU
 * of a dataStatus request (--cpu-prof under autocannon). Statements are reused by SQL text, as better-sqlite3 intends;
 * one busy in an iteration is not shared (a fresh one is prepared). Generated SQL has few distinct texts (IN lists
 * vary by length), so a bounded map keeps them all.
 */
function withStatementCache(database: BetterSqlite3.Database, max = 1000) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  // SQLite rolls a transaction back by itself when a statement in it fails with SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM
  // or SQLITE_BUSY; Kysely's ROLLBACK then failed with "cannot rollback - no transaction is active" and that error
  // replaced the real one (the claim loop logged it every 2 s and SQLITE_FULL was never seen). Rolling back a
  // transaction that is already gone does nothing, so the original error propagates.
  const rollback = { reader: false, busy: false, run: () => (database.inTransaction ? database.prepare('rollback').run() : { changes: 0, lastInsertRowid: 0 }) };
  return {
    close: () => database.close(),
    prepare(sql: string) {
      if (/^\s*rollback\s*;?\s*$/i.test(sql)) return rollback as unknown as BetterSqlite3.Statement;
      const hit = cache.get(sql);
      if (hit && !hit.busy) return hit;
      const stmt = database.prepare(sql);
      if (!hit) {
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

export async function migrateToLatest(store: Store): Promise<MigrationResultSet> {
  const all = migrations(store.dialect);
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => all },
    // Numbers are handed out to parallel lines of work, so 0011 may be applied before 0009 lands: run the missing
    // ones in order instead of refusing. Each migration is independent of the numbers it skips.
    allowUnorderedMigrations: true,
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}

/**
 * The database itself is unreachable or going away (restart, failover, network), as opposed to a statement failing:
 * PostgreSQL's connection-exception class (08…) and shutdown codes (57P01–57P03), socket errors, pg's own
 * messages for a dead connection, and SQLite's busy/locked. Such a failure is nobody's fault and worth retrying.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^08/.test(code) || ['57P01', '57P02', '57P03'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'SQLITE_BUSY', 'SQLITE_LOCKED'].includes(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/i.test(message);
}

/** `SELECT 1` for /readyz. */
export async function ping(store: Store): Promise<void> {
  await sql`select 1`.execute(store.db);
}

/**
 * Whether the database can take a write (issue 12 item 7): a committed one-row upsert (a read-only file, directory or
 * server fails it; a full disk fails the WAL append), and on SQLite whether the file is at its page limit with no free
 * page left (PRAGMA max_page_count: any insert needing a page fails with SQLITE_FULL although this upsert fits).
 * Throws the storage error, whose cause storageFailure names.
 */
export async function writeProbe(store: Store, at: string): Promise<void> {
  await store.db
    .insertInto('instance_settings')
    .values({ key: 'readyz.probe', value: at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: at }))
    .execute();
  if (store.dialect === 'sqlite') {
    const page = await sql<{ page_count: number; max_page_count: number; freelist_count: number }>`
      select (select page_count from pragma_page_count) as page_count, (select max_page_count from pragma_max_page_count) as max_page_count,
             (select freelist_count from pragma_freelist_count) as freelist_count`.execute(store.db);
    const p = page.rows[0];
    if (p && p.page_count >= p.max_page_count && p.freelist_count === 0) {
      throw Object.assign(new Error(`database or disk is full: ${p.page_count} of at most ${p.max_page_count} pages used`), { code: 'SQLITE_FULL' });
    }
  }
}
