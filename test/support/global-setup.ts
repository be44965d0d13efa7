import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { startTempPostgres, type TempPostgres } from './postgres.js';
import { migrateToLatest, openStore } from '../../src/store/db.js';

export const TEMPLATE_DB = 'syncline_template';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

let server: TempPostgres | undefined;

/**
 * Starts PostgreSQL once for the run (or uses TEST_DATABASE_URL) and migrates a template database; each test file
 * clones it (CREATE DATABASE … TEMPLATE), so files run in parallel on their own databases.
 * PostgreSQL not starting fails the run: the suite never silently drops to SQLite only.
 */
export default async function setup(project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    server = await startTempPostgres();
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
  process.stdout.write(`[test harness] PostgreSQL ${version} ${server ? 'started (throwaway)' : 'from TEST_DATABASE_URL'}; template ${template} migrated\n`);
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  return async () => {
    if (server) server.stop();
    else {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${template} with (force)`);
      await c.end();
    }
  };
}
