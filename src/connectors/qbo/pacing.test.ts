/**
 * Pacing below Intuit's per-realm limits, on one injected rate clock shared by the simulator's windows and the
 * connector's WindowPacer (whose sleeps move it): no wall-clock waits (DESIGN invariant 7), and a test that fails when
 * the pacer does not hold back — the same pull without pacing collects throttles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { startSimulator, type Simulator } from '../../sim/server.js';
import type { Realm } from '../../sim/qbo/dialect.js';
import { drain, MemoryCredentialsStore } from '../test-helpers.js';
import { QboConnector, type QboConnectorOptions } from './index.js';

const CLIENT = { id: 'syncline-qbo-pacing', secret: 'pacing-secret' };

describe('QuickBooks Online pacing on an injected rate clock', () => {
  const clock = new ManualClock('2026-06-15T19:00:00Z');
  const rateClock = new ManualClock('2026-01-01T00:00:00Z');
  let sim: Simulator;

  beforeAll(async () => {
    // A realm that allows 50 calls a minute (Intuit: 500); the connector paces at 45 a minute and 8 a second.
    sim = await startSimulator({ clock, rateClock, qbo: { clients: [CLIENT], perMinute: 50 } });
  });
  afterAll(() => sim.close());

  async function pullInvoices(realm: Realm, opts: Partial<QboConnectorOptions>) {
    const callTimes: number[] = [];
    const connector = new QboConnector({
      key: 'qhyg',
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret,
      apiUrl: sim.url,
      tokenUrl: `${sim.url}/oauth2/v1/tokens/bearer`,
      authorizeUrl: `${sim.url}/connect/oauth2`,
      clock,
      rateClock,
      pageSize: 5,
      retryBaseMs: 1,
      // Every wait (pacing, a throttle's 60 s, a retry's backoff) moves the rate clock instead of the wall clock.
      sleep: async (ms) => rateClock.advance(ms),
      ...opts,
    });
    const g = sim.qbo.grant(realm.realmId, CLIENT.id);
    const credentials = new MemoryCredentialsStore({
      accessToken: g.access_token,
      accessTokenExpiresAt: new Date(clock.now().getTime() + 3600_000).toISOString(),
      refreshToken: g.refresh_token,
      realmId: realm.realmId,
    });
    const before = realm.counters.calls;
    const startedAt = rateClock.now().getTime();
    const res = await drain(connector, {
      dataType: 'invoices',
      credentials,
      connectionInfo: { realmId: realm.realmId, tenantId: realm.realmId },
      clock,
      full: true,
      onPage: () => void callTimes.push(rateClock.now().getTime()),
    });
    return { res, calls: realm.counters.calls - before, waitedMs: rateClock.now().getTime() - startedAt, callTimes };
  }

  it('spends 45 calls a minute and 8 a second of the realm’s budget: no throttle, the pacer waited for the window', async () => {
    const realm = sim.qbo.createRealm({ seed: 'qbo-pacing', size: 300 });
    const { res, calls, waitedMs, callTimes } = await pullInvoices(realm, { perSecond: 8, perMinute: 45 });
    expect(res.outcome).toMatchObject({ fullListing: true });
    expect(calls).toBeGreaterThan(60);
    expect(realm.counters.throttled).toBe(0);
    // More than a minute's worth of calls: the windows were waited out on the rate clock.
    expect(waitedMs).toBeGreaterThanOrEqual(Math.floor((calls - 1) / 45) * 60_000 - 1000);
    // Pages arrive at most 8 in any second and 45 in any minute of the rate clock.
    for (let i = 0; i < callTimes.length; i++) {
      expect(callTimes.filter((t) => t >= callTimes[i]! && t < callTimes[i]! + 1000).length).toBeLessThanOrEqual(8);
      expect(callTimes.filter((t) => t >= callTimes[i]! && t < callTimes[i]! + 60_000).length).toBeLessThanOrEqual(45);
    }
  });

  it('without pacing the same pull collects throttles (the check above can fail) and still completes after 60 s pauses', async () => {
    const realm = sim.qbo.createRealm({ seed: 'qbo-pacing-off', size: 300 });
    const { res, calls } = await pullInvoices(realm, { perSecond: 100_000, perMinute: 100_000 });
    expect(res.outcome).toMatchObject({ fullListing: true });
    expect(calls).toBeGreaterThan(50);
    expect(realm.counters.throttled).toBeGreaterThan(0);
  });
});
