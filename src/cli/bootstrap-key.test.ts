import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { ConnectorRegistry } from '../connectors/connector.js';
import { ManualClock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { hashApiKey } from '../lib/secrets.js';
import { newId, randomAlnum } from '../lib/ids.js';
import { ApiKeysRepository } from '../store/api-keys.repository.js';
import { openStore } from '../store/db.js';
import { ensureBootstrapKey } from './bootstrap.js';
import { parseConfig } from './config.js';
import { startServer } from './server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(key).toString('base64')}` });

/** `serve` (API role only, no connectors) on the given database with SYNCLINE_API_KEY set: one "start" of the process. */
async function start(store: TestStore, apiKey: string) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-bootstrap-'));
  dirs.push(dataDir);
  const config = parseConfig({
    PORT: '0',
    SYNCLINE_DATA_DIR: dataDir,
    SYNCLINE_API_KEY: apiKey,
    SYNCLINE_SECRET_KEY: 'bootstrap-test-secret-key',
    LOG_LEVEL: 'silent',
  });
  return startServer(config, {
    store,
    logger: createLogger('silent'),
    roles: { api: true, workers: false, scheduler: false },
    connectors: new ConnectorRegistry(),
  });
}

for (const dialect of DIALECTS) {
  describe(`the configured bootstrap key across restarts [${dialect}]`, () => {
    it('a revoked bootstrap key stays revoked when the server restarts with SYNCLINE_API_KEY still set', async () => {
      const store = await openTestStore(dialect);
      const key = randomAlnum(40);
      try {
        const first = await start(store, key);
        let other: string;
        try {
          expect(first.apiKeyRefused).toBeUndefined();
          const list = (await (await fetch(`${first.url}/apiKeys`, { headers: basic(key) })).json()) as any;
          expect(list.results.map((k: any) => k.name)).toEqual(['bootstrap']);
          const made = await fetch(`${first.url}/apiKeys`, { method: 'POST', headers: { ...basic(key), 'content-type': 'application/json' }, body: '{"name":"ops"}' });
          expect(made.status).toBe(201);
          other = ((await made.json()) as any).apiKey;
          const del = await fetch(`${first.url}/apiKeys/${list.results[0].id}`, { method: 'DELETE', headers: basic(other) });
          expect(del.status).toBe(204);
          expect((await fetch(`${first.url}/companies`, { headers: basic(key) })).status).toBe(401);
        } finally {
          await first.close();
        }

        const second = await start(store, key);
        try {
          expect((await fetch(`${second.url}/companies`, { headers: basic(key) })).status).toBe(401);
          expect(second.apiKeyRefused).toMatch(/^SYNCLINE_API_KEY was not stored: that key was revoked/);
          const list = (await (await fetch(`${second.url}/apiKeys`, { headers: basic(other) })).json()) as any;
          expect(list.results.map((k: any) => k.name)).toEqual(['ops']);
        } finally {
          await second.close();
        }
        expect(await new ApiKeysRepository(store.db).findByHash(hashApiKey(key))).toBeUndefined();
      } finally {
        await store.cleanup();
      }
    });

    it('a different bootstrap key on restart does not push the key count past 10', async () => {
      const store = await openTestStore(dialect);
      const keyA = randomAlnum(40);
      const keyB = randomAlnum(40);
      try {
        const first = await start(store, keyA);
        try {
          for (let i = 0; i < 9; i++) {
            const r = await fetch(`${first.url}/apiKeys`, { method: 'POST', headers: { ...basic(keyA), 'content-type': 'application/json' }, body: '{}' });
            expect(r.status).toBe(201);
          }
        } finally {
          await first.close();
        }
        const second = await start(store, keyB);
        try {
          expect(second.apiKeyRefused).toBe(
            'SYNCLINE_API_KEY was not stored: the instance already has 10 API keys, the maximum. Revoke one ' +
              '(`syncline keys revoke <id>` or DELETE /apiKeys/{id}) and restart, or unset SYNCLINE_API_KEY.',
          );
          expect((await fetch(`${second.url}/companies`, { headers: basic(keyB) })).status).toBe(401);
          const list = (await (await fetch(`${second.url}/apiKeys`, { headers: basic(keyA) })).json()) as any;
          expect(list.results).toHaveLength(10);
        } finally {
          await second.close();
        }
      } finally {
        await store.cleanup();
      }
    });

    it('concurrent starts with different configured keys fill the limit and never pass it', async () => {
      const store = await openTestStore(dialect);
      // Separate pools on PostgreSQL: two processes. SQLite has one writer; one store stands for it.
      const second = dialect === 'postgres' ? openStore({ databaseUrl: store.location, poolSize: 4 }) : undefined;
      try {
        const a = new ApiKeysRepository(store.db);
        const b = new ApiKeysRepository((second ?? store).db);
        const clock = new ManualClock();
        for (let i = 0; i < 8; i++) await a.insert({ id: newId(), name: `k${i}`, key_hash: hashApiKey(`k${i}`), created_at: clock.now().toISOString() });
        const pg = dialect === 'postgres';
        const outcomes = await Promise.all(
          ['c1', 'c2', 'c3', 'c4', 'c5'].map((k, i) => ensureBootstrapKey(i % 2 ? b : a, k, clock, pg)),
        );
        expect(await a.count()).toBe(10);
        expect(outcomes.filter((o) => o.refused?.includes('10 API keys'))).toHaveLength(3);
        expect(outcomes.filter((o) => o.refused === undefined && o.generated === undefined)).toHaveLength(2);
      } finally {
        await second?.close();
        await store.cleanup();
      }
    });

    it('keys revoke (the repository delete) remembers the hash; other deletes of unknown ids change nothing', async () => {
      const store = await openTestStore(dialect);
      try {
        const repo = new ApiKeysRepository(store.db);
        const id = newId();
        await repo.insert({ id, name: 'x', key_hash: hashApiKey('x'), created_at: '2026-01-01T00:00:00.000Z' });
        expect(await repo.isRevoked(hashApiKey('x'))).toBe(false);
        expect(await repo.delete(id, '2026-01-02T00:00:00.000Z')).toBe(true);
        expect(await repo.isRevoked(hashApiKey('x'))).toBe(true);
        expect(await repo.delete(id)).toBe(false);
        expect(await store.db.selectFrom('revoked_api_keys').selectAll().execute()).toEqual([
          { key_hash: hashApiKey('x'), revoked_at: '2026-01-02T00:00:00.000Z' },
        ]);
      } finally {
        await store.cleanup();
      }
    });
  });
}
