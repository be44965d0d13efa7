/**
 * Issue 13 item 4 across processes: two worker processes on one PostgreSQL database need a fresh access token for the
 * same Xero connection at the same moment → exactly one call to the token endpoint; both pulls succeed with the one
 * rotated token, which was stored before either used it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from './support/stores.js';
import { cleanEnv, ROOT } from './support/cli.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { openStore } from '../src/store/db.js';
import { SecretBox } from '../src/lib/secrets.js';
import { newId } from '../src/lib/ids.js';

const SECRET_KEY = 'token-race-shared-secret-key-0123';
const CLIENT = { clientId: 'race-app', clientSecret: 'race-secret' };

describe('two PostgreSQL worker processes needing a Xero token at once', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of cleanups.reverse()) await f();
  });

  it('make exactly one token call', async () => {
    const sim: Simulator = await startSimulator({ port: 0, oauthClients: [CLIENT], defaultTenantSize: 5 });
    cleanups.push(() => sim.close());
    const tenant = sim.createTenant({ seed: 'race-org', name: 'Race Org' });
    // A grant for the app, as the Link flow leaves it: tokens stored sealed on a Linked connection.
    const grant = sim.tokens.grantFor(tenant.id, CLIENT.clientId);
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    const store = openStore({ databaseUrl: db.location });
    cleanups.push(() => store.close());
    const box = new SecretBox(SECRET_KEY);
    const companyId = newId();
    const connectionId = newId();
    const now = new Date().toISOString();
    await store.db.insertInto('companies').values({ id: companyId, name: 'Race Co', description: null, tags: '{}', created_at: now }).execute();
    await store.db
      .insertInto('connections')
      .values({
        id: connectionId,
        company_id: companyId,
        integration_key: 'gbol',
        status: 'Linked',
        // The access token has lapsed: whoever pulls first must refresh.
        credentials: box.sealJson({ accessToken: grant.access_token, accessTokenExpiresAt: new Date(Date.now() - 1000).toISOString(), refreshToken: grant.refresh_token, tenantId: tenant.id }),
        connection_info: JSON.stringify({ tenantId: tenant.id }),
        errors: null,
        created_at: now,
        updated_at: now,
        last_sync: null,
      })
      .execute();
    // Each token response takes a while, so the second process certainly asks while the first refresh is in flight.
    await fetch(`${sim.url}/admin/identity/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tokenDelayMs: 400 }) });

    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-race-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const go = path.join(dir, 'go');
    const env = cleanEnv({
      DATABASE_URL: db.location,
      SYNCLINE_SECRET_KEY: SECRET_KEY,
      SYNCLINE_XERO_CLIENT_ID: CLIENT.clientId,
      SYNCLINE_XERO_CLIENT_SECRET: CLIENT.clientSecret,
      SYNCLINE_XERO_TOKEN_URL: `${sim.url}/connect/token`,
      SYNCLINE_XERO_API_URL: sim.url,
      SYNCLINE_XERO_AUTHORIZE_URL: `${sim.url}/identity/connect/authorize`,
    });
    const script = path.join(ROOT, 'test/support/token-race-process.ts');
    const procs = [0, 1].map(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, connectionId, tenant.id, go], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const done = new Promise<string>((resolve) => child.on('close', () => resolve(out)));
      return { child, out: () => out, done };
    });
    cleanups.push(async () => procs.forEach((p) => p.child.exitCode === null && p.child.kill('SIGKILL')));
    const deadline = Date.now() + 60_000;
    while (!procs.every((p) => p.out().includes('ready'))) {
      if (Date.now() > deadline || procs.some((p) => p.child.exitCode !== null)) throw new Error(`workers did not start: ${procs.map((p) => p.out()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = tenant.counters.refreshes;
    writeFileSync(go, 'go');
    const outs = await Promise.all(procs.map((p) => p.done));
    for (const o of outs) expect(o).toContain('done 1');
    expect(tenant.counters.refreshes - before).toBe(1);
    const row = await store.db.selectFrom('connections').select('credentials').where('id', '=', connectionId).executeTakeFirstOrThrow();
    const stored = box.openJson<{ refreshToken: string; accessTokenExpiresAt: string }>(row.credentials!);
    expect(stored.refreshToken).not.toBe(grant.refresh_token);
    expect(Date.parse(stored.accessTokenExpiresAt)).toBeGreaterThan(Date.now());
  });
});
