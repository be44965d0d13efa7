/**
 * Xero supplier credit notes (`/CreditNotes`, Type ACCPAYCREDIT) and purchase orders (`/PurchaseOrders`) → Codat's
 * BillCreditNote and PurchaseOrder (docs/accounting-model.md), field by field. Lines are the bills' and the credit
 * notes' amounts and allocations are shared with customer credit notes (mappers.ts).
 */
import type { SourceRecord } from '../connector.js';
import { billLine, creditNoteParts, currencyRate, dateField, isInclusive, modified, record } from './mappers.js';
import { arr, compact, num, obj, required, str, type Wire } from './wire.js';

const supplierRef = (w: Wire) => {
  const c = obj(w.Contact);
  return c && str(c.ContactID) ? compact({ id: str(c.ContactID)!, supplierName: str(c.Name) }) : undefined;
};

/**
 * A supplier credit note. Status as for customer credit notes: AUTHORISED with part of the credit used is
 * PartiallyPaid, AUTHORISED otherwise Submitted, PAID (fully allocated or refunded) Paid, VOIDED and DELETED Void
 * (DELETED also flags the record deleted).
 */
export function mapBillCreditNote(d: Wire): SourceRecord {
  const id = required(str(d.CreditNoteID), 'CreditNoteID');
  const inclusive = isInclusive(d);
  const { amounts, rest } = creditNoteParts(d, 'supplier');
  return record(
    id,
    {
      id,
      // For ACCPAYCREDIT, Xero's CreditNoteNumber is the supplier's own credit note number.
      billCreditNoteNumber: str(d.CreditNoteNumber),
      supplierRef: supplierRef(d),
      ...amounts,
      // A bill's lines without lineNumber and isDirectCost, which Codat's BillCreditNoteLineItem does not have.
      lineItems: arr(d.LineItems).map((l, n) => {
        const { lineNumber: _n, isDirectCost: _d, ...line } = billLine(l, inclusive, n) as Record<string, unknown>;
        return line;
      }),
      ...rest,
    },
    d.UpdatedDateUTC,
    d.Status === 'DELETED',
  );
}

const PO_STATUS: Record<string, string> = { DRAFT: 'Draft', SUBMITTED: 'Draft', AUTHORISED: 'Open', BILLED: 'Closed', DELETED: 'Void' };

/**
 * A purchase order. Xero's DRAFT and SUBMITTED (awaiting approval) are Draft, AUTHORISED is Open, BILLED is Closed,
 * DELETED is Void and flagged deleted. The delivery address, attention-to and telephone are `shipTo`; the reference
 * is the `note`. Xero has no payment due date on a purchase order.
 */
export function mapPurchaseOrder(p: Wire): SourceRecord {
  const id = required(str(p.PurchaseOrderID), 'PurchaseOrderID');
  const inclusive = isInclusive(p);
  const address = str(p.DeliveryAddress);
  const attention = str(p.AttentionTo);
  const phone = str(p.Telephone);
  const contact = attention || phone ? compact({ name: attention, phone }) : undefined;
  return record(
    id,
    {
      id,
      purchaseOrderNumber: str(p.PurchaseOrderNumber),
      supplierRef: supplierRef(p),
      status: PO_STATUS[String(p.Status)] ?? 'Unknown',
      issueDate: dateField(p.Date),
      expectedDeliveryDate: dateField(p.ExpectedArrivalDate),
      deliveryDate: dateField(p.DeliveryDate),
      shipTo: address || contact ? compact({ address: address ? { type: 'Delivery', line1: address } : undefined, contact }) : undefined,
      currency: str(p.CurrencyCode),
      currencyRate: currencyRate(p),
      lineItems: arr(p.LineItems).map((l, n) => {
        const { lineNumber: _n, tracking: _t, isDirectCost: _d, ...line } = billLine(l, inclusive, n) as Record<string, unknown>;
        return line;
      }),
      subTotal: num(p.SubTotal) ?? 0,
      totalDiscount: num(p.TotalDiscount) ?? 0,
      totalTaxAmount: num(p.TotalTax) ?? 0,
      totalAmount: required(num(p.Total), 'Total'),
      note: str(p.Reference),
      sourceModifiedDate: modified(p),
    },
    p.UpdatedDateUTC,
    p.Status === 'DELETED',
  );
}
