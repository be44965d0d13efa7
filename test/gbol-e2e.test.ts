/**
 * Issue 13, end to end for the real Xero connector (`gbol`) on both databases: Syncline configured as an operator
 * configures it (SYNCLINE_XERO_* pointing at `syncline sim`, parsed by parseConfig, wired by cli/xero.ts as the server
 * wires it), a connection linked through the Link flow and the simulator's consent page, every data type gbol reads
 * pulled to Complete, and the records the API serves compared field by field with the simulator's own wire records
 * (src/connectors/xero/field-checks.ts, shared with sandbox.test.ts), statements and aged reports with its ledger.
 * Then changes at the source: deleted, voided and hard-deleted records are flagged. A small fixed-seed tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/stores.js';
import { BASE_URL, createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import type { Tenant } from '../src/sim/tenant.js';
import type { XeroConnector } from '../src/connectors/xero/index.js';
import { parseConfig } from '../src/cli/config.js';
import { xeroConnector, xeroLinker } from '../src/cli/xero.js';
import { ACCOUNTING_READ_TYPES, V1_READ_TYPES, type DataType } from '../src/domain/data-types.js';
import { READ_TYPES } from '../src/domain/read-types.js';
import { checkRecord } from '../src/connectors/xero/model-check.js';
import {
  agedFromReport,
  byId,
  checkCreditNotesAndJournals,
  checkInvoices,
  checkPayments,
  checkReferenceData,
  checkStatements,
  expectedAged,
  type Mapped,
  type MappedRecord,
} from '../src/connectors/xero/field-checks.js';

const DAY = 86_400_000;
const CLIENT = { id: 'gbol-e2e-app', secret: 'gbol-e2e-secret-0123456789' };

describe.each(DIALECTS)('gbol end to end against syncline sim [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<XeroConnector>;
  let tenant: Tenant;
  let companyId: string;
  let connectionId: string;

  const env = (extra: Record<string, string> = {}) =>
    parseConfig({
      SYNCLINE_XERO_CLIENT_ID: CLIENT.id,
      SYNCLINE_XERO_CLIENT_SECRET: CLIENT.secret,
      SYNCLINE_XERO_AUTHORIZE_URL: `${sim.url}/identity/connect/authorize`,
      SYNCLINE_XERO_TOKEN_URL: `${sim.url}/connect/token`,
      SYNCLINE_XERO_API_URL: sim.url,
      SYNCLINE_PUBLIC_URL: BASE_URL,
      ...extra,
    }).xero!;

  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/admin/tenants/${tenant.id}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    if (res.status >= 300) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  /** Every record of a Xero listing, as the simulator serves it to any client. */
  const wire = async (path: string, key: string): Promise<any[]> => {
    const out: any[] = [];
    const token = sim.grant(tenant.id).access_token;
    for (let page = 1; ; page++) {
      const res = await fetch(`${sim.url}/api.xro/2.0${path}${path.includes('?') ? '&' : '?'}page=${page}&pageSize=1000&unitdp=4`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenant.id } });
      expect(res.status, path).toBe(200);
      const body = (await res.json()) as any;
      out.push(...body[key]);
      if (!body.pagination || body[key].length < 1000) return out;
    }
  };
  const where = (w: string) => `where=${encodeURIComponent(w)}`;
  /** What the API serves for a type, as mapped records (Syncline's own fields taken off). */
  const served = async (dataType: DataType): Promise<Mapped> => {
    const rt = READ_TYPES.find((r) => r.dataType === dataType)!;
    const base = rt.dataType === 'bankAccounts' || rt.connectionOnly ? `/companies/${companyId}/connections/${connectionId}/data/${rt.segment}` : `/companies/${companyId}/data/${rt.segment}`;
    const toRecord = (x: any, id: string): MappedRecord => {
      const { metadata, modifiedDate: _m, supplementalData: _s, ...data } = x;
      expect(checkRecord(dataType, data), `${dataType} ${id}`).toEqual([]);
      return { id, data, deleted: metadata?.isDeleted === true, sourceModifiedDate: x.sourceModifiedDate ?? null };
    };
    if (rt.single) {
      const x = (await t.call('GET', base)).json();
      return new Map([[x.accountingPlatformRef, toRecord(x, x.accountingPlatformRef)]]);
    }
    const out: Mapped = new Map();
    for (let page = 1; ; page++) {
      const res = await t.call('GET', `${base}?page=${page}&pageSize=5000`);
      expect(res.statusCode, base).toBe(200);
      for (const x of res.json().results) out.set(x.id, toRecord(x, x.id));
      if (res.json().results.length < 5000) return out;
    }
  };
  /** Statement months as stored by the pull (one record a month). */
  const statements = async (dataType: 'balanceSheet' | 'profitAndLoss'): Promise<MappedRecord[]> => {
    const rows = await t.store.db.selectFrom('records').select(['record_id', 'data']).where('connection_id', '=', connectionId).where('data_type', '=', dataType).execute();
    return rows.map((r) => ({ id: r.record_id, data: typeof r.data === 'string' ? JSON.parse(r.data) : (r.data as Record<string, unknown>), deleted: false, sourceModifiedDate: null }));
  };
  const refresh = async (dataType: DataType) => {
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await engine.pool.drain(60_000);
    return (await t.call('GET', `/companies/${companyId}/data/history/${op.id}`)).json();
  };

  /** The Link flow as a browser drives it: linkUrl → the simulator's consent page → tick the organisation → callback. */
  async function link(company: string, connection: string, linkUrl: string): Promise<void> {
    const start = await t.app.inject({ method: 'GET', url: linkUrl.slice(BASE_URL.length) });
    expect(start.statusCode, start.body).toBe(302);
    const authorize = new URL(String(start.headers.location));
    expect(authorize.origin + authorize.pathname).toBe(`${sim.url}/identity/connect/authorize`);
    const html = await (await fetch(authorize)).text();
    const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const consent = await fetch(`${sim.url}/identity/connect/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ request, decision: 'allow', tenant: tenant.id }),
    });
    expect(consent.status).toBe(302);
    const callback = new URL(consent.headers.get('location')!);
    const done = await t.app.inject({ method: 'GET', url: callback.pathname + callback.search });
    expect(done.statusCode, done.body).toBe(302);
    const conn = (await t.call('GET', `/companies/${company}/connections/${connection}`)).json();
    expect(conn).toMatchObject({ status: 'Linked', connectionInfo: { tenantId: tenant.id, tenantName: 'Gbol Trading' } });
    await engine.pool.drain(120_000);
  }

  beforeAll(async () => {
    t = await createTestApp(dialect, { xero: true });
    sim = await startSimulator({ port: 0, clock: t.clock, rateLimit: { perMinute: 100_000, concurrent: 5 }, oauthClients: [{ clientId: CLIENT.id, clientSecret: CLIENT.secret }] });
    tenant = sim.createTenant({ seed: 'gbol-e2e', name: 'Gbol Trading', size: { invoices: 60, overpayments: 3, prepayments: 3, historyMonths: 14 } });
    // Supplier-side money on account (generated ones are customer-side): a prepayment applied to an open bill, and an
    // overpayment left on account.
    const bill = tenant.collections.bills.list({ offset: 0, limit: 1000 }).items.find((b) => b.status === 'AUTHORISED' && b.payments.length === 0 && b.totalCents > 2000)!;
    await admin('/records/prepayments', { type: 'SPEND', billId: tenant.gen.id('bills', bill.index), amount: 15 });
    await admin('/records/overpayments', { type: 'SPEND', amount: 60 });
    // The server's own wiring of the operator's configuration (cli/xero.ts); waits move the shared clock.
    const connector = xeroConnector(env(), t.clock);
    engine = startEngine(t, {}, connector);
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'gbol' ? connector.oauthLinker : undefined);
    companyId = (await t.call('POST', '/companies', { name: 'Gbol Trading' })).json().id;
    const c = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'gbol' })).json();
    connectionId = c.id;
    await link(companyId, c.id, c.linkUrl);
  }, 120_000);
  afterAll(async () => {
    await engine?.stop();
    await sim?.close();
    await t?.close();
  });

  it('every type gbol reads ends Complete; journals need the premium scope: PermissionsError without it, Complete with it', async () => {
    const history = (await t.call('GET', `/companies/${companyId}/data/history?pageSize=100`)).json().results as any[];
    // The first link queues every type gbol reads (the others are NotSupported at queue time, never fetched).
    expect(history.map((o) => o.dataType).sort()).toEqual(ACCOUNTING_READ_TYPES.filter((x) => engine.connector.supports(x)).sort());
    for (const op of history) {
      const want = op.dataType === 'journals' ? 'PermissionsError' : 'Complete';
      expect({ type: op.dataType, status: op.status }).toEqual({ type: op.dataType, status: want });
    }
    for (const type of ['cashFlowStatement', 'salesOrders', 'paymentMethods'] as const) expect(engine.connector.supports(type), type).toBe(false);
    for (const type of V1_READ_TYPES) expect(engine.connector.supports(type), type).toBe(type !== 'cashFlowStatement');
    // An operator whose app has accounting.journals.read adds it to SYNCLINE_XERO_SCOPES; a re-link asks for it.
    const withJournals = env({ SYNCLINE_XERO_SCOPES: `${env().scopes.join(' ')} accounting.journals.read` });
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'gbol' ? xeroLinker(withJournals, engine.connector) : undefined);
    const other = (await t.call('POST', '/companies', { name: 'Gbol Journals' })).json().id;
    // Only journals on this company's first link (the rest was read above).
    const settings = ((await t.call('GET', `/companies/${other}/syncSettings`)).json().settings as any[]).map((x) => ({ ...x, fetchOnFirstLink: x.dataType === 'journals' }));
    expect((await t.call('POST', `/companies/${other}/syncSettings`, { companyId: other, overridesDefaults: true, settings })).statusCode).toBe(204);
    const c = (await t.call('POST', `/companies/${other}/connections`, { platformKey: 'gbol' })).json();
    await link(other, c.id, c.linkUrl);
    const ops = (await t.call('GET', `/companies/${other}/data/history?pageSize=100`)).json().results as any[];
    expect(ops.map((o) => [o.dataType, o.status])).toEqual([['journals', 'Complete']]);
    expect((await t.call('GET', `/companies/${other}/data/journals?pageSize=1`)).json().totalResults).toBeGreaterThan(0);
  });

  it('records match the simulator field by field: reference data, invoices, credit notes, journal entries, payments with every allocation', async () => {
    const accounts = await wire('/Accounts', 'Accounts');
    const contacts = await wire('/Contacts?includeArchived=true', 'Contacts');
    const m = Object.fromEntries(await Promise.all(V1_READ_TYPES.filter((x) => x !== 'cashFlowStatement' && x !== 'balanceSheet' && x !== 'profitAndLoss').map(async (x) => [x, await served(x)] as const))) as Record<string, Mapped>;
    checkReferenceData(
      { accounts, taxRates: await wire('/TaxRates', 'TaxRates'), items: await wire('/Items', 'Items'), contacts, organisation: (await wire('/Organisation', 'Organisations'))[0] },
      { chartOfAccounts: m.chartOfAccounts!, bankAccounts: m.bankAccounts!, taxRates: m.taxRates!, trackingCategories: m.trackingCategories!, items: m.items!, customers: m.customers!, suppliers: m.suppliers!, company: m.company! },
      t.clock.now().getTime(),
    );
    const opts = { unseenDeleted: true };
    checkInvoices(await wire(`/Invoices?${where('Type=="ACCREC"')}`, 'Invoices'), m.invoices!, opts);
    const creditNotes = await wire(`/CreditNotes?${where('Type=="ACCRECCREDIT"')}`, 'CreditNotes');
    checkCreditNotesAndJournals({ creditNotes }, { creditNotes: m.creditNotes!, invoices: m.invoices!, journalEntries: m.journalEntries!, chartOfAccounts: m.chartOfAccounts! }, opts);
    const payments = await wire('/Payments', 'Payments');
    const overpayments = await wire('/Overpayments', 'Overpayments');
    const prepayments = await wire('/Prepayments', 'Prepayments');
    const side = (s: string, xs: any[]) => xs.filter((x) => x.Type.startsWith(s));
    const ctx = { contacts: new Map([...m.customers!, ...m.suppliers!]), bankAccounts: m.bankAccounts! };
    const customer = checkPayments('customer', { payments, creditNotes, overpayments: side('RECEIVE', overpayments), prepayments: side('RECEIVE', prepayments) }, m.payments!, { ...ctx, documents: m.invoices! }, opts);
    const billCreditNotes = await wire(`/CreditNotes?${where('Type=="ACCPAYCREDIT"')}`, 'CreditNotes');
    const supplier = checkPayments('supplier', { payments, creditNotes: billCreditNotes, overpayments: side('SPEND', overpayments), prepayments: side('SPEND', prepayments) }, m.billPayments!, { ...ctx, documents: m.bills! }, opts);
    expect(customer).toMatchObject({ onAccount: 6 });
    expect(customer.payments).toBeGreaterThan(0);
    expect(supplier).toMatchObject({ onAccount: 2 });
    // Bills: the same document shape as invoices on the wire; amounts and allocations agree.
    for (const b of await wire(`/Invoices?${where('Type=="ACCPAY"')}`, 'Invoices')) {
      const r = m.bills!.get(b.InvoiceID);
      if (!r) continue;
      expect(r.data).toMatchObject({ totalAmount: b.Total, amountDue: b.AmountDue, supplierRef: { id: b.Contact.ContactID } });
      expect(r.data.paymentAllocations.reduce((s: number, p: any) => s + Math.round(p.allocation.totalAmount * 100), 0)).toBe(Math.round((b.AmountPaid + b.AmountCredited) * 100));
    }
  });

  it('statements equal the simulator ledger; aged debtors and creditors equal the ledger as at a past date, money on account included', async () => {
    const bs = await statements('balanceSheet');
    expect(bs).toHaveLength(24);
    checkStatements(tenant, bs, await statements('profitAndLoss'));
    const reportDateMs = Math.floor(t.clock.now().getTime() / DAY) * DAY - 10 * DAY;
    for (const [kind, segment, idKey] of [['invoices', 'agedDebtor', 'customerId'], ['bills', 'agedCreditor', 'supplierId']] as const) {
      const report = (await t.call('GET', `/companies/${companyId}/reports/${segment}?reportDate=${new Date(reportDateMs).toISOString().slice(0, 10)}&periodLengthDays=30&numberOfPeriods=4`)).json();
      const want = expectedAged(tenant, kind, reportDateMs, 30, 4);
      expect(want.size).toBeGreaterThan(0);
      expect(agedFromReport(report, idKey), segment).toEqual(want);
    }
  });

  it('deleted, voided and hard-deleted at the source: flagged (reference data by its full listing), voided documents Void', async () => {
    t.clock.advance(3_600_000);
    const newAccount = (await admin('/records/accounts', { name: 'Temporary account' })).id as string;
    const newItem = (await admin('/records/items', { name: 'Temporary item' })).id as string;
    for (const type of ['chartOfAccounts', 'items'] as const) expect((await refresh(type)).status).toBe('Complete');
    const invoices = await wire(`/Invoices?${where('Type=="ACCREC" AND Status=="AUTHORISED"')}`, 'Invoices');
    const toVoid = invoices.find((d) => d.Payments.length === 0)!.InvoiceID as string;
    const payment = (await wire(`/Payments?${where('PaymentType=="ACCRECPAYMENT" AND Status=="AUTHORISED"')}`, 'Payments'))[0].PaymentID as string;
    const onAccount = (await wire(`/Overpayments?${where('Type=="SPEND-OVERPAYMENT"')}`, 'Overpayments'))[0].OverpaymentID as string;
    const category = (await wire('/TrackingCategories?includeArchived=true', 'TrackingCategories'))[1].TrackingCategoryID as string;

    t.clock.advance(3_600_000);
    await admin(`/records/accounts/${newAccount}/delete`);
    await admin(`/records/items/${newItem}/hard-delete`);
    await admin('/records/taxRates/TAX001/delete');
    await admin(`/records/trackingCategories/${category}/delete`);
    await admin(`/records/invoices/${toVoid}/void`);
    await admin(`/records/payments/${payment}/delete`);
    await admin(`/records/overpayments/${onAccount}/void`);
    for (const type of ['chartOfAccounts', 'items', 'taxRates', 'trackingCategories', 'invoices', 'payments', 'billPayments'] as const) expect((await refresh(type)).status, type).toBe('Complete');

    const one = async (segment: string, id: string) => (await t.call('GET', `/companies/${companyId}/data/${segment}/${encodeURIComponent(id)}`)).json();
    expect((await one('accounts', newAccount)).metadata.isDeleted).toBe(true);
    expect((await one('items', newItem)).metadata.isDeleted).toBe(true);
    expect((await one('taxRates', 'TAX001')).metadata.isDeleted).toBe(true);
    const tracking = await served('trackingCategories');
    const options = [...tracking.values()].filter((r) => r.data.parentId === category);
    expect(options.length).toBeGreaterThan(0);
    for (const r of [tracking.get(category)!, ...options]) expect(r.deleted, r.data.name).toBe(true);
    const voided = await one('invoices', toVoid);
    expect(voided).toMatchObject({ status: 'Void', metadata: { isDeleted: false } });
    expect((await one('payments', payment)).metadata.isDeleted).toBe(true);
    expect((await one('billPayments', onAccount)).metadata.isDeleted).toBe(true);
    // The rest stays as it was, and still agrees with the platform field by field.
    expect((await one('accounts', (await wire('/Accounts', 'Accounts'))[0].AccountID)).metadata.isDeleted).toBe(false);
    checkInvoices(await wire(`/Invoices?${where('Type=="ACCREC"')}`, 'Invoices'), await served('invoices'), { unseenDeleted: true });
  });
});
