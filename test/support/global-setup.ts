import type { TestProject } from 'vitest/node';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDataDirTemplate, startTempPostgres, type TempPostgres } from './postgres.js';
import { migrateToLatest, openStore } from '../../src/store/db.js';

export const TEMPLATE_DB = 'syncline_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    sqliteTemplate: string;
    /** An initdb'd PostgreSQL data directory (never started) for startTempPostgres({ template }); '' with TEST_DATABASE_URL. */
    pgDataTemplate: string;
    /** Set for the processes project: dist/ is built and current, so its files spawn `node dist/src/cli/main.js`. */
    compiledCli: boolean;
  }
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * `npm start` and an installed `syncline` run the compiled CLI (dist/src/cli/main.js), so the files that spawn the CLI
 * spawn that, not src/cli/main.ts through tsx: a start through tsx cost ~2–3 s of CPU more than from dist/ (issue 17,
 * suite time), and those files spawn dozens. scripts/ensure-build.mjs builds dist/ only when it is missing or older
 * than its sources (a clean clone built it at `npm ci`), so the processes always run the current sources.
 */
function ensureBuilt(): Promise<void> {
  const shared = globalThis as { __synclineBuilt?: Promise<void> };
  shared.__synclineBuilt ??= new Promise((resolve, reject) => {
    const r = spawnSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status === 0) resolve();
    else reject(new Error(`scripts/ensure-build.mjs failed (${r.status ?? r.signal}): dist/ could not be built`));
  });
  return shared.__synclineBuilt;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

let server: TempPostgres | undefined;

interface Harness {
  adminUrl: string;
  template: string;
  sqliteTemplate: string;
  pgDataTemplate: string;
  users: number;
  teardown(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let pgDataTemplate = '';
  if (!adminUrl) {
    // initdb once: this server and any a test starts (the PostgreSQL-restart drill) copy the same data directory.
    pgDataTemplate = createDataDirTemplate();
    server = await startTempPostgres({ template: pgDataTemplate });
    adminUrl = server.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const version = (await admin.query('show server_version')).rows[0].server_version as string;
  const template = `${TEMPLATE_DB}_${process.pid}`;
  await admin.query(`drop database if exists ${template}`);
  await admin.query(`create database ${template}`);
  await admin.end();
  const store = openStore({ databaseUrl: withDatabase(adminUrl, template), poolSize: 1 });
  await migrateToLatest(store);
  await store.close();
  // The same for SQLite: one migrated file, copied for each test database (stores.ts) instead of migrating each one.
  const sqliteDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sqlite-template-'));
  const sqliteTemplate = path.join(sqliteDir, 'template.db');
  const lite = openStore({ sqliteFile: sqliteTemplate });
  await migrateToLatest(lite);
  await lite.close();
  // Closing the last connection checkpoints the WAL into the file; a copy of the file alone is then the whole database.
  const wal = `${sqliteTemplate}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) throw new Error(`SQLite template ${sqliteTemplate}: the WAL was not checkpointed at close`);
  process.stdout.write(`[test harness] PostgreSQL ${version} ${server ? 'started (throwaway)' : 'from TEST_DATABASE_URL'}; templates ${template} and ${sqliteTemplate} migrated\n`);
  const url = adminUrl;
  return {
    adminUrl: url,
    template,
    sqliteTemplate,
    pgDataTemplate,
    users: 0,
    async teardown() {
      rmSync(sqliteDir, { recursive: true, force: true });
      if (pgDataTemplate) rmSync(path.dirname(pgDataTemplate), { recursive: true, force: true });
      if (server) server.stop();
      else {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(`drop database if exists ${template} with (force)`);
        await c.end();
      }
    },
  };
}

/**
 * Starts PostgreSQL once for the run (or uses TEST_DATABASE_URL) and migrates a template database; each test database
 * clones it (CREATE DATABASE … TEMPLATE), so files run in parallel on their own databases. Likewise one migrated
 * SQLite file, which each SQLite test database copies.
 * PostgreSQL not starting fails the run: the suite never silently drops to SQLite only.
 * The config has two projects (vitest.config.ts) and vitest calls this once per project in the same process: they
 * share one server, stopped when the last of them tears down.
 */
export default async function setup(project: TestProject) {
  const shared = globalThis as { __synclineHarness?: Promise<Harness> };
  shared.__synclineHarness ??= startHarness();
  const harness = await shared.__synclineHarness;
  harness.users += 1;
  project.provide('pgAdminUrl', harness.adminUrl);
  project.provide('pgTemplate', harness.template);
  project.provide('sqliteTemplate', harness.sqliteTemplate);
  project.provide('pgDataTemplate', harness.pgDataTemplate);
  if (project.name === 'processes') {
    await ensureBuilt();
    project.provide('compiledCli', true);
  }
  return async () => {
    harness.users -= 1;
    if (harness.users > 0) return;
    shared.__synclineHarness = undefined;
    await harness.teardown();
  };
}
