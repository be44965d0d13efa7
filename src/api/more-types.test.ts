/**
 * Issue 15, through the pull engine with the in-memory test platform: the new data types are pulled, stored, listed
 * (paged, filtered, sorted), read by id, flagged deleted on refresh; bank transactions per bank account; pull
 * validation findings; aged debtors/creditors from stored documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { startEngine, waitFor, type Engine } from '../../test/support/engine.js';
import { MORE_READ_TYPES } from '../domain/data-types.js';
import { CodatAccounting } from '@codat/accounting';
import { RFCDate } from '@codat/accounting/dist/sdk/types/index.js';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe.each(DIALECTS)('more accounting data types [%s]', (dialect) => {
  let t: TestApp;
  let engine: Engine;
  let companyId: string;
  let connectionId: string;

  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);
  const settle = () =>
    waitFor(async () => {
      const h = (await get('/data/history?pageSize=5000')).json().results as any[];
      return h.length > 0 && h.every((o) => !['Queued', 'Fetching', 'Processing'].includes(o.status));
    }, 30_000);
  const refresh = async (dataType: string) => {
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await settle();
    return (await get(`/data/history/${op.id}`)).json();
  };

  beforeAll(async () => {
    t = await createTestApp(dialect);
    engine = startEngine(t);
    const c = engine.connector;
    c.upsert('customers', 'c1', { customerName: 'Alpha', status: 'Active' });
    c.upsert('customers', 'c2', { customerName: 'Beta', status: 'Active' });
    c.upsert('suppliers', 's1', { supplierName: 'Gamma', status: 'Active' });
    c.upsert('chartOfAccounts', 'a1', { name: 'Sales', status: 'Active' });
    c.upsert('chartOfAccounts', 'b1', { name: 'Current', status: 'Active', isBankAccount: true });
    c.upsert('chartOfAccounts', 'b2', { name: 'Savings', status: 'Active', isBankAccount: true });
    c.upsert('bankAccounts', 'b1', { accountName: 'Current', currency: 'GBP' });
    c.upsert('bankAccounts', 'b2', { accountName: 'Savings', currency: 'GBP' });
    const line = (subTotal: number, tax: number) => ({ unitAmount: subTotal, quantity: 1, subTotal, taxAmount: tax, totalAmount: subTotal + tax, accountRef: { id: 'a1' } });
    // invoices: i1 issued 10 days before the report date, i2 45 days, i3 100 days (partly paid before), i4 draft
    c.upsert('invoices', 'i1', { customerRef: { id: 'c1' }, issueDate: '2026-02-19T00:00:00', currency: 'GBP', status: 'Submitted', lineItems: [line(100, 20)], subTotal: 100, totalTaxAmount: 20, totalAmount: 120, amountDue: 120 });
    c.upsert('invoices', 'i2', { customerRef: { id: 'c1' }, issueDate: '2026-01-15T00:00:00', currency: 'GBP', status: 'Submitted', lineItems: [line(50, 0)], subTotal: 50, totalTaxAmount: 0, totalAmount: 50, amountDue: 50 });
    c.upsert('invoices', 'i3', {
      customerRef: { id: 'c2' }, issueDate: '2025-11-21T00:00:00', currency: 'EUR', status: 'PartiallyPaid', lineItems: [line(200, 0)], subTotal: 200, totalTaxAmount: 0, totalAmount: 200, amountDue: 50,
      paymentAllocations: [
        { payment: { id: 'p1' }, allocation: { allocatedOnDate: '2025-12-01T00:00:00', totalAmount: 100 } },
        { payment: { id: 'p2' }, allocation: { allocatedOnDate: '2026-03-05T00:00:00', totalAmount: 50 } },
      ],
    });
    c.upsert('invoices', 'i4', { customerRef: { id: 'c1' }, issueDate: '2026-02-20T00:00:00', currency: 'GBP', status: 'Draft', lineItems: [line(999, 0)], subTotal: 999, totalTaxAmount: 0, totalAmount: 999, amountDue: 999 });
    // broken on purpose: lines 30 ≠ subTotal 40; 40 + 5 ≠ 50; customer c9 does not exist
    c.upsert('invoices', 'i5', { customerRef: { id: 'c9' }, issueDate: '2026-02-01T00:00:00', currency: 'GBP', status: 'Submitted', lineItems: [line(30, 5)], subTotal: 40, totalTaxAmount: 5, totalAmount: 50, amountDue: 50 });
    c.upsert('creditNotes', 'cn1', { customerRef: { id: 'c1' }, issueDate: '2026-02-25T00:00:00', currency: 'GBP', status: 'Submitted', totalAmount: 30, remainingCredit: 30, subTotal: 30, totalTaxAmount: 0, totalDiscount: 0, discountPercentage: 0 });
    c.upsert('bills', 'bl1', { supplierRef: { id: 's1' }, issueDate: '2026-02-10T00:00:00', currency: 'GBP', status: 'Open', lineItems: [line(80, 0)], subTotal: 80, taxAmount: 0, totalAmount: 80, amountDue: 80 });
    c.upsert('billCreditNotes', 'bcn1', { supplierRef: { id: 's1' }, issueDate: '2025-12-01T00:00:00', currency: 'GBP', status: 'Submitted', billCreditNoteNumber: 'BCN-1', lineItems: [line(25, 0)], subTotal: 25, totalTaxAmount: 0, totalAmount: 25, totalDiscount: 0, discountPercentage: 0, remainingCredit: 25 });
    c.upsert('billCreditNotes', 'bcn2', { supplierRef: { id: 's1' }, issueDate: '2026-01-01T00:00:00', currency: 'GBP', status: 'Void', billCreditNoteNumber: 'BCN-2', subTotal: 5, totalTaxAmount: 0, totalAmount: 5, totalDiscount: 0, discountPercentage: 0, remainingCredit: 0 });
    c.upsert('journals', 'j1', { name: 'Sales', journalCode: 'SAL', type: 'Sales', status: 'Active', hasChildren: false });
    c.upsert('paymentMethods', 'pm1', { name: 'Card', type: 'CreditCard', status: 'Active' });
    c.upsert('purchaseOrders', 'po1', { purchaseOrderNumber: 'PO-1', supplierRef: { id: 's1' }, status: 'Open', totalAmount: 10, currency: 'GBP' });
    c.upsert('salesOrders', 'so1', { salesOrderNumber: 'SO-1', customerRef: { id: 'c1' }, status: 'Open', invoicingStatus: 'NotInvoiced', totalAmount: 11, currency: 'GBP' });
    c.upsert('accountTransactions', 'at1', { bankAccountRef: { id: 'b1' }, date: '2026-02-01T00:00:00', status: 'Reconciled', currency: 'GBP', totalAmount: 120, lines: [{ amount: 120, recordRef: { id: 'i1', dataType: 'invoices' } }] });
    c.upsert('directCosts', 'dc1', { contactRef: { id: 's1', dataType: 'suppliers' }, issueDate: '2026-02-02T00:00:00', currency: 'GBP', lineItems: [line(10, 2)], paymentAllocations: [], subTotal: 10, taxAmount: 2, totalAmount: 12 });
    c.upsert('directIncomes', 'di1', { contactRef: { id: 'c1', dataType: 'customers' }, issueDate: '2026-02-03T00:00:00', currency: 'GBP', lineItems: [line(7, 0)], paymentAllocations: [], subTotal: 7, taxAmount: 0, totalAmount: 7 });
    c.upsert('transfers', 'tr1', { date: '2026-02-04T00:00:00', from: { accountRef: { id: 'b1' }, currency: 'GBP', amount: 500 }, to: { accountRef: { id: 'b2' }, currency: 'GBP', amount: 500 } });
    for (let i = 0; i < 12; i++) {
      c.upsert('bankTransactions', `bt${String(i).padStart(2, '0')}`, { accountId: i % 3 === 0 ? 'b2' : 'b1', amount: i * 10 - 50, clearedOnDate: `2026-02-${String(i + 1).padStart(2, '0')}T00:00:00`, reconciled: i % 2 === 0, transactionType: i * 10 - 50 < 0 ? 'Debit' : 'Credit' });
    }
    companyId = (await t.call('POST', '/companies', { name: 'More Types' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
    await settle();
  });
  afterAll(async () => {
    await engine.stop();
    await t.close();
  });

  it('pulls every new type on first link; dataStatus and syncSettings list them', async () => {
    const status = (await get('/dataStatus')).json();
    for (const type of MORE_READ_TYPES) expect(status[type], type).toMatchObject({ dataType: type, currentStatus: 'Complete' });
    const settings = (await t.call('GET', '/profile/syncSettings')).json().settings as any[];
    for (const type of MORE_READ_TYPES) expect(settings.find((s) => s.dataType === type), type).toMatchObject({ fetchOnFirstLink: true, syncSchedule: 168 });
  });

  it('serves each type at its Codat path: list, get, 404s; connection-only types have no company-level path', async () => {
    const paths: Record<string, [string, string]> = {
      billCreditNotes: ['/data/billCreditNotes', 'bcn1'],
      journals: ['/data/journals', 'j1'],
      paymentMethods: ['/data/paymentMethods', 'pm1'],
      purchaseOrders: ['/data/purchaseOrders', 'po1'],
      salesOrders: ['/data/salesOrders', 'so1'],
      accountTransactions: [`/connections/${connectionId}/data/accountTransactions`, 'at1'],
      directCosts: [`/connections/${connectionId}/data/directCosts`, 'dc1'],
      directIncomes: [`/connections/${connectionId}/data/directIncomes`, 'di1'],
      transfers: [`/connections/${connectionId}/data/transfers`, 'tr1'],
    };
    for (const [type, [path, id]] of Object.entries(paths)) {
      const list = (await get(path)).json();
      expect(list.totalResults, type).toBeGreaterThan(0);
      expect(list.results[0], type).toMatchObject({ id, metadata: { isDeleted: false } });
      expect(typeof list.results[0].modifiedDate, type).toBe('string');
      expect((await get(`${path}/${id}`)).json(), type).toEqual(list.results.find((r: any) => r.id === id));
      expect(expectErrorShape(await get(`${path}/nope`), 404).error).toBe(`No data available for ${type} for ID nope`);
    }
    expect((await get('/data/billCreditNotes?pageSize=1&page=2&orderBy=-billCreditNoteNumber')).json()).toMatchObject({ totalResults: 2, results: [{ id: 'bcn1' }] });
    expect((await get('/data/billCreditNotes?query=status=Void')).json().results.map((r: any) => r.id)).toEqual(['bcn2']);
    expect((await get(`/connections/${connectionId}/data/transfers?query=from.amount>499`)).json().totalResults).toBe(1);
    expect((await get(`/connections/${connectionId}/data/transfers?query=from.amount>500`)).json().totalResults).toBe(0);
    for (const segment of ['accountTransactions', 'directCosts', 'directIncomes', 'transfers']) {
      expect(expectErrorShape(await get(`/data/${segment}`), 404).error).toMatch(/is not supported by Syncline/);
    }
    expect(expectErrorShape(await get('/data/journals?query=bogus=1'), 400).error).toBe('Error parsing query - Could not resolve property bogus on Journal');
    expect(expectErrorShape(await get('/data/purchaseOrders?pageSize=0'), 400).statusCode).toBe(400);
  });

  it('lists bank transactions per bank account, paged, filtered and sorted', async () => {
    const base = `/connections/${connectionId}/data/bankAccounts`;
    const b1 = (await get(`${base}/b1/bankTransactions?pageSize=100`)).json();
    expect(b1.totalResults).toBe(8);
    expect(b1.results.every((r: any) => r.accountId === 'b1')).toBe(true);
    const b2 = (await get(`${base}/b2/bankTransactions?orderBy=-amount`)).json();
    expect(b2.results.map((r: any) => r.id)).toEqual(['bt09', 'bt06', 'bt03', 'bt00']);
    const page = (await get(`${base}/b1/bankTransactions?query=amount<0%26%26reconciled=true&pageSize=1&page=2`)).json();
    expect(page).toMatchObject({ totalResults: 2, pageNumber: 2, results: [{ id: 'bt04' }] });
    expect(expectErrorShape(await get(`${base}/zz/bankTransactions`), 404).error).toBe('No data available for bankAccounts for ID zz');
    expect(expectErrorShape(await get(`${base}/b1/bankTransactions?query=payee=x`), 400).error).toBe('Error parsing query - Could not resolve property payee on BankTransaction');
    expect(expectErrorShape(await get(`/connections/${MISSING}/data/bankAccounts/b1/bankTransactions`), 404).error).toMatch(/Data connection/);
  });

  it('a refresh of each new type completes and flags records deleted at the source', async () => {
    const c = engine.connector;
    c.softDelete('journals', 'j1');
    c.hardDelete('paymentMethods', 'pm1');
    c.upsert('journals', 'j2', { name: 'Purchases', status: 'Active' });
    for (const type of MORE_READ_TYPES) expect((await refresh(type)).status, type).toBe('Complete');
    expect((await get('/data/journals/j1')).json().metadata.isDeleted).toBe(true);
    expect((await get('/data/journals?query=metadata.isDeleted!=true')).json().results.map((r: any) => r.id)).toEqual(['j2']);
    // a hard delete is found by the next full listing (every 7th pull)
    for (let i = 0; i < 7 && !(await get('/data/paymentMethods/pm1')).json().metadata.isDeleted; i++) await refresh('paymentMethods');
    expect((await get('/data/paymentMethods/pm1')).json().metadata.isDeleted).toBe(true);
  });

  it('pull validation: totals that do not add up are errors, references to missing records warnings', async () => {
    const history = (await get('/data/history?pageSize=5000&query=dataType=invoices')).json().results as any[];
    expect(history).toHaveLength(1);
    const v = (await get(`/sync/${history[0].id}/validation`)).json();
    expect(v.errors).toEqual([
      { itemId: 'i5', validatorName: 'InvoiceLinesValidator', message: 'Invoice i5: its line items add up to 30, its subTotal is 40.' },
      { itemId: 'i5', validatorName: 'InvoiceTotalsValidator', message: 'Invoice i5: subTotal 40 plus totalTaxAmount 5 is 45, its totalAmount is 50.' },
    ]);
    expect(v.warnings).toEqual([{ itemId: 'i5', validatorName: 'MissingReferenceValidator', message: "Invoice i5: customerRef.id is c9, which is not among the connection's customers." }]);
    const at = (await get('/data/history?query=dataType=transfers')).json().results[0];
    expect((await get(`/sync/${at.id}/validation`)).json()).toEqual({ errors: [], warnings: [] });
    expect(expectErrorShape(await get(`/sync/${MISSING}/validation`), 404).error).toBe(`No dataset was found with ID ${MISSING}`);
    expect(expectErrorShape(await get('/sync/not-a-uuid/validation'), 400).statusCode).toBe(400);
  });

  it('aged debtors and creditors from the stored documents', async () => {
    expect((await get('/reports/agedDebtor/available')).json()).toBe(true);
    const r = (await get('/reports/agedDebtor?reportDate=2026-03-01&periodLengthDays=30&numberOfPeriods=3')).json();
    expect(r.reportDate).toBe('2026-03-01T00:00:00Z');
    const alpha = r.data.find((d: any) => d.customerId === 'c1');
    expect(alpha.customerName).toBe('Alpha');
    const gbp = alpha.agedCurrencyOutstanding[0];
    expect(gbp.currency).toBe('GBP');
    expect(gbp.agedOutstandingAmounts).toEqual([
      { fromDate: '2026-01-30T00:00:00', toDate: '2026-03-01T00:00:00', amount: 90, details: [{ name: 'Invoices', amount: 120 }, { name: 'CreditNotes', amount: -30 }] },
      { fromDate: '2025-12-31T00:00:00', toDate: '2026-01-30T00:00:00', amount: 50, details: [{ name: 'Invoices', amount: 50 }, { name: 'CreditNotes', amount: 0 }] },
      { fromDate: '0001-01-01T00:00:00', toDate: '2025-12-31T00:00:00', amount: 0, details: [{ name: 'Invoices', amount: 0 }, { name: 'CreditNotes', amount: 0 }] },
    ]);
    // i3: 200 less the 100 paid before the report date (the later 50 is not yet paid then), in the oldest period
    const beta = r.data.find((d: any) => d.customerId === 'c2').agedCurrencyOutstanding;
    expect(beta).toEqual([{ currency: 'EUR', agedOutstandingAmounts: [expect.objectContaining({ amount: 0 }), expect.objectContaining({ amount: 0 }), expect.objectContaining({ amount: 100 })] }]);
    // a report date before everything: nothing outstanding
    expect((await get('/reports/agedDebtor?reportDate=2025-01-01')).json().data).toEqual([]);
    const cr = (await get('/reports/agedCreditor?reportDate=2026-03-01&periodLengthDays=60&numberOfPeriods=2')).json();
    expect(cr.data).toEqual([
      {
        supplierId: 's1',
        supplierName: 'Gamma',
        agedCurrencyOutstanding: [
          {
            currency: 'GBP',
            agedOutstandingAmounts: [
              { fromDate: '2025-12-31T00:00:00', toDate: '2026-03-01T00:00:00', amount: 80, details: [{ name: 'Bills', amount: 80 }, { name: 'BillCreditNotes', amount: 0 }] },
              { fromDate: '0001-01-01T00:00:00', toDate: '2025-12-31T00:00:00', amount: -25, details: [{ name: 'Bills', amount: 0 }, { name: 'BillCreditNotes', amount: -25 }] },
            ],
          },
        ],
      },
    ]);
    expect(expectErrorShape(await get('/reports/agedDebtor?periodLengthDays=0'), 400).statusCode).toBe(400);
    expect(expectErrorShape(await get('/reports/agedDebtor?numberOfPeriods=1000'), 400).statusCode).toBe(400);
    expect(expectErrorShape(await get('/reports/agedDebtor?reportDate=2026-13-45'), 400).statusCode).toBe(400);
    expect(expectErrorShape(await t.call('GET', `/companies/${MISSING}/reports/agedDebtor`), 404).error).toMatch(/No company/);
    const bare = (await t.call('POST', '/companies', { name: 'Nothing' })).json().id;
    expect((await t.call('GET', `/companies/${bare}/reports/agedCreditor/available`)).json()).toBe(false);
    expect(expectErrorShape(await t.call('GET', `/companies/${bare}/reports/agedCreditor`), 409).error).toBe('The data set has not been requested.');
  });

  it('the official @codat/accounting SDK reads every new type, bank transactions and the aged reports', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const sdk = new CodatAccounting({ security: { authHeader: t.authHeader }, serverURL: address, retryConfig: { strategy: 'none' } as never });
    // The SDK parses each body into its model classes; the typed field must be there and hold our records.
    const typed = (r: object) => {
      const res = r as Record<string, unknown>;
      expect(res.statusCode, JSON.stringify((res.rawResponse as any)?.data)).toBe(200);
      const key = Object.keys(res).find((k) => !['contentType', 'statusCode', 'rawResponse'].includes(k) && res[k] !== undefined);
      expect(key).toBeDefined();
      return res[key!] as any;
    };
    const companyScope = { companyId };
    const conn = { companyId, connectionId };
    expect(typed(await sdk.billCreditNotes.list({ ...companyScope, query: 'status=Submitted' })).results.map((r: any) => r.billCreditNoteNumber)).toEqual(['BCN-1']);
    expect(typed(await sdk.billCreditNotes.get({ ...companyScope, billCreditNoteId: 'bcn1' })).supplierRef.id).toBe('s1');
    expect(typed(await sdk.journals.list({ ...companyScope, orderBy: '-name' })).results.length).toBeGreaterThan(0);
    expect(typed(await sdk.journals.get({ ...companyScope, journalId: 'j2' })).name).toBe('Purchases');
    expect(typed(await sdk.paymentMethods.list(companyScope)).results[0].type).toBe('CreditCard');
    expect(typed(await sdk.paymentMethods.get({ ...companyScope, paymentMethodId: 'pm1' })).name).toBe('Card');
    expect(typed(await sdk.purchaseOrders.list(companyScope)).results[0].purchaseOrderNumber).toBe('PO-1');
    expect(typed(await sdk.purchaseOrders.get({ ...companyScope, purchaseOrderId: 'po1' })).status).toBe('Open');
    expect(typed(await sdk.salesOrders.list(companyScope)).results[0].invoicingStatus).toBe('NotInvoiced');
    expect(typed(await sdk.salesOrders.get({ ...companyScope, salesOrderId: 'so1' })).salesOrderNumber).toBe('SO-1');
    expect(typed(await sdk.accountTransactions.list(conn)).results[0].lines[0].recordRef.dataType).toBe('invoices');
    expect(typed(await sdk.accountTransactions.get({ ...conn, accountTransactionId: 'at1' })).status).toBe('Reconciled');
    expect(typed(await sdk.directCosts.list(conn)).results[0].totalAmount).toBe(12);
    expect(typed(await sdk.directCosts.get({ ...conn, directCostId: 'dc1' })).contactRef.id).toBe('s1');
    expect(typed(await sdk.directIncomes.list(conn)).results[0].totalAmount).toBe(7);
    expect(typed(await sdk.directIncomes.get({ ...conn, directIncomeId: 'di1' })).lineItems).toHaveLength(1);
    expect(typed(await sdk.transfers.list(conn)).results[0].to.amount).toBe(500);
    expect(typed(await sdk.transfers.get({ ...conn, transferId: 'tr1' })).from.accountRef.id).toBe('b1');
    const bt = typed(await sdk.bankAccountTransactions.list({ ...conn, accountId: 'b2', orderBy: '-amount', pageSize: 2 }));
    expect(bt).toMatchObject({ totalResults: 4, pageSize: 2 });
    expect(bt.results.map((r: any) => r.id)).toEqual(['bt09', 'bt06']);
    const debtors = typed(await sdk.reports.getAgedDebtorsReport({ ...companyScope, reportDate: new RFCDate('2026-03-01'), periodLengthDays: 30, numberOfPeriods: 3 }));
    expect(debtors.data.find((d: any) => d.customerId === 'c1').agedCurrencyOutstanding[0].agedOutstandingAmounts[0].amount).toBe(90);
    expect(typed(await sdk.reports.getAgedCreditorsReport(companyScope)).data[0].supplierId).toBe('s1');
    expect((await sdk.reports.isAgedDebtorReportAvailable(companyScope)).isAgedDebtorReportAvailable200ApplicationJSONBoolean).toBe(true);
    expect((await sdk.reports.isAgedCreditorsReportAvailable(companyScope)).isAgedCreditorsReportAvailable200ApplicationJSONBoolean).toBe(true);
  });
});
