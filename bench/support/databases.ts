import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateToLatest, openStore, type Dialect, type Store } from '../../src/store/db.js';
import type { BenchContext } from './harness.js';

export interface BenchDb {
  store: Store;
  location: string;
  drop(): Promise<void>;
}

/** A fresh migrated database for one benchmark case. */
export async function benchDatabase(ctx: BenchContext, dialect: Dialect, poolSize = 10): Promise<BenchDb> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-bench-'));
    // syncline.db: the name a `syncline` process finds in its data dir (SYNCLINE_DATA_DIR=dir).
    const file = path.join(dir, 'syncline.db');
    const store = openStore({ sqliteFile: file });
    await migrateToLatest(store);
    return { store, location: file, drop: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  return pgBenchDatabase(await ctx.pgAdminUrl(), poolSize);
}

/** A fresh migrated PostgreSQL database on the server of `admin` (its admin connection string); `drop` removes it. */
export async function pgBenchDatabase(admin: string, poolSize = 10): Promise<BenchDb> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const store = openStore({ databaseUrl: u.toString(), poolSize });
  await migrateToLatest(store);
  return {
    store,
    location: u.toString(),
    async drop() {
      await store.close();
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`drop database if exists ${name} with (force)`);
      await d.end();
    },
  };
}
