import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore } from './db.js';
import { loadSecretKey, parseConfig } from '../cli/config.js';

/** The embedded database holds sealed credentials and every company's data: owner-only files in an owner-only dir. */
describe('SQLite data files are private', () => {
  const dirs: string[] = [];
  let umask: number;
  // The usual umask (022) would leave files created without an explicit mode world-readable: test under it.
  beforeEach(() => {
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const temp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'syncline-modes-'));
    dirs.push(d);
    return d;
  };
  const mode = (p: string) => statSync(p).mode & 0o777;

  it('creates the data dir 0700 and syncline.db, -wal and -shm 0600', async () => {
    const dataDir = path.join(temp(), 'nested', 'data');
    const store = openStore({ dataDir });
    try {
      await migrateToLatest(store);
      await store.db.insertInto('instance_settings').values({ key: 'probe', value: '"x"' }).execute();
      const db = path.join(dataDir, 'syncline.db');
      expect(mode(dataDir).toString(8)).toBe('700');
      expect(mode(path.dirname(dataDir)).toString(8)).toBe('700');
      expect(mode(db).toString(8)).toBe('600');
      // WAL mode: both side files exist while the database is open.
      expect(mode(`${db}-wal`).toString(8)).toBe('600');
      expect(mode(`${db}-shm`).toString(8)).toBe('600');
    } finally {
      await store.close();
    }
  });

  it('a sqliteFile path gets the same treatment, and an existing directory keeps its mode', async () => {
    const dir = temp(); // mkdtemp makes it 0700; loosen it to show Syncline leaves an operator's dir alone
    chmodSync(dir, 0o750);
    const file = path.join(dir, 'custom.db');
    const store = openStore({ sqliteFile: file });
    try {
      await migrateToLatest(store);
      expect(mode(file).toString(8)).toBe('600');
      expect(mode(`${file}-wal`).toString(8)).toBe('600');
      expect(mode(dir).toString(8)).toBe('750');
    } finally {
      await store.close();
    }
  });

  it('the secret key file is 0600 in a data dir created 0700', () => {
    const dataDir = path.join(temp(), 'fresh');
    loadSecretKey(parseConfig({ SYNCLINE_DATA_DIR: dataDir }));
    expect(mode(dataDir).toString(8)).toBe('700');
    expect(mode(path.join(dataDir, 'secret.key')).toString(8)).toBe('600');
  });
});
