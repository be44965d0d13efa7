import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import type { Database } from './schema.js';
import { migrations } from './migrations/index.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** The pg pool when on PostgreSQL (LISTEN/NOTIFY needs its own client). */
  readonly pool: pg.Pool | undefined;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** postgres:// URL; unset → SQLite. */
  databaseUrl?: string | undefined;
  /** SQLite file path, or ':memory:'. Defaults to `<dataDir>/syncline.db`. */
  sqliteFile?: string;
  dataDir?: string;
  poolSize?: number;
}

/** pg returns int8 (COUNT, SUM) as strings by default; every int8 we read is a count well inside 2^53. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number.parseInt(v, 10);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export function openStore(opts: StoreOptions): Store {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
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
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', pool, close: () => db.destroy() };
  }
  const file = opts.sqliteFile ?? path.join(opts.dataDir ?? './data', 'syncline.db');
  if (file !== ':memory:') createPrivateFile(file);
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return { db, dialect: 'sqlite', pool: undefined, close: () => db.destroy() };
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
  return {
    close: () => database.close(),
    prepare(sql: string) {
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
