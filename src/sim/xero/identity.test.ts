import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { startSimulator, type Simulator } from '../server.js';
import { simOptionsFromCli } from '../cli.js';

/** Xero's identity side of the simulator, driven over HTTP as an OAuth client and a browser would. */
describe('simulator: Xero OAuth (consent page, codes, tokens, connections, scopes)', () => {
  const clock = new ManualClock('2026-05-01T10:00:00.000Z');
  let sim: Simulator;
  let orgA: string;
  let orgB: string;
  const APP = { clientId: 'app-1', clientSecret: 'secret-1' };
  const PUBLIC = 'public-1';
  const REDIRECT = 'https://client.example/callback';

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, clock, defaultTenantSize: 10, oauthClients: [APP, { clientId: PUBLIC }] });
    orgA = sim.createTenant({ seed: 'id-a', name: 'Org A' }).id;
    orgB = sim.createTenant({ seed: 'id-b', name: 'Org B' }).id;
  });
  afterAll(async () => sim.close());

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const authorizeUrl = (q: Record<string, string>) => `${sim.url}/identity/connect/authorize?${new URLSearchParams(q)}`;
  const token = (form: Record<string, string>, auth?: string) =>
    fetch(`${sim.url}/connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) }, body: new URLSearchParams(form) });

  /** GET the consent page, tick `tenants`, POST it: the redirect back to the client. */
  async function consent(q: Record<string, string>, tenants: string[], decision = 'allow'): Promise<URL> {
    const page = await fetch(authorizeUrl(q), { redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Org A');
    const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const form = new URLSearchParams({ request, decision });
    for (const t of tenants) form.append('tenant', t);
    const res = await fetch(`${sim.url}/identity/connect/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }
  const base = (scope = 'offline_access accounting.settings.read accounting.invoices.read') => ({ response_type: 'code', client_id: APP.clientId, redirect_uri: REDIRECT, scope, state: 'st-1' });
  const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));

  it('code flow: consent → single-use code → JWT access token with the auth event, /connections filtered by it', async () => {
    const back = await consent(base(), [orgA, orgB]);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('st-1');
    const code = back.searchParams.get('code')!;
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, basic(APP.clientId, APP.clientSecret));
    expect(res.status).toBe(200);
    const set = (await res.json()) as any;
    expect(set).toMatchObject({ token_type: 'Bearer', expires_in: 1800, scope: 'offline_access accounting.settings.read accounting.invoices.read' });
    expect(set.refresh_token).toBeTruthy();
    const c = claims(set.access_token);
    expect(c).toMatchObject({ client_id: APP.clientId, scope: ['offline_access', 'accounting.settings.read', 'accounting.invoices.read'] });
    expect(c.authentication_event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(c.xero_userid).toMatch(/^[0-9a-f-]{36}$/);
    const list = (await (await fetch(`${sim.url}/connections?authEventId=${c.authentication_event_id}`, { headers: { authorization: `Bearer ${set.access_token}` } })).json()) as any[];
    expect(list.map((x) => [x.tenantId, x.tenantType, x.authEventId]).sort()).toEqual([[orgA, 'ORGANISATION', c.authentication_event_id], [orgB, 'ORGANISATION', c.authentication_event_id]].sort());
    expect(await (await fetch(`${sim.url}/connections?authEventId=00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${set.access_token}` } })).json()).toEqual([]);
    // Reused code → invalid_grant
    const again = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, basic(APP.clientId, APP.clientSecret));
    expect(again.status).toBe(400);
    expect(((await again.json()) as any).error).toBe('invalid_grant');
    // DELETE /connections/{id} disconnects one tenant: its API calls answer 403 afterwards
    const b = list.find((x) => x.tenantId === orgB)!;
    expect((await fetch(`${sim.url}/connections/${b.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${set.access_token}` } })).status).toBe(204);
    const api = (tenant: string) => fetch(`${sim.url}/api.xro/2.0/Organisation`, { headers: { authorization: `Bearer ${set.access_token}`, 'xero-tenant-id': tenant, accept: 'application/json' } });
    expect((await api(orgA)).status).toBe(200);
    expect((await api(orgB)).status).toBe(403);
    // A scope it was not granted: 403
    const forbidden = await fetch(`${sim.url}/api.xro/2.0/Contacts`, { headers: { authorization: `Bearer ${set.access_token}`, 'xero-tenant-id': orgA } });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as any).Title).toBe('Forbidden');
  });

  it('codes: checked against redirect_uri and client secret, expire after 5 minutes; denied consent → access_denied', async () => {
    const code1 = (await consent(base(), [orgA])).searchParams.get('code')!;
    expect((await token({ grant_type: 'authorization_code', code: code1, redirect_uri: 'https://client.example/other' }, basic(APP.clientId, APP.clientSecret))).status).toBe(400);
    const code2 = (await consent(base(), [orgA])).searchParams.get('code')!;
    expect((await token({ grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT }, basic(APP.clientId, 'wrong'))).status).toBe(401);
    const code3 = (await consent(base(), [orgA])).searchParams.get('code')!;
    clock.advance(5 * 60_000 + 1000);
    const late = await token({ grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT }, basic(APP.clientId, APP.clientSecret));
    expect(late.status).toBe(400);
    expect(((await late.json()) as any).error_description).toMatch(/expired/);
    const denied = await consent(base(), [orgA], 'deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe('st-1');
    // The redirect URI is fixed by the first use: another one is an error page, never a redirect
    const other = await fetch(authorizeUrl({ ...base(), redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' });
    expect(other.status).toBe(400);
    const unknown = await fetch(authorizeUrl({ ...base(), client_id: 'nobody' }), { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    const badScope = await fetch(authorizeUrl(base('offline_access accounting.everything')), { redirect: 'manual' });
    expect(new URL(badScope.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });

  it('without offline_access there is no refresh token', async () => {
    const code = (await consent(base('accounting.settings.read'), [orgA])).searchParams.get('code')!;
    const set = (await (await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, basic(APP.clientId, APP.clientSecret))).json()) as any;
    expect(set.access_token).toBeTruthy();
    expect(set.refresh_token).toBeUndefined();
  });

  it('PKCE for a public client: S256 verifier checked', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const q = { ...base(), client_id: PUBLIC, redirect_uri: 'http://127.0.0.1:9/cb', code_challenge: challenge, code_challenge_method: 'S256' };
    // no challenge at all → refused
    const noPkce = await fetch(authorizeUrl({ ...base(), client_id: PUBLIC, redirect_uri: 'http://127.0.0.1:9/cb' }), { redirect: 'manual' });
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const wrong = (await consent(q, [orgA])).searchParams.get('code')!;
    expect((await token({ grant_type: 'authorization_code', code: wrong, redirect_uri: q.redirect_uri, client_id: PUBLIC, code_verifier: 'x'.repeat(43) })).status).toBe(400);
    const right = (await consent(q, [orgA])).searchParams.get('code')!;
    const ok = await token({ grant_type: 'authorization_code', code: right, redirect_uri: q.redirect_uri, client_id: PUBLIC, code_verifier: verifier });
    expect(ok.status).toBe(200);
  });

  it('refresh: rotation, 30-minute grace for the previous token, 60 idle days → invalid_grant, another client refused', async () => {
    const code = (await consent(base(), [orgA])).searchParams.get('code')!;
    const auth = basic(APP.clientId, APP.clientSecret);
    const first = (await (await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, auth)).json()) as any;
    const r1 = (await (await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth)).json()) as any;
    expect(r1.refresh_token).not.toBe(first.refresh_token);
    // the used one still works inside the grace period…
    clock.advance(20 * 60_000);
    expect((await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth)).status).toBe(200);
    // …not after it
    clock.advance(11 * 60_000);
    expect((await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth)).status).toBe(400);
    // the refresh token belongs to its app
    expect((await token({ grant_type: 'refresh_token', refresh_token: r1.refresh_token }, `Basic ${Buffer.from('public-1:').toString('base64')}`)).status).toBe(400);
    clock.advance(61 * 86_400_000);
    const lapsed = await token({ grant_type: 'refresh_token', refresh_token: r1.refresh_token }, auth);
    expect(lapsed.status).toBe(400);
    expect(await lapsed.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('--oauth-client ID:SECRET is repeatable; ID alone is a public client', () => {
    const o = simOptionsFromCli({ oauthClient: ['a:b', 'c:d:e', 'pub'] });
    expect(o.oauthClients).toEqual([{ clientId: 'a', clientSecret: 'b' }, { clientId: 'c', clientSecret: 'd:e' }, { clientId: 'pub' }]);
    expect(() => simOptionsFromCli({ oauthClient: [':x'] })).toThrow(/oauth-client/);
  });
});
