/**
 * QuickBooks Online end to end, on both databases: the simulator's QuickBooks dialect on a loopback port (consent
 * screen, token endpoint, API), the QBO connector, the Link flow of the API and the pull engine, one manual clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/stores.js';
import { createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import type { Realm } from '../src/sim/qbo/dialect.js';
import type { QboConnector } from '../src/connectors/qbo/index.js';
import { linkThroughConsent as consentLink, simQboConnector } from './support/qbo.js';
import { V1_READ_TYPES } from '../src/domain/data-types.js';
import { checkRecord } from '../src/connectors/xero/model-check.js';

const CLIENT = { id: 'syncline-e2e', secret: 'e2e-secret' };

describe.each(DIALECTS)('QuickBooks Online end to end [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<QboConnector>;
  let realm: Realm;
  let companyId: string;
  let connectionId: string;

  const linkThroughConsent = (connId: string, r: Realm, decision: 'allow' | 'deny' = 'allow') => consentLink(t, sim, companyId, connId, r, decision);
  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);

  beforeAll(async () => {
    t = await createTestApp(dialect, { qbo: true });
    t.clock.set('2026-06-15T19:00:00.000Z');
    sim = await startSimulator({ port: 0, clock: t.clock, qbo: { clients: [CLIENT] } });
    realm = sim.qbo.createRealm({ seed: `qbo-e2e-${dialect}`, size: 150, name: 'Pacific Trading Co' });
    const connector = simQboConnector(sim, t.clock, CLIENT);
    // The engine's own periodic reconciliation is pushed out of the way: the full listings seen here are the connector's.
    engine = startEngine(t, { fullEveryPulls: 1000, fullEveryMs: 365 * 86_400_000 }, connector);
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'qhyg' ? connector.oauthLinker : undefined);
    companyId = (await t.call('POST', '/companies', { name: 'Pacific Trading' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'qhyg' })).json().id;
  });
  afterAll(async () => {
    await engine.stop();
    await sim.close();
    await t.close();
  });

  it('links through the consent step; a replayed state, a denied consent and a sandbox realm each get a clear page', async () => {
    const { callback, answer } = await linkThroughConsent(connectionId, realm);
    expect(answer.statusCode).toBe(302);
    const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
    expect(conn.status).toBe('Linked');
    expect(conn.connectionInfo).toMatchObject({ realmId: realm.realmId, tenantId: realm.realmId, tenantName: 'Pacific Trading Co' });
    // The same callback again: the state is single-use.
    const replay = await t.app.inject({ method: 'GET', url: callback.pathname + callback.search });
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('already used');

    const second = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'qhyg' })).json().id;
    const denied = await linkThroughConsent(second, realm, 'deny');
    expect(denied.callback.searchParams.get('error')).toBe('access_denied');
    expect(denied.answer.statusCode).toBe(400);
    expect(denied.answer.body).toContain('Access was not granted');
    expect((await t.call('GET', `/companies/${companyId}/connections/${second}`)).json().status).toBe('PendingAuth');

    const sandbox = sim.qbo.createRealm({ seed: `qbo-e2e-sb-${dialect}`, size: 10, environment: 'sandbox' });
    const wrong = await linkThroughConsent(second, sandbox);
    expect(wrong.answer.statusCode).toBe(409);
    expect(wrong.answer.body).toContain('other environment');
    const after = (await t.call('GET', `/companies/${companyId}/connections/${second}`)).json();
    expect(after.status).toBe('PendingAuth');
    expect(JSON.stringify(after.dataConnectionErrors)).toMatch(/Fault 3100/);
    await t.call('DELETE', `/companies/${companyId}/connections/${second}`);
  });

  it('pulls every supported type to Complete, the rest NotSupported, and serves what QuickBooks holds', async () => {
    await engine.pool.drain(60_000);
    const status = (await get('/dataStatus')).json();
    // cashFlowStatement is not offered (the connector does not read it); queued by hand it ends NotSupported at once.
    for (const type of V1_READ_TYPES) expect({ type, s: status[type]?.currentStatus }).toEqual({ type, s: type === 'cashFlowStatement' ? undefined : 'Complete' });
    expect((await t.call('POST', `/companies/${companyId}/data/queue/cashFlowStatement`)).json()).toMatchObject({ status: 'NotSupported', isCompleted: true });
    const token = sim.qbo.grant(realm.realmId, CLIENT.id).access_token;
    const wire = (((await (await fetch(`${sim.url}/v3/company/${realm.realmId}/query?minorversion=75&query=${encodeURIComponent('SELECT * FROM Invoice MAXRESULTS 1000')}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })).json()) as any).QueryResponse.Invoice) as any[];
    const served = (await get('/data/invoices?pageSize=1000')).json().results as any[];
    expect(served).toHaveLength(wire.length);
    const byId = new Map(served.map((i) => [i.id, i]));
    for (const w of wire) {
      const s = byId.get(w.Id);
      expect(s, w.Id).toMatchObject({ invoiceNumber: w.DocNumber, totalAmount: w.TotalAmt, amountDue: w.Balance, totalTaxAmount: w.TxnTaxDetail.TotalTax, currency: w.CurrencyRef.value, currencyRate: w.ExchangeRate, metadata: { isDeleted: false } });
      const { metadata: _m, modifiedDate: _d, ...data } = s;
      expect(checkRecord('invoices', data)).toEqual([]);
    }
    // Profit and loss from the store equals the ledger, month by month.
    const pnl = (await get('/data/financials/profitAndLoss?periodLength=1&periodsToCompare=12')).json();
    const ledger = realm.tenant.ledger();
    const accounts = realm.tenant.collections.accounts.list({ offset: 0, limit: 1000 }).items;
    const pnlCodes = accounts.filter((a) => ['REVENUE', 'SALES', 'OTHERINCOME', 'DIRECTCOSTS', 'EXPENSE', 'OVERHEADS', 'DEPRECIATN'].includes(a.type)).map((a) => a.code);
    expect(pnl.reports).toHaveLength(12);
    for (const r of pnl.reports) {
      const d = new Date(`${r.fromDate.slice(0, 10)}T00:00:00Z`);
      const month = d.getUTCFullYear() * 12 + d.getUTCMonth();
      expect(Math.round(r.netProfit * 100), r.fromDate).toBe(-pnlCodes.reduce((s, c) => s + (ledger.movements.get(month)?.get(c) ?? 0), 0) + 0);
    }
    expect(realm.counters.withoutMinorVersion).toBe(0);
  });

  it('marks an invoice deleted in QuickBooks through CDC on the next pull', async () => {
    const tenant = realm.tenant;
    const open = tenant.collections.invoices.list({ offset: 0, limit: 10_000 }).items.filter((d) => d.status === 'AUTHORISED' && d.payments.length === 0);
    tenant.advance(60_000);
    tenant.delete('invoices', tenant.gen.id('invoices', open[0]!.index));
    t.clock.advance(120_000);
    const cdcBefore = realm.counters.byEndpoint['GET /cdc'] ?? 0;
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(60_000);
    const done = (await get(`/data/history/${op.id}`)).json();
    expect(done).toMatchObject({ status: 'Complete', recordsDeleted: 1 });
    expect(realm.counters.byEndpoint['GET /cdc']).toBe(cdcBefore + 1);
    expect((await get(`/data/invoices/${open[0]!.index + 1}`)).json().metadata.isDeleted).toBe(true);
  });

  it('re-links a Deauthorized connection only to the same realm', async () => {
    await t.store.db.updateTable('connections').set({ status: 'Deauthorized' }).where('id', '=', connectionId).execute();
    const other = sim.qbo.createRealm({ seed: `qbo-e2e-other-${dialect}`, size: 10 });
    const mismatch = await linkThroughConsent(connectionId, other);
    expect(mismatch.answer.statusCode).toBe(409);
    expect((await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().status).toBe('Deauthorized');
    const same = await linkThroughConsent(connectionId, realm);
    expect(same.answer.statusCode).toBe(302);
    expect((await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().status).toBe('Linked');
    await engine.pool.drain(60_000);
  });

  const fault = (body: object) => fetch(`${sim.url}/admin/qbo/realms/${realm.realmId}/faults`, { method: body ? 'POST' : 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const pull = async (dataType: string) => {
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await engine.pool.drain(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };

  it('after a 31-day gap (beyond CDC’s look-back) lists in full and flags an invoice deleted 31 days ago', async () => {
    const tenant = realm.tenant;
    const open = tenant.collections.invoices.list({ offset: 0, limit: 10_000 }).items.filter((d) => d.status === 'AUTHORISED' && d.payments.length === 0);
    const victim = open[open.length - 1]!;
    tenant.delete('invoices', tenant.gen.id('invoices', victim.index));
    t.clock.advance(31 * 86_400_000);
    const cdcBefore = realm.counters.byEndpoint['GET /cdc'] ?? 0;
    const queriesBefore = realm.counters.byEndpoint['GET /query'] ?? 0;
    expect(await pull('invoices')).toMatchObject({ status: 'Complete', recordsDeleted: 1 });
    expect(realm.counters.byEndpoint['GET /cdc'] ?? 0).toBe(cdcBefore);
    expect(realm.counters.byEndpoint['GET /query']).toBeGreaterThan(queriesBefore);
    expect((await get(`/data/invoices/${victim.index + 1}`)).json().metadata.isDeleted).toBe(true);
  });

  it('pauses 60 s on each throttle and completes; a storm beyond the pause budget ends RateLimitError', async () => {
    await fault({ kind: 'throttle', count: 3, format: 'xml' });
    const before = t.clock.now().getTime();
    const throttled = realm.counters.throttled;
    expect(await pull('customers')).toMatchObject({ status: 'Complete' });
    expect(realm.counters.throttled - throttled).toBe(3);
    expect(t.clock.now().getTime() - before).toBeGreaterThanOrEqual(180_000);
    await fault({ kind: 'throttle', count: null });
    const storm = await pull('customers');
    expect(storm.status).toBe('RateLimitError');
    expect(storm.errorMessage).toMatch(/Fault 3001.*pause budget.*intuit_tid=/s);
    await fetch(`${sim.url}/admin/qbo/realms/${realm.realmId}/faults`, { method: 'DELETE' });
  });

  it('a lost answer to a rotating refresh leaves the connection Deauthorized with a reason saying re-link', async () => {
    realm.tenant.advance(25 * 3600_000);
    t.clock.advance(2 * 3600_000);
    await fault({ kind: 'drop-token-response', count: 1 });
    const ds = await pull('company');
    expect(ds.status).toBe('AuthError');
    const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
    expect(conn.status).toBe('Deauthorized');
    expect(JSON.stringify(conn.dataConnectionErrors)).toMatch(/invalid_grant.*re-linked/);
  });
});
