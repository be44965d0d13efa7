/**
 * Supplier credit notes and purchase orders of a generated tenant (issue 15), derived on demand from (seed, index)
 * like every generated document (generate.ts), so any page of a million-document tenant costs only its own records.
 *
 * Bill credit note k belongs to bill b = (k+1)·billCreditStride − 1 and is derived with it (`billBundle`): when that
 * bill is open (AUTHORISED) the credit is allocated to it before its payment, so the bill's AmountCredited, AmountDue,
 * its payment's amount and the ledger (which posts the credit note: payables debited, expenses and tax credited) all
 * agree by construction. A credit on a draft or void bill stays unallocated (RemainingCredit = Total).
 *
 * Purchase orders have no accounting effect (Xero posts nothing for them), so they never touch the ledger.
 */
import type { Generator } from './generate.js';
import { amountDue, STREAMS, totals } from './generate.js';
import { DAY_MS, dayStart, type Doc, type DocLine, type PurchaseOrder } from './model.js';
import { Rng } from './rng.js';
import * as W from './names.js';

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** The credit note of bill `bill` (mutating the bill's credits and status when it is allocated), or undefined. */
export function billCreditNoteFor(gen: Generator, bill: Doc): Doc | undefined {
  const stride = gen.billCreditStride;
  const i = bill.index;
  if (stride <= 0 || i % stride !== stride - 1) return undefined;
  const k = Math.floor(i / stride);
  if (k >= gen.billCreditNotes) return undefined;
  const rng = Rng.of(gen.seedHash, STREAMS.billCreditNotes, k);
  const lines: DocLine[] = [gen.creditLine(rng, bill.lines[0]!, 'Supplier credit')];
  const dateMs = bill.dateMs + rng.int(1, 4) * DAY_MS;
  const cn: Doc = {
    kind: 'billCreditNote',
    index: k,
    number: `SCN-${pad(rng.int(10_000, 99_999), 5)}`,
    reference: `Credit for ${bill.number}`,
    contactIndex: bill.contactIndex,
    dateMs,
    dueDateMs: dateMs,
    status: 'AUTHORISED',
    ...totals(lines),
    currency: bill.currency,
    rate: bill.rate,
    payments: [],
    credits: [],
    sentToContact: false,
    updatedMs: bill.updatedMs,
  };
  if (bill.status === 'AUTHORISED' && cn.totalCents < amountDue(bill)) {
    cn.credits.push({ index: i, dateMs, amountCents: cn.totalCents });
    cn.status = 'PAID';
    cn.fullyPaidOnMs = dateMs;
    bill.credits.push({ index: k, dateMs, amountCents: cn.totalCents });
  }
  return cn;
}

/** Purchase order i: a supplier, 1–3 purchase lines, spread over the history like the bills. */
export function purchaseOrderAt(gen: Generator, i: number): PurchaseOrder {
  const rng = Rng.of(gen.seedHash, STREAMS.purchaseOrders, i);
  const n = gen.counts.purchaseOrders;
  const u = gen.spread('purchaseOrders', i);
  const { customers, suppliers } = gen.counts;
  const contactIndex = customers + rng.int(0, Math.max(0, suppliers - 1));
  const lines = Array.from({ length: rng.int(1, 3) }, () => gen.line(rng, false, false));
  const dateMs = dayStart(u) - rng.int(0, 3) * DAY_MS;
  // Old orders have been billed; the newest are drafts or awaiting approval; the rest are open (AUTHORISED).
  const age = (gen.anchorMs - dateMs) / DAY_MS;
  let status: PurchaseOrder['status'] = age > 60 ? 'BILLED' : 'AUTHORISED';
  if (i >= n - Math.max(1, Math.floor(n / 50)) && rng.chance(0.5)) status = rng.chance(0.5) ? 'DRAFT' : 'SUBMITTED';
  const street = rng.pick(W.STREETS);
  const place = rng.pick(W.CITIES);
  return {
    index: i,
    number: `PO-${pad(i + 1, 6)}`,
    reference: rng.chance(0.4) ? `REQ-${rng.int(100, 9999)}` : '',
    contactIndex,
    dateMs,
    deliveryDateMs: dateMs + rng.int(3, 21) * DAY_MS,
    status,
    ...totals(lines),
    currency: gen.organisation.baseCurrency,
    deliveryAddress: `${rng.int(1, 250)} ${street}, ${place.city}`,
    attentionTo: `${rng.pick(W.FIRST_NAMES)} ${rng.pick(W.LAST_NAMES)}`,
    telephone: `0${rng.int(100, 999)} ${rng.int(100_000, 999_999)}`,
    deliveryInstructions: rng.chance(0.3) ? 'Deliver to the loading bay' : '',
    sentToContact: status !== 'DRAFT',
    updatedMs: u,
  };
}
