import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { monthIndexOf } from '../generate.js';
import { startSimulator, type Simulator } from '../server.js';
import type { Realm } from './dialect.js';
import { parseQuery, QueryParserError } from './query.js';
import { parseQboTime, qboTime } from './time.js';

const DAY = 86_400_000;
const CLIENT = { id: 'qbo-client', secret: 'qbo-secret' };
const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

async function api(sim: Simulator, token: string, realm: Realm, path: string, init: { env?: 'sandbox'; accept?: string; noMinor?: boolean } = {}) {
  const prefix = init.env === 'sandbox' ? '/sandbox' : '';
  const sep = path.includes('?') ? '&' : '?';
  const res = await fetch(`${sim.url}${prefix}/v3/company/${realm.realmId}${path}${init.noMinor ? '' : `${sep}minorversion=75`}`, {
    headers: { authorization: `Bearer ${token}`, accept: init.accept ?? 'application/json' },
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}
const q = (s: string) => `/query?query=${encodeURIComponent(s)}`;

async function adminCall(sim: Simulator, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sim.url}/admin${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

async function tokenCall(sim: Simulator, form: Record<string, string>, auth = basic) {
  const res = await fetch(`${sim.url}/oauth2/v1/tokens/bearer`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

describe('QuickBooks Online dialect of the simulator', () => {
  const clock = new ManualClock('2026-06-15T19:00:00Z');
  let sim: Simulator;
  let realm: Realm;
  let access: string;

  beforeAll(async () => {
    sim = await startSimulator({ clock, qbo: { clients: [CLIENT] } });
    realm = sim.qbo.createRealm({ seed: 'qbo-sim', size: 300 });
    access = sim.qbo.grant(realm.realmId, CLIENT.id).access_token;
  });
  afterAll(() => sim.close());

  it('parses the query grammar and refuses what QuickBooks refuses', () => {
    const p = parseQuery("select * from Invoice where MetaData.LastUpdatedTime > '2026-01-01T00:00:00-08:00' and Active IN (true, false) ORDERBY MetaData.LastUpdatedTime DESC STARTPOSITION 11 MAXRESULTS 10");
    expect(p).toMatchObject({ count: false, entity: 'Invoice', startPosition: 11, maxResults: 10, orderBy: [{ field: 'MetaData.LastUpdatedTime', desc: true }] });
    expect(p.where).toEqual([
      { field: 'MetaData.LastUpdatedTime', op: '>', values: ['2026-01-01T00:00:00-08:00'] },
      { field: 'Active', op: 'IN', values: [true, false] },
    ]);
    expect(parseQuery('SELECT count(*) FROM Customer').count).toBe(true);
    for (const bad of ['', 'SELECT FROM Invoice', "SELECT * FROM Invoice WHERE Id = '1' OR Id = '2'", 'SELECT * FROM Invoice MAXRESULTS ten', "SELECT * FROM Invoice WHERE Id = '1", 'SELECT * FROM Invoice WHERE Name ~ 1']) {
      expect(() => parseQuery(bad), bad).toThrow(QueryParserError);
    }
  });

  it('writes times in Pacific time with the offset, and reads offsets, Z and company-zone literals', () => {
    expect(qboTime(Date.parse('2026-06-15T19:00:00.400Z'))).toBe('2026-06-15T12:00:00-07:00');
    expect(qboTime(Date.parse('2026-01-15T19:00:00Z'))).toBe('2026-01-15T11:00:00-08:00');
    expect(parseQboTime('2026-06-15T12:00:00-07:00')).toBe(Date.parse('2026-06-15T19:00:00Z'));
    expect(parseQboTime('2026-06-15T19:00:00Z')).toBe(Date.parse('2026-06-15T19:00:00Z'));
    expect(parseQboTime('2026-01-15')).toBe(Date.parse('2026-01-15T08:00:00Z'));
    expect(() => parseQboTime('2026-06-15T12:00:00 07:00')).toThrow(/Unparseable date/);
  });

  it('answers queries in QuickBooks’ envelope, ordered and paged, with the entity key absent when nothing matches', async () => {
    const all = await api(sim, access, realm, q('SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000'));
    expect(all.status).toBe(200);
    expect(all.headers.get('intuit_tid')).toMatch(/[0-9a-f-]{36}/);
    expect(all.body.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-0[78]:00$/);
    const invoices = all.body.QueryResponse.Invoice as any[];
    expect(all.body.QueryResponse).toMatchObject({ startPosition: 1, maxResults: invoices.length });
    expect(invoices.length).toBeGreaterThan(200);
    const times = invoices.map((i) => parseQboTime(i.MetaData.LastUpdatedTime));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(invoices[0].MetaData.LastUpdatedTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[78]:00$/);
    expect(invoices[0]).toMatchObject({ domain: 'QBO', Id: expect.stringMatching(/^\d+$/), SyncToken: expect.any(String), CustomerRef: { value: expect.any(String) } });
    // Line amounts add up to the subtotal line; tax on top gives the total.
    for (const inv of invoices.slice(0, 50)) {
      const lines = inv.Line.filter((l: any) => l.DetailType === 'SalesItemLineDetail');
      const sub = inv.Line.find((l: any) => l.DetailType === 'SubTotalLineDetail').Amount;
      expect(Math.round(lines.reduce((a: number, l: any) => a + l.Amount, 0) * 100)).toBe(Math.round(sub * 100));
      expect(Math.round((sub + inv.TxnTaxDetail.TotalTax) * 100)).toBe(Math.round(inv.TotalAmt * 100));
    }
    // Paging: two pages of 100 are the first 200 of the full listing.
    const p1 = await api(sim, access, realm, q('SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 100'));
    const p2 = await api(sim, access, realm, q('SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION 101 MAXRESULTS 100'));
    expect([...p1.body.QueryResponse.Invoice, ...p2.body.QueryResponse.Invoice].map((i: any) => i.Id)).toEqual(invoices.slice(0, 200).map((i) => i.Id));
    // Incremental: strictly after the 150th record's time.
    const cut = invoices[149].MetaData.LastUpdatedTime;
    const inc = await api(sim, access, realm, q(`SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '${cut}' ORDERBY MetaData.LastUpdatedTime MAXRESULTS 1000`));
    expect(inc.body.QueryResponse.Invoice.map((i: any) => i.Id)).toEqual(invoices.filter((i) => parseQboTime(i.MetaData.LastUpdatedTime) > parseQboTime(cut)).map((i) => i.Id));
    // Default MAXRESULTS is 100; count(*) counts.
    expect((await api(sim, access, realm, q('SELECT * FROM Invoice'))).body.QueryResponse.Invoice).toHaveLength(100);
    expect((await api(sim, access, realm, q('SELECT count(*) FROM Invoice'))).body.QueryResponse).toEqual({ totalCount: invoices.length });
    const none = await api(sim, access, realm, q("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2099-01-01T00:00:00-08:00'"));
    expect(none.status).toBe(200);
    expect(none.body.QueryResponse).toEqual({});
    const one = await api(sim, access, realm, `/invoice/${invoices[3].Id}`);
    expect(one.body.Invoice).toEqual(invoices[3]);
    expect((await api(sim, access, realm, '/invoice/999999')).body.Fault.Error[0].code).toBe('610');
  });

  it('returns only active name-list rows unless the query says Active IN (true,false)', async () => {
    const t = realm.tenant;
    const active = (await api(sim, access, realm, q('SELECT * FROM Customer MAXRESULTS 1000'))).body.QueryResponse.Customer as any[];
    const both = (await api(sim, access, realm, q('SELECT * FROM Customer WHERE Active IN (true,false) MAXRESULTS 1000'))).body.QueryResponse.Customer as any[];
    const inactive = (await api(sim, access, realm, q('SELECT * FROM Customer WHERE Active = false MAXRESULTS 1000'))).body.QueryResponse?.Customer ?? [];
    expect(active.every((c) => c.Active)).toBe(true);
    const customers = t.collections.contacts.list({ offset: 0, limit: 10_000 }).items.filter((c) => c.isCustomer);
    expect(both).toHaveLength(customers.length);
    expect(active.length + inactive.length).toBe(both.length);
    // An archived account is Active=false; the default query leaves it out.
    const accounts = (await api(sim, access, realm, q('SELECT * FROM Account'))).body.QueryResponse.Account as any[];
    const allAccounts = (await api(sim, access, realm, q('SELECT * FROM Account WHERE Active IN (true,false)'))).body.QueryResponse.Account as any[];
    expect(allAccounts.length).toBe(accounts.length + 1);
    expect(allAccounts.find((a) => a.AcctNum === '499').Active).toBe(false);
    expect(allAccounts.find((a) => a.AcctNum === '092')).toMatchObject({ AccountType: 'Credit Card', Classification: 'Liability' });
    // Classes and departments come from the ledger's tracking categories; TaxCode and TaxRate exist.
    expect((await api(sim, access, realm, q('SELECT * FROM Class WHERE Active IN (true,false)'))).body.QueryResponse.Class.map((c: any) => c.Name)).toEqual(['North', 'South', 'East', 'West']);
    expect((await api(sim, access, realm, q('SELECT * FROM Department'))).body.QueryResponse.Department.map((c: any) => c.Name)).toEqual(['Sales', 'Operations', 'Administration']);
    expect((await api(sim, access, realm, q('SELECT * FROM TaxCode WHERE Active IN (true,false)'))).body.QueryResponse.TaxCode.length).toBe(8);
  });

  it('answers malformed queries with a QueryParserError fault, in XML when JSON was not asked for', async () => {
    const bad = await api(sim, access, realm, q('SELECT * FROM Invoice WHERE'));
    expect(bad.status).toBe(400);
    expect(bad.body.Fault).toMatchObject({ type: 'ValidationFault', Error: [{ code: '4000', Message: 'Error parsing query', Detail: expect.stringMatching(/^QueryParserError: Encountered/) }] });
    // An unencoded "+" of a time offset arrives as a space.
    const plus = await fetch(`${sim.url}/v3/company/${realm.realmId}/query?minorversion=75&query=${encodeURIComponent("SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2026-01-01T00:00:00").replace(/'/g, '%27')}+01:00%27`, { headers: { authorization: `Bearer ${access}`, accept: 'application/json' } });
    const plusBody = (await plus.json()) as any;
    expect(plus.status).toBe(400);
    expect(plusBody.Fault.Error[0].Detail).toMatch(/Unparseable date/);
    const unknown = await api(sim, access, realm, q('SELECT * FROM Spaceship'));
    expect(unknown.body.Fault.Error[0]).toMatchObject({ code: '4001' });
    const xml = await api(sim, access, realm, q('SELECT * FROM'), { accept: 'application/xml' });
    expect(xml.status).toBe(400);
    expect(xml.headers.get('content-type')).toMatch(/xml/);
    expect(xml.text).toMatch(/<IntuitResponse[^>]*><Fault type="ValidationFault"><Error code="4000">/);
  });

  it('reports changes and timestamped deletions through CDC within 30 days, at most 1,000 objects per entity', async () => {
    const t = realm.tenant;
    t.advance(DAY);
    const since = t.nowMs();
    t.advance(60_000);
    const invoices = t.collections.invoices.list({ offset: 0, limit: 10_000 }).items.filter((d) => d.status === 'AUTHORISED' && d.payments.length === 0);
    const gone = invoices[0]!;
    const edited = invoices[1]!;
    t.delete('invoices', t.gen.id('invoices', gone.index));
    t.advance(60_000);
    t.edit('invoices', t.gen.id('invoices', edited.index), { reference: 'Changed' });
    const item = t.collections.items.list({ offset: 0, limit: 1 }).items[0]!;
    t.hardDelete('items', t.gen.id('items', item.index));
    access = sim.qbo.grant(realm.realmId, CLIENT.id).access_token; // the day moved on: the old access token expired
    const cdc = await api(sim, access, realm, `/cdc?entities=Invoice,Item,Customer&changedSince=${encodeURIComponent(qboTime(since))}`);
    expect(cdc.status).toBe(200);
    const [inv, items, customers] = cdc.body.CDCResponse[0].QueryResponse;
    expect(inv.Invoice).toHaveLength(2);
    expect(inv.Invoice[0]).toMatchObject({ Id: String(edited.index + 1), PrivateNote: 'Changed' });
    expect(inv.Invoice[1]).toEqual({ domain: 'QBO', status: 'Deleted', Id: String(gone.index + 1), MetaData: { LastUpdatedTime: qboTime(since + 60_000) } });
    // A deleted item is an inactive one in QuickBooks.
    expect(items.Item).toEqual([expect.objectContaining({ Id: String(item.index + 1), Active: false })]);
    expect(customers).toEqual({});
    // The deleted invoice is gone from queries.
    expect((await api(sim, access, realm, `/invoice/${gone.index + 1}`)).status).toBe(400);
    const old = await api(sim, access, realm, `/cdc?entities=Invoice&changedSince=${encodeURIComponent(qboTime(t.nowMs() - 31 * DAY))}`);
    expect(old.status).toBe(400);
    expect(old.body.Fault.Error[0].Detail).toMatch(/older than fixed days/);
    expect((await api(sim, access, realm, `/cdc?entities=TaxCode&changedSince=${encodeURIComponent(qboTime(since))}`)).status).toBe(400);

    // A busy realm: 2,500 invoices in six weeks changed in the window → CDC answers exactly 1,000.
    const busy = sim.qbo.createRealm({ seed: 'qbo-busy', size: { invoices: 2500, historyMonths: 1 } });
    const busyToken = sim.qbo.grant(busy.realmId).access_token;
    const big = await api(sim, busyToken, busy, `/cdc?entities=Invoice&changedSince=${encodeURIComponent(qboTime(busy.tenant.nowMs() - 29 * DAY))}`);
    expect(big.body.CDCResponse[0].QueryResponse[0].Invoice).toHaveLength(1000);
  });

  it('builds ProfitAndLoss and BalanceSheet by month from the ledger, with a Total column, and they balance', async () => {
    const t = realm.tenant;
    const end = monthIndexOf(t.nowMs()) - 1;
    const start = end - 5;
    const iso = (m: number) => new Date(Date.UTC(Math.floor(m / 12), m % 12, 1)).toISOString().slice(0, 10);
    const endIso = new Date(Date.UTC(Math.floor(end / 12), (end % 12) + 1, 0)).toISOString().slice(0, 10);
    const pnl = (await api(sim, access, realm, `/reports/ProfitAndLoss?start_date=${iso(start)}&end_date=${endIso}&summarize_column_by=Month&accounting_method=Accrual`)).body;
    expect(pnl.Header).toMatchObject({ ReportName: 'ProfitAndLoss', ReportBasis: 'Accrual', SummarizeColumnsBy: 'Month', StartPeriod: iso(start), EndPeriod: endIso });
    expect(pnl.Columns.Column.map((c: any) => c.ColTitle).slice(-1)).toEqual(['Total']);
    expect(pnl.Columns.Column).toHaveLength(8);
    const ledger = t.ledger();
    const accounts = t.collections.accounts.list({ offset: 0, limit: 1000 }).items;
    const pnlCodes = accounts.filter((a) => ['REVENUE', 'SALES', 'OTHERINCOME', 'DIRECTCOSTS', 'EXPENSE', 'OVERHEADS', 'DEPRECIATN'].includes(a.type)).map((a) => a.code);
    const netIncome = pnl.Rows.Row.find((r: any) => r.group === 'NetIncome').Summary.ColData;
    for (let c = 0; c < 6; c++) {
      const m = start + c;
      const expected = -pnlCodes.reduce((s, code) => s + (ledger.movements.get(m)?.get(code) ?? 0), 0);
      expect(Math.round(Number(netIncome[c + 1].value) * 100), `month ${c}`).toBe(expected);
    }
    const total = netIncome.slice(1, 7).reduce((s: number, x: any) => s + Math.round(Number(x.value) * 100), 0);
    expect(Math.round(Number(netIncome[7].value) * 100)).toBe(total);

    const bs = (await api(sim, access, realm, `/reports/BalanceSheet?start_date=${iso(start)}&end_date=${endIso}&summarize_column_by=Month`)).body;
    const [assets, le] = bs.Rows.Row;
    expect(assets.group).toBe('TotalAssets');
    expect(le.group).toBe('TotalLiabilitiesAndEquity');
    for (let c = 1; c <= 7; c++) expect(assets.Summary.ColData[c].value).toBe(le.Summary.ColData[c].value);
    // Total assets at each month end = the ledger's debit balances of asset accounts.
    const assetCodes = accounts.filter((a) => ['CURRENT', 'INVENTORY', 'PREPAYMENT', 'FIXED', 'NONCURRENT'].includes(a.type) || (a.type === 'BANK' && a.bankAccountType !== 'CREDITCARD')).map((a) => a.code);
    for (let c = 0; c < 6; c++) {
      let s = 0;
      for (const [lm, accts] of ledger.movements) if (lm <= start + c) for (const code of assetCodes) s += accts.get(code) ?? 0;
      expect(Math.round(Number(assets.Summary.ColData[c + 1].value) * 100)).toBe(s);
    }
    const bad = await api(sim, access, realm, '/reports/ProfitAndLoss?start_date=2026-13-01');
    expect(bad.status).toBe(400);
  });

  it('throttles at the per-minute and concurrency limits with Fault 3001 and no Retry-After, in JSON or XML', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-limits', size: 20 });
    const tok = sim.qbo.grant(r.realmId).access_token;
    r.perMinute = 3;
    for (let i = 0; i < 3; i++) expect((await api(sim, tok, r, '/companyinfo/' + r.realmId)).status).toBe(200);
    const limited = await api(sim, tok, r, '/companyinfo/' + r.realmId);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.body.Fault).toMatchObject({ type: 'SERVICE', Error: [{ code: '3001', Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429' }] });
    r.perMinute = 500;
    r.concurrent = 2;
    await adminCall(sim, 'POST', `/qbo/realms/${r.realmId}/faults`, { kind: 'slow', delayMs: 150, count: null });
    const burst = await Promise.all(Array.from({ length: 8 }, () => api(sim, tok, r, q('SELECT * FROM Invoice MAXRESULTS 20'))));
    expect(burst.some((b) => b.status === 429)).toBe(true);
    expect(r.counters.maxConcurrent).toBeLessThanOrEqual(2);
    r.concurrent = 10;
    await adminCall(sim, 'DELETE', `/qbo/realms/${r.realmId}/faults`);
    await adminCall(sim, 'POST', `/qbo/realms/${r.realmId}/faults`, { kind: 'throttle', format: 'xml', count: 1 });
    const xml = await api(sim, tok, r, q('SELECT * FROM Invoice'));
    expect(xml.status).toBe(429);
    expect(xml.text).toContain('<Error code="3001">');
  });

  it('answers 3200 for expired or revoked tokens, 3100 for the wrong environment, and counts calls without minorversion', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-auth', size: 20 });
    const sandbox = sim.qbo.createRealm({ seed: 'qbo-auth', size: 20, environment: 'sandbox' });
    expect(sandbox.realmId).not.toBe(r.realmId);
    const tok = sim.qbo.grant(r.realmId).access_token;
    const sbTok = sim.qbo.grant(sandbox.realmId).access_token;
    expect((await api(sim, sbTok, sandbox, `/companyinfo/${sandbox.realmId}`, { env: 'sandbox' })).status).toBe(200);
    const wrong = await api(sim, sbTok, sandbox, `/companyinfo/${sandbox.realmId}`);
    expect(wrong.status).toBe(403);
    expect(wrong.body.Fault.Error[0].code).toBe('3100');
    const cross = await api(sim, tok, sandbox, `/companyinfo/${sandbox.realmId}`, { env: 'sandbox' });
    expect(cross.body.Fault.Error[0].code).toBe('3100');
    r.tenant.advance(3601_000);
    const expired = await api(sim, tok, r, `/companyinfo/${r.realmId}`);
    expect(expired.status).toBe(401);
    expect(expired.body.Fault).toMatchObject({ type: 'AUTHENTICATION', Error: [{ code: '3200' }] });
    const fresh = sim.qbo.grant(r.realmId).access_token;
    await adminCall(sim, 'POST', `/qbo/realms/${r.realmId}/faults`, { kind: '3201' });
    expect((await api(sim, fresh, r, `/companyinfo/${r.realmId}`)).body.Fault.Error[0].code).toBe('3201');
    const before = r.counters.withoutMinorVersion;
    await api(sim, fresh, r, `/companyinfo/${r.realmId}`, { noMinor: true });
    await api(sim, fresh, r, `/companyinfo/${r.realmId}`);
    expect(r.counters.withoutMinorVersion).toBe(before + 1);
    expect((await adminCall(sim, 'GET', `/qbo/realms/${r.realmId}/counters`)).body.minorVersions['75']).toBeGreaterThan(0);
  });

  it('accepts the clients given with --oauth-client and refuses others', async () => {
    const other = await startSimulator({ clock, oauthClients: [{ clientId: 'cli-client', clientSecret: 'cli-secret' }] });
    try {
      const r = other.qbo.createRealm({ seed: 'qbo-cli-client', size: 5 });
      const grant = other.qbo.grant(r.realmId, 'cli-client');
      const form = { grant_type: 'refresh_token', refresh_token: grant.refresh_token };
      expect((await tokenCall(other, form, `Basic ${Buffer.from('cli-client:cli-secret').toString('base64')}`)).status).toBe(200);
      expect((await tokenCall(other, form, `Basic ${Buffer.from('cli-client:nope').toString('base64')}`)).status).toBe(401);
      expect((await fetch(`${other.url}/connect/oauth2?client_id=stranger&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=http://x/cb&state=s`)).status).toBe(400);
    } finally {
      await other.close();
    }
  });

  it('runs the consent step and Intuit’s token rules: same refresh token for 24 h, then a new one and the old one dies', async () => {
    const r = sim.qbo.createRealm({ seed: 'qbo-oauth', size: 20 });
    const redirect = 'http://127.0.0.1:9/callback';
    const authUrl = `${sim.url}/connect/oauth2?client_id=${CLIENT.id}&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=${encodeURIComponent(redirect)}&state=st1`;
    const page = await fetch(authUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`value="${r.realmId}"`);
    const consent = (decision: string) =>
      fetch(`${sim.url}/connect/oauth2`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: CLIENT.id, redirect_uri: redirect, state: 'st1', scope: 'com.intuit.quickbooks.accounting', realmId: r.realmId, decision }).toString() });
    const denied = new URL((await consent('deny')).headers.get('location')!);
    expect(Object.fromEntries(denied.searchParams)).toEqual({ error: 'access_denied', state: 'st1' });
    const ok = new URL((await consent('allow')).headers.get('location')!);
    expect(ok.searchParams.get('realmId')).toBe(r.realmId);
    expect(ok.searchParams.get('state')).toBe('st1');
    const code = ok.searchParams.get('code')!;
    expect((await tokenCall(sim, { grant_type: 'authorization_code', code, redirect_uri: redirect }, `Basic ${Buffer.from('qbo-client:wrong').toString('base64')}`)).status).toBe(401);
    const t1 = await tokenCall(sim, { grant_type: 'authorization_code', code, redirect_uri: redirect });
    expect(t1.status).toBe(200);
    expect(t1.body).toMatchObject({ token_type: 'bearer', expires_in: 3600, x_refresh_token_expires_in: 8_640_000 });
    expect((await tokenCall(sim, { grant_type: 'authorization_code', code, redirect_uri: redirect })).body.error).toBe('invalid_grant');
    r.tenant.advance(10 * 3600_000);
    const t2 = await tokenCall(sim, { grant_type: 'refresh_token', refresh_token: t1.body.refresh_token });
    expect(t2.body.refresh_token).toBe(t1.body.refresh_token);
    expect(t2.body.access_token).not.toBe(t1.body.access_token);
    r.tenant.advance(15 * 3600_000);
    const t3 = await tokenCall(sim, { grant_type: 'refresh_token', refresh_token: t1.body.refresh_token });
    expect(t3.body.refresh_token).not.toBe(t1.body.refresh_token);
    expect(t3.body.x_refresh_token_expires_in).toBe(8_640_000);
    const dead = await tokenCall(sim, { grant_type: 'refresh_token', refresh_token: t1.body.refresh_token });
    expect(dead).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await api(sim, t3.body.access_token, r, `/companyinfo/${r.realmId}`)).status).toBe(200);
    // Revocation kills the grant.
    const rev = await fetch(`${sim.url}/oauth2/v1/tokens/revoke`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ token: t3.body.refresh_token }) });
    expect(rev.status).toBe(200);
    expect((await tokenCall(sim, { grant_type: 'refresh_token', refresh_token: t3.body.refresh_token })).body.error).toBe('invalid_grant');
    expect((await api(sim, t3.body.access_token, r, `/companyinfo/${r.realmId}`)).status).toBe(401);
  });
});
