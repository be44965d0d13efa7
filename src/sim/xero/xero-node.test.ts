import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XeroClient } from 'xero-node';
import { Issuer } from 'openid-client';
import { startSimulator, type Simulator } from '../server.js';

/**
 * Xero's official SDK completes a token exchange and a refresh against the simulator, unchanged. xero-node hard-codes
 * its OpenID discovery (https://identity.xero.com), so its own OAuth client (openid-client) is built on the simulator's
 * endpoints and handed to it; buildConsentUrl, apiCallback and refreshToken then run as the SDK ships them.
 */
describe('xero-node SDK against the simulator', () => {
  let sim: Simulator;
  const redirect = 'https://app.example/xero/callback';
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, defaultTenantSize: 5, oauthClients: [{ clientId: 'sdk-app', clientSecret: 'sdk-secret' }] });
    sim.createTenant({ seed: 'sdk-org', name: 'SDK Org' });
  });
  afterAll(async () => sim.close());

  it('consent URL → consent page → apiCallback exchanges the code → refreshToken rotates', async () => {
    const xero = new XeroClient({ clientId: 'sdk-app', clientSecret: 'sdk-secret', redirectUris: [redirect], scopes: ['offline_access', 'accounting.settings.read'], state: 'sdk-state' });
    const issuer = new Issuer({
      issuer: 'https://identity.xero.com',
      authorization_endpoint: `${sim.url}/identity/connect/authorize`,
      token_endpoint: `${sim.url}/connect/token`,
      revocation_endpoint: `${sim.url}/connect/revocation`,
    });
    (xero as unknown as { openIdClient: unknown }).openIdClient = new issuer.Client({ client_id: 'sdk-app', client_secret: 'sdk-secret', redirect_uris: [redirect] });

    const consentUrl = await xero.buildConsentUrl();
    expect(consentUrl.startsWith(`${sim.url}/identity/connect/authorize?`)).toBe(true);
    const page = await (await fetch(consentUrl)).text();
    const request = /name="request" value="([^"]+)"/.exec(page)![1]!;
    const tenantId = /name="tenant" value="([^"]+)"/.exec(page)![1]!;
    const back = await fetch(`${sim.url}/identity/connect/authorize`, { method: 'POST', body: new URLSearchParams({ request, decision: 'allow', tenant: tenantId }), redirect: 'manual' });
    const callbackUrl = back.headers.get('location')!;
    expect(callbackUrl.startsWith(`${redirect}?code=`)).toBe(true);

    const tokenSet = await xero.apiCallback(callbackUrl);
    expect(tokenSet.access_token).toBeTruthy();
    expect(tokenSet.refresh_token).toBeTruthy();
    expect(tokenSet.expires_in).toBe(1800);
    // The SDK's own reading of the JWT claims it relies on for tenants.
    const claims = JSON.parse(Buffer.from(tokenSet.access_token!.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims.authentication_event_id).toBeTruthy();
    const list = (await (await fetch(`${sim.url}/connections?authEventId=${claims.authentication_event_id}`, { headers: { authorization: `Bearer ${tokenSet.access_token}` } })).json()) as { tenantId: string }[];
    expect(list.map((c) => c.tenantId)).toEqual([tenantId]);

    const refreshed = await xero.refreshToken();
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokenSet.refresh_token);
    // A wrong state is refused by the SDK itself.
    const other = new XeroClient({ clientId: 'sdk-app', clientSecret: 'sdk-secret', redirectUris: [redirect], scopes: ['offline_access'], state: 'another-state' });
    (other as unknown as { openIdClient: unknown }).openIdClient = (xero as unknown as { openIdClient: unknown }).openIdClient;
    await expect(other.apiCallback(callbackUrl)).rejects.toThrow(/state/);
  });
});
