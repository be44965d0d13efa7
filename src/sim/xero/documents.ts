/**
 * Xero's purchase orders, attachments and invoice PDFs over the simulator's tenants (issue 15):
 *
 * - `GET /PurchaseOrders[/{PurchaseOrderID}]`: paged (`page`, `pageSize`), If-Modified-Since, `Status` parameter
 *   (xero_accounting.yaml getPurchaseOrders), in UpdatedDateUTC order like every Xero listing here;
 * - `GET /{Endpoint}/{Guid}/Attachments` and `…/Attachments/{AttachmentID or FileName}` (raw bytes, the file's own
 *   content type), for Invoices (sales invoices and bills), CreditNotes, Contacts, BankTransactions, PurchaseOrders,
 *   ManualJournals and Accounts;
 * - `GET /Invoices/{InvoiceID}` with `Accept: application/pdf`: the invoice as a real PDF.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { amountCredited, amountDue, amountPaid } from '../generate.js';
import { HttpError, type Reply } from '../http.js';
import { money, type CollectionName, type Doc, type PurchaseOrder } from '../model.js';
import type { Tenant } from '../tenant.js';
import { ATTACHMENT_OWNERS, attachmentsOf, writeAttachment, type AttachmentOwner, type SimAttachment } from '../attachments.js';
import { buildPdf, type PdfLine } from '../files.js';
import { API_PREFIX } from './api.js';
import { msDate, renderLineItem } from './render.js';

/** A reply the dialect writes itself (file bytes), instead of a JSON body. */
export interface RawReply extends Reply {
  write(res: ServerResponse, headers: Record<string, string>): Promise<void>;
}
export const isRawReply = (r: Reply): r is RawReply => typeof (r as RawReply).write === 'function';

export interface DocumentsContext {
  envelope(t: Tenant, key: string, items: unknown[], pagination?: { page: number; pageSize: number; total: number }): unknown;
  since: number | undefined;
  page: number;
  pageSize: number;
}

const NOT_FOUND = `The resource you're looking for cannot be found`;
const isoNoZ = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

export function renderPurchaseOrder(t: Tenant, po: PurchaseOrder) {
  const id = t.gen.id('purchaseOrders', po.index);
  const c = t.contact(po.contactIndex) ?? t.gen.contact(po.contactIndex);
  return {
    PurchaseOrderID: id,
    PurchaseOrderNumber: po.number,
    Reference: po.reference,
    Contact: { ContactID: t.gen.id('contacts', po.contactIndex), Name: c.name, ContactStatus: c.status, IsSupplier: c.isSupplier, IsCustomer: c.isCustomer },
    Date: msDate(po.dateMs),
    DateString: isoNoZ(po.dateMs),
    DeliveryDate: msDate(po.deliveryDateMs),
    DeliveryDateString: isoNoZ(po.deliveryDateMs),
    ExpectedArrivalDate: msDate(po.deliveryDateMs),
    ExpectedArrivalDateString: isoNoZ(po.deliveryDateMs),
    DeliveryAddress: po.deliveryAddress,
    AttentionTo: po.attentionTo,
    Telephone: po.telephone,
    DeliveryInstructions: po.deliveryInstructions,
    LineAmountTypes: 'Exclusive',
    LineItems: po.lines.map((l, n) => renderLineItem(t, l, id, n)),
    SubTotal: money(po.subCents),
    TotalTax: money(po.taxCents),
    Total: money(po.totalCents),
    TotalDiscount: money(po.discountCents),
    CurrencyCode: po.currency,
    CurrencyRate: 1,
    Status: po.status,
    SentToContact: po.sentToContact,
    HasAttachments: attachmentsOf(t, 'purchaseorders', id, po.number).length > 0,
    IsDiscounted: po.discountCents > 0,
    UpdatedDateUTC: msDate(po.updatedMs),
  };
}

/** The record an attachment path names, or a 404; returns a label for generated file content. */
function ownerRecord(t: Tenant, owner: AttachmentOwner, id: string): string {
  const find = (names: CollectionName[]) => {
    for (const n of names) {
      const i = t.indexOf(n, id);
      const r = i === undefined ? undefined : t.collections[n].get(i);
      if (r) return r as unknown as Record<string, unknown>;
    }
    throw new HttpError(404, NOT_FOUND);
  };
  switch (owner) {
    case 'invoices':
      return String(find(['invoices', 'bills']).number);
    case 'creditnotes':
      return String(find(['creditNotes', 'billCreditNotes']).number);
    case 'contacts':
      return String(find(['contacts']).name);
    case 'purchaseorders':
      return String(find(['purchaseOrders']).number);
    case 'manualjournals':
      return String(find(['manualJournals']).narration);
    case 'accounts':
      return String(find(['accounts']).name);
    case 'banktransactions': {
      // Bank transactions are another part of the simulator (issue 15, bank side); when that collection exists the id
      // must name one of its records, else any well-formed id is a bank transaction the tenant may hold.
      const cols = t.collections as unknown as Record<string, unknown>;
      if ('bankTransactions' in cols) return String(find(['bankTransactions' as CollectionName]).reference ?? 'Bank transaction');
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new HttpError(404, NOT_FOUND);
      return 'Bank transaction';
    }
  }
}

const ENDPOINT_NAME: Record<AttachmentOwner, string> = {
  invoices: 'Invoices',
  creditnotes: 'CreditNotes',
  contacts: 'Contacts',
  banktransactions: 'BankTransactions',
  purchaseorders: 'PurchaseOrders',
  manualjournals: 'ManualJournals',
  accounts: 'Accounts',
};

function renderAttachment(owner: AttachmentOwner, recordId: string, a: SimAttachment) {
  return {
    AttachmentID: a.id,
    FileName: a.fileName,
    Url: `https://api.xero.com${API_PREFIX}/${ENDPOINT_NAME[owner]}/${recordId}/Attachments/${encodeURIComponent(a.fileName)}`,
    MimeType: a.mimeType,
    ContentLength: a.size,
    IncludeOnline: a.includeOnline,
  };
}

/** The invoice (or bill) as a one- or few-page PDF: header, contact, lines, totals. */
export function invoicePdf(t: Tenant, d: Doc): Buffer {
  const org = t.gen.organisation;
  const contact = t.contact(d.contactIndex) ?? t.gen.contact(d.contactIndex);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const amt = (cents: number) => `${d.currency} ${money(cents).toFixed(2)}`;
  const lines: PdfLine[] = [
    { text: d.kind === 'bill' ? 'BILL' : 'TAX INVOICE', size: 20, bold: true },
    { text: org.name, size: 12, bold: true },
    { text: `Invoice number: ${d.number}` },
    { text: `To: ${contact.name}` },
    { text: `Issue date: ${day(d.dateMs)}    Due date: ${day(d.dueDateMs)}` },
    ...(d.reference ? [{ text: `Reference: ${d.reference}` }] : []),
    { text: `Status: ${d.status}` },
    { text: ' ' },
    { text: 'Description / Quantity / Unit price / Amount', bold: true },
    ...d.lines.map((l) => ({ text: `${l.description} / ${l.quantity} / ${money(l.unitCents).toFixed(2)} / ${money(l.lineCents).toFixed(2)}` })),
    { text: ' ' },
    { text: `Subtotal: ${amt(d.subCents)}` },
    { text: `Tax: ${amt(d.taxCents)}` },
    { text: `Total: ${amt(d.totalCents)}`, bold: true, size: 12 },
    { text: `Paid: ${amt(amountPaid(d))}    Credited: ${amt(amountCredited(d))}` },
    { text: `Amount due: ${amt(amountDue(d))}`, bold: true },
  ];
  return buildPdf(`Invoice ${d.number}`, lines);
}

const bytesReply = (bytes: Buffer, contentType: string, fileName: string): RawReply => ({
  status: 200,
  body: undefined,
  async write(res, headers) {
    res.writeHead(200, { 'content-type': contentType, 'content-length': String(bytes.length), 'content-disposition': `inline; filename="${fileName}"`, ...headers });
    res.end(bytes);
  },
});

/** Handles the paths above; undefined for every other path. */
export function handleDocuments(t: Tenant, segs: string[], url: URL, req: IncomingMessage, ctx: DocumentsContext): Reply | RawReply | undefined {
  const resource = (segs[0] ?? '').toLowerCase();
  const id = segs[1];
  // ----- attachments
  if (id && (segs[2] ?? '').toLowerCase() === 'attachments') {
    const owner = ATTACHMENT_OWNERS.find((o) => o === resource);
    if (!owner || segs.length > 4) throw new HttpError(404, NOT_FOUND);
    const label = ownerRecord(t, owner, id);
    const all = attachmentsOf(t, owner, id, label);
    if (segs.length === 3) return { status: 200, body: ctx.envelope(t, 'Attachments', all.map((a) => renderAttachment(owner, id.toLowerCase(), a))) };
    const key = decodeURIComponent(segs[3]!);
    const a = all.find((x) => x.id === key.toLowerCase()) ?? all.find((x) => x.fileName === key);
    if (!a) throw new HttpError(404, NOT_FOUND);
    return { status: 200, body: undefined, write: (res, headers) => writeAttachment(res, a, headers) } satisfies RawReply;
  }
  // ----- invoice PDF
  if (resource === 'invoices' && id && segs.length === 2 && /application\/pdf/i.test(String(req.headers.accept ?? ''))) {
    for (const n of ['invoices', 'bills'] as const) {
      const i = t.indexOf(n, id);
      const d = i === undefined ? undefined : t.collections[n].get(i);
      if (d) return bytesReply(invoicePdf(t, d), 'application/pdf', `${d.number}.pdf`);
    }
    throw new HttpError(404, NOT_FOUND);
  }
  // ----- purchase orders
  if (resource === 'purchaseorders') {
    if (id) {
      if (segs.length > 2) throw new HttpError(404, NOT_FOUND);
      const i = t.indexOf('purchaseOrders', id);
      const po = i === undefined ? undefined : t.collections.purchaseOrders.get(i);
      if (!po) throw new HttpError(404, NOT_FOUND);
      return { status: 200, body: ctx.envelope(t, 'PurchaseOrders', [renderPurchaseOrder(t, po)]) };
    }
    if (url.searchParams.get('where')) throw new HttpError(400, 'PurchaseOrders take a Status parameter, not where');
    const status = url.searchParams.get('Status') ?? url.searchParams.get('status');
    if (status && !['DRAFT', 'SUBMITTED', 'AUTHORISED', 'BILLED', 'DELETED'].includes(status)) throw new HttpError(400, `unknown Status ${status}`);
    const { items, total } = t.collections.purchaseOrders.list({
      since: ctx.since,
      order: 'updated',
      ...(status ? { filter: (p: PurchaseOrder) => p.status === status } : {}),
      offset: (ctx.page - 1) * ctx.pageSize,
      limit: ctx.pageSize,
    });
    return { status: 200, body: ctx.envelope(t, 'PurchaseOrders', items.map((p) => renderPurchaseOrder(t, p)), { page: ctx.page, pageSize: ctx.pageSize, total }) };
  }
  return undefined;
}
