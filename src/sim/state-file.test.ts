import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { startSimulator, type Simulator } from './server.js';
import { simOptionsFromCli } from './cli.js';

/**
 * `syncline sim --data FILE`: tenants (with their edits, clock, limits, report titles), grants and tokens survive a
 * restart of the simulator; tokens are kept only as hashes.
 */
describe('simulator state file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sim-state-'));
  const file = path.join(dir, 'nested', 'state.json');
  const clock = new ManualClock('2026-04-01T09:00:00Z');
  const APP = { clientId: 'state-app', clientSecret: 'state-secret' };
  const REDIRECT = 'https://client.example/cb';
  const sims: Simulator[] = [];
  afterAll(async () => {
    for (const s of sims) await s.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async () => {
    const sim = await startSimulator({ clock, stateFile: file, oauthClients: [APP], rateLimit: { perMinute: 100_000 } });
    sims.push(sim);
    return sim;
  };
  const admin = async (sim: Simulator, method: string, p: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/admin${p}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return (await res.json().catch(() => undefined)) as any;
  };
  const api = async (sim: Simulator, token: string, tenantId: string, p: string) => {
    const res = await fetch(`${sim.url}/api.xro/2.0${p}`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const token = (sim: Simulator, form: Record<string, string>) =>
    fetch(`${sim.url}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${APP.clientId}:${APP.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams(form),
    });

  it('a restart keeps tenants, their edits and clocks, grants and tokens; tokens are stored hashed', async () => {
    expect(simOptionsFromCli({ data: 'x/state.json' }).stateFile).toBe(path.resolve('x/state.json'));
    const a = await start();
    // A tenant linked through the Sandbox stand-in, and one through the OAuth code flow of an app.
    const linked = (await (await fetch(`${a.url}/connect/sandbox/authorize`, { method: 'POST', body: JSON.stringify({ seed: 'state-1', size: 60 }) })).json()) as any;
    const org = a.createTenant({ seed: 'state-2', size: 30, name: 'Org Two' });
    const page = await (await fetch(`${a.url}/identity/connect/authorize?${new URLSearchParams({ response_type: 'code', client_id: APP.clientId, redirect_uri: REDIRECT, scope: 'offline_access accounting.invoices.read accounting.settings.read', state: 's' })}`)).text();
    const form = new URLSearchParams({ request: /name="request" value="([^"]+)"/.exec(page)![1]!, decision: 'allow', tenant: org.id });
    const back = new URL((await fetch(`${a.url}/identity/connect/authorize`, { method: 'POST', body: form, redirect: 'manual' })).headers.get('location')!);
    const oauth = (await (await token(a, { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT })).json()) as any;
    expect(oauth.refresh_token).toBeTruthy();
    // Changes: an edit, a created invoice, a hard delete, generated activity (which moves the tenant clock), titles, limits.
    const tid = linked.tenantId as string;
    const inv = (await admin(a, 'GET', `/tenants/${tid}/records/invoices?limit=3`)).ids as string[];
    await admin(a, 'POST', `/tenants/${tid}/records/invoices/${inv[0]}/edit`, { patch: { reference: 'kept across restarts' } });
    const created = await admin(a, 'POST', `/tenants/${tid}/records/invoices`, { unitAmount: 2.5, quantity: 4 });
    await admin(a, 'POST', `/tenants/${tid}/records/items/${(await admin(a, 'GET', `/tenants/${tid}/records/items?limit=1`)).ids[0]}/hard-delete`);
    await admin(a, 'POST', `/tenants/${tid}/activity`, { events: 25, advanceDays: 2 });
    await admin(a, 'PUT', `/tenants/${tid}/report-titles`, { income: 'Umsatzerlöse' });
    await admin(a, 'PUT', `/tenants/${tid}/rate-limit`, { perMinute: 99_999 });
    const listing = async (sim: Simulator, access: string) => ({
      invoices: (await api(sim, access, tid, '/Invoices?page=1&pageSize=1000')).body.Invoices,
      items: (await api(sim, access, tid, '/Items')).body.Items,
      pnl: (await api(sim, access, tid, '/Reports/ProfitAndLoss')).body.Reports[0].Rows,
      org: (await api(sim, access, tid, '/Organisation')).body.Organisations,
    });
    // Activity moved the tenant's clock two days on: the first access token has lapsed; a fresh grant reads.
    expect((await api(a, linked.access_token, tid, '/Organisation')).status).toBe(401);
    const fresh = await admin(a, 'POST', `/tenants/${tid}/grant`);
    const before = await listing(a, fresh.access_token);
    const infoBefore = await admin(a, 'GET', `/tenants/${tid}`);
    await a.close();

    const saved = readFileSync(file, 'utf8');
    for (const secret of [linked.access_token, linked.refresh_token, fresh.access_token, fresh.refresh_token, oauth.access_token, oauth.refresh_token]) expect(saved).not.toContain(secret);

    const b = await start();
    expect(b.url).not.toBe(a.url);
    const infoAfter = await admin(b, 'GET', `/tenants/${tid}`);
    expect({ ...infoAfter, faults: undefined }).toEqual({ ...infoBefore, faults: undefined });
    // The access token issued before the restart still reads, and sees exactly what it saw.
    const after = await listing(b, fresh.access_token);
    expect(after).toEqual(before);
    expect(after.invoices.find((i: any) => i.InvoiceID === inv[0]).Reference).toBe('kept across restarts');
    expect(after.invoices.some((i: any) => i.InvoiceID === created.id)).toBe(true);
    expect(after.pnl.map((s: any) => s.Title)).toContain('Umsatzerlöse');
    // Refresh tokens rotate as before; the app's redirect URI stays fixed; /connections still lists the grant's tenant.
    const refreshed = await token(b, { grant_type: 'refresh_token', refresh_token: oauth.refresh_token });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as any;
    const conns = (await (await fetch(`${b.url}/connections`, { headers: { authorization: `Bearer ${next.access_token}` } })).json()) as any[];
    expect(conns.map((c) => c.tenantId)).toEqual([org.id]);
    const otherRedirect = await fetch(`${b.url}/identity/connect/authorize?${new URLSearchParams({ response_type: 'code', client_id: APP.clientId, redirect_uri: 'https://elsewhere.example/cb', scope: 'offline_access', state: 's' })}`);
    expect(otherRedirect.status).toBe(400);
    const sandboxRefresh = await fetch(`${b.url}/connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(linked.refresh_token)}` });
    expect(sandboxRefresh.status).toBe(200);
    // A deleted tenant stays deleted.
    expect((await fetch(`${b.url}/admin/tenants/${org.id}`, { method: 'DELETE' })).status).toBe(204);
    await b.close();
    const c = await start();
    expect(c.tenant(org.id)).toBeUndefined();
    expect(c.tenant(tid)).toBeDefined();
    await c.close();
  });

  it('a state file that cannot be read stops the start with a message naming it', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"version":1,"tenants":[');
    await expect(startSimulator({ stateFile: bad })).rejects.toThrow(/bad\.json is not valid JSON/);
    writeFileSync(bad, '{"version":7}');
    await expect(startSimulator({ stateFile: bad })).rejects.toThrow(/not a version-1 state file/);
  });
});
