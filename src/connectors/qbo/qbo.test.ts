import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { V1_READ_TYPES, type DataType } from '../../domain/data-types.js';
import { AuthRevokedError, NotSupportedError, RateLimitedError, type SourceRecord } from '../connector.js';
import { startSimulator, type Simulator } from '../../sim/server.js';
import type { Realm } from '../../sim/qbo/dialect.js';
import { checkRecord } from '../xero/model-check.js';
import { drain, MemoryCredentialsStore } from '../test-helpers.js';
import { QboConnector, WrongEnvironmentError, type QboConnectorOptions } from './index.js';
import type { QboCredentials } from './client.js';

const DAY = 86_400_000;
const CLIENT = { id: 'syncline-qbo', secret: 's3cret' };
const REDIRECT = 'http://127.0.0.1:9/link/oauth/qhyg/callback';

interface Linked {
  connector: QboConnector;
  store: MemoryCredentialsStore;
  info: Record<string, string>;
  realm: Realm;
  sleeps: number[];
  pull(dataType: DataType, extra?: Partial<Parameters<typeof drain>[1]>): ReturnType<typeof drain>;
}

/** The Link flow's platform side over HTTP: authorize URL → consent screen → callback → code exchange → bind. */
async function consent(sim: Simulator, connector: QboConnector, realm: Realm, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  const url = connector.authorizeUrl({ state: 'state-1', redirectUri: REDIRECT });
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const form = new URLSearchParams({ client_id: CLIENT.id, redirect_uri: REDIRECT, state: 'state-1', scope: 'com.intuit.quickbooks.accounting', realmId: realm.realmId, decision });
  const res = await fetch(`${sim.url}/connect/oauth2`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function link(sim: Simulator, clock: ManualClock, realm: Realm, opts: Partial<QboConnectorOptions> = {}): Promise<Linked> {
  const sleeps: number[] = [];
  const connector = new QboConnector({
    key: realm.environment === 'sandbox' ? 'ndsk' : 'qhyg',
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    apiUrl: realm.environment === 'sandbox' ? `${sim.url}/sandbox` : sim.url,
    tokenUrl: `${sim.url}/oauth2/v1/tokens/bearer`,
    authorizeUrl: `${sim.url}/connect/oauth2`,
    clock,
    perSecond: 1000,
    perMinute: 100_000,
    sleep: async (ms) => void sleeps.push(ms),
    ...opts,
  });
  const back = await consent(sim, connector, realm);
  const creds = await connector.exchangeCode({ code: back.searchParams.get('code')!, redirectUri: REDIRECT, realmId: back.searchParams.get('realmId')!, signal: AbortSignal.timeout(10_000) });
  const bound = await connector.bindRealm(creds, AbortSignal.timeout(10_000));
  const store = new MemoryCredentialsStore(bound.credentials);
  return { connector, store, info: bound.connectionInfo, realm, sleeps, pull: (dataType, extra = {}) => drain(connector, { dataType, credentials: store, connectionInfo: bound.connectionInfo, clock, ...extra }) };
}

async function raw(sim: Simulator, realm: Realm, query: string): Promise<any[]> {
  const token = sim.qbo.grant(realm.realmId, CLIENT.id).access_token;
  const prefix = realm.environment === 'sandbox' ? '/sandbox' : '';
  const res = await fetch(`${sim.url}${prefix}/v3/company/${realm.realmId}/query?minorversion=75&query=${encodeURIComponent(query + ' MAXRESULTS 1000')}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  const body = (await res.json()) as any;
  return Object.values(body.QueryResponse).find(Array.isArray) ?? [];
}

describe('QuickBooks Online connector against the simulator', () => {
  const clock = new ManualClock('2026-06-15T19:00:00Z');
  let sim: Simulator;
  let L: Linked;
  const results = new Map<DataType, SourceRecord[]>();

  beforeAll(async () => {
    sim = await startSimulator({ clock, qbo: { clients: [CLIENT] } });
    L = await link(sim, clock, sim.qbo.createRealm({ seed: 'qbo-conn', size: 250, name: 'Acme QBO Ltd' }));
    for (const t of V1_READ_TYPES) {
      if (!L.connector.supports(t)) continue;
      results.set(t, (await L.pull(t)).records);
    }
  });
  afterAll(() => sim.close());

  it('links through the consent step: realmId from the callback, checked with a CompanyInfo read', () => {
    expect(L.info).toMatchObject({ realmId: L.realm.realmId, tenantId: L.realm.realmId, tenantName: 'Acme QBO Ltd', baseCurrency: expect.stringMatching(/^[A-Z]{3}$/) });
    const c = L.store.current as QboCredentials;
    expect(c.realmId).toBe(L.realm.realmId);
    expect(Date.parse(c.refreshTokenExpiresAt!) - clock.now().getTime()).toBe(100 * DAY);
  });

  it('refuses a realm of the other environment, and a denied consent carries no code', async () => {
    const sandbox = sim.qbo.createRealm({ seed: 'qbo-conn-sb', size: 20, environment: 'sandbox' });
    const production = new QboConnector({ key: 'qhyg', clientId: CLIENT.id, clientSecret: CLIENT.secret, apiUrl: sim.url, tokenUrl: `${sim.url}/oauth2/v1/tokens/bearer`, authorizeUrl: `${sim.url}/connect/oauth2`, clock });
    const back = await consent(sim, production, sandbox);
    const creds = await production.exchangeCode({ code: back.searchParams.get('code')!, redirectUri: REDIRECT, realmId: back.searchParams.get('realmId')!, signal: AbortSignal.timeout(10_000) });
    const err = await production.bindRealm(creds, AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongEnvironmentError);
    expect((err as Error).message).toMatch(/sandbox|Fault 3100/);
    const denied = await consent(sim, production, sandbox, 'deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('code')).toBeNull();
  });

  it('reads every supported type into records that satisfy the model; cashFlowStatement is NotSupported', async () => {
    for (const [t, records] of results) {
      expect(records.length, t).toBeGreaterThan(0);
      for (const r of records.slice(0, 300)) expect(checkRecord(t, r.data), `${t} ${r.id}`).toEqual([]);
    }
    expect(L.connector.supports('cashFlowStatement')).toBe(false);
    await expect(L.pull('cashFlowStatement')).rejects.toBeInstanceOf(NotSupportedError);
    await expect(L.pull('bankTransactions')).rejects.toBeInstanceOf(NotSupportedError);
  });

  it('maps invoices, customers and accounts field by field from the wire', async () => {
    const wire = await raw(sim, L.realm, 'SELECT * FROM Invoice');
    const mapped = new Map(results.get('invoices')!.map((r) => [r.id, r.data as any]));
    expect(mapped.size).toBe(wire.length);
    let voided = 0;
    let partly = 0;
    for (const w of wire) {
      const m = mapped.get(w.Id);
      expect(m.invoiceNumber).toBe(w.DocNumber);
      expect(m.customerRef).toEqual({ id: w.CustomerRef.value, companyName: w.CustomerRef.name });
      expect(m.issueDate).toBe(`${w.TxnDate}T00:00:00`);
      expect(m.totalAmount).toBe(w.TotalAmt);
      expect(m.amountDue).toBe(w.Balance);
      expect(m.totalTaxAmount).toBe(w.TxnTaxDetail.TotalTax);
      expect(m.currency).toBe(w.CurrencyRef.value);
      expect(m.currencyRate).toBe(w.ExchangeRate);
      const lines = w.Line.filter((l: any) => l.DetailType === 'SalesItemLineDetail');
      expect(m.lineItems).toHaveLength(lines.length);
      lines.forEach((l: any, i: number) => {
        expect(m.lineItems[i].subTotal).toBe(l.Amount);
        expect(m.lineItems[i].unitAmount).toBe(l.SalesItemLineDetail.UnitPrice);
        const cls = l.SalesItemLineDetail.ClassRef;
        if (cls) expect(m.lineItems[i].trackingCategoryRefs).toContainEqual({ id: `class-${cls.value}`, name: cls.name });
        if (w.DepartmentRef) expect(m.lineItems[i].trackingCategoryRefs).toContainEqual({ id: `department-${w.DepartmentRef.value}`, name: w.DepartmentRef.name });
      });
      const expected = /Voided/.test(w.PrivateNote ?? '') && w.TotalAmt === 0 ? 'Void' : w.Balance === 0 ? 'Paid' : w.Balance < w.TotalAmt ? 'PartiallyPaid' : 'Submitted';
      expect(m.status).toBe(expected);
      if (expected === 'Void') voided++;
      if (expected === 'PartiallyPaid') partly++;
      expect(m.sourceModifiedDate).toBe(new Date(w.MetaData.LastUpdatedTime).toISOString());
    }
    expect(voided + partly).toBeGreaterThan(0);
    // Foreign-currency invoices carry QuickBooks' ExchangeRate as given.
    expect(wire.some((w) => w.ExchangeRate !== 1)).toBe(true);

    const customers = await raw(sim, L.realm, 'SELECT * FROM Customer WHERE Active IN (true,false)');
    const mc = new Map(results.get('customers')!.map((r) => [r.id, r.data as any]));
    expect(mc.size).toBe(customers.length);
    for (const c of customers) expect(mc.get(c.Id)).toMatchObject({ customerName: c.DisplayName, status: c.Active ? 'Active' : 'Archived', defaultCurrency: c.CurrencyRef.value });
    expect(customers.some((c) => !c.Active)).toBe(true);

    const accounts = await raw(sim, L.realm, 'SELECT * FROM Account WHERE Active IN (true,false)');
    const ma = new Map(results.get('chartOfAccounts')!.map((r) => [r.id, r.data as any]));
    for (const a of accounts) expect(ma.get(a.Id)).toMatchObject({ nominalCode: a.AcctNum, name: a.Name, status: a.Active ? 'Active' : 'Archived', isBankAccount: ['Bank', 'Credit Card'].includes(a.AccountType) });
    expect(results.get('bankAccounts')!.map((r) => (r.data as any).accountType).sort()).toEqual(['Credit', 'Debit', 'Debit']);
    const tracking = results.get('trackingCategories')!.map((r) => r.data as any);
    expect(tracking.filter((x) => x.parentId === 'class').map((x) => x.name)).toEqual(['North', 'South', 'East', 'West']);
    expect(tracking.find((x) => x.name === 'West').status).toBe('Archived');
    expect(tracking.filter((x) => x.parentId === 'department')).toHaveLength(3);
    const tax = results.get('taxRates')!.map((r) => r.data as any);
    expect(tax.find((x) => x.components.length === 2)).toMatchObject({ totalTaxRate: 7, effectiveTaxRate: 7.1 });
  });

  it('statements equal the ledger: net profit by month and net assets at each month end, Total column dropped', () => {
    const t = L.realm.tenant;
    const ledger = t.ledger();
    const accounts = t.collections.accounts.list({ offset: 0, limit: 1000 }).items;
    const pnlCodes = accounts.filter((a) => ['REVENUE', 'SALES', 'OTHERINCOME', 'DIRECTCOSTS', 'EXPENSE', 'OVERHEADS', 'DEPRECIATN'].includes(a.type)).map((a) => a.code);
    const pnl = results.get('profitAndLoss')!;
    expect(pnl).toHaveLength(24);
    for (const p of pnl) {
      const [y, m] = p.id.split('-').map(Number);
      const month = y! * 12 + m! - 1;
      const expected = -pnlCodes.reduce((s, c) => s + (ledger.movements.get(month)?.get(c) ?? 0), 0) + 0;
      expect(Math.round((p.data as any).netProfit * 100), p.id).toBe(expected);
    }
    const bs = results.get('balanceSheet')!;
    expect(bs).toHaveLength(24);
    const liabilityOrEquity = new Set(accounts.filter((a) => ['CURRLIAB', 'LIABILITY', 'TERMLIAB'].includes(a.type) || a.bankAccountType === 'CREDITCARD').map((a) => a.code));
    const assetCodes = accounts.filter((a) => ['BANK', 'CURRENT', 'INVENTORY', 'PREPAYMENT', 'FIXED', 'NONCURRENT'].includes(a.type) && !liabilityOrEquity.has(a.code)).map((a) => a.code);
    const liabCodes = [...liabilityOrEquity];
    for (const p of bs) {
      const [y, m] = p.id.split('-').map(Number);
      const month = y! * 12 + m! - 1;
      let assets = 0;
      let liabs = 0;
      for (const [lm, accts] of ledger.movements) {
        if (lm > month) continue;
        for (const c of assetCodes) assets += accts.get(c) ?? 0;
        for (const c of liabCodes) liabs -= accts.get(c) ?? 0;
      }
      expect(Math.round((p.data as any).netAssets * 100), p.id).toBe(assets - liabs);
      expect(Math.round((p.data as any).assets.value * 100), p.id).toBe(assets);
    }
  });

  it('finds deletions through one CDC call per incremental pull, and never calls without minorversion', async () => {
    const t = L.realm.tenant;
    const first = await L.pull('invoices');
    expect(first.outcome.fullListing).toBe(true);
    t.advance(3600_000);
    const open = t.collections.invoices.list({ offset: 0, limit: 10_000 }).items.filter((d) => d.status === 'AUTHORISED' && d.payments.length === 0);
    t.delete('invoices', t.gen.id('invoices', open[0]!.index));
    t.edit('invoices', t.gen.id('invoices', open[1]!.index), { reference: 'Edited in QBO' });
    clock.advance(3600_000);
    const inc = await L.pull('invoices', { cursor: first.outcome.cursor });
    expect(inc.outcome.fullListing).toBe(false);
    expect(inc.records.find((r) => r.id === String(open[0]!.index + 1))).toMatchObject({ deleted: true });
    expect(inc.records.find((r) => r.id === String(open[1]!.index + 1))).toMatchObject({ deleted: false, data: expect.objectContaining({ note: 'Edited in QBO' }) });
    // The access token lapsed with the hour: one token call, then exactly one CDC call.
    expect(inc.outcome.calls).toBe(2);
    expect(L.realm.counters.withoutMinorVersion).toBe(0);
  });

  it('reconciles with a full listing after a 31-day gap or a CDC answer of 1,000 objects', async () => {
    const old = new Date(clock.now().getTime() - 31 * DAY).toISOString();
    const gap = await L.pull('customers', { cursor: old });
    expect(gap.outcome.fullListing).toBe(true);
    const busy = sim.qbo.createRealm({ seed: 'qbo-conn-busy', size: { invoices: 2500, historyMonths: 1 } });
    const B = await link(sim, clock, busy);
    const cursor = new Date(clock.now().getTime() - 28 * DAY).toISOString();
    const full = await B.pull('invoices', { cursor });
    expect(full.outcome.fullListing).toBe(true);
    expect(busy.counters.byEndpoint['GET /cdc']).toBe(1);
    const total = busy.tenant.collections.invoices.list({ offset: 0, limit: 10_000 }).items.filter((d) => !['DRAFT', 'SUBMITTED', 'DELETED'].includes(d.status)).length;
    expect(new Set(full.records.map((r) => r.id)).size).toBe(total);
  });

  it('lists without a skip or a false delete while records are edited between pages', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-conn-pages', size: 400 });
    const P = await link(sim, clock, r, { pageSize: 50 });
    const t = r.tenant;
    const live = t.collections.invoices.list({ offset: 0, limit: 10_000 }).items.filter((d) => !['DRAFT', 'SUBMITTED', 'DELETED'].includes(d.status));
    let pages = 0;
    const ids = new Set<string>();
    const res = await P.pull('invoices', {
      onPage: (page) => {
        for (const x of page) ids.add(x.id);
        pages++;
        if (pages <= 3) {
          // Edit records already read and not yet read: each moves to the end of the order.
          t.advance(1000);
          t.edit('invoices', t.gen.id('invoices', live[pages * 10]!.index), { reference: `moved ${pages}` });
          t.edit('invoices', t.gen.id('invoices', live[200 + pages]!.index), { reference: `moved later ${pages}` });
        }
      },
    });
    expect(res.outcome.fullListing).toBe(true);
    expect(pages).toBeGreaterThan(8);
    expect([...ids].sort()).toEqual(live.map((d) => String(d.index + 1)).sort());
  });

  it('rotates the refresh token after 24 h, and a lost token response ends with a re-link reason', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-conn-tokens', size: 20 });
    const T = await link(sim, clock, r);
    const first = (T.store.current as QboCredentials).refreshToken;
    r.tenant.advance(2 * 3600_000);
    clock.advance(2 * 3600_000);
    await T.pull('company');
    expect((T.store.current as QboCredentials).refreshToken).toBe(first);
    r.tenant.advance(DAY);
    clock.advance(DAY);
    await T.pull('company');
    const second = (T.store.current as QboCredentials).refreshToken;
    expect(second).not.toBe(first);
    // The next rotation's answer is lost: the old token is dead, the new one never arrived.
    r.tenant.advance(DAY);
    clock.advance(DAY);
    await fetch(`${sim.url}/admin/qbo/realms/${r.realmId}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'drop-token-response' }) });
    const err = await T.pull('company').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthRevokedError);
    expect((err as Error).message).toMatch(/invalid_grant.*re-linked/s);
  });

  it('waits 60 s on each throttle (XML or JSON) and completes, or ends RateLimitError beyond the pause budget', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-conn-throttle', size: 60 });
    const T = await link(sim, clock, r, { pauseBudgetMs: 3 * 60_000 });
    const fault = (body: object) => fetch(`${sim.url}/admin/qbo/realms/${r.realmId}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await fault({ kind: 'throttle', count: 2 });
    await fault({ kind: 'throttle', count: 1, format: 'xml' });
    T.sleeps.length = 0;
    const ok = await T.pull('invoices');
    expect(T.sleeps.filter((ms) => ms === 60_000)).toHaveLength(3);
    expect(ok.pauses.filter((p) => p !== null)).toHaveLength(3);
    expect(ok.records.length).toBeGreaterThan(0);
    await fault({ kind: 'throttle', count: null });
    const err = await T.pull('invoices').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as Error).message).toMatch(/Fault 3001.*pause budget.*intuit_tid=/s);
    await fetch(`${sim.url}/admin/qbo/realms/${r.realmId}/faults`, { method: 'DELETE' });
  });

  it('turns Faults 3200 (after a refresh) and 3201 into an auth failure', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-conn-auth', size: 20 });
    const T = await link(sim, clock, r);
    await fetch(`${sim.url}/admin/qbo/realms/${r.realmId}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: '3200', count: 2 }) });
    expect(await T.pull('company').catch((e: unknown) => e)).toBeInstanceOf(AuthRevokedError);
    await fetch(`${sim.url}/admin/qbo/realms/${r.realmId}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: '3201', count: 1 }) });
    const e = await T.pull('company').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AuthRevokedError);
    expect((e as Error).message).toMatch(/3201/);
    // Revocation (connection deleted) kills the grant.
    await T.connector.revoke(T.store.current, AbortSignal.timeout(5000));
    expect(await T.pull('company').catch((x: unknown) => x)).toBeInstanceOf(AuthRevokedError);
  });
});
