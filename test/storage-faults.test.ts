/**
 * Issue 12 item 7: a database that cannot write. Mechanisms, all real and all working as root:
 * - SQLite disk full: `PRAGMA max_page_count` set to the file's current size (SQLite then fails writes that need a page
 *   with SQLITE_FULL, exactly as on a full disk);
 * - PostgreSQL read-only: sessions opened with `default_transaction_read_only=on` (SQLSTATE 25006, as on a standby);
 * - a read-only data directory: `chattr +i` (immutable: refused even to root; plain chmod when not root).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, expectErrorShape } from './support/app.js';
import { createTestDatabase } from './support/stores.js';
import { openStore, writeProbe } from '../src/store/db.js';
import { mapError } from '../src/api/errors.js';
import { storageFailure, clearStorageFailure } from '../src/store/storage-errors.js';
import { parseConfig } from '../src/cli/config.js';
import { startServer } from '../src/cli/server.js';
import { createLogger } from '../src/lib/logger.js';

describe('SQLite disk full (PRAGMA max_page_count)', () => {
  it('writes answer 503 naming the storage, /readyz says 503 with the cause, a failed transaction reports SQLITE_FULL', async () => {
    const t = await createTestApp('sqlite');
    try {
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      const { page_count } = (await sql<{ page_count: number }>`select page_count from pragma_page_count`.execute(t.store.db)).rows[0]!;
      await sql.raw(`pragma max_page_count = ${page_count}`).execute(t.store.db);
      const statuses: number[] = [];
      let full;
      for (let i = 0; i < 200 && !full; i++) {
        const res = await t.call('POST', '/companies', { name: `Full ${i}`, description: 'x'.repeat(4000) });
        statuses.push(res.statusCode);
        if (res.statusCode !== 200) full = res;
      }
      expect(full, 'the database never filled up').toBeDefined();
      const body = expectErrorShape(full!, 503);
      expect(body.error).toMatch(/database cannot store this change: the disk \(or the database size limit\) is full \(SQLITE_FULL/);
      expect(full!.headers['retry-after']).toBe('5');
      expect(statuses.filter((s) => s === 500)).toEqual([]);

      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().error).toMatch(/SQLITE_FULL/);

      // The rollback after a statement SQLite already rolled back no longer hides the cause.
      const err = await t.store.db
        .transaction()
        .execute(async (trx) => {
          for (let i = 0; i < 50; i++) await trx.insertInto('instance_settings').values({ key: `fill-${i}`, value: 'y'.repeat(8000) }).execute();
        })
        .catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('SQLITE_FULL');
      expect(String((err as Error).message)).not.toMatch(/cannot rollback/);
      // Room again: writes work again.
      await sql.raw(`pragma max_page_count = ${page_count * 100}`).execute(t.store.db);
      clearStorageFailure(t.store.db);
      expect((await t.call('POST', '/companies', { name: 'Room again' })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('PostgreSQL read-only (default_transaction_read_only)', () => {
  it('a write fails with 25006, which the API answers 503 naming the storage; the write probe fails', async () => {
    const db = await createTestDatabase('postgres');
    const url = new URL(db.location);
    url.searchParams.set('options', '-c default_transaction_read_only=on');
    const store = openStore({ databaseUrl: url.toString(), poolSize: 1 });
    try {
      const err = await store.db.insertInto('instance_settings').values({ key: 'k', value: 'v' }).execute().catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('25006');
      expect(storageFailure(err)).toMatch(/read-only/);
      const mapped = mapError(err, 'c'.repeat(32));
      expect(mapped.status).toBe(503);
      expect(mapped.body.error).toMatch(/database cannot store this change: the database server is read-only/);
      await expect(writeProbe(store, new Date().toISOString())).rejects.toMatchObject({ code: '25006' });
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe('read-only data directory at start', () => {
  const dirs: string[] = [];
  const readOnly = (dir: string) => {
    if (process.getuid?.() === 0) execFileSync('chattr', ['+i', dir]);
    else execFileSync('chmod', ['0500', dir]);
  };
  const writable = (dir: string) => {
    if (process.getuid?.() === 0) execFileSync('chattr', ['-i', dir]);
    else execFileSync('chmod', ['0700', dir]);
  };
  afterAll(() => {
    for (const d of dirs) {
      writable(d);
      rmSync(d, { recursive: true, force: true });
    }
  });
  const env = (dir: string) => ({ PORT: '0', HOST: '127.0.0.1', SYNCLINE_DATA_DIR: dir, SYNCLINE_API_KEY: 'readonly-test-key-0123456789abcdef', SYNCLINE_SECRET_KEY: 'readonly-secret-key-0123456789', LOG_LEVEL: 'silent' });

  it('stops start-up with a message naming the directory and the cause, with or without an existing database', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'syncline-ro-'));
    dirs.push(empty);
    readOnly(empty);
    await expect(startServer(parseConfig(env(empty)), { logger: createLogger('silent') })).rejects.toThrow(
      new RegExp(`cannot start: Syncline must be able to write to the data directory ${empty}, and it cannot: (the data directory is not writable|the database file)`),
    );

    const existing = mkdtempSync(path.join(os.tmpdir(), 'syncline-ro-'));
    dirs.push(existing);
    const first = await startServer(parseConfig(env(existing)), { logger: createLogger('silent') });
    await first.close();
    readOnly(existing);
    await expect(startServer(parseConfig(env(existing)), { logger: createLogger('silent') })).rejects.toThrow(/cannot start: Syncline must be able to write to the data directory .*(read-only|cannot be opened|not writable)/);
  });
});
