/**
 * QuickBooks Online entities → the accounting types beyond v1 (issue 15), in the same Codat shapes the Xero mappers
 * produce (docs/accounting-model.md), following Codat's QuickBooks Online mapping:
 * - `paymentMethods` ← PaymentMethod. Codat reads every QuickBooks payment method's `type` as `Unknown` (QuickBooks only
 *   says CREDIT_CARD or NON_CREDIT_CARD); `Active: false` → `Archived` (QuickBooks never deletes one).
 * - `purchaseOrders` ← PurchaseOrder: `POStatus` Open/Closed; `DueDate` is the expected delivery date; the ship-to
 *   address is `shipTo.address`; `PrivateNote` the note.
 * - `billCreditNotes` ← VendorCredit: `Balance` is the remaining credit; status from it as for credit memos. A vendor
 *   credit carries no applied amounts per bill (the bill payment that applies it does), so no payment allocations.
 * - `transfers` ← Transfer: one amount, in the transfer's currency, out of `FromAccountRef` into `ToAccountRef`.
 * - `directCosts` ← Purchase (cash, check and credit-card expenses); `directIncomes` ← SalesReceipt and RefundReceipt
 *   (negative amounts, as Codat reads refunds). Each moved its
 *   money once: one payment allocation on the account paid from / deposited to. QuickBooks lines carry no tax amount,
 *   so line tax is left out; an account-based expense line has no unit price or quantity, so it is one unit of its
 *   amount. A voided one (zero amounts, "Voided" in PrivateNote) moved no money and is flagged deleted, as the Xero
 *   mapper flags a voided spend or receive money (the model's direct costs and incomes have no status).
 */
import type { SourceRecord } from '../connector.js';
import { activeStatus, address, billLines, idOf, isVoided, record, ref, salesLines, subTotalOf, type MapContext } from './mappers.js';
import { compact, dateField, num, obj, round2, str, type Wire } from './wire.js';

const supplierRef = (d: Wire) => {
  const v = ref(d.VendorRef);
  return v ? compact({ id: v.id, supplierName: v.name }) : undefined;
};
const currencyOf = (d: Wire, ctx: MapContext) => str(obj(d.CurrencyRef)?.value) ?? ctx.baseCurrency;
const totalTax = (d: Wire) => num(obj(d.TxnTaxDetail)?.TotalTax) ?? 0;
const sumAmounts = (lines: Record<string, unknown>[]) => round2(lines.reduce((a, l) => a + ((l.subTotal as number | undefined) ?? 0), 0));

export function mapPaymentMethod(m: Wire): SourceRecord {
  const id = idOf(m);
  return record(id, { id, name: str(m.Name), type: 'Unknown', status: activeStatus(m) }, m);
}

export function mapPurchaseOrder(p: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(p);
  const lines = billLines(p).map(({ lineNumber: _n, tracking: _t, isDirectCost: _d, ...line }) => line);
  const ship = address(p.ShipAddr, 'Delivery');
  return record(
    id,
    {
      id,
      purchaseOrderNumber: str(p.DocNumber),
      supplierRef: supplierRef(p),
      status: p.POStatus === 'Closed' ? 'Closed' : p.POStatus === 'Open' ? 'Open' : 'Unknown',
      issueDate: dateField(p.TxnDate),
      expectedDeliveryDate: dateField(p.DueDate),
      shipTo: ship ? { address: ship } : undefined,
      currency: currencyOf(p, ctx),
      currencyRate: num(p.ExchangeRate),
      lineItems: lines,
      subTotal: sumAmounts(lines),
      totalDiscount: 0,
      totalTaxAmount: totalTax(p),
      totalAmount: num(p.TotalAmt) ?? 0,
      note: str(p.PrivateNote),
    },
    p,
  );
}

export function mapVendorCredit(d: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(d);
  // Codat's BillCreditNoteLineItem has no lineNumber or isDirectCost (a bill line's).
  const lines = billLines(d).map(({ lineNumber: _n, isDirectCost: _d, ...line }) => line);
  const total = num(d.TotalAmt) ?? 0;
  const remaining = num(d.Balance) ?? total;
  const status = isVoided(d) ? 'Void' : remaining <= 0 ? 'Paid' : remaining < total ? 'PartiallyPaid' : 'Submitted';
  return record(
    id,
    {
      id,
      billCreditNoteNumber: str(d.DocNumber),
      supplierRef: supplierRef(d),
      totalAmount: total,
      totalDiscount: 0,
      subTotal: sumAmounts(lines),
      totalTaxAmount: totalTax(d),
      discountPercentage: 0,
      remainingCredit: remaining,
      status,
      issueDate: dateField(d.TxnDate),
      currency: currencyOf(d, ctx),
      currencyRate: num(d.ExchangeRate),
      lineItems: lines,
      paymentAllocations: [],
      note: str(d.PrivateNote),
    },
    d,
  );
}

export function mapTransfer(x: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(x);
  const currency = currencyOf(x, ctx);
  const amount = num(x.Amount) ?? 0;
  return record(
    id,
    {
      id,
      description: str(x.PrivateNote),
      date: dateField(x.TxnDate),
      from: compact({ accountRef: ref(x.FromAccountRef), currency, amount }),
      to: compact({ accountRef: ref(x.ToAccountRef), currency, amount }),
      trackingCategoryRefs: [],
      depositedRecordRefs: [],
    },
    x,
  );
}

/** The one payment allocation of an expense or sales receipt: the money moved on the account, on the day, in full. */
function allocation(d: Wire, id: string, account: unknown, reference: string | undefined, currency: string | undefined) {
  const date = dateField(d.TxnDate);
  const rate = num(d.ExchangeRate);
  const total = num(d.TotalAmt) ?? 0;
  return [
    {
      payment: compact({ id, reference, accountRef: ref(account), currency, currencyRate: rate, paidOnDate: date, totalAmount: total }),
      allocation: compact({ currency, currencyRate: rate, allocatedOnDate: date, totalAmount: total }),
    },
  ];
}

const ENTITY_TYPES: Record<string, string> = { Vendor: 'suppliers', Customer: 'customers' };

export function mapPurchase(d: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(d);
  const currency = currencyOf(d, ctx);
  const entity = obj(d.EntityRef);
  const contactType = ENTITY_TYPES[String(entity?.type)];
  const lines = billLines(d).map(({ lineNumber: _n, isDirectCost: _d, ...line }) => ({ ...line, unitAmount: line.unitAmount ?? line.subTotal ?? 0, quantity: line.quantity ?? 1 }));
  const out = record(
    id,
    {
      id,
      reference: str(d.DocNumber),
      note: str(d.PrivateNote),
      contactRef: contactType && str(entity?.value) ? { id: str(entity!.value)!, dataType: contactType } : undefined,
      issueDate: dateField(d.TxnDate),
      currency,
      currencyRate: num(d.ExchangeRate),
      lineItems: lines,
      paymentAllocations: allocation(d, id, d.AccountRef, str(d.DocNumber), currency),
      subTotal: sumAmounts(lines),
      taxAmount: totalTax(d),
      totalAmount: num(d.TotalAmt) ?? 0,
    },
    d,
  );
  return { ...out, deleted: isVoided(d) };
}

/**
 * A sales receipt, or (`refund`) a refund receipt: money paid back to a customer, which Codat reads as a direct income
 * of negative amounts (unit amounts, line and document totals, and its payment allocation; quantities stay positive).
 */
export function mapSalesReceipt(d: Wire, ctx: MapContext, refund = false): SourceRecord {
  const id = idOf(d);
  const currency = currencyOf(d, ctx);
  const customer = ref(d.CustomerRef);
  const sign = refund ? -1 : 1;
  const neg = (v: unknown) => (typeof v === 'number' && v !== 0 ? sign * v : v);
  const lines = salesLines(d).map(({ tracking: _t, isDirectIncome: _d, ...line }) => ({ ...line, unitAmount: neg(line.unitAmount), subTotal: neg(line.subTotal), discountAmount: neg(line.discountAmount) }));
  const total = neg(num(d.TotalAmt) ?? 0) as number;
  const alloc = allocation(d, id, d.DepositToAccountRef, str(d.PaymentRefNum) ?? str(d.DocNumber), currency);
  alloc[0]!.payment.totalAmount = total;
  alloc[0]!.allocation.totalAmount = total;
  const out = record(
    id,
    {
      id,
      reference: str(d.DocNumber),
      note: str(d.PrivateNote),
      contactRef: customer ? { id: customer.id, dataType: 'customers' } : undefined,
      issueDate: dateField(d.TxnDate),
      currency,
      currencyRate: num(d.ExchangeRate),
      lineItems: lines,
      paymentAllocations: alloc,
      subTotal: neg(subTotalOf(d)),
      taxAmount: neg(totalTax(d)),
      totalAmount: total,
    },
    d,
  );
  return { ...out, deleted: isVoided(d) };
}

export const mapRefundReceipt = (d: Wire, ctx: MapContext): SourceRecord => mapSalesReceipt(d, ctx, true);
