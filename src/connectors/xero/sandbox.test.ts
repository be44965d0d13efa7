import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { V1_READ_TYPES, type DataType } from '../../domain/data-types.js';
import { AuthRevokedError, FetchFailedError, RateLimitedError, type Credentials, type SourceRecord } from '../connector.js';
import { startSimulator, type Simulator } from '../../sim/server.js';
import { SandboxConnector, type SandboxConnectorOptions } from './index.js';
import { checkRecord } from './model-check.js';
import { byId, checkCreditNotesAndJournals, checkInvoices, checkPayments, checkReferenceData, checkStatements } from './field-checks.js';
import { drain, MemoryCredentialsStore } from '../test-helpers.js';
import { waitFor } from '../../../test/support/engine.js';

const DAY = 86_400_000;
const noSleep = async () => {};

async function admin(sim: Simulator, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sim.url}/admin${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return (await res.json().catch(() => undefined)) as any;
}

/** Raw Xero-format records straight from the simulator, to compare mapped fields against. */
async function raw(sim: Simulator, tenantId: string, path: string, key: string): Promise<any[]> {
  const out: any[] = [];
  const token = sim.grant(tenantId).access_token;
  for (let page = 1; ; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await fetch(`${sim.url}/api.xro/2.0${path}${sep}page=${page}&pageSize=1000`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId } });
    const body = (await res.json()) as any;
    out.push(...body[key]);
    if (!body.pagination || body[key].length < 1000) return out;
  }
}

const msOf = (d: string) => Number(/-?\d+/.exec(d)![0]);
const day = (d: string) => new Date(msOf(d)).toISOString().slice(0, 10) + 'T00:00:00';
const cents = (x: number) => Math.round(x * 100);

interface Linked {
  sim: Simulator;
  clock: ManualClock;
  connector: SandboxConnector;
  store: MemoryCredentialsStore;
  info: Record<string, string>;
  pull(dataType: DataType, extra?: Partial<Parameters<typeof drain>[1]>): ReturnType<typeof drain>;
}

async function link(connectionId: string, opts: Partial<SandboxConnectorOptions> = {}, simOpts: Parameters<typeof startSimulator>[0] = {}, existing?: { sim: Simulator; clock: ManualClock }): Promise<Linked> {
  const clock = existing?.clock ?? new ManualClock('2026-06-15T12:00:00Z');
  const sim = existing?.sim ?? (await startSimulator({ clock, rateLimit: { perMinute: 100_000, concurrent: 5 }, ...simOpts }));
  const connector = new SandboxConnector({ baseUrl: sim.url, clock, tenantSize: 400, sleep: noSleep, ...opts });
  const a = await connector.authorize({ connectionId, companyName: 'Acme Test Ltd', signal: new AbortController().signal });
  const store = new MemoryCredentialsStore(a.credentials);
  return {
    sim,
    clock,
    connector,
    store,
    info: a.connectionInfo,
    pull: (dataType, extra = {}) => drain(connector, { dataType, credentials: store, connectionInfo: a.connectionInfo, clock, ...extra }),
  };
}

describe('Sandbox connector over a real socket', () => {
  let L: Linked;
  const results = new Map<DataType, SourceRecord[]>();

  beforeAll(async () => {
    L = await link('conn-mapping', { tenantSize: { invoices: 400, overpayments: 8, prepayments: 8 } });
    // Supplier-side money on account (generated ones are customer-side): a prepayment applied to an open bill, and an
    // overpayment left on account.
    const t = L.info.tenantId!;
    const bill = (await raw(L.sim, t, `/Invoices?where=${encodeURIComponent('Type=="ACCPAY" AND Status=="AUTHORISED"')}`, 'Invoices')).find((b) => b.AmountDue > 20)!;
    expect((await admin(L.sim, 'POST', `/tenants/${t}/records/prepayments`, { type: 'SPEND', billId: bill.InvoiceID, amount: 20 })).id).toBeDefined();
    expect((await admin(L.sim, 'POST', `/tenants/${t}/records/overpayments`, { type: 'SPEND', amount: 42.5 })).id).toBeDefined();
    for (const t of V1_READ_TYPES) results.set(t, (await L.pull(t)).records);
  });
  afterAll(() => L.sim.close());

  it('authorize creates the tenant and returns credentials and connection info', () => {
    expect(L.info.tenantId).toMatch(/^[0-9a-f-]{36}$/);
    expect(L.info.tenantName).toBe('Acme Test Ltd');
    expect(L.info.baseCurrency).toMatch(/^[A-Z]{3}$/);
    const c = L.store.current as Credentials & { accessToken: string; refreshToken: string };
    expect(c.accessToken).toBeTruthy();
    expect(c.refreshToken).toBeTruthy();
    expect(L.connector.supports('invoices')).toBe(true);
    expect(L.connector.supports('bankTransactions')).toBe(true);
    // Xero (so the Sandbox) has no payment methods.
    expect(L.connector.supports('paymentMethods')).toBe(false);
  });

  it('pulls every v1 type, each record valid against the accounting model', () => {
    for (const t of V1_READ_TYPES) {
      const records = results.get(t)!;
      expect(records.length, t).toBeGreaterThan(0);
      for (const r of records) {
        expect(checkRecord(t, r.data), `${t} ${r.id}`).toEqual([]);
        expect(typeof r.id).toBe('string');
      }
      expect(new Set(records.map((r) => r.id)).size, `${t} ids unique`).toBe(records.length);
    }
    expect(results.get('balanceSheet')!.map((r) => r.id)).toHaveLength(24);
  });

  /** Every wire record a type is read from, straight from the simulator. */
  const wire = async () => {
    const t = L.info.tenantId!;
    const where = (w: string) => `where=${encodeURIComponent(w)}`;
    return {
      invoices: await raw(L.sim, t, `/Invoices?${where('Type=="ACCREC"')}`, 'Invoices'),
      bills: await raw(L.sim, t, `/Invoices?${where('Type=="ACCPAY"')}`, 'Invoices'),
      payments: await raw(L.sim, t, '/Payments', 'Payments'),
      creditNotes: await raw(L.sim, t, `/CreditNotes?${where('Type=="ACCRECCREDIT"')}`, 'CreditNotes'),
      billCreditNotes: await raw(L.sim, t, `/CreditNotes?${where('Type=="ACCPAYCREDIT"')}`, 'CreditNotes'),
      overpayments: await raw(L.sim, t, '/Overpayments', 'Overpayments'),
      prepayments: await raw(L.sim, t, '/Prepayments', 'Prepayments'),
      accounts: await raw(L.sim, t, '/Accounts', 'Accounts'),
      taxRates: await raw(L.sim, t, '/TaxRates', 'TaxRates'),
      items: await raw(L.sim, t, '/Items', 'Items'),
      contacts: await raw(L.sim, t, '/Contacts?includeArchived=true', 'Contacts'),
      organisation: (await raw(L.sim, t, '/Organisation', 'Organisations'))[0],
    };
  };
  const mapped = (t: DataType) => byId(results.get(t)!);

  it('maps invoices field by field', async () => {
    const statuses = checkInvoices((await wire()).invoices, mapped('invoices'));
    expect(statuses.size).toBeGreaterThanOrEqual(3);
  });

  it('maps payments and bill payments to real invoices and bills, credit-note, overpayment and prepayment allocations included', async () => {
    const w = await wire();
    const side = (s: 'RECEIVE' | 'SPEND', xs: any[]) => xs.filter((x) => x.Type.startsWith(s));
    const ctx = { contacts: new Map([...mapped('customers'), ...mapped('suppliers')]), bankAccounts: mapped('bankAccounts') };
    const customer = checkPayments('customer', { payments: w.payments, creditNotes: w.creditNotes, overpayments: side('RECEIVE', w.overpayments), prepayments: side('RECEIVE', w.prepayments) }, mapped('payments'), { ...ctx, documents: mapped('invoices') });
    const supplier = checkPayments('supplier', { payments: w.payments, creditNotes: w.billCreditNotes, overpayments: side('SPEND', w.overpayments), prepayments: side('SPEND', w.prepayments) }, mapped('billPayments'), { ...ctx, documents: mapped('bills') });
    expect(customer.payments).toBeGreaterThan(0);
    expect(customer.creditAllocations).toBeGreaterThan(0);
    expect(supplier.payments).toBeGreaterThan(0);
    expect(customer.onAccount).toBe(16);
    expect(supplier.onAccount).toBe(2);
    // A payment on account partly or wholly allocated, and one left on account: both shapes are there.
    const lines = [...mapped('payments').values(), ...mapped('billPayments').values()].filter((r) => ['Overpayment', 'Prepayment'].includes(r.data.note)).map((r) => r.data.lines.map((l: any) => l.links[0].type).join(','));
    expect(lines.some((l) => l.includes('Invoice'))).toBe(true);
    expect(lines.some((l) => l.includes('Bill'))).toBe(true);
    expect(lines.some((l) => l === 'PaymentOnAccount')).toBe(true);
  });

  it('maps reference data field by field', async () => {
    const w = await wire();
    checkReferenceData(w, { chartOfAccounts: mapped('chartOfAccounts'), bankAccounts: mapped('bankAccounts'), taxRates: mapped('taxRates'), trackingCategories: mapped('trackingCategories'), items: mapped('items'), customers: mapped('customers'), suppliers: mapped('suppliers'), company: mapped('company') }, L.clock.now().getTime());
    expect(results.get('chartOfAccounts')!.some((r) => (r.data as any).status === 'Archived')).toBe(true);
    expect((results.get('taxRates')!.find((r) => r.id === 'TAX001')!.data as any).effectiveTaxRate).toBe(7.1);
    // A contact that is both customer and supplier appears in both types with the same id.
    expect([...mapped('customers').keys()].some((id) => mapped('suppliers').has(id))).toBe(true);
  });

  it('maps credit notes and journal entries', async () => {
    // Customer credit notes only: /CreditNotes also lists supplier ones (ACCPAYCREDIT, billCreditNotes: documents.test.ts).
    checkCreditNotesAndJournals({ creditNotes: (await wire()).creditNotes }, { creditNotes: mapped('creditNotes'), invoices: mapped('invoices'), journalEntries: mapped('journalEntries'), chartOfAccounts: mapped('chartOfAccounts') });
  });

  it('maps statements per month, balanced and consistent across types', () => {
    const bs = results.get('balanceSheet')!;
    const pnl = new Map(results.get('profitAndLoss')!.map((r) => [r.id, r.data as any]));
    const cf = new Map(results.get('cashFlowStatement')!.map((r) => [r.id, r.data as any]));
    expect(bs[0]!.id).toBe('2026-06');
    expect(bs.at(-1)!.id).toBe('2024-07');
    for (const r of bs) {
      const d = r.data as any;
      expect(cents(d.netAssets)).toBe(cents(d.assets.value) - cents(d.liabilities.value));
      expect(cents(d.equity.value)).toBe(cents(d.netAssets));
      expect(d.assets.items.reduce((s: number, x: any) => s + cents(x.value), 0)).toBe(cents(d.assets.value));
      const p = pnl.get(r.id)!;
      expect(p.fromDate).toBe(`${r.id}-01T00:00:00`);
      expect(cents(p.netProfit)).toBe(cents(p.income.value) - cents(p.costOfSales.value) + cents(p.otherIncome?.value ?? 0) - cents(p.expenses.value));
      expect(cf.get(r.id)!.reportInput).toBe('Direct');
    }
    // Cash movement of a month = change in bank balances between two balance sheets.
    const bank = (id: string) => cents((bs.find((r) => r.id === id)!.data as any).assets.items.find((x: any) => x.name === 'Bank').value);
    const may = cf.get('2026-05')!;
    expect(cents(may.cashReceipts.value) - cents(may.cashPayments.value)).toBe(bank('2026-05') - bank('2026-04'));
  });

  it('statements equal the simulator ledger\'s own figures, account by account', () => {
    checkStatements(L.sim.tenant(L.info.tenantId!)!, [...mapped('balanceSheet').values()], [...mapped('profitAndLoss').values()]);
  });

  it('classifies statement lines by account Class and Type, not by section title: localised and swapped titles give the same figures', async () => {
    const id = L.info.tenantId!;
    const titles = (body: unknown) => fetch(`${L.sim.url}/admin/tenants/${id}/report-titles`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Accounts only: section names (which are the report's words) and computed lines aside, everything must match.
    const figures = (records: SourceRecord[]) =>
      JSON.parse(JSON.stringify(records.map((r) => r.data)), (k, v) => (v && typeof v === 'object' && !Array.isArray(v) && 'value' in v && !('accountId' in v) ? { ...v, name: undefined } : v));
    const english = { bs: (await L.pull('balanceSheet', { window: { monthsToSync: 12 } })).records, pnl: (await L.pull('profitAndLoss', { window: { monthsToSync: 12 } })).records };
    expect((await titles({
      // Another language…
      bank: 'Banque', equity: 'Capitaux propres', currentYearEarnings: 'Résultat de l\'exercice', totalEquity: 'Total capitaux propres',
      // …and titles that say the opposite of what the section holds.
      income: 'Less Operating Expenses', operatingExpenses: 'Income', costOfSales: 'Plus Other Income', otherIncome: 'Less Cost of Sales',
      assets: 'Liabilities', liabilities: 'Assets', totalAssets: 'Total Liabilities', totalLiabilities: 'Total Assets', netAssets: 'Net Profit', netProfit: 'Net Assets',
    })).status).toBe(200);
    try {
      const bs = (await L.pull('balanceSheet', { window: { monthsToSync: 12 } })).records;
      const pnl = (await L.pull('profitAndLoss', { window: { monthsToSync: 12 } })).records;
      expect(figures(bs)).toEqual(figures(english.bs));
      expect(figures(pnl)).toEqual(figures(english.pnl));
      expect((bs[0]!.data as any).assets.items.map((x: any) => x.name)).toContain('Banque');
      expect((english.pnl[0]!.data as any).income.value).toBeGreaterThan(0);
    } finally {
      expect((await titles({})).status).toBe(200);
    }
  });

  it('honours monthsToSync for statements and syncFrom for documents', async () => {
    const six = await L.pull('profitAndLoss', { window: { monthsToSync: 6 } });
    expect(six.records.map((r) => r.id)).toEqual(['2026-06', '2026-05', '2026-04', '2026-03', '2026-02', '2026-01']);
    expect(six.outcome.calls).toBe(2); // the chart of accounts (line classes), then one report of 6 columns
    const thirty = await L.pull('balanceSheet', { window: { monthsToSync: 30 } });
    expect(thirty.records).toHaveLength(30);
    expect(thirty.outcome.calls).toBe(4);
    const syncFrom = new Date('2026-05-01T00:00:00Z');
    const recent = await L.pull('invoices', { window: { syncFrom } });
    expect(recent.outcome.fullListing).toBe(true);
    expect(recent.records.length).toBeGreaterThan(0);
    expect(recent.records.length).toBeLessThan(results.get('invoices')!.length);
    for (const r of recent.records) expect(Date.parse(r.sourceModifiedDate!)).toBeGreaterThanOrEqual(syncFrom.getTime());
    const expected = results.get('invoices')!.filter((r) => Date.parse(r.sourceModifiedDate!) >= syncFrom.getTime());
    expect(recent.records.map((r) => r.id).sort()).toEqual(expected.map((r) => r.id).sort());
    // Reference data ignores the window.
    expect((await L.pull('customers', { window: { syncFrom } })).records).toHaveLength(results.get('customers')!.length);
  });
});

describe('unit prices with four decimals', () => {
  it('reads documents with unitdp=4 and keeps the four decimals; without it Xero rounds unit prices to two', async () => {
    const L = await link('conn-unitdp', { pageSize: 100 });
    try {
      const tid = L.info.tenantId!;
      const made = {
        bill: (await admin(L.sim, 'POST', `/tenants/${tid}/records/bills`, { unitAmount: 1.2345, quantity: 3 })).id as string,
        invoice: (await admin(L.sim, 'POST', `/tenants/${tid}/records/invoices`, { unitAmount: 19.9999, quantity: 2 })).id as string,
        creditNote: (await admin(L.sim, 'POST', `/tenants/${tid}/records/creditNotes`, { unitAmount: 0.0051, quantity: 7 })).id as string,
      };
      const bad = await fetch(`${L.sim.url}/admin/tenants/${tid}/records/bills`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ unitAmount: 1.23456 }) });
      expect(bad.status).toBe(400);
      const first = async (type: DataType, id: string) => ((await L.pull(type)).records.find((r) => r.id === id)!.data as any).lineItems[0];
      expect(await first('bills', made.bill)).toMatchObject({ unitAmount: 1.2345, quantity: 3, subTotal: 3.7 });
      expect(await first('invoices', made.invoice)).toMatchObject({ unitAmount: 19.9999, quantity: 2, subTotal: 40 });
      expect(await first('creditNotes', made.creditNote)).toMatchObject({ unitAmount: 0.0051, quantity: 7, subTotal: 0.04 });
      // The wire: the same line without unitdp=4 has a two-decimal price and the same line amount.
      const line = async (q: string) => (await raw(L.sim, tid, `/Invoices?where=${encodeURIComponent(`Type=="ACCPAY"`)}${q}`, 'Invoices')).find((w) => w.InvoiceID === made.bill).LineItems[0];
      expect(await line('&unitdp=4')).toMatchObject({ UnitAmount: 1.2345, LineAmount: 3.7 });
      expect(await line('')).toMatchObject({ UnitAmount: 1.23, LineAmount: 3.7 });
      // Generated bills carry such prices too (fuel, utilities): every mapped price equals the four-decimal wire price.
      const wire = await raw(L.sim, tid, `/Invoices?where=${encodeURIComponent(`Type=="ACCPAY"`)}&unitdp=4`, 'Invoices');
      const mapped = new Map((await L.pull('bills')).records.map((r) => [r.id, r.data as any]));
      let fourDp = 0;
      for (const w of wire) {
        w.LineItems.forEach((l: any, i: number) => {
          expect(mapped.get(w.InvoiceID).lineItems[i].unitAmount).toBe(l.UnitAmount);
          if (Math.abs(l.UnitAmount * 100 - Math.round(l.UnitAmount * 100)) > 1e-6) fourDp++;
        });
      }
      expect(fourDp).toBeGreaterThan(1);
    } finally {
      await L.sim.close();
    }
  });
});

describe('edits between page calls', () => {
  let L: Linked;
  beforeAll(async () => {
    L = await link('conn-edits-between-pages', { pageSize: 100 });
  });
  afterAll(() => L.sim.close());

  it('an edit between two page calls skips nothing: the listing re-reads where records slid past', async () => {
    const t = L.info.tenantId!;
    const all = (await L.pull('invoices')).records.map((r) => r.id);
    // Drive the pull by hand: after page 1, a record on it is edited (a second later, by the tenant's clock), which
    // moves it to the end of Xero's UpdatedDateUTC order and slides every later record up one place.
    const gen = L.connector.pull({
      dataType: 'invoices',
      credentials: L.store,
      connectionInfo: L.info,
      cursor: undefined,
      full: true,
      window: {},
      clock: L.clock,
      signal: new AbortController().signal,
      reportProgress: () => {},
      reportPause: () => {},
    });
    const seen = new Set<string>();
    const first = await gen.next();
    if (first.done) throw new Error('no page');
    for (const r of first.value) seen.add(r.id);
    const onFirstPage = first.value[5]!.id;
    // What offset paging alone would miss: the record that now sits at the end of page 1.
    await admin(L.sim, 'POST', `/tenants/${t}/clock`, { advanceSeconds: 1 });
    await admin(L.sim, 'POST', `/tenants/${t}/records/invoices/${onFirstPage}/edit`, { patch: { reference: 'Edited mid-listing' } });
    const token = L.sim.grant(t).access_token;
    const page1Now = (await (await fetch(`${L.sim.url}/api.xro/2.0/Invoices?where=Type%3D%3D%22ACCREC%22&page=1&pageSize=100`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': t } })).json()) as any;
    const slid = page1Now.Invoices[99].InvoiceID as string;
    expect(seen.has(slid)).toBe(false);
    let outcome;
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        outcome = step.value;
        break;
      }
      for (const r of step.value) seen.add(r.id);
    }
    expect(outcome.fullListing).toBe(true);
    expect(seen.has(slid)).toBe(true);
    expect([...seen].sort()).toEqual([...all].sort());
    // 4 pages plus one re-read for each of the 3 pages fetched after the edit.
    expect(outcome.calls).toBe(7);
  });
});

describe('incremental pulls, deletions and determinism', () => {
  let L: Linked;
  beforeAll(async () => {
    L = await link('conn-incremental', { pageSize: 100 });
  });
  afterAll(() => L.sim.close());

  it('returns exactly the records changed since the cursor, deleted ones flagged', async () => {
    const first = await L.pull('invoices');
    expect(first.outcome.fullListing).toBe(true);
    expect(first.records).toHaveLength(400);
    expect(first.pages).toBe(4);
    const cursor = first.outcome.cursor!;
    expect(cursor).toBe(L.clock.now().toISOString());
    const items0 = await L.pull('items');
    L.clock.advance(DAY);
    const t = L.info.tenantId!;
    const open = first.records.find((r) => (r.data as any).status === 'Submitted' && (r.data as any).paymentAllocations.length === 0)!;
    const edited = first.records[10]!;
    await admin(L.sim, 'POST', `/tenants/${t}/records/invoices/${edited.id}/edit`, { patch: { reference: 'Renegotiated' } });
    await admin(L.sim, 'POST', `/tenants/${t}/records/invoices/${open.id}/void`);
    const created = (await admin(L.sim, 'POST', `/tenants/${t}/records/invoices`, {})).id;
    const draft = (await admin(L.sim, 'POST', `/tenants/${t}/records/invoices`, { status: 'DRAFT' })).id;
    await admin(L.sim, 'POST', `/tenants/${t}/records/invoices/${draft}/delete`);
    const goneItem = items0.records[3]!.id;
    await admin(L.sim, 'POST', `/tenants/${t}/records/items/${goneItem}/hard-delete`);
    L.clock.advance(3_600_000);

    const next = await L.pull('invoices', { cursor });
    expect(next.outcome.fullListing).toBe(false);
    // One page, plus one token refresh: the access token expired during the day that passed.
    expect(next.outcome.calls).toBe(2);
    const byId = new Map(next.records.map((r) => [r.id, r]));
    expect([...byId.keys()].sort()).toEqual([edited.id, open.id, created, draft].sort());
    expect((byId.get(edited.id)!.data as any).note).toBe('Renegotiated');
    expect(byId.get(open.id)).toMatchObject({ deleted: false, data: { status: 'Void' } });
    expect(byId.get(draft)).toMatchObject({ deleted: true });
    expect(byId.get(created)).toMatchObject({ deleted: false, data: { status: 'Submitted' } });
    expect(Date.parse(next.outcome.cursor!)).toBeGreaterThan(Date.parse(cursor));

    // Nothing changed since (the changes are older than the cursor minus the 10-minute overlap): nothing returned.
    L.clock.advance(DAY);
    expect((await L.pull('invoices', { cursor: next.outcome.cursor })).records).toEqual([]);

    // A hard-deleted item simply disappears. Reference data is listed in full every time (a cursor or not), so every
    // pull reconciles it: the listing lacks the item.
    const itemsInc = await L.pull('items', { cursor: items0.outcome.cursor });
    expect(itemsInc.outcome.fullListing).toBe(true);
    expect(itemsInc.records.map((r) => r.id)).not.toContain(goneItem);
    const itemsFull = await L.pull('items', { cursor: items0.outcome.cursor, full: true });
    expect(itemsFull.outcome.fullListing).toBe(true);
    expect(itemsFull.records.map((r) => r.id)).not.toContain(goneItem);
    expect(itemsFull.records).toHaveLength(items0.records.length - 1);
  });

  it('after generated activity, the incremental pull matches the change log', async () => {
    const t = L.info.tenantId!;
    const before = await L.pull('invoices');
    const pays = await L.pull('payments');
    L.clock.advance(DAY);
    const log = (await admin(L.sim, 'POST', `/tenants/${t}/activity`, { events: 60, advanceDays: 3 })).changes as { collection: string; id: string; op: string }[];
    L.clock.advance(4 * DAY);
    const touchedInvoices = new Set(log.filter((c) => c.collection === 'invoices').map((c) => c.id));
    const newPayments = log.filter((c) => c.collection === 'payments').map((c) => c.id);
    // Paying an invoice touches it too.
    for (const c of log.filter((x) => x.collection === 'payments')) {
      const p = (await admin(L.sim, 'GET', `/tenants/${t}/records/payments/${c.id}`)) as any;
      touchedInvoices.add(p.Invoice.InvoiceID);
    }
    const inv = await L.pull('invoices', { cursor: before.outcome.cursor });
    expect(new Set(inv.records.map((r) => r.id))).toEqual(touchedInvoices);
    const deleted = log.filter((c) => c.collection === 'invoices' && c.op === 'delete').map((c) => c.id);
    expect(deleted.length).toBeGreaterThan(0);
    for (const id of deleted) expect(inv.records.find((r) => r.id === id)!.deleted).toBe(true);
    const p = await L.pull('payments', { cursor: pays.outcome.cursor });
    expect(p.records.map((r) => r.id).sort()).toEqual([...new Set(newPayments)].sort());
  });

  it('a second simulator with the same seed serves identical data', async () => {
    const other = await link('conn-incremental', { pageSize: 100 }, { clock: new ManualClock('2026-06-15T12:00:00Z') });
    try {
      expect(other.info.tenantId).toBe(L.info.tenantId);
      for (const t of ['invoices', 'customers', 'balanceSheet', 'journalEntries'] as const) {
        const fresh = await other.pull(t);
        const again = await other.pull(t);
        expect(again.records).toEqual(fresh.records);
      }
      const a = await other.pull('bills');
      const diff = await link('conn-other-seed', { pageSize: 100 }, {}, { sim: other.sim, clock: other.clock });
      const b = await diff.pull('bills');
      expect(b.records.map((r) => r.id)).not.toEqual(a.records.map((r) => r.id));
    } finally {
      await other.sim.close();
    }
  });
});

describe('tokens, rate limits and faults', () => {
  it('refreshes an expired access token, stores the rotated refresh token first, and keep-alive rotates it', async () => {
    const L = await link('conn-tokens');
    try {
      const before = L.store.current.refreshToken;
      L.clock.advance(31 * 60_000);
      await L.pull('company');
      expect(L.store.refreshCount).toBe(1);
      expect(L.store.current.refreshToken).not.toBe(before);
      const counters = await admin(L.sim, 'GET', `/tenants/${L.info.tenantId}/counters`);
      expect(counters.refreshes).toBe(1);
      const stored = L.store.current.refreshToken;
      await L.connector.keepAlive(L.store, new AbortController().signal);
      expect(L.store.current.refreshToken).not.toBe(stored);
      // 59 idle days later the token still works; a pull refreshes it.
      L.clock.advance(59 * DAY);
      expect((await L.pull('taxRates')).records.length).toBeGreaterThan(0);
      // Access token revoked on the platform's side (expired early): a 401 triggers one refresh, then success.
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/expire-access-tokens`);
      const n = L.store.refreshCount;
      expect((await L.pull('taxRates')).records.length).toBeGreaterThan(0);
      expect(L.store.refreshCount).toBe(n + 1);
    } finally {
      await L.sim.close();
    }
  });

  it('validateCredentials rotates client-supplied tokens; revoke() ends the grant', async () => {
    const L = await link('conn-validate');
    try {
      const supplied = { refreshToken: L.store.current.refreshToken, tenantId: L.info.tenantId };
      const v = await L.connector.validateCredentials(supplied, new AbortController().signal);
      expect(v.connectionInfo).toEqual({ tenantId: L.info.tenantId, tenantName: 'Acme Test Ltd' });
      expect(v.credentials.refreshToken).not.toBe(supplied.refreshToken);
      await expect(L.connector.validateCredentials({ refreshToken: 'nope', tenantId: L.info.tenantId }, new AbortController().signal)).rejects.toBeInstanceOf(AuthRevokedError);
      await L.connector.revoke(v.credentials, new AbortController().signal);
      const store = new MemoryCredentialsStore(v.credentials);
      await expect(drain(L.connector, { dataType: 'company', credentials: store, connectionInfo: L.info, clock: L.clock })).rejects.toBeInstanceOf(AuthRevokedError);
    } finally {
      await L.sim.close();
    }
  });

  it('after 60 idle days the refresh token has expired: AuthRevokedError', async () => {
    const L = await link('conn-idle');
    try {
      L.clock.advance(60 * DAY + 1000);
      const err = await L.pull('invoices').catch((e) => e);
      expect(err).toBeInstanceOf(AuthRevokedError);
      expect(err.message).toMatch(/invalid_grant/);
    } finally {
      await L.sim.close();
    }
  });

  it('revoked tokens: AuthRevokedError', async () => {
    const L = await link('conn-revoked');
    try {
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: 'revoke' });
      await expect(L.pull('customers')).rejects.toBeInstanceOf(AuthRevokedError);
    } finally {
      await L.sim.close();
    }
  });

  it('a 429 storm within the pause budget slows the pull down, which then completes', async () => {
    const waits: number[] = [];
    const L = await link('conn-storm', { pageSize: 100, sleep: async (ms) => void waits.push(ms) });
    try {
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: '429', count: 4, retryAfterSeconds: 30 });
      const r = await L.pull('invoices');
      expect(r.records).toHaveLength(400);
      expect(waits).toEqual([30_000, 30_000, 30_000, 30_000]);
      expect(r.pauses.filter((p) => p !== null)).toHaveLength(4);
      expect(r.pauses.filter((p) => p === null)).toHaveLength(4);
      expect(r.pauses[0]!.getTime()).toBe(L.clock.now().getTime() + 30_000);
      expect(r.outcome.calls).toBe(4 + 4);
    } finally {
      await L.sim.close();
    }
  });

  it('a 429 storm beyond the pause budget ends the pull with RateLimitedError (no success resets the budget)', async () => {
    const waits: number[] = [];
    const L = await link('conn-storm-2', { pauseBudgetMs: 5 * 60_000, sleep: async (ms) => void waits.push(ms) });
    try {
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: '429', count: null, retryAfterSeconds: 120 });
      const err = await L.pull('invoices').catch((e) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(waits).toEqual([120_000, 120_000]);
      expect(err.resetAt.getTime()).toBe(L.clock.now().getTime() + 120_000);
      // A single wait longer than the budget (e.g. the daily limit) fails at once, without sleeping.
      await admin(L.sim, 'DELETE', `/tenants/${L.info.tenantId}/faults`);
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: '429', count: 1, retryAfterSeconds: 66_975 });
      waits.length = 0;
      await expect(L.pull('company')).rejects.toBeInstanceOf(RateLimitedError);
      expect(waits).toEqual([]);
    } finally {
      await L.sim.close();
    }
  });

  it('against a real per-minute limit, paces itself by X-MinLimit-Remaining: no 429, no call beyond the minimum', async () => {
    // The simulator's minute window and the connector's pacer run on one injected clock, which only the pacer's
    // sleeps move: what is proved does not depend on how fast the machine is.
    const rateClock = new ManualClock('2026-06-15T12:00:00Z');
    const start = rateClock.now().getTime();
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      rateClock.advance(ms);
    };
    const L = await link('conn-minute', { pageSize: 40, sleep, rateClock }, { rateClock, rateLimit: { perMinute: 4, concurrent: 5 } });
    try {
      const r = await L.pull('invoices');
      expect(r.records).toHaveLength(400);
      const c = await admin(L.sim, 'GET', `/tenants/${L.info.tenantId}/counters`);
      // The simulator refused nothing, so no window held more than its 4 calls; no call was wasted or repeated.
      expect(c.rateLimited.minute).toBe(0);
      expect(c.rateLimited.total).toBe(0);
      expect(c.byEndpoint['GET /Invoices']).toBe(10);
      expect(r.outcome.calls).toBe(10);
      // 10 calls, plus the one authorize() made, at 4 a minute: the pacer waited twice for the oldest call to leave
      // the window (a whole minute each, as the clock stood still between calls), and reported each pause.
      expect(waits).toEqual([60_000, 60_000]);
      expect(rateClock.now().getTime() - start).toBe(120_000);
      expect(r.pauses.filter((p) => p !== null)).toHaveLength(2);
      expect(r.pauses.filter((p) => p === null)).toHaveLength(2);
    } finally {
      await L.sim.close();
    }
  });

  it('paces by X-AppMinLimit-Remaining too: two tenants under one app-wide limit, no 429', async () => {
    // One injected clock for the simulator's windows and the pacer, moved only by the pacer's sleeps (no wall time).
    const rateClock = new ManualClock('2026-06-15T12:00:00Z');
    let waited = 0;
    const sleep = async (ms: number) => {
      waited++;
      rateClock.advance(ms);
    };
    const L = await link('conn-app-a', { pageSize: 50, sleep, rateClock }, { rateClock, rateLimit: { perMinute: 100_000, concurrent: 5, appPerMinute: 5 } });
    try {
      // A second tenant of the same app, read by the same connector (one process, one app budget).
      const b = await L.connector.authorize({ connectionId: 'conn-app-b', companyName: 'Beta', signal: new AbortController().signal });
      const storeB = new MemoryCredentialsStore(b.credentials);
      const [ra, rb] = await Promise.all([
        L.pull('invoices'),
        drain(L.connector, { dataType: 'invoices', credentials: storeB, connectionInfo: b.connectionInfo, clock: L.clock }),
      ]);
      expect(ra.records).toHaveLength(400);
      expect(rb.records).toHaveLength(400);
      const all = await admin(L.sim, 'GET', '/counters');
      const limited = Object.values(all as Record<string, any>).reduce((n, c) => n + c.rateLimited.total, 0);
      expect(limited).toBe(0);
      expect(all[L.info.tenantId!].byEndpoint['GET /Invoices']).toBe(8);
      expect(all[b.connectionInfo.tenantId!].byEndpoint['GET /Invoices']).toBe(8);
      // 2 authorize calls + 16 pages at 5 a minute across the app: the pacer waited instead of collecting 429s.
      expect(waited).toBeGreaterThan(0);
      expect(ra.pauses.filter((p) => p !== null).length + rb.pauses.filter((p) => p !== null).length).toBeGreaterThan(0);
    } finally {
      await L.sim.close();
    }
  });

  it('a daily-limit 429 ends the pull at once with RateLimitedError at the reset (no pause)', async () => {
    const L = await link('conn-day', { pageSize: 100, dayReserve: 0 });
    try {
      const t = L.info.tenantId!;
      // authorize() made the one call allowed today (as if another process had spent the budget).
      await admin(L.sim, 'PUT', `/tenants/${t}/rate-limit`, { perDay: 1 });
      const err = await L.pull('invoices').catch((e) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.message).toMatch(/daily rate limit reached \(day\)/);
      const nextDay = Date.parse(`${L.clock.now().toISOString().slice(0, 10)}T00:00:00Z`) + DAY;
      expect(err.resetAt.getTime()).toBe(nextDay);
      const c = await admin(L.sim, 'GET', `/tenants/${t}/counters`);
      expect(c.rateLimited.day).toBe(1);
      expect(c.byEndpoint['GET /Invoices']).toBe(1);
    } finally {
      await L.sim.close();
    }
  });

  it('keeps a reserve of the daily budget: once X-DayLimit-Remaining reaches it, pulls stop without calling', async () => {
    const L = await link('conn-day-reserve', { pageSize: 100, dayReserve: 6 });
    try {
      const t = L.info.tenantId!;
      await admin(L.sim, 'PUT', `/tenants/${t}/rate-limit`, { perDay: 10 });
      await admin(L.sim, 'POST', `/tenants/${t}/counters/reset`);
      // authorize() used 1 of 10; pages 1–3 leave 6: the reserve. The 4th page is not requested.
      const err = await L.pull('invoices').catch((e) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.message).toMatch(/reserve of 6 calls/);
      const c = await admin(L.sim, 'GET', `/tenants/${t}/counters`);
      expect(c.byEndpoint['GET /Invoices']).toBe(3);
      expect(c.rateLimited.total).toBe(0);
      // The next day the budget is back.
      L.clock.advance(DAY);
      expect((await L.pull('invoices')).records).toHaveLength(400);
    } finally {
      await L.sim.close();
    }
  });

  it('never exceeds one call in flight per tenant, even with pulls running side by side', async () => {
    const L = await link('conn-concurrency', { pageSize: 50 }, { rateLimit: { perMinute: 100_000, concurrent: 1 } });
    try {
      await Promise.all((['invoices', 'bills', 'payments', 'customers'] as const).map((t) => L.pull(t)));
      const c = await admin(L.sim, 'GET', `/tenants/${L.info.tenantId}/counters`);
      expect(c.maxConcurrent).toBe(1);
      expect(c.rateLimited.concurrent).toBe(0);
    } finally {
      await L.sim.close();
    }
  });

  it('truncated bodies are retried, then FetchFailedError', async () => {
    const L = await link('conn-truncated', { retries: 2 });
    try {
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: 'truncate', count: 2 });
      expect((await L.pull('invoices')).records).toHaveLength(400);
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: 'truncate', count: null });
      const err = await L.pull('invoices').catch((e) => e);
      expect(err).toBeInstanceOf(FetchFailedError);
      expect(err.message).toMatch(/truncated/);
    } finally {
      await L.sim.close();
    }
  });

  it('5xx and timeouts are retried, then FetchFailedError', async () => {
    const L = await link('conn-5xx', { retries: 1, requestTimeoutMs: 300 });
    try {
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: '5xx', count: 1 });
      expect((await L.pull('company')).records).toHaveLength(1);
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: '5xx', count: 2, status: 500 });
      await expect(L.pull('company')).rejects.toMatchObject({ name: 'FetchFailedError', statusCode: 500 });
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: 'timeout', count: 2 });
      const err = await L.pull('company').catch((e) => e);
      expect(err).toBeInstanceOf(FetchFailedError);
      expect(err.message).toMatch(/timed out/);
    } finally {
      await L.sim.close();
    }
  });

  it('stops promptly when the signal aborts, with the abort reason', async () => {
    const L = await link('conn-abort', { sleep: undefined });
    try {
      // The platform holds the call until released (never, here): only the abort can end the pull, and it does, with
      // the reason, while the call is in flight. No wall-clock bound: a machine's speed cannot pass or fail this.
      const tenant = L.sim.tenant(L.info.tenantId!)!;
      const until = (cond: () => boolean, what: string) => waitFor(async () => cond(), 30_000, what);
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: 'hold', count: 1 });
      const ac = new AbortController();
      const reason = new Error('lease lost');
      const pulled = L.pull('invoices', { signal: ac.signal });
      await until(() => tenant.held.length === 1, 'the call held');
      ac.abort(reason);
      await expect(pulled).rejects.toBe(reason);
      // The aborted call went away: nothing is left held.
      await until(() => tenant.held.length === 0, 'the held call closed');
      // Also while waiting out a 429 (a minute's Retry-After, on the real clock: only the abort can end it in time).
      await admin(L.sim, 'POST', `/tenants/${L.info.tenantId}/faults`, { kind: '429', count: 1, retryAfterSeconds: 60 });
      const ac2 = new AbortController();
      const injected = tenant.counters.rateLimited.injected;
      const waiting = L.pull('invoices', { signal: ac2.signal });
      await until(() => tenant.counters.rateLimited.injected === injected + 1, 'the 429 answered');
      ac2.abort(reason);
      await expect(waiting).rejects.toBe(reason);
    } finally {
      await L.sim.close();
    }
  });
});
