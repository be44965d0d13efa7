/**
 * Issue 15, documents half, connector ↔ simulator over a real socket: supplier credit notes and purchase orders mapped
 * field by field from the simulator's Xero records, consistent with the bills and the ledger, incremental with
 * deletions flagged; sales orders NotSupported; attachments and invoice PDFs read live with real bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ManualClock } from '../../lib/clock.js';
import { NotSupportedError, type SourceRecord } from '../connector.js';
import { FileNotFoundError } from '../files.js';
import { startSimulator, type Simulator } from '../../sim/server.js';
import { SandboxConnector } from './index.js';
import { drain, MemoryCredentialsStore } from '../test-helpers.js';
import { readPdf } from '../../../test/support/pdf.js';

const msOf = (d: string) => Number(/-?\d+/.exec(d)![0]);
const day = (d: string) => new Date(msOf(d)).toISOString().slice(0, 10) + 'T00:00:00';
const cents = (x: number) => Math.round(x * 100);

describe('Sandbox documents: bill credit notes, purchase orders, attachments, invoice PDFs', () => {
  let sim: Simulator;
  let clock: ManualClock;
  let connector: SandboxConnector;
  let store: MemoryCredentialsStore;
  let info: Record<string, string>;
  let token: string;
  const pull = (dataType: 'billCreditNotes' | 'purchaseOrders' | 'salesOrders' | 'bills', extra: { cursor?: string } = {}) =>
    drain(connector, { dataType, credentials: store, connectionInfo: info, clock, ...extra });
  const req = () => ({ credentials: store, connectionInfo: info, clock, signal: new AbortController().signal });
  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/admin/tenants/${info.tenantId}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  const raw = async (path: string, key: string): Promise<any[]> => {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await fetch(`${sim.url}/api.xro/2.0${path}${sep}page=${page}&pageSize=100`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': info.tenantId! } });
      const body = (await res.json()) as any;
      out.push(...body[key]);
      if (body[key].length < 100) return out;
    }
  };

  beforeAll(async () => {
    clock = new ManualClock('2026-06-15T12:00:00Z');
    sim = await startSimulator({ clock, rateLimit: { perMinute: 100_000, concurrent: 5 } });
    connector = new SandboxConnector({ baseUrl: sim.url, clock, tenantSize: { invoices: 300, bills: 300 }, sleep: async () => {} });
    const a = await connector.authorize({ connectionId: 'conn-documents', companyName: 'Docs Ltd', signal: new AbortController().signal });
    store = new MemoryCredentialsStore(a.credentials);
    info = a.connectionInfo;
    token = sim.grant(info.tenantId!).access_token;
  });
  afterAll(() => sim.close());

  it('maps supplier credit notes field by field, and they agree with the bills they are allocated to', async () => {
    const { records, outcome } = await pull('billCreditNotes');
    const wire = await raw(`/CreditNotes?where=${encodeURIComponent('Type=="ACCPAYCREDIT"')}`, 'CreditNotes');
    expect(wire.length).toBe(15); // 300 bills / 20
    expect(outcome.fullListing).toBe(true);
    const mapped = new Map(records.map((r) => [r.id, r]));
    expect(mapped.size).toBe(wire.length);
    const bills = new Map((await raw(`/Invoices?where=${encodeURIComponent('Type=="ACCPAY"')}`, 'Invoices')).map((b) => [b.InvoiceID, b]));
    let allocated = 0;
    for (const w of wire) {
      expect(w.Type).toBe('ACCPAYCREDIT');
      const r = mapped.get(w.CreditNoteID)!;
      const d = r.data as any;
      expect(d.billCreditNoteNumber).toBe(w.CreditNoteNumber);
      expect(d.supplierRef).toEqual({ id: w.Contact.ContactID, supplierName: w.Contact.Name });
      expect(d.issueDate).toBe(day(w.Date));
      expect(d.currency).toBe(w.CurrencyCode);
      expect(d.currencyRate).toBe(1);
      expect(d.subTotal).toBe(w.SubTotal);
      expect(d.totalTaxAmount).toBe(w.TotalTax);
      expect(d.totalAmount).toBe(w.Total);
      expect(d.totalDiscount).toBe(0);
      expect(d.discountPercentage).toBe(0);
      expect(d.remainingCredit).toBe(w.RemainingCredit);
      expect(d.note).toBe(w.Reference || undefined);
      expect(d.status).toBe({ AUTHORISED: 'Submitted', PAID: 'Paid', VOIDED: 'Void', DELETED: 'Void', DRAFT: 'Draft', SUBMITTED: 'Submitted' }[w.Status as string]);
      expect(r.sourceModifiedDate).toBe(new Date(msOf(w.UpdatedDateUTC)).toISOString());
      expect(r.deleted).toBe(false);
      expect(d.lineItems).toHaveLength(w.LineItems.length);
      w.LineItems.forEach((l: any, i: number) => {
        const m = d.lineItems[i];
        // Codat's BillCreditNoteLineItem has no lineNumber or isDirectCost (a bill line's).
        expect(m.lineNumber === undefined && m.isDirectCost === undefined).toBe(true);
        expect(m).toMatchObject({ description: l.Description, unitAmount: l.UnitAmount, quantity: l.Quantity, subTotal: l.LineAmount, taxAmount: l.TaxAmount, accountRef: { id: l.AccountID }, taxRateRef: { id: l.TaxType } });
      });
      expect(d.paymentAllocations.map((p: any) => p.payment.id)).toEqual(w.Allocations.map((a: any) => a.AllocationID));
      // Consistency with the bill: its AmountCredited lists this credit note, and its amount due accounts for it.
      for (const a of w.Allocations) {
        allocated++;
        const bill = bills.get(a.Invoice.InvoiceID)!;
        expect(bill.CreditNotes.map((c: any) => c.CreditNoteID)).toContain(w.CreditNoteID);
        expect(cents(bill.AmountCredited)).toBe(cents(a.Amount));
        expect(cents(bill.AmountDue)).toBe(cents(bill.Total) - cents(bill.AmountPaid) - cents(bill.AmountCredited));
        expect(d.allocatedOnDate).toBe(day(a.Date));
        expect(d.remainingCredit).toBe(0);
      }
    }
    expect(allocated).toBeGreaterThan(0);
    // Bill payments see the allocations too (credit-note allocations of ACCPAYCREDIT, mapped as bill payments).
    expect(((await drain(connector, { dataType: 'billPayments', credentials: store, connectionInfo: info, clock })).records as SourceRecord[]).filter((r) => (r.data as any).note?.startsWith('Credit note'))).toHaveLength(allocated);
  });

  it('maps purchase orders field by field', async () => {
    const { records } = await pull('purchaseOrders');
    const wire = await raw('/PurchaseOrders', 'PurchaseOrders');
    expect(wire.length).toBe(75); // 300 bills / 4
    const mapped = new Map(records.map((r) => [r.id, r]));
    expect(mapped.size).toBe(wire.length);
    const statuses = new Set<string>();
    for (const w of wire) {
      const r = mapped.get(w.PurchaseOrderID)!;
      const d = r.data as any;
      statuses.add(`${w.Status}->${d.status}`);
      expect(d.purchaseOrderNumber).toBe(w.PurchaseOrderNumber);
      expect(d.supplierRef).toEqual({ id: w.Contact.ContactID, supplierName: w.Contact.Name });
      expect(d.issueDate).toBe(day(w.Date));
      expect(d.deliveryDate).toBe(day(w.DeliveryDate));
      expect(d.expectedDeliveryDate).toBe(day(w.ExpectedArrivalDate));
      expect(d.shipTo).toEqual({ address: { type: 'Delivery', line1: w.DeliveryAddress }, contact: { name: w.AttentionTo, phone: w.Telephone } });
      expect(d).toMatchObject({ currency: w.CurrencyCode, currencyRate: 1, subTotal: w.SubTotal, totalTaxAmount: w.TotalTax, totalAmount: w.Total, totalDiscount: w.TotalDiscount });
      expect(d.note).toBe(w.Reference || undefined);
      expect(cents(d.subTotal) + cents(d.totalTaxAmount)).toBe(cents(d.totalAmount));
      w.LineItems.forEach((l: any, i: number) => {
        const m = d.lineItems[i];
        expect(m).toMatchObject({ description: l.Description, unitAmount: l.UnitAmount, quantity: l.Quantity, subTotal: l.LineAmount, taxAmount: l.TaxAmount, accountRef: { id: l.AccountID }, taxRateRef: { id: l.TaxType } });
        expect(m.lineNumber).toBeUndefined();
      });
      expect(r.deleted).toBe(false);
    }
    expect([...statuses].every((s) => ['AUTHORISED->Open', 'BILLED->Closed', 'DRAFT->Draft', 'SUBMITTED->Draft'].includes(s)), [...statuses].join()).toBe(true);
    expect(statuses.has('BILLED->Closed')).toBe(true);
  });

  it('incremental pulls return what changed at the source and flag deletions', async () => {
    const first = await pull('purchaseOrders');
    const firstCredit = await pull('billCreditNotes');
    clock.advance(3_600_000);
    // A bill the test creates, credited by a supplier credit note the test creates: the bill's amount due drops.
    const bill = await admin('/records/bills', {});
    const credit = await admin('/records/billCreditNotes', { billId: bill.id });
    const billAfter = (await admin(`/records/bills/${bill.id}`)).AmountCredited;
    expect(billAfter).toBeGreaterThan(0);
    const po = await admin('/records/purchaseOrders', { status: 'AUTHORISED' });
    const oldPo = first.records[3]!.id;
    await admin(`/records/purchaseOrders/${oldPo}/delete`, {});
    const oldCredit = firstCredit.records.find((r) => (r.data as any).status === 'Submitted' || (r.data as any).status === 'Paid')!.id;
    await admin(`/records/billCreditNotes/${oldCredit}/delete`, {});
    const pos = await pull('purchaseOrders', { cursor: first.outcome.cursor! });
    expect(pos.outcome.fullListing).toBe(false);
    expect(new Map(pos.records.map((r) => [r.id, r.deleted]))).toEqual(new Map([[po.id, false], [oldPo, true]]));
    expect((pos.records.find((r) => r.id === oldPo)!.data as any).status).toBe('Void');
    const credits = await pull('billCreditNotes', { cursor: firstCredit.outcome.cursor! });
    const byId = new Map(credits.records.map((r) => [r.id, r]));
    expect(byId.get(credit.id)).toMatchObject({ deleted: false, data: { status: 'Paid', remainingCredit: 0 } });
    expect(byId.get(oldCredit)).toMatchObject({ deleted: true, data: { status: 'Void' } });
    // Hard deletion at the source: gone from the next full listing (the pull engine reconciles it as deleted).
    await admin(`/records/billCreditNotes/${credit.id}/hard-delete`, {});
    const full = await pull('billCreditNotes');
    expect(full.records.some((r) => r.id === credit.id)).toBe(false);
    expect((await admin(`/records/bills/${bill.id}`)).AmountCredited).toBe(0);
  });

  it('sales orders: NotSupported, saying why', async () => {
    expect(connector.supports('salesOrders')).toBe(false);
    await expect(pull('salesOrders')).rejects.toThrow(NotSupportedError);
    await expect(pull('salesOrders')).rejects.toThrow(/no sales orders/);
  });

  it('attachments: listed and downloaded live with their bytes and content type; unknown ones are FileNotFoundError', async () => {
    const inv = await admin('/records/invoices', {});
    const before = await connector.files.listAttachments(req(), 'invoices', inv.id);
    const added = await admin('/attachments', { endpoint: 'Invoices', recordId: inv.id, fileName: 'contract.txt', mimeType: 'text/plain', size: 1000 });
    const after = await connector.files.listAttachments(req(), 'invoices', inv.id);
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)).toEqual({ id: added.AttachmentID, name: 'contract.txt', contentType: 'text/plain', fileSize: 1000, includeWhenSent: false });
    const file = await connector.files.downloadAttachment(req(), 'invoices', inv.id, added.AttachmentID);
    expect(file).toMatchObject({ contentType: 'text/plain', contentLength: 1000, fileName: 'contract.txt' });
    const bytes = Buffer.from(await new Response(file.body).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(added.sha256);
    // Generated attachments are real files: a PNG starts with its signature, a PDF parses.
    const kinds = new Set<string>();
    for (let i = 0; i < 40 && kinds.size < 3; i++) {
      const c = (await admin(`/records/contacts?offset=${i}&limit=1`)).ids[0];
      for (const a of await connector.files.listAttachments(req(), 'customers', c)) {
        const f = await connector.files.downloadAttachment(req(), 'customers', c, a.id);
        const b = Buffer.from(await new Response(f.body).arrayBuffer());
        expect(b.length).toBe(a.fileSize);
        expect(f.contentType).toBe(a.contentType);
        if (a.contentType === 'image/png') expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        if (a.contentType === 'application/pdf') expect(readPdf(b).pages).toBe(1);
        if (a.contentType === 'text/plain') expect(b.toString('utf8')).toMatch(/^Notes for /);
        kinds.add(a.contentType!);
      }
    }
    expect(kinds).toEqual(new Set(['image/png', 'application/pdf', 'text/plain']));
    await expect(connector.files.listAttachments(req(), 'invoices', '00000000-0000-4000-8000-000000000000')).rejects.toThrow(FileNotFoundError);
    await expect(connector.files.downloadAttachment(req(), 'invoices', inv.id, '00000000-0000-4000-8000-000000000000')).rejects.toThrow(FileNotFoundError);
  });

  it('invoice PDF: a valid PDF naming the invoice number and total', async () => {
    const inv = await admin('/records/invoices', {});
    const w = (await admin(`/records/invoices/${inv.id}`)) as any;
    const file = await connector.files.getInvoicePdf(req(), inv.id);
    expect(file.contentType).toBe('application/pdf');
    const pdf = readPdf(Buffer.from(await new Response(file.body).arrayBuffer()));
    expect(pdf.text).toContain(`Invoice number: ${w.InvoiceNumber}`);
    expect(pdf.text).toContain(`Total: ${w.CurrencyCode} ${w.Total.toFixed(2)}`);
    await expect(connector.files.getInvoicePdf(req(), '00000000-0000-4000-8000-000000000000')).rejects.toThrow(FileNotFoundError);
  });
});
