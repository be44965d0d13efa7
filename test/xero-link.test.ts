/**
 * Issue 13 items 2 and 4, end to end over real sockets: the Xero connector (`gbol`) configured with an OAuth app that
 * the simulator knows (`--oauth-client`), the Link flow driven the way a browser drives it — Syncline's pages through
 * the API, the simulator's consent page over HTTP (GET the page, POST the form) — then pulls, token refreshes,
 * keep-alive and deletion, on both databases. One manual clock is shared by Syncline and the simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/stores.js';
import { BASE_URL, createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { XeroConnector } from '../src/connectors/xero/index.js';
import { XeroLinker } from '../src/connectors/xero/link.js';
import { DEFAULT_XERO_SCOPES } from '../src/cli/config.js';

const DAY = 86_400_000;
const CLIENT = { clientId: 'syncline-test-app', clientSecret: 'test-app-secret-0123456789' };
const PUBLIC_CLIENT = 'syncline-public-app';
const CALLBACK = `${BASE_URL}/link/oauth/gbol/callback`;

describe.each(DIALECTS)('Xero Link flow against the simulator [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<XeroConnector>;
  let orgs: { a: string; b: string; c: string };
  const linkers: Record<string, XeroLinker> = {};
  let useLinker = 'confidential';

  beforeAll(async () => {
    t = await createTestApp(dialect, { xero: true });
    sim = await startSimulator({
      port: 0,
      clock: t.clock,
      rateLimit: { perMinute: 100_000, concurrent: 5 },
      defaultTenantSize: 25,
      oauthClients: [CLIENT, { clientId: PUBLIC_CLIENT }],
    });
    orgs = {
      a: sim.createTenant({ seed: 'org-a', name: 'Alpha Traders' }).id,
      b: sim.createTenant({ seed: 'org-b', name: 'Beta Wholesale' }).id,
      c: sim.createTenant({ seed: 'org-c', name: 'Gamma Services' }).id,
    };
    const common = { apiUrl: sim.url, tokenUrl: `${sim.url}/connect/token`, clock: t.clock, retryBaseMs: 1, sleep: async (ms: number) => void t.clock.advance(ms) };
    const connector = new XeroConnector({ ...common, ...CLIENT });
    engine = startEngine(t, {}, connector);
    const linkerOf = (c: XeroConnector, clientId: string, scopes: readonly string[]) =>
      new XeroLinker({ connector: c, clientId, authorizeUrl: `${sim.url}/identity/connect/authorize`, scopes, apiUrl: sim.url });
    linkers.confidential = linkerOf(connector, CLIENT.clientId, DEFAULT_XERO_SCOPES);
    linkers.public = linkerOf(new XeroConnector({ ...common, clientId: PUBLIC_CLIENT }), PUBLIC_CLIENT, DEFAULT_XERO_SCOPES);
    linkers.offline = linkerOf(connector, CLIENT.clientId, DEFAULT_XERO_SCOPES.filter((s) => s !== 'offline_access'));
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'gbol' ? linkers[useLinker] : undefined);
    // connection.failed is stored in the outbox only when someone subscribes to it.
    expect((await t.call('POST', '/webhooks', { url: 'https://hooks.example.com/syncline', eventTypes: ['connection.failed'] })).statusCode).toBeLessThan(300);
  });
  afterAll(async () => {
    await engine.stop();
    await sim.close();
    await t.close();
  });

  const app = (method: 'GET' | 'POST', url: string, form?: Record<string, string>) =>
    t.app.inject({
      method,
      url: url.startsWith(BASE_URL) ? url.slice(BASE_URL.length) : url,
      ...(form ? { payload: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    });

  async function newConnection(name = 'Xero Co'): Promise<{ companyId: string; id: string; linkUrl: string }> {
    const companyId = (await t.call('POST', '/companies', { name })).json().id;
    const c = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'gbol' })).json();
    return { companyId, id: c.id, linkUrl: c.linkUrl };
  }

  /** Opens the linkUrl: Syncline answers 302 to Xero's (the simulator's) authorize URL. */
  async function start(linkUrl: string): Promise<URL> {
    const res = await app('GET', linkUrl);
    expect(res.statusCode, res.body).toBe(302);
    return new URL(String(res.headers.location));
  }

  /** The user on the consent page: ticks organisations, allows (or cancels). Returns where the browser goes next. */
  async function consent(authorizeUrl: URL, tenants: string[], decision: 'allow' | 'deny' = 'allow'): Promise<string> {
    const page = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const id of Object.values(orgs)) expect(html).toContain(`value="${id}"`);
    const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const form = new URLSearchParams({ request, decision });
    for (const tn of tenants) form.append('tenant', tn);
    const res = await fetch(`${sim.url}/identity/connect/authorize`, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(302);
    return res.headers.get('location')!;
  }

  const connection = async (companyId: string, id: string) => (await t.call('GET', `/companies/${companyId}/connections/${id}`)).json();
  const credentials = async (id: string) => {
    const row = await t.store.db.selectFrom('connections').select('credentials').where('id', '=', id).executeTakeFirstOrThrow();
    return row.credentials ? t.ctx.secretBox.openJson<Record<string, string>>(row.credentials) : undefined;
  };
  const failedEvents = async (id: string) =>
    (await t.store.db.selectFrom('webhook_events').select('event_type').where('connection_id', '=', id).where('event_type', '=', 'connection.failed').execute()).length;
  /** The tenants this grant (its auth event) still reaches, as Xero's /connections lists them. */
  const grantTenants = async (accessToken: string) => {
    const authEventId = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')).authentication_event_id;
    const res = await fetch(`${sim.url}/connections?authEventId=${authEventId}`, { headers: { authorization: `Bearer ${accessToken}` } });
    return ((await res.json()) as { tenantId: string }[]).map((c) => c.tenantId).sort();
  };

  async function expectFailure(res: { statusCode: number; body: string; headers: Record<string, unknown> }, c: { companyId: string; id: string }, status: number, text: RegExp, before = 0) {
    expect(res.statusCode, res.body).toBe(status);
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
    expect(res.body).toMatch(text);
    const got = await connection(c.companyId, c.id);
    expect(got.status).toBe('PendingAuth');
    expect(await failedEvents(c.id)).toBe(before + 1);
    return got;
  }

  it('one organisation: consent → callback → Linked to it, tokens sealed, first read queued, back to the redirectUrl', async () => {
    const c = await newConnection('One Org Co');
    const authorize = await start(c.linkUrl);
    expect(authorize.origin + authorize.pathname).toBe(`${sim.url}/identity/connect/authorize`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({ response_type: 'code', client_id: CLIENT.clientId, redirect_uri: CALLBACK, scope: DEFAULT_XERO_SCOPES.join(' ') });
    expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.has('code_challenge')).toBe(false); // confidential client: no PKCE
    const callback = await consent(authorize, [orgs.a]);
    expect(callback.startsWith(`${CALLBACK}?`)).toBe(true);
    const done = await app('GET', callback);
    expect(done.statusCode, done.body).toBe(302);
    expect(done.headers.location).toBe(`${BASE_URL}/link/complete?companyId=${c.companyId}&connectionId=${c.id}`);
    const got = await connection(c.companyId, c.id);
    expect(got.status).toBe('Linked');
    expect(got.connectionInfo).toMatchObject({ tenantId: orgs.a, tenantName: 'Alpha Traders' });
    const creds = (await credentials(c.id))!;
    expect(creds.tenantId).toBe(orgs.a);
    expect(creds.refreshToken).toBeTruthy();
    expect(JSON.stringify(got)).not.toContain(creds.refreshToken);
    await engine.pool.drain(60_000);
    const invoices = await t.call('GET', `/companies/${c.companyId}/data/invoices?pageSize=1`);
    expect(invoices.statusCode).toBe(200);
    expect(invoices.json().totalResults).toBe(25);
    // The state was consumed: the same callback again is refused, the connection stays Linked.
    const replay = await app('GET', callback);
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('already used');
    expect((await connection(c.companyId, c.id)).status).toBe('Linked');
  });

  it('cashFlowStatement is NotSupported for Xero: decided at queue time, never fetched, its read answers 404', async () => {
    const c = await newConnection('Cash Flow Co');
    expect((await app('GET', await consent(await start(c.linkUrl), [orgs.a]))).statusCode).toBe(302);
    expect((await connection(c.companyId, c.id)).status).toBe('Linked');
    await engine.pool.drain(60_000);
    const reportCalls = async () => ((await (await fetch(`${sim.url}/admin/tenants/${orgs.a}/counters`)).json()) as { byEndpoint: Record<string, number> }).byEndpoint['GET /Reports/CashFlow'] ?? 0;
    const before = await reportCalls();
    const queued = await t.call('POST', `/companies/${c.companyId}/data/queue/cashFlowStatement`);
    expect(queued.statusCode, queued.body).toBe(200);
    expect(queued.json()).toMatchObject({ dataType: 'cashFlowStatement', status: 'NotSupported', isCompleted: true });
    await engine.pool.drain(60_000);
    expect(await reportCalls()).toBe(before);
    const read = await t.call('GET', `/companies/${c.companyId}/data/financials/cashFlowStatement?periodLength=1&periodsToCompare=1`);
    expect(read.statusCode, read.body).toBe(404);
    expect((read.json() as { error: string }).error).toMatch(/cashFlowStatement not supported by platform\(s\) Xero/);
  });

  it('several organisations: a chooser page; the ones not chosen are disconnected', async () => {
    const c = await newConnection('Several Orgs Co');
    const callback = await consent(await start(c.linkUrl), [orgs.a, orgs.b, orgs.c]);
    const chooser = await app('GET', callback);
    expect(chooser.statusCode).toBe(200);
    expect(chooser.body).toContain('Choose an organisation');
    for (const name of ['Alpha Traders', 'Beta Wholesale', 'Gamma Services']) expect(chooser.body).toContain(name);
    expect((await connection(c.companyId, c.id)).status).toBe('PendingAuth');
    const token = /name="token" value="([^"]+)"/.exec(chooser.body)![1]!;
    const action = /action="([^"]+)"/.exec(chooser.body)![1]!;
    const done = await app('POST', action, { token, tenantId: orgs.b });
    expect(done.statusCode, done.body).toBe(302);
    const got = await connection(c.companyId, c.id);
    expect(got.status).toBe('Linked');
    expect(got.connectionInfo.tenantId).toBe(orgs.b);
    expect(await grantTenants((await credentials(c.id))!.accessToken!)).toEqual([orgs.b]);
    // The choice is single-use.
    const again = await app('POST', action, { token, tenantId: orgs.a });
    expect(again.statusCode).toBe(400);
    expect((await connection(c.companyId, c.id)).connectionInfo.tenantId).toBe(orgs.b);
  });

  it('no organisation ticked: an explanatory page, still PendingAuth, connection.failed recorded', async () => {
    const c = await newConnection('Zero Orgs Co');
    const res = await app('GET', await consent(await start(c.linkUrl), []));
    const got = await expectFailure(res, c, 400, /No organisation was authorised/);
    expect(got.dataConnectionErrors[0].errorMessage).toMatch(/no_organisation/);
  });

  it('bad, replayed and expired state', async () => {
    const c = await newConnection('State Co');
    const bad = await app('GET', `${CALLBACK}?code=whatever&state=not-a-state`);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('not valid');
    const none = await app('GET', `${CALLBACK}?code=whatever`);
    expect(none.statusCode).toBe(400);
    // expired: the user took 11 minutes on the consent page
    const authorize = await start(c.linkUrl);
    t.clock.advance(11 * 60_000);
    const callback = await consent(authorize, [orgs.c]);
    await expectFailure(await app('GET', callback), c, 400, /expired/);
    // replayed: consumed by the first (expired) attempt
    await expectFailure(await app('GET', callback), c, 400, /already used/, 1);
    // and a fresh attempt still works
    expect((await app('GET', await consent(await start(c.linkUrl), [orgs.c]))).statusCode).toBe(302);
    expect((await connection(c.companyId, c.id)).status).toBe('Linked');
  });

  it('denied consent: access_denied page, still PendingAuth', async () => {
    const c = await newConnection('Denied Co');
    const callback = await consent(await start(c.linkUrl), [orgs.a], 'deny');
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const got = await expectFailure(await app('GET', callback), c, 400, /Access was not granted/);
    expect(got.dataConnectionErrors[0].errorMessage).toMatch(/access_denied/);
  });

  it('a reused authorization code is refused by the platform: clear page, still PendingAuth', async () => {
    const first = await newConnection('Code Co 1');
    const used = await consent(await start(first.linkUrl), [orgs.a]);
    expect((await app('GET', used)).statusCode).toBe(302);
    const code = new URL(used).searchParams.get('code')!;
    const second = await newConnection('Code Co 2');
    const state = (await start(second.linkUrl)).searchParams.get('state')!;
    const res = await app('GET', `${CALLBACK}?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`);
    const got = await expectFailure(res, second, 400, /could not be completed/);
    expect(got.dataConnectionErrors[0].errorMessage).toMatch(/invalid_grant/);
  });

  it('without offline_access there is no refresh token: refused, still PendingAuth', async () => {
    useLinker = 'offline';
    try {
      const c = await newConnection('No Offline Co');
      const authorize = await start(c.linkUrl);
      expect(authorize.searchParams.get('scope')).not.toContain('offline_access');
      await expectFailure(await app('GET', await consent(authorize, [orgs.a])), c, 400, /Offline access was not granted/);
    } finally {
      useLinker = 'confidential';
    }
  });

  it('a public client (no secret) links with PKCE S256', async () => {
    useLinker = 'public';
    try {
      const c = await newConnection('PKCE Co');
      const authorize = await start(c.linkUrl);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await app('GET', await consent(authorize, [orgs.c]))).statusCode).toBe(302);
      expect((await connection(c.companyId, c.id)).status).toBe('Linked');
    } finally {
      useLinker = 'confidential';
    }
  });

  it('re-authorising a Deauthorized connection binds the same organisation; another one is refused', async () => {
    const c = await newConnection('Relink Co');
    expect((await app('GET', await consent(await start(c.linkUrl), [orgs.a]))).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    // The user revokes access at Xero: the next pull ends AuthError and the connection Deauthorized.
    const creds = (await credentials(c.id))!;
    await fetch(`${sim.url}/connect/revocation`, { method: 'POST', body: new URLSearchParams({ token: creds.refreshToken! }) });
    await fetch(`${sim.url}/admin/tenants/${orgs.a}/expire-access-tokens`, { method: 'POST' });
    await t.store.db.updateTable('connections').set({ credentials: t.ctx.secretBox.sealJson({ ...creds, accessTokenExpiresAt: new Date(0).toISOString() }) }).where('id', '=', c.id).execute();
    const op = (await t.call('POST', `/companies/${c.companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(60_000);
    expect((await t.call('GET', `/companies/${c.companyId}/data/history/${op.id}`)).json().status).toBe('AuthError');
    const deauth = await connection(c.companyId, c.id);
    expect(deauth.status).toBe('Deauthorized');
    expect(deauth.dataConnectionErrors[0].errorMessage).toMatch(/invalid_grant/);
    // Another organisation: refused with a page, still Deauthorized, bound tenant unchanged.
    const wrong = await app('GET', await consent(await start(c.linkUrl), [orgs.b]));
    expect(wrong.statusCode).toBe(409);
    expect(wrong.body).toContain('different organisation');
    expect((await connection(c.companyId, c.id)).status).toBe('Deauthorized');
    expect((await credentials(c.id))!.tenantId).toBe(orgs.a);
    // The same one (with another ticked too): re-linked to it at once, the other disconnected.
    const ok = await app('GET', await consent(await start(c.linkUrl), [orgs.a, orgs.b]));
    expect(ok.statusCode, ok.body).toBe(302);
    const relinked = await connection(c.companyId, c.id);
    expect(relinked.status).toBe('Linked');
    expect(relinked.connectionInfo.tenantId).toBe(orgs.a);
    expect(await grantTenants((await credentials(c.id))!.accessToken!)).toEqual([orgs.a]);
  });

  it('a lost token response is retried with the old refresh token (grace period) and the pull completes', async () => {
    const c = await newConnection('Lost Response Co');
    expect((await app('GET', await consent(await start(c.linkUrl), [orgs.b]))).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    const before = (await credentials(c.id))!;
    await t.store.db.updateTable('connections').set({ credentials: t.ctx.secretBox.sealJson({ ...before, accessTokenExpiresAt: new Date(0).toISOString() }) }).where('id', '=', c.id).execute();
    const refreshes = async () => ((await (await fetch(`${sim.url}/admin/tenants/${orgs.b}/counters`)).json()) as { refreshes: number }).refreshes;
    const n = await refreshes();
    const fault = await fetch(`${sim.url}/admin/identity/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dropTokenResponses: 1 }) });
    expect(fault.status).toBe(200);
    const op = (await t.call('POST', `/companies/${c.companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(60_000);
    expect((await t.call('GET', `/companies/${c.companyId}/data/history/${op.id}`)).json().status).toBe('Complete');
    // Two rotations of the same refresh token: the lost one and its retry inside the grace period.
    expect(await refreshes()).toBe(n + 2);
    const after = (await credentials(c.id))!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect((await connection(c.companyId, c.id)).status).toBe('Linked');
  });

  it('keep-alive off: 61 idle days → Deauthorized; on: a simulated year stays Linked', async () => {
    const idle = await newConnection('Idle Co');
    const kept = await newConnection('Kept Co');
    expect((await app('GET', await consent(await start(idle.linkUrl), [orgs.c]))).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    // keep-alive off for 61 days, then a pull
    t.clock.advance(61 * DAY);
    const op = (await t.call('POST', `/companies/${idle.companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(60_000);
    expect((await t.call('GET', `/companies/${idle.companyId}/data/history/${op.id}`)).json().status).toBe('AuthError');
    expect((await connection(idle.companyId, idle.id)).status).toBe('Deauthorized');
    // keep-alive on: a year of days, one keep-alive pass a day
    expect((await app('GET', await consent(await start(kept.linkUrl), [orgs.b]))).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    for (let day = 1; day <= 365; day++) {
      t.clock.advance(DAY);
      await engine.keepAlive({ idleDays: 30 });
    }
    const got = await connection(kept.companyId, kept.id);
    expect(got.status).toBe('Linked');
    expect(got.lastKeepAlive).toBeDefined();
    const op2 = (await t.call('POST', `/companies/${kept.companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(60_000);
    expect((await t.call('GET', `/companies/${kept.companyId}/data/history/${op2.id}`)).json().status).toBe('Complete');
  });

  it('deleting a connection disconnects its tenant and revokes the token', async () => {
    const c = await newConnection('Delete Co');
    expect((await app('GET', await consent(await start(c.linkUrl), [orgs.c]))).statusCode).toBe(302);
    const creds = (await credentials(c.id))!;
    expect(await grantTenants(creds.accessToken!)).toContain(orgs.c);
    expect((await t.call('DELETE', `/companies/${c.companyId}/connections/${c.id}`)).statusCode).toBe(200);
    // best effort after the response: poll for its effect
    let status = 0;
    for (let i = 0; i < 100 && status !== 400; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const auth = Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64');
      status = (await fetch(`${sim.url}/connect/token`, { method: 'POST', headers: { authorization: `Basic ${auth}` }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.refreshToken! }) })).status;
    }
    expect(status).toBe(400);
  });
});
