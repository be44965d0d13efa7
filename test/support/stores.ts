import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { Migrator } from 'kysely';
import { migrateToLatest, openStore, type Dialect, type Store } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations/index.js';

/** Every store, sync and API test runs on both databases. */
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface TestStore extends Store {
  /** Connection string (postgres) or file path (sqlite): for spawning other processes on the same database. */
  readonly location: string;
  cleanup(): Promise<void>;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** The migrated SQLite file global-setup.ts made, or undefined outside a vitest run (e.g. `npm run ui:api-types`). */
function sqliteTemplate(): string | undefined {
  try {
    return inject('sqliteTemplate');
  } catch {
    return undefined;
  }
}

/**
 * A fresh, migrated database: a SQLite file in a temp dir (a copy of the run's migrated template file, closed and
 * checkpointed, so the copy is the whole database), or a PostgreSQL database cloned from the template.
 */
export async function createTestDatabase(dialect: Dialect): Promise<{ location: string; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sqlite-'));
    const file = path.join(dir, 'test.db');
    const template = sqliteTemplate();
    if (template) copyFileSync(template, file);
    else {
      const s = openStore({ sqliteFile: file });
      await migrateToLatest(s);
      await s.close();
    }
    return { location: file, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = inject('pgAdminUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  // CREATE DATABASE … TEMPLATE fails if another session is connected to the template; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await c.query(`create database ${name} template ${inject('pgTemplate')}`);
      break;
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await c.end();
  return { location: withDatabase(admin, name), drop: () => dropPgDatabase(admin, name) };
}

/** Drops database `name` on the server of `admin`, whoever is still connected to it. */
async function dropPgDatabase(admin: string, name: string): Promise<void> {
  const d = new pg.Client({ connectionString: admin });
  await d.connect();
  await d.query(`drop database if exists ${name} with (force)`);
  await d.end();
}

export async function openTestStore(dialect: Dialect): Promise<TestStore> {
  const { location, drop } = await createTestDatabase(dialect);
  const store = dialect === 'sqlite' ? openStore({ sqliteFile: location }) : openStore({ databaseUrl: location, poolSize: 5 });
  return {
    ...store,
    location,
    async cleanup() {
      await store.close();
      await drop();
    },
  };
}

/**
 * An empty, unmigrated database (a SQLite file in a temp dir, or a new PostgreSQL database on the run's server) with
 * every migration applied except `skip`: a database as it stood before those migrations, for the tests that then
 * apply them to data written the old way. `drop` removes it.
 */
export async function databaseWithout(dialect: Dialect, skip: readonly string[]): Promise<{ store: Store; drop(): Promise<void> }> {
  const label = `m${skip.map((s) => s.slice(0, 4)).join('_')}`;
  let store: Store;
  let drop: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), `syncline-${label}-`));
    store = openStore({ sqliteFile: path.join(dir, 'test.db') });
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const admin = inject('pgAdminUrl');
    const name = `${label}_${randomBytes(5).toString('hex')}`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`create database ${name}`);
    await c.end();
    store = openStore({ databaseUrl: withDatabase(admin, name), poolSize: 3 });
    drop = () => dropPgDatabase(admin, name);
  }
  const all = migrations(dialect);
  for (const name of skip) {
    if (!(name in all)) throw new Error(`no migration ${name}`);
    delete all[name];
  }
  const r = await new Migrator({ db: store.db, provider: { getMigrations: async () => all }, allowUnorderedMigrations: true }).migrateToLatest();
  if (r.error) throw r.error;
  return { store, drop };
}
