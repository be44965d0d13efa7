import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from './support/stores.js';
import { basic, cli, stop, waitForOutput, type CliProcess } from './support/cli.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { QBO_READ_TYPES } from '../src/connectors/qbo/qbo-connector.js';

/**
 * QuickBooks' 24-hour refresh-token rotation across two worker processes sharing one PostgreSQL: after the refresh
 * token turned 24 h old and every access token was refused, two processes pulling the same connection make exactly
 * ONE token call between them (the connection row lock serialises refreshes; the second finds the new token stored).
 */
describe('QuickBooks token rotation across processes', () => {
  const children: CliProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let sim: Simulator | undefined;
  afterAll(async () => {
    for (const c of children) await stop(c);
    await sim?.close();
    for (const f of cleanups) await f();
  });

  it('two worker processes rotate the refresh token with one token call and both go on', async () => {
    const client = { id: 'mp-qbo-client', secret: 'mp-qbo-secret' };
    sim = await startSimulator({ qbo: { clients: [client] } });
    const realm = sim.qbo.createRealm({ seed: 'qbo-multiprocess', size: 30, name: 'Two Workers Inc' });
    const db = await createTestDatabase('postgres');
    cleanups.push(db.drop);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-qbo-mp-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const apiKey = 'QboMultiProcessKey0123456789abcdefghijklm';
    const env = {
      DATABASE_URL: db.location,
      SYNCLINE_API_KEY: apiKey,
      SYNCLINE_SECRET_KEY: 'shared-secret-key-for-both-processes',
      SYNCLINE_DATA_DIR: dataDir,
      SYNCLINE_SANDBOX_URL: sim.url,
      SYNCLINE_QBO_CLIENT_ID: client.id,
      SYNCLINE_QBO_CLIENT_SECRET: client.secret,
      SYNCLINE_QBO_AUTHORIZE_URL: `${sim.url}/connect/oauth2`,
      SYNCLINE_QBO_TOKEN_URL: `${sim.url}/oauth2/v1/tokens/bearer`,
      SYNCLINE_QBO_API_URL: sim.url,
      SYNCLINE_WORKER_CONCURRENCY: '4',
    };
    // One after the other, with a generous start-up deadline: two tsx processes compiling at once on a busy machine.
    const serve = async () => {
      const child = cli(['serve'], { PORT: '0', LOG_LEVEL: 'info', ...env });
      children.push(child);
      const m = await waitForOutput(child, /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"syncline listening"/, 150_000);
      return { child, url: m[1]! };
    };
    const a = await serve();
    const b = await serve();
    void b;
    const h = { ...basic(apiKey), 'content-type': 'application/json' };
    const post = (p: string, body?: unknown) => fetch(a.url + p, { method: 'POST', headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const get = async (p: string) => (await fetch(a.url + p, { headers: h })).json() as Promise<any>;

    const company = (await (await post('/companies', { name: 'Two Workers' })).json()) as any;
    const conn = (await (await post(`/companies/${company.id}/connections`, { platformKey: 'qhyg' })).json()) as any;
    // linkUrl → start → Intuit consent (the simulator's) → callback on process A.
    let url = conn.linkUrl as string;
    let res = await fetch(url, { redirect: 'manual' });
    while (res.status === 302 && !res.headers.get('location')!.startsWith(`${sim.url}/connect/oauth2`)) {
      url = new URL(res.headers.get('location')!, url).toString();
      res = await fetch(url, { redirect: 'manual' });
    }
    const authorize = new URL(res.headers.get('location')!);
    const p = authorize.searchParams;
    const consent = await fetch(`${sim.url}/connect/oauth2`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: p.get('client_id')!, redirect_uri: p.get('redirect_uri')!, state: p.get('state')!, scope: p.get('scope')!, realmId: realm.realmId, decision: 'allow' }).toString(),
    });
    const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual' });
    expect(callback.status).toBe(302);

    const settled = async () => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const history = (await get(`/companies/${company.id}/data/history?pageSize=100`)).results as any[];
        if (history.length && history.every((d) => ['Complete', 'NotSupported', 'AuthError', 'FetchError', 'MapError', 'RateLimitError', 'InternalError'].includes(d.status))) return history;
        if (Date.now() > deadline) throw new Error(`pulls did not finish: ${JSON.stringify(history.map((d) => [d.dataType, d.status]))}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const first = await settled();
    // Every type the QuickBooks connector reads is read on the first link and completes.
    expect(first.filter((d) => d.status === 'Complete')).toHaveLength(QBO_READ_TYPES.length);
    const before = (await get(`/companies/${company.id}/connections/${conn.id}`)).connectionInfo;
    expect(before.realmId).toBe(realm.realmId);

    // 25 hours on at Intuit: the refresh token is due for rotation, and every access token is refused (Fault 3200).
    realm.tenant.advance(25 * 3600_000);
    sim.qbo.auth.expireAccess(realm.realmId);
    realm.counters.tokenRequests = 0;
    realm.counters.refreshes = 0;
    expect((await post(`/companies/${company.id}/data/all`)).status).toBe(204);
    const second = await settled();
    const rerun = second.filter((d) => !first.some((f) => f.id === d.id));
    expect(rerun.length).toBeGreaterThanOrEqual(QBO_READ_TYPES.length);
    expect(rerun.filter((d) => d.status === 'Complete')).toHaveLength(QBO_READ_TYPES.length);
    expect(realm.counters.tokenRequests).toBe(1);
    expect(realm.counters.refreshes).toBe(1);
    const after = await get(`/companies/${company.id}/connections/${conn.id}`);
    expect(after.status).toBe('Linked');
  }, 400_000);
});
