/**
 * Overpayments and prepayments of a simulated tenant (Xero's `/Overpayments`, `/Prepayments`): money received from a
 * customer (Type RECEIVE-*) or paid to a supplier (SPEND-*) on account, then allocated to invoices (bills).
 *
 * Generated ones are customer-side, derived with the invoice they belong to (like credit notes, generate.ts): on-account
 * record k of a collection belongs to invoice (k+1)·stride − 1 − offset and is derived inside `invoiceBundle`, before
 * the invoice's payment, so its allocation, the invoice's AmountCredited and AmountDue, the payment's amount and the
 * ledger agree by construction. A prepayment is a deposit received 1–10 days before the invoice and allocated on the
 * invoice's date; an overpayment is received on or after it and allocated at once; either may exceed what is due (the
 * rest stays as RemainingCredit). One on an invoice that is not open (draft, void) stays unallocated, and a quarter of
 * those are VOIDED. A paid invoice keeps something for its payment to pay. Supplier-side ones (and more customer ones)
 * are created through the admin API (tenant.ts).
 *
 * Ledger (ledger.ts): receiving one debits the bank and credits Accounts Receivable (610) for its total, paying one
 * debits Accounts Payable (800) and credits the bank — the contact's balance goes into credit; allocating it to an
 * invoice (bill) moves no money and posts nothing (both sides are in receivables). VOIDED posts nothing.
 *
 * Counts default to 0 (`TenantSize.overpayments` / `.prepayments`): the QuickBooks dialect, which serves the same
 * tenants, has no rendering for payments on account yet, so only tenants that ask for them have them.
 */
import { amountDue, STREAMS, type Generator } from './generate.js';
import type { Ledger } from './ledger.js';
import { DAY_MS, dayStart, type Doc, type DocLine, type OnAccount, type OnAccountKind } from './model.js';
import { Rng } from './rng.js';
import { monthIndexOf } from './generate.js';

export type OnAccountCollection = 'overpayments' | 'prepayments';
export const ON_ACCOUNT_COLLECTION: Record<OnAccountKind, OnAccountCollection> = { overpayment: 'overpayments', prepayment: 'prepayments' };
export const isOnAccountCollection = (name: string): name is OnAccountCollection => name === 'overpayments' || name === 'prepayments';

/** Where the base records of a collection sit among the invoices: stride and offset (prepayments one third earlier). */
export function onAccountLayout(gen: Pick<Generator, 'counts'>, name: OnAccountCollection): { count: number; stride: number; offset: number } {
  const n = gen.counts.invoices;
  const count = Math.min(gen.counts[name], n);
  const stride = count > 0 ? Math.max(1, Math.floor(n / count)) : 0;
  const offset = name === 'overpayments' ? Math.floor(stride / 3) : Math.floor((2 * stride) / 3);
  return { count, stride, offset };
}

/** The invoice base on-account record k of a collection belongs to. */
export function onAccountAnchor(gen: Pick<Generator, 'counts'>, name: OnAccountCollection, k: number): number {
  const { stride, offset } = onAccountLayout(gen, name);
  return Math.max(0, (k + 1) * stride - 1 - offset);
}

/** Base record k of a collection that invoice i carries, if any. */
function indexAt(gen: Pick<Generator, 'counts'>, name: OnAccountCollection, i: number): number | undefined {
  const { count, stride, offset } = onAccountLayout(gen, name);
  if (stride <= 0) return undefined;
  const k = (i + 1 + offset) / stride - 1;
  if (!Number.isInteger(k) || k < 0 || k >= count) return undefined;
  // With stride 1 and an offset, several k clamp onto invoice 0: only the first is generated.
  return onAccountAnchor(gen, name, k) === i ? k : undefined;
}

/** The line of an on-account record: prepayments are coded to income (expense), overpayments to the control account. */
export function onAccountLine(kind: OnAccountKind, type: 'RECEIVE' | 'SPEND', cents: number, description: string): DocLine {
  const accountCode = kind === 'overpayment' ? (type === 'RECEIVE' ? '610' : '800') : type === 'RECEIVE' ? '200' : '429';
  return { description, quantity: 1, unitCents: cents, discountRate: 0, discountCents: 0, lineCents: cents, taxType: 'NONE', taxCents: 0, accountCode, tracking: [] };
}

export function onAccountRecord(a: Omit<OnAccount, 'lines' | 'subCents' | 'taxCents' | 'totalCents' | 'discountCents'> & { totalCents: number; description: string }): OnAccount {
  const { description, ...rest } = a;
  return { ...rest, lines: [onAccountLine(a.kind, a.type, a.totalCents, description)], subCents: a.totalCents, taxCents: 0, discountCents: 0 };
}

/** Allocates as much of `r` as `cap` allows to `doc` on `dateMs`; updates both (statuses included). Returns the amount. */
export function allocate(r: OnAccount, doc: Doc, dateMs: number, cap = Number.MAX_SAFE_INTEGER): number {
  const left = r.totalCents - r.allocations.reduce((s, x) => s + x.amountCents, 0);
  const amount = Math.min(left, amountDue(doc), cap);
  if (amount <= 0 || doc.status !== 'AUTHORISED' || r.status !== 'AUTHORISED') return 0;
  r.allocations.push({ docIndex: doc.index, dateMs, amountCents: amount });
  if (amount === left) r.status = 'PAID';
  (doc.onAccount ??= []).push({ kind: r.kind, index: r.index, dateMs, amountCents: amount });
  if (amountDue(doc) === 0) {
    doc.status = 'PAID';
    doc.fullyPaidOnMs = dateMs;
  }
  return amount;
}

/**
 * The on-account records invoice `invoice` carries (mutating its allocations and status), derived from the seed. Called
 * by `invoiceBundle` after the credit note and before the payment; `paid` says a payment follows (something is then
 * left for it to pay).
 */
export function onAccountFor(gen: Generator, invoice: Doc, paid: boolean): { overpayment?: OnAccount; prepayment?: OnAccount } {
  const out: { overpayment?: OnAccount; prepayment?: OnAccount } = {};
  for (const name of ['prepayments', 'overpayments'] as const) {
    const k = indexAt(gen, name, invoice.index);
    if (k === undefined) continue;
    const kind = name === 'prepayments' ? 'prepayment' : 'overpayment';
    const rng = Rng.of(gen.seedHash, STREAMS[name], k);
    const total = invoice.totalCents;
    const cents = Math.max(100, Math.round((total * (kind === 'prepayment' ? rng.int(20, 60) : rng.int(40, 160))) / 100));
    const latest = dayStart(invoice.updatedMs);
    const dateMs = kind === 'prepayment' ? invoice.dateMs - rng.int(1, 10) * DAY_MS : Math.min(latest, invoice.dateMs + rng.int(0, 3) * DAY_MS);
    const r = onAccountRecord({
      kind,
      index: k,
      type: 'RECEIVE',
      contactIndex: invoice.contactIndex,
      dateMs,
      bankCode: rng.chance(0.8) ? '090' : '091',
      reference: kind === 'prepayment' ? `Deposit for ${invoice.number}` : rng.chance(0.5) ? `Overpaid ${invoice.number}` : '',
      status: 'AUTHORISED',
      isReconciled: rng.chance(0.8),
      totalCents: cents,
      description: kind === 'prepayment' ? 'Deposit received' : 'Overpayment received',
      currency: invoice.currency,
      rate: invoice.rate,
      allocations: [],
      updatedMs: invoice.updatedMs,
    });
    const allocatedOn = kind === 'prepayment' ? invoice.dateMs : dateMs;
    const due = amountDue(invoice);
    const allocated = allocate(r, invoice, allocatedOn, paid ? due - Math.max(1, Math.round(due / 10)) : undefined);
    if (allocated === 0 && invoice.status !== 'AUTHORISED' && invoice.status !== 'PAID' && rng.chance(0.25)) r.status = 'VOIDED';
    out[kind] = r;
  }
  return out;
}

/** Receiving money on account debits the bank and credits receivables; paying it credits the bank and debits payables. */
export function postOnAccount(l: Ledger, r: OnAccount, sign: 1 | -1): void {
  if (r.status === 'VOIDED') return;
  const month = monthIndexOf(r.dateMs);
  const base = Math.round(r.totalCents / r.rate);
  if (r.type === 'RECEIVE') {
    l.post(month, r.bankCode, sign * base);
    l.post(month, '610', -sign * base);
    l.cashFlow(month, 'customers', sign * base);
  } else {
    l.post(month, '800', sign * base);
    l.post(month, r.bankCode, -sign * base);
    l.cashFlow(month, 'suppliers', sign * base);
  }
}

export const remainingCredit = (r: OnAccount): number => (r.status === 'VOIDED' ? 0 : r.totalCents - r.allocations.reduce((s, a) => s + a.amountCents, 0));

/** Xero's journal SourceType of an on-account record. */
export function onAccountSourceType(r: OnAccount): string {
  return `${r.type === 'RECEIVE' ? 'AR' : 'AP'}${r.kind === 'overpayment' ? 'OVERPAYMENT' : 'PREPAYMENT'}`;
}
