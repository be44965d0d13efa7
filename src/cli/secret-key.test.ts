import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { ConnectorRegistry } from '../connectors/connector.js';
import { createLogger } from '../lib/logger.js';
import { SecretBox } from '../lib/secrets.js';
import { newId } from '../lib/ids.js';
import { openStore } from '../store/db.js';
import { readSecretCheck, SEALED_COLUMNS, SECRET_CHECK_PLAINTEXT } from '../store/sealed.js';
import { parseConfig } from './config.js';
import { openSecretBox, rotateSecretKey } from './secret-key.js';
import { startServer } from './server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'syncline-secret-'));
  dirs.push(d);
  return d;
}
const hexKey = () => randomBytes(32).toString('hex');
const API_KEY = 'secret-key-test-api-key';
const auth = { authorization: `Basic ${Buffer.from(API_KEY).toString('base64')}` };

function config(dir: string, extra: Record<string, string> = {}) {
  return parseConfig({ PORT: '0', SYNCLINE_DATA_DIR: dir, SYNCLINE_API_KEY: API_KEY, SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'silent', ...extra });
}

/** One start of `serve` (API role, no connectors) on the test database. */
function start(store: TestStore, dir: string, extra: Record<string, string> = {}) {
  return startServer(config(dir, extra), {
    store,
    logger: createLogger('silent'),
    roles: { api: true, workers: false, scheduler: false },
    connectors: new ConnectorRegistry(),
  });
}

/** A company, a connection with sealed credentials, a webhook consumer with a current and a previous secret, a link state. */
async function seedSealed(store: TestStore, box: SecretBox) {
  const now = '2026-03-01T09:00:00.000Z';
  const companyId = newId();
  const connectionId = newId();
  const webhookId = newId();
  await store.db.insertInto('companies').values({ id: companyId, name: 'Sealed', description: null, tags: '{}', created_at: now }).execute();
  await store.db
    .insertInto('connections')
    .values({
      id: connectionId,
      company_id: companyId,
      integration_key: 'mqjo',
      status: 'Linked',
      credentials: box.sealJson({ refreshToken: 'rt-1', tenantId: 't-1' }),
      connection_info: null,
      errors: null,
      created_at: now,
      updated_at: now,
      last_sync: null,
    })
    .execute();
  await store.db
    .insertInto('webhook_consumers')
    .values({
      id: webhookId,
      url: 'http://127.0.0.1:9/hook',
      event_types: '["read.completed"]',
      company_tags: null,
      disabled: 0,
      disabled_at: null,
      secret: box.seal('whsec_current'),
      previous_secret: box.seal('whsec_previous'),
      previous_secret_until: now,
      failing_since: null,
      created_at: now,
    })
    .execute();
  await store.db
    .insertInto('link_states')
    .values({
      token_hash: randomBytes(16).toString('hex'),
      kind: 'state',
      connection_id: connectionId,
      integration_key: 'mqjo',
      payload: box.sealJson({ verifier: 'v-1' }),
      created_at: now,
      expires_at: now,
      consumed_at: null,
    })
    .execute();
  return { connectionId, webhookId };
}

/** Every sealed value, opened with `box` (throws if one does not open). */
async function openedValues(store: TestStore, box: SecretBox) {
  const conn = await store.db.selectFrom('connections').select('credentials').executeTakeFirstOrThrow();
  const hook = await store.db.selectFrom('webhook_consumers').select(['secret', 'previous_secret']).executeTakeFirstOrThrow();
  const link = await store.db.selectFrom('link_states').select('payload').executeTakeFirstOrThrow();
  return {
    credentials: box.openJson(conn.credentials!),
    secret: box.open(hook.secret),
    previous: box.open(hook.previous_secret!),
    link: box.openJson(link.payload!),
  };
}

const ORIGINAL = { credentials: { refreshToken: 'rt-1', tenantId: 't-1' }, secret: 'whsec_current', previous: 'whsec_previous', link: { verifier: 'v-1' } };

describe('every SecretBox-sealed column is re-sealed by rotation', () => {
  it('schema.ts documents no sealed table that SEALED_COLUMNS misses', () => {
    const schema = readFileSync(path.join(import.meta.dirname, '../store/schema.ts'), 'utf8');
    const tables = Object.fromEntries([...schema.matchAll(/^\s+(\w+): (\w+Table);$/gm)].map((m) => [m[2]!, m[1]!]));
    const sealedTables = new Set<string>();
    // An interface's doc comment (after the previous declaration's closing brace) and its body.
    const chunks = schema.split('export interface ');
    for (let i = 1; i < chunks.length; i++) {
      const name = /^\w+/.exec(chunks[i]!)![0];
      const before = chunks[i - 1]!.slice(chunks[i - 1]!.lastIndexOf('\n}') + 1);
      const body = chunks[i]!.slice(0, chunks[i]!.indexOf('\n}'));
      if (tables[name] && /SecretBox-sealed/.test(before + body)) sealedTables.add(tables[name]);
    }
    expect(sealedTables.size).toBeGreaterThanOrEqual(3);
    const listed = new Set<string>(SEALED_COLUMNS.map((c) => c.table));
    expect([...sealedTables].filter((t) => !listed.has(t))).toEqual([]);
  });
});

for (const dialect of DIALECTS) {
  describe(`the secret key [${dialect}]`, () => {
    it('an empty or truncated secret.key stops start-up like a bad SYNCLINE_SECRET_KEY', async () => {
      const store = await openTestStore(dialect);
      try {
        const dir = dataDir();
        writeFileSync(path.join(dir, 'secret.key'), '\n', { mode: 0o600 });
        await expect(start(store, dir)).rejects.toThrow(`Invalid configuration: ${path.join(dir, 'secret.key')} is empty: it must hold the secret key`);
        writeFileSync(path.join(dir, 'secret.key'), 'a1b2c3d4e5\n');
        await expect(start(store, dir)).rejects.toThrow(/secret\.key holds 10 characters, but a secret key is at least 16 \(is the file truncated\?\)/);
        // Nothing was sealed with either: the database has no check value.
        expect(await readSecretCheck(store.db)).toBeUndefined();
      } finally {
        await store.cleanup();
      }
    });

    it('a deleted key file is not regenerated once the database holds a check value or sealed data', async () => {
      const store = await openTestStore(dialect);
      try {
        const dir = dataDir();
        const file = path.join(dir, 'secret.key');
        const first = await start(store, dir);
        try {
          expect(existsSync(file)).toBe(true);
          const made = await fetch(`${first.url}/webhooks`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', eventTypes: ['read.completed'] }),
          });
          expect(made.status).toBe(201);
        } finally {
          await first.close();
        }
        rmSync(file);
        await expect(start(store, dir)).rejects.toThrow(
          `${file} does not exist, but the database already holds data sealed with a secret key (platform credentials, webhook secrets, its key check value). A new key could not open it, so none is generated.`,
        );
        expect(existsSync(file)).toBe(false);
        // The check value alone is enough: with no sealed row at all, the key is still not replaced.
        await store.db.deleteFrom('webhook_consumers').execute();
        await expect(start(store, dir)).rejects.toThrow(/does not exist, but the database already holds/);
        expect(existsSync(file)).toBe(false);
      } finally {
        await store.cleanup();
      }
    });

    it('a changed key file or SYNCLINE_SECRET_KEY is refused with a message naming the problem', async () => {
      const store = await openTestStore(dialect);
      try {
        const dir = dataDir();
        const file = path.join(dir, 'secret.key');
        await (await start(store, dir)).close();
        const original = readFileSync(file, 'utf8').trim();
        expect(await readSecretCheck(store.db)).toBeDefined();

        writeFileSync(file, hexKey() + '\n');
        await expect(start(store, dir)).rejects.toThrow(
          `the secret key from ${file} cannot open the key check value stored in the database: it is not the key this database was sealed with.`,
        );
        await expect(start(store, dataDir(), { SYNCLINE_SECRET_KEY: 'another-key-of-enough-length' })).rejects.toThrow(
          /^the secret key from SYNCLINE_SECRET_KEY cannot open the key check value stored in the database.*syncline secret rotate/,
        );
        // The right key starts, from the file or from the variable.
        writeFileSync(file, original + '\n');
        await (await start(store, dir)).close();
        await (await start(store, dataDir(), { SYNCLINE_SECRET_KEY: original })).close();
      } finally {
        await store.cleanup();
      }
    });

    it('a database sealed before check values existed: its sealed data decides, then it gets a check value', async () => {
      const store = await openTestStore(dialect);
      try {
        const right = 'the-key-that-sealed-this-database';
        await seedSealed(store, new SecretBox(right));
        await expect(openSecretBox(config(dataDir(), { SYNCLINE_SECRET_KEY: 'a-different-key-entirely' }), store)).rejects.toThrow(
          'the secret key from SYNCLINE_SECRET_KEY cannot open the sealed connections.credentials stored in the database',
        );
        expect(await readSecretCheck(store.db)).toBeUndefined();
        await openSecretBox(config(dataDir(), { SYNCLINE_SECRET_KEY: right }), store);
        expect(new SecretBox(right).open((await readSecretCheck(store.db))!)).toBe(SECRET_CHECK_PLAINTEXT);
      } finally {
        await store.cleanup();
      }
    });

    it('two processes starting with different keys on one new database: exactly one wins', async () => {
      const store = await openTestStore(dialect);
      const other = dialect === 'postgres' ? openStore({ databaseUrl: store.location, poolSize: 2 }) : store;
      try {
        const results = await Promise.allSettled([
          openSecretBox(config(dataDir(), { SYNCLINE_SECRET_KEY: 'first-process-key-0001' }), store),
          openSecretBox(config(dataDir(), { SYNCLINE_SECRET_KEY: 'second-process-key-0002' }), other),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.message).toMatch(/cannot open the key check value/);
      } finally {
        if (other !== store) await other.close();
        await store.cleanup();
      }
    });

    it('secret rotate (key file): every sealed column re-sealed in one go; the old key is refused afterwards', async () => {
      const store = await openTestStore(dialect);
      try {
        const dir = dataDir();
        const file = path.join(dir, 'secret.key');
        const oldBox = await openSecretBox(config(dir), store);
        const oldKey = readFileSync(file, 'utf8').trim();
        await seedSealed(store, oldBox);

        const result = await rotateSecretKey(config(dir), store, { generate: true, now: new Date('2026-03-02T10:11:12.345Z') });
        expect(result.report.counts).toEqual({
          'connections.credentials': 1,
          'webhook_consumers.secret': 1,
          'webhook_consumers.previous_secret': 1,
          'link_states.payload': 1,
        });
        const newKey = readFileSync(file, 'utf8').trim();
        expect(newKey).toMatch(/^[0-9a-f]{64}$/);
        expect(newKey).not.toBe(oldKey);
        expect(readFileSync(`${file}.old-20260302T101112Z`, 'utf8').trim()).toBe(oldKey);
        expect(existsSync(`${file}.new`)).toBe(false);
        expect(result.lines.join('\n')).toContain(`${file}.old-20260302T101112Z`);
        expect(await openedValues(store, new SecretBox(newKey))).toEqual(ORIGINAL);
        await expect(openedValues(store, oldBox)).rejects.toThrow();

        // The server starts with the new key file and serves the same webhook secret; the old key no longer starts.
        const server = await start(store, dir);
        try {
          const hook = await store.db.selectFrom('webhook_consumers').select('id').executeTakeFirstOrThrow();
          const res = await fetch(`${server.url}/webhooks/${hook.id}/secret`, { headers: auth });
          expect(res.status).toBe(200);
          expect(await res.json()).toEqual({ key: 'whsec_current' });
        } finally {
          await server.close();
        }
        await expect(start(store, dataDir(), { SYNCLINE_SECRET_KEY: oldKey })).rejects.toThrow(/cannot open the key check value/);
      } finally {
        await store.cleanup();
      }
    });

    it('secret rotate (SYNCLINE_SECRET_KEY → SYNCLINE_NEW_SECRET_KEY); a value the old key cannot open changes nothing', async () => {
      const store = await openTestStore(dialect);
      try {
        const oldKey = 'the-old-secret-key-0001';
        const newKey = 'the-new-secret-key-0002';
        const cfg = config(dataDir(), { SYNCLINE_SECRET_KEY: oldKey });
        const oldBox = await openSecretBox(cfg, store);
        await seedSealed(store, oldBox);
        // A stray value sealed with some other key: the rotation must stop before changing anything.
        const strayId = newId();
        const company = await store.db.selectFrom('companies').select('id').executeTakeFirstOrThrow();
        const now = '2026-03-01T09:00:00.000Z';
        await store.db
          .insertInto('connections')
          .values({ id: strayId, company_id: company.id, integration_key: 'mqjo', status: 'Linked', credentials: new SecretBox('stray-key-000000000').sealJson({}), connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null })
          .execute();
        const checkBefore = await readSecretCheck(store.db);
        await expect(rotateSecretKey(cfg, store, { newKey })).rejects.toThrow(`the old key cannot open connections.credentials of id ${strayId}: nothing was changed`);
        expect(await readSecretCheck(store.db)).toBe(checkBefore);
        expect(await openedValues(store, oldBox)).toEqual(ORIGINAL);

        await store.db.deleteFrom('connections').where('id', '=', strayId).execute();
        await expect(rotateSecretKey(cfg, store, { newKey: 'short' })).rejects.toThrow(/at least 16 characters/);
        await expect(rotateSecretKey(cfg, store, { newKey, generate: true })).rejects.toThrow(/exactly one way/);
        await expect(rotateSecretKey(cfg, store, { newKey: oldKey })).rejects.toThrow('the new key is the current key');
        const result = await rotateSecretKey(cfg, store, { newKey });
        expect(result.lines.join('\n')).toContain('Set SYNCLINE_SECRET_KEY to the new key in the environment of every Syncline process');
        expect(await openedValues(store, new SecretBox(newKey))).toEqual(ORIGINAL);
        await openSecretBox(config(dataDir(), { SYNCLINE_SECRET_KEY: newKey }), store);
        await expect(openSecretBox(cfg, store)).rejects.toThrow(/cannot open the key check value/);
        // A wrong current key is named as at start-up, before anything is touched.
        await expect(rotateSecretKey(cfg, store, { newKey: 'yet-another-key-0003' })).rejects.toThrow(/cannot open the key check value/);
      } finally {
        await store.cleanup();
      }
    });
  });
}
