/**
 * Intuit's own OAuth client (`intuit-oauth`) and the most used QuickBooks API client (`node-quickbooks`), unchanged,
 * against the simulator's QuickBooks dialect: both accept other base URLs (intuit-oauth's `setAuthorizeURLs`,
 * node-quickbooks' `V3_ENDPOINT_BASE_URL` / `TOKEN_URL`), so nothing but URLs is configured.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { startSimulator, type Simulator } from '../server.js';
import type { Realm } from './dialect.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const OAuthClient = require('intuit-oauth') as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const QuickBooks = require('node-quickbooks') as any;

const CLIENT = { id: 'ABintuit-client', secret: 'intuit-secret' };
const REDIRECT = 'http://127.0.0.1:9/callback';

describe('official QuickBooks clients against the simulator', () => {
  const clock = new ManualClock('2026-06-15T19:00:00Z');
  let sim: Simulator;
  let realm: Realm;

  beforeAll(async () => {
    sim = await startSimulator({ clock, qbo: { clients: [CLIENT] } });
    realm = sim.qbo.createRealm({ seed: 'official-clients', size: 120, environment: 'sandbox', name: 'Sandbox Company US 1' });
  });
  afterAll(() => sim.close());

  it('intuit-oauth: authorize URI, consent, createToken from the callback URL, refresh, API call, revoke', async () => {
    const oauth = new OAuthClient({ clientId: CLIENT.id, clientSecret: CLIENT.secret, environment: 'sandbox', redirectUri: REDIRECT, logging: false });
    oauth.setAuthorizeURLs({
      authorizeEndpoint: `${sim.url}/connect/oauth2`,
      tokenEndpoint: `${sim.url}/oauth2/v1/tokens/bearer`,
      revokeEndpoint: `${sim.url}/oauth2/v1/tokens/revoke`,
      userInfoEndpoint: `${sim.url}/v1/openid_connect/userinfo`,
    });
    const authUri: string = oauth.authorizeUri({ scope: [OAuthClient.scopes.Accounting], state: 'intuit-test' });
    expect(authUri.startsWith(`${sim.url}/connect/oauth2?`)).toBe(true);
    const page = await fetch(authUri);
    expect(page.status).toBe(200);
    const consent = await fetch(`${sim.url}/connect/oauth2`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: CLIENT.id, redirect_uri: REDIRECT, state: 'intuit-test', scope: OAuthClient.scopes.Accounting, realmId: realm.realmId, decision: 'allow' }).toString(),
    });
    const callback = consent.headers.get('location')!;
    const created = await oauth.createToken(callback);
    const token = created.getJson();
    expect(token).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8_640_000 });
    expect(oauth.getToken().realmId).toBe(realm.realmId);
    expect(oauth.isAccessTokenValid()).toBe(true);

    const refreshed = (await oauth.refresh()).getJson();
    expect(refreshed.refresh_token).toBe(token.refresh_token); // within 24 h: the same refresh token
    expect(refreshed.access_token).not.toBe(token.access_token);

    const info = await oauth.makeApiCall({ url: `${sim.url}/sandbox/v3/company/${realm.realmId}/companyinfo/${realm.realmId}?minorversion=75` });
    expect(info.json.CompanyInfo.CompanyName).toBe('Sandbox Company US 1');

    await oauth.revoke({ refresh_token: refreshed.refresh_token });
    await expect(oauth.refresh()).rejects.toBeTruthy();
  });

  it('node-quickbooks: queries with fetchAll, read one, CDC, a report, and a token refresh', async () => {
    QuickBooks.V3_ENDPOINT_BASE_URL = `${sim.url}/sandbox/v3/company/`;
    QuickBooks.TOKEN_URL = `${sim.url}/oauth2/v1/tokens/bearer`;
    const grant = sim.qbo.grant(realm.realmId, CLIENT.id);
    const qbo = new QuickBooks(CLIENT.id, CLIENT.secret, grant.access_token, false, realm.realmId, true, false, 75, '2.0', grant.refresh_token);
    const call = <T>(fn: (cb: (err: unknown, body: T) => void) => void) =>
      new Promise<T>((resolve, reject) => fn((err, body) => (err ? reject(err) : resolve(body))));

    const invoices = await call<any>((cb) => qbo.findInvoices({ fetchAll: true, limit: 50 }, cb));
    const total = (await call<any>((cb) => qbo.findInvoices({ count: true }, cb))).QueryResponse.totalCount;
    expect(invoices.QueryResponse.Invoice).toHaveLength(total);
    expect(total).toBeGreaterThan(50);

    const customers = await call<any>((cb) => qbo.findCustomers([{ field: 'Active', value: 'false', operator: '=' }], cb));
    for (const c of customers.QueryResponse.Customer ?? []) expect(c.Active).toBe(false);

    const info = await call<any>((cb) => qbo.getCompanyInfo(realm.realmId, cb));
    // node-quickbooks unwraps read-one answers ({"CompanyInfo": {…}} → the entity).
    expect(info.CompanyName).toBe('Sandbox Company US 1');
    const one = await call<any>((cb) => qbo.getInvoice(invoices.QueryResponse.Invoice[0].Id, cb));
    expect(one).toEqual(invoices.QueryResponse.Invoice[0]);

    const t = realm.tenant;
    const since = '2026-06-15T11:00:00-07:00';
    t.advance(60_000);
    const item = t.collections.items.list({ offset: 0, limit: 1 }).items[0]!;
    t.edit('items', t.gen.id('items', item.index), { name: 'Renamed via admin' });
    const cdc = await call<any>((cb) => qbo.changeDataCapture(['Item', 'Invoice'], since, cb));
    expect(cdc.CDCResponse[0].QueryResponse[0].Item[0]).toMatchObject({ Id: String(item.index + 1), Name: 'Renamed via admin' });

    const pnl = await call<any>((cb) => qbo.reportProfitAndLoss({ start_date: '2026-01-01', end_date: '2026-05-31', summarize_column_by: 'Month' }, cb));
    expect(pnl.Header.SummarizeColumnsBy).toBe('Month');
    expect(pnl.Columns.Column.map((c: any) => c.ColTitle)).toEqual(['', 'Jan 2026', 'Feb 2026', 'Mar 2026', 'Apr 2026', 'May 2026', 'Total']);

    // Issue 15's entities: listed with fetchAll, counted, read one by one, and covered by CDC.
    for (const [find, get, key] of [
      ['findPaymentMethods', 'getPaymentMethod', 'PaymentMethod'],
      ['findPurchaseOrders', 'getPurchaseOrder', 'PurchaseOrder'],
      ['findVendorCredits', 'getVendorCredit', 'VendorCredit'],
      ['findTransfers', 'getTransfer', 'Transfer'],
      ['findPurchases', 'getPurchase', 'Purchase'],
      ['findSalesReceipts', 'getSalesReceipt', 'SalesReceipt'],
    ] as const) {
      const all = (await call<any>((cb) => qbo[find]({ fetchAll: true, limit: 20 }, cb))).QueryResponse[key] as any[];
      const count = (await call<any>((cb) => qbo[find]({ count: true }, cb))).QueryResponse.totalCount;
      expect({ key, n: all.length }).toEqual({ key, n: count });
      expect(count, key).toBeGreaterThan(0);
      expect(await call<any>((cb) => qbo[get](all[all.length - 1].Id, cb)), key).toEqual(all[all.length - 1]);
    }
    t.advance(60_000);
    const order = t.collections.purchaseOrders.list({ offset: 0, limit: 10_000 }).items.find((p) => p.status === 'AUTHORISED' || p.status === 'BILLED')!;
    t.delete('purchaseOrders', t.gen.id('purchaseOrders', order.index));
    const cdc2 = await call<any>((cb) => qbo.changeDataCapture(['PurchaseOrder', 'VendorCredit', 'Transfer', 'Purchase', 'SalesReceipt', 'PaymentMethod'], since, cb));
    expect(cdc2.CDCResponse[0].QueryResponse[0].PurchaseOrder).toEqual([expect.objectContaining({ Id: String(order.index + 1), status: 'Deleted' })]);

    const refreshed = await call<any>((cb) => qbo.refreshAccessToken(cb));
    expect(refreshed.refresh_token).toBe(grant.refresh_token);
    expect(qbo.token).toBe(refreshed.access_token);
    // Every call node-quickbooks made carried minorversion.
    expect(realm.counters.withoutMinorVersion).toBe(0);
  });
});
