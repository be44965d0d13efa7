import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import AjvModule from 'ajv';
// `yaml` is in the tree through @fastify/swagger; used here only to read Xero's spec.
import { parse } from 'yaml';
import { ManualClock } from '../lib/clock.js';
import { startSimulator, type Simulator } from './server.js';

/**
 * The simulator's responses validate against Xero's official OpenAPI document (a copy, MIT, in
 * test/fixtures/xero/xero_accounting.yaml), so the Sandbox connector reads the same wire format real Xero sends.
 */
const SPEC = fileURLToPath(new URL('../../test/fixtures/xero/xero_accounting.yaml', import.meta.url));
const IDENTITY_SPEC = fileURLToPath(new URL('../../test/fixtures/xero/xero-identity.yaml', import.meta.url));

describe('wire format checked against xero_accounting.yaml', () => {
  let sim: Simulator;
  let tenantId: string;
  let token: string;
  let ajv: AjvModule.default;
  let spec: any;

  beforeAll(async () => {
    spec = parse(readFileSync(SPEC, 'utf8'), { maxAliasCount: -1 });
    ajv = new AjvModule.default({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'xero', components: { schemas: spec.components.schemas } });
    const clock = new ManualClock('2026-05-20T10:00:00Z');
    sim = await startSimulator({ clock, rateLimit: { perMinute: 10_000 } });
    // With overpayments and prepayments (default 0), so /Overpayments, /Prepayments and their bank transactions have some.
    const t = sim.createTenant({ seed: 'spec', size: { invoices: 400, overpayments: 8, prepayments: 8 } });
    tenantId = t.id;
    // Some changes so deleted / voided shapes are covered too.
    await fetch(`${sim.url}/admin/tenants/${t.id}/activity`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: 60, advanceDays: 3 }) });
    // Deleted and voided bank transactions and a deleted transfer (its legs DELETED too), for those shapes.
    const admin = (path: string) => fetch(`${sim.url}/admin/tenants/${t.id}/records/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.json() as Promise<{ id: string }>);
    await admin(`bankTransactions/${(await admin('bankTransactions')).id}/delete`);
    await admin(`bankTransactions/${(await admin('bankTransactions')).id}/void`);
    await admin(`bankTransfers/${(await admin('bankTransfers')).id}/delete`);
    // A supplier-side prepayment and overpayment, and a voided one, for the SPEND-* and VOIDED shapes.
    const post = (path: string, body: unknown) => fetch(`${sim.url}/admin/tenants/${t.id}/records/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ id: string }>);
    await post('prepayments', { type: 'SPEND', amount: 50 });
    await post(`overpayments/${(await post('overpayments', { type: 'SPEND', amount: 75 })).id}/void`, {});
    token = sim.grant(t.id).access_token;
  });
  afterAll(() => sim.close());

  const cases: [string, string, string][] = [
    ['/Organisation', 'getOrganisations', 'Organisations'],
    ['/Accounts', 'getAccounts', 'Accounts'],
    ['/TaxRates', 'getTaxRates', 'TaxRates'],
    ['/TrackingCategories?includeArchived=true', 'getTrackingCategories', 'TrackingCategories'],
    ['/Items', 'getItems', 'Items'],
    ['/Contacts?page=1&includeArchived=true', 'getContacts', 'Contacts'],
    ['/Invoices?page=1&pageSize=1000', 'getInvoices', 'Invoices'],
    ['/CreditNotes?page=1', 'getCreditNotes', 'CreditNotes'],
    ['/Payments?page=1&pageSize=1000', 'getPayments', 'Payments'],
    ['/ManualJournals?page=1', 'getManualJournals', 'ManualJournals'],
    ['/BankTransactions?page=1&pageSize=1000', 'getBankTransactions', 'BankTransactions'],
    ['/BankTransfers?includeDeleted=true', 'getBankTransfers', 'BankTransfers'],
    ['/Journals?offset=0', 'getJournals', 'Journals'],
    ['/Journals?offset=300&paymentsOnly=true', 'getJournals', 'Journals'],
    ['/CreditNotes?page=1&where=Type%3D%3D%22ACCPAYCREDIT%22', 'getCreditNotes', 'CreditNotes'],
    ['/PurchaseOrders?page=1&pageSize=100', 'getPurchaseOrders', 'PurchaseOrders'],
    ['/Overpayments?page=1&pageSize=100', 'getOverpayments', 'Overpayments'],
    ['/Prepayments?page=1&pageSize=100', 'getPrepayments', 'Prepayments'],
    ['/Overpayments?page=1&unitdp=4&where=Status%3D%3D%22VOIDED%22', 'getOverpayments', 'Overpayments'],
    ['/BankTransactions?page=1&where=Type%3D%3D%22RECEIVE-OVERPAYMENT%22%20OR%20Type%3D%3D%22SPEND-PREPAYMENT%22%20OR%20Type%3D%3D%22SPEND-OVERPAYMENT%22%20OR%20Type%3D%3D%22RECEIVE-PREPAYMENT%22', 'getBankTransactions', 'BankTransactions'],
    ['/Reports/BalanceSheet?periods=11&timeframe=MONTH', 'getReportBalanceSheet', 'ReportWithRows'],
    ['/Reports/ProfitAndLoss?periods=11&timeframe=MONTH', 'getReportProfitAndLoss', 'ReportWithRows'],
  ];

  for (const [path, operationId, schema] of cases) {
    it(`${operationId}: ${path}`, async () => {
      // The path and operation exist in Xero's spec, with the schema we validate against.
      const specPath = path.split('?')[0]!;
      const op = spec.paths[specPath]?.get;
      expect(op?.operationId).toBe(operationId);
      expect(op.responses['200'].content['application/json'].schema.$ref).toBe(`#/components/schemas/${schema}`);
      const res = await fetch(`${sim.url}/api.xro/2.0${path}`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId } });
      expect(res.status).toBe(200);
      const body = await res.json();
      // Something to validate: every listing here has records (the collection key is the schema's name).
      if (schema !== 'ReportWithRows') expect((body as Record<string, unknown[]>)[schema]!.length, path).toBeGreaterThan(0);
      const validate = ajv.getSchema(`xero#/components/schemas/${schema}`)!;
      const ok = validate(body);
      expect(validate.errors?.slice(0, 5) ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  /** Single-record reads: [spec path, operationId, schema, the listing to take an id from, its key, the id field]. */
  const singles: [string, string, string, string, string, string][] = [
    ['/Accounts/{AccountID}', 'getAccount', 'Accounts', '/Accounts', 'Accounts', 'AccountID'],
    ['/Items/{ItemID}', 'getItem', 'Items', '/Items', 'Items', 'ItemID'],
    ['/Contacts/{ContactID}', 'getContact', 'Contacts', '/Contacts?page=1', 'Contacts', 'ContactID'],
    ['/Invoices/{InvoiceID}', 'getInvoice', 'Invoices', '/Invoices?page=1&pageSize=1000', 'Invoices', 'InvoiceID'],
    ['/CreditNotes/{CreditNoteID}', 'getCreditNote', 'CreditNotes', '/CreditNotes?page=1', 'CreditNotes', 'CreditNoteID'],
    ['/Payments/{PaymentID}', 'getPayment', 'Payments', '/Payments?page=1', 'Payments', 'PaymentID'],
    ['/Overpayments/{OverpaymentID}', 'getOverpayment', 'Overpayments', '/Overpayments?page=1', 'Overpayments', 'OverpaymentID'],
    ['/Prepayments/{PrepaymentID}', 'getPrepayment', 'Prepayments', '/Prepayments?page=1', 'Prepayments', 'PrepaymentID'],
    ['/ManualJournals/{ManualJournalID}', 'getManualJournal', 'ManualJournals', '/ManualJournals?page=1', 'ManualJournals', 'ManualJournalID'],
    ['/BankTransactions/{BankTransactionID}', 'getBankTransaction', 'BankTransactions', '/BankTransactions?page=1&where=Type%3D%3D%22RECEIVE-PREPAYMENT%22', 'BankTransactions', 'BankTransactionID'],
    ['/BankTransfers/{BankTransferID}', 'getBankTransfer', 'BankTransfers', '/BankTransfers', 'BankTransfers', 'BankTransferID'],
    ['/PurchaseOrders/{PurchaseOrderID}', 'getPurchaseOrder', 'PurchaseOrders', '/PurchaseOrders?page=1', 'PurchaseOrders', 'PurchaseOrderID'],
    ['/Invoices/{InvoiceID}/Attachments', 'getInvoiceAttachments', 'Attachments', '/Invoices?page=1&pageSize=1000', 'Invoices', 'InvoiceID'],
  ];
  for (const [specPath, operationId, schema, listing, key, idField] of singles) {
    it(`${operationId}: ${specPath}`, async () => {
      const op = spec.paths[specPath]?.get;
      expect(op?.operationId).toBe(operationId);
      expect(op.responses['200'].content['application/json'].schema.$ref).toBe(`#/components/schemas/${schema}`);
      const headers = { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId };
      const list = (await (await fetch(`${sim.url}/api.xro/2.0${listing}`, { headers })).json()) as Record<string, Record<string, string>[]>;
      // The last record: the newest, so created and voided ones are covered where the listing has them.
      const id = list[key]!.at(-1)![idField]!;
      const res = await fetch(`${sim.url}/api.xro/2.0${specPath.replace(/\{[A-Za-z]+\}/, id)}`, { headers });
      expect(res.status).toBe(200);
      const validate = ajv.getSchema(`xero#/components/schemas/${schema}`)!;
      const body = (await res.json()) as Record<string, unknown[]>;
      if (schema !== 'Attachments') expect(body[schema]).toHaveLength(1);
      const ok = validate(body);
      expect(validate.errors?.slice(0, 5) ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('getConnections: /connections answers xero-identity.yaml\'s Connection array', async () => {
    const identity = parse(readFileSync(IDENTITY_SPEC, 'utf8'));
    const schema = identity.paths['/Connections'].get.responses['200'].content['application/json'].schema;
    const v = new AjvModule.default({ strict: false, allErrors: true, validateFormats: false });
    v.addSchema({ $id: 'identity', components: { schemas: identity.components.schemas } });
    const validate = v.compile({ ...schema, items: { $ref: 'identity#/components/schemas/Connection' } });
    const res = await fetch(`${sim.url}/connections`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as unknown[];
    expect(body.length).toBeGreaterThan(0);
    const ok = validate(body);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
    expect(ok).toBe(true);
    expect(validate([{ tenantType: 42 }])).toBe(false);
  });

  it('the spec documents Journals as offset-paged and BankTransfers as unpaged with includeDeleted, both with If-Modified-Since', () => {
    const names = (p: string) => spec.paths[p].get.parameters.map((x: any) => x.$ref ?? x.name);
    expect(names('/Journals')).toEqual(expect.arrayContaining(['#/components/parameters/ifModifiedSince', 'offset', 'paymentsOnly']));
    expect(names('/Journals').some((x: string) => /page/i.test(x))).toBe(false);
    expect(names('/BankTransfers')).toEqual(expect.arrayContaining(['#/components/parameters/ifModifiedSince', 'includeDeleted']));
    expect(names('/BankTransfers').some((x: string) => /page/i.test(x))).toBe(false);
    const validate = ajv.getSchema('xero#/components/schemas/BankTransactions')!;
    expect(validate({ BankTransactions: [{ Type: 'TRANSFER', LineItems: [], BankAccount: {} }] })).toBe(false);
  });

  it('the validator does reject what the spec forbids', () => {
    const validate = ajv.getSchema('xero#/components/schemas/Invoices')!;
    expect(validate({ Invoices: [{ InvoiceID: 'x', Status: 'BOGUS' }] })).toBe(false);
    expect(validate({ Invoices: [{ Total: 'not a number' }] })).toBe(false);
    expect(ajv.getSchema('xero#/components/schemas/Organisations')!({ Organisations: [{ Version: 'MARS' }] })).toBe(false);
  });

  it('the report parameters the simulator honours are the spec\'s (names, and timeframe values)', () => {
    const resolve = (x: any) => (x.$ref ? spec.components.parameters[x.$ref.split('/').pop()] : x);
    const names = (path: string) => spec.paths[path].get.parameters.map((x: any) => resolve(x).name);
    expect(names('/Reports/BalanceSheet')).toEqual(expect.arrayContaining(['date', 'periods', 'timeframe']));
    expect(names('/Reports/ProfitAndLoss')).toEqual(expect.arrayContaining(['fromDate', 'toDate', 'periods', 'timeframe']));
    const timeframe = spec.paths['/Reports/ProfitAndLoss'].get.parameters.find((x: any) => x.name === 'timeframe');
    for (const v of ['MONTH', 'QUARTER', 'YEAR']) expect(timeframe.description).toContain(v);
    expect(spec.paths['/Reports/CashFlow']).toBeUndefined(); // Xero has no cash-flow report
  });

  it('the spec documents If-Modified-Since and paging on the listed endpoints', () => {
    for (const p of ['/Invoices', '/Contacts', '/CreditNotes', '/Payments', '/ManualJournals', '/BankTransactions', '/Overpayments', '/Prepayments']) {
      const params = spec.paths[p].get.parameters.map((x: any) => x.$ref ?? x.name);
      expect(params.some((x: string) => /ifModifiedSince/i.test(x))).toBe(true);
      expect(params.some((x: string) => /page/i.test(x))).toBe(true);
    }
  });
});
