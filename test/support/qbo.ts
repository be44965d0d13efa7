import { expect } from 'vitest';
import type { Clock } from '../../src/lib/clock.js';
import type { Simulator } from '../../src/sim/server.js';
import type { Realm } from '../../src/sim/qbo/dialect.js';
import { QboConnector, type QboConnectorOptions } from '../../src/connectors/qbo/index.js';
import type { TestApp } from './app.js';

/**
 * A `qhyg` connector pointed at the simulator's QuickBooks dialect, on the test's manual clock: no pacing to speak
 * of, and every wait (throttle, backoff) moves the clock instead of the wall clock.
 */
export function simQboConnector(sim: Simulator, clock: Clock & { advance(ms: number): void }, client: { id: string; secret: string }, extra: Partial<QboConnectorOptions> = {}): QboConnector {
  return new QboConnector({
    key: 'qhyg',
    clientId: client.id,
    clientSecret: client.secret,
    apiUrl: sim.url,
    tokenUrl: `${sim.url}/oauth2/v1/tokens/bearer`,
    authorizeUrl: `${sim.url}/connect/oauth2`,
    clock,
    perSecond: 1000,
    perMinute: 100_000,
    retryBaseMs: 1,
    sleep: async (ms) => clock.advance(ms),
    ...extra,
  });
}

/**
 * The Link flow over HTTP: linkUrl → Intuit's consent (allow or deny, for a realm) → the callback on Syncline.
 * Returns the callback URL and Syncline's answer to it.
 */
export async function linkThroughConsent(t: TestApp, sim: Simulator, companyId: string, connectionId: string, realm: Realm, decision: 'allow' | 'deny' = 'allow') {
  const start = await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
  expect(start.statusCode).toBe(302);
  const authorize = new URL(start.headers.location as string);
  expect(authorize.origin + authorize.pathname).toBe(`${sim.url}/connect/oauth2`);
  expect(authorize.searchParams.get('scope')).toBe('com.intuit.quickbooks.accounting');
  expect(authorize.searchParams.get('code_challenge')).toBeNull();
  const page = await fetch(authorize);
  expect(page.status).toBe(200);
  const p = authorize.searchParams;
  const res = await fetch(`${sim.url}/connect/oauth2`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: p.get('client_id')!, redirect_uri: p.get('redirect_uri')!, state: p.get('state')!, scope: p.get('scope')!, realmId: realm.realmId, decision }).toString(),
  });
  const callback = new URL(res.headers.get('location')!);
  expect(callback.pathname).toBe('/link/oauth/qhyg/callback');
  const answer = await t.app.inject({ method: 'GET', url: callback.pathname + callback.search });
  return { callback, answer };
}
