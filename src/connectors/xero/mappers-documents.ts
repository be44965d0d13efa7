/**
 * Xero supplier credit notes (`/CreditNotes`, Type ACCPAYCREDIT) and purchase orders (`/PurchaseOrders`) → Codat's
 * BillCreditNote and PurchaseOrder (docs/accounting-model.md), field by field. Shared line and allocation mapping is
 * the bills' (mappers.ts).
 */
import type { SourceRecord } from '../connector.js';
import { billLine, creditNoteStatus, currencyRate, isInclusive, paymentAllocations } from './mappers.js';
import { arr, compact, dateOnly, instant, num, obj, parseXeroDate, required, str, type Wire } from './wire.js';

function record(id: string, data: Record<string, unknown>, updated: unknown, deleted: boolean): SourceRecord {
  const ms = parseXeroDate(updated);
  return { id, data: compact(data), sourceModifiedDate: ms === undefined ? null : instant(ms), deleted };
}
const modified = (w: Wire) => {
  const ms = parseXeroDate(w.UpdatedDateUTC);
  return ms === undefined ? undefined : instant(ms);
};
const dateField = (v: unknown) => {
  const ms = parseXeroDate(v);
  return ms === undefined ? undefined : dateOnly(ms);
};
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
  const total = required(num(d.Total), 'Total');
  const remaining = num(d.RemainingCredit) ?? 0;
  const currency = str(d.CurrencyCode);
  const rate = currencyRate(d);
  const allocations = arr(d.Allocations);
  const lastAllocation = allocations.map((a) => parseXeroDate(a.Date)).filter((x): x is number => x !== undefined).sort((a, b) => b - a)[0];
  const status = creditNoteStatus(d, total, remaining);
  return record(
    id,
    {
      id,
      // For ACCPAYCREDIT, Xero's CreditNoteNumber is the supplier's own credit note number.
      billCreditNoteNumber: str(d.CreditNoteNumber),
      supplierRef: supplierRef(d),
      totalAmount: total,
      // Xero credit notes carry no document discount.
      totalDiscount: 0,
      subTotal: num(d.SubTotal) ?? 0,
      totalTaxAmount: num(d.TotalTax) ?? 0,
      discountPercentage: 0,
      remainingCredit: remaining,
      status,
      issueDate: dateField(d.Date),
      allocatedOnDate: lastAllocation === undefined ? undefined : dateOnly(lastAllocation),
      currency,
      currencyRate: rate,
      // A bill's lines without lineNumber and isDirectCost, which Codat's BillCreditNoteLineItem does not have.
      lineItems: arr(d.LineItems).map((l, n) => {
        const { lineNumber: _n, isDirectCost: _d, ...line } = billLine(l, inclusive, n) as Record<string, unknown>;
        return line;
      }),
      // Allocations to bills (the allocation is the "payment": its id, the bill number as reference) and cash refunds.
      paymentAllocations: [
        ...allocations.map((a) => {
          const on = dateField(a.Date);
          const amount = num(a.Amount) ?? 0;
          const bill = obj(a.Invoice);
          return {
            payment: compact({ id: str(a.AllocationID) ?? str(bill?.InvoiceID), reference: str(bill?.InvoiceNumber), note: 'Allocated to bill', currency, currencyRate: rate, paidOnDate: on, totalAmount: amount }),
            allocation: compact({ currency, currencyRate: rate, allocatedOnDate: on, totalAmount: amount }),
          };
        }),
        ...paymentAllocations({ ...d, CreditNotes: [] }),
      ],
      note: str(d.Reference),
      sourceModifiedDate: modified(d),
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
