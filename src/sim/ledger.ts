import { BANK_CODES, monthEndMs, monthIndexOf, monthStartMs, type Generator } from './generate.js';
import { postBankTransaction, postBankTransfer, type BankTransfer, type BankTxn } from './banking.js';
import { accountClass, type Account, type CollectionName, type Doc, type ManualJournal, type OnAccount, type Pay, type RecordTypes } from './model.js';
import { postOnAccount } from './on-account.js';

/**
 * Double-entry postings of every document, aggregated per month and account, from which the monthly balance sheet,
 * profit and loss and (direct) cash flow are built, so the statements agree with the documents: income is the sum of
 * authorised invoices less credit notes, the bank moves by the payments, assets = liabilities + equity every month.
 *
 * Amounts are base-currency cents, debits positive. The base ledger is computed once per tenant by streaming every
 * base document (O(documents) time, O(months × accounts) memory); changes are applied as deltas from the overlay.
 */

export interface CashFlowMonth {
  customers: number;
  otherReceipts: number;
  suppliers: number;
  otherPayments: number;
}

export class Ledger {
  readonly movements = new Map<number, Map<string, number>>();
  readonly cash = new Map<number, CashFlowMonth>();

  post(month: number, code: string, cents: number): void {
    if (cents === 0) return;
    let m = this.movements.get(month);
    if (!m) this.movements.set(month, (m = new Map()));
    m.set(code, (m.get(code) ?? 0) + cents);
  }
  cashFlow(month: number, key: keyof CashFlowMonth, cents: number): void {
    let c = this.cash.get(month);
    if (!c) this.cash.set(month, (c = { customers: 0, otherReceipts: 0, suppliers: 0, otherPayments: 0 }));
    c[key] += cents;
  }
  clone(): Ledger {
    const l = new Ledger();
    for (const [m, accts] of this.movements) l.movements.set(m, new Map(accts));
    for (const [m, c] of this.cash) l.cash.set(m, { ...c });
    return l;
  }
}

const conv = (cents: number, rate: number) => Math.round(cents / rate);
const POSTED_DOC = new Set(['AUTHORISED', 'PAID']);

export function postDoc(l: Ledger, d: Doc, sign: 1 | -1): void {
  if (!POSTED_DOC.has(d.status)) return;
  const month = monthIndexOf(d.dateMs);
  const total = conv(d.totalCents, d.rate);
  let net = 0;
  // Sales (and credit-note reversals) credit income and debit receivables; bills debit expenses and credit payables.
  const purchase = d.kind === 'bill' || d.kind === 'billCreditNote';
  const dir = purchase ? 1 : -1; // sign of the line postings (sales side credits income)
  const adj = d.kind === 'creditNote' || d.kind === 'billCreditNote' ? -1 : 1;
  const s = sign * adj * dir;
  for (const line of d.lines) {
    const c = conv(line.lineCents, d.rate);
    net += c;
    l.post(month, line.accountCode, s * c);
  }
  l.post(month, '820', s * (total - net));
  l.post(month, purchase ? '800' : '610', -s * total);
}

export function postPayment(l: Ledger, p: Pay, sign: 1 | -1): void {
  if (p.status !== 'AUTHORISED') return;
  const month = monthIndexOf(p.dateMs);
  const b = conv(p.amountCents, p.rate);
  if (p.kind === 'payment') {
    l.post(month, p.bankCode, sign * b);
    l.post(month, '610', -sign * b);
    l.cashFlow(month, 'customers', sign * b);
  } else {
    l.post(month, '800', sign * b);
    l.post(month, p.bankCode, -sign * b);
    l.cashFlow(month, 'suppliers', sign * b);
  }
}

export function postJournal(l: Ledger, j: ManualJournal, sign: 1 | -1): void {
  if (j.status !== 'POSTED') return;
  const month = monthIndexOf(j.dateMs);
  for (const line of j.lines) {
    l.post(month, line.accountCode, sign * line.amountCents);
    if ((BANK_CODES as readonly string[]).includes(line.accountCode)) {
      l.cashFlow(month, line.amountCents > 0 ? 'otherReceipts' : 'otherPayments', sign * Math.abs(line.amountCents));
    }
  }
}

export function postRecord<K extends CollectionName>(l: Ledger, name: K, r: RecordTypes[K], sign: 1 | -1): void {
  switch (name) {
    case 'invoices':
    case 'bills':
    case 'creditNotes':
    case 'billCreditNotes':
      return postDoc(l, r as Doc, sign);
    case 'payments':
    case 'billPayments':
      return postPayment(l, r as Pay, sign);
    case 'manualJournals':
      return postJournal(l, r as ManualJournal, sign);
    case 'bankTransactions':
      return postBankTransaction(l, r as BankTxn, sign);
    case 'bankTransfers':
      return postBankTransfer(l, r as BankTransfer, sign);
    case 'overpayments':
    case 'prepayments':
      return postOnAccount(l, r as OnAccount, sign);
    default:
      return;
  }
}

/** Streams every base document once. */
export function baseLedger(gen: Generator): Ledger {
  const l = new Ledger();
  const { ownerCents, loanCents } = gen.openingCash();
  const m0 = monthIndexOf(gen.startMs);
  l.post(m0, '090', ownerCents + loanCents);
  l.post(m0, '970', -ownerCents);
  l.post(m0, '900', -loanCents);
  l.cashFlow(m0, 'otherReceipts', ownerCents + loanCents);
  for (let i = 0; i < gen.counts.invoices; i++) {
    const b = gen.invoiceBundle(i);
    postDoc(l, b.invoice, 1);
    if (b.payment) postPayment(l, b.payment, 1);
    if (b.creditNote) postDoc(l, b.creditNote, 1);
    if (b.overpayment) postOnAccount(l, b.overpayment, 1);
    if (b.prepayment) postOnAccount(l, b.prepayment, 1);
  }
  for (let i = 0; i < gen.counts.bills; i++) {
    const b = gen.billBundle(i);
    postDoc(l, b.bill, 1);
    if (b.payment) postPayment(l, b.payment, 1);
    if (b.creditNote) postDoc(l, b.creditNote, 1);
  }
  for (let i = 0; i < gen.counts.manualJournals; i++) postJournal(l, gen.manualJournal(i), 1);
  for (const name of ['bankTransactions', 'bankTransfers'] as const) for (let i = 0; i < gen.baseCount(name); i++) postRecord(l, name, gen.base(name, i)!, 1);
  return l;
}

/** Cumulative balance (debit positive) of every account at the end of each month in `months`. */
export function balancesAt(ledger: Ledger, months: number[]): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  const sortedLedgerMonths = [...ledger.movements.keys()].sort((a, b) => a - b);
  for (const m of months) {
    const bal = new Map<string, number>();
    for (const lm of sortedLedgerMonths) {
      if (lm > m) break;
      for (const [code, c] of ledger.movements.get(lm)!) bal.set(code, (bal.get(code) ?? 0) + c);
    }
    out.set(m, bal);
  }
  return out;
}

export function isPnl(a: Account): boolean {
  const c = accountClass(a.type);
  return c === 'REVENUE' || c === 'EXPENSE';
}

/** Profit (credit positive) over months [from, to]. */
export function profit(ctx: { accounts: Account[]; ledger: Ledger }, from: number, to: number): number {
  let p = 0;
  const pnl = new Set(ctx.accounts.filter(isPnl).map((a) => a.code));
  for (const [m, accts] of ctx.ledger.movements) {
    if (m < from || m > to) continue;
    for (const [code, c] of accts) if (pnl.has(code)) p -= c;
  }
  return p;
}

export { monthStartMs, monthIndexOf };
