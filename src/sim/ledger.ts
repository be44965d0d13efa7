import { BANK_CODES, monthEndMs, monthIndexOf, monthStartMs, type Generator } from './generate.js';
import type { Account, CollectionName, Doc, ManualJournal, Pay, RecordTypes } from './model.js';
import { accountClass, money, msDate } from './render.js';

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
  const dir = d.kind === 'bill' ? 1 : -1; // sign of the line postings (sales side credits income)
  const adj = d.kind === 'creditNote' ? -1 : 1;
  const s = sign * adj * dir;
  for (const line of d.lines) {
    const c = conv(line.lineCents, d.rate);
    net += c;
    l.post(month, line.accountCode, s * c);
  }
  l.post(month, '820', s * (total - net));
  l.post(month, d.kind === 'bill' ? '800' : '610', -s * total);
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
      return postDoc(l, r as Doc, sign);
    case 'payments':
    case 'billPayments':
      return postPayment(l, r as Pay, sign);
    case 'manualJournals':
      return postJournal(l, r as ManualJournal, sign);
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
  }
  for (let i = 0; i < gen.counts.bills; i++) {
    const b = gen.billBundle(i);
    postDoc(l, b.bill, 1);
    if (b.payment) postPayment(l, b.payment, 1);
  }
  for (let i = 0; i < gen.counts.manualJournals; i++) postJournal(l, gen.manualJournal(i), 1);
  return l;
}

// ----- reports -------------------------------------------------------------------------------------------------

type Section = 'bank' | 'currentAssets' | 'fixedAssets' | 'currentLiabilities' | 'nonCurrentLiabilities' | 'equity' | 'income' | 'costOfSales' | 'otherIncome' | 'expenses';

function sectionOf(a: Account): Section {
  switch (a.type) {
    case 'BANK':
      return 'bank';
    case 'CURRENT':
    case 'INVENTORY':
    case 'PREPAYMENT':
      return 'currentAssets';
    case 'FIXED':
    case 'NONCURRENT':
      return 'fixedAssets';
    case 'CURRLIAB':
    case 'LIABILITY':
      return 'currentLiabilities';
    case 'TERMLIAB':
      return 'nonCurrentLiabilities';
    case 'EQUITY':
      return 'equity';
    case 'REVENUE':
    case 'SALES':
      return 'income';
    case 'OTHERINCOME':
      return 'otherIncome';
    case 'DIRECTCOSTS':
      return 'costOfSales';
    default:
      return 'expenses';
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const fmtDay = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};
const fmtMonth = (m: number) => `${MONTHS[m % 12]} ${Math.floor(m / 12)}`;
const value = (cents: number) => money(cents).toFixed(2);

interface ReportContext {
  gen: Generator;
  accounts: Account[];
  accountId(a: Account): string;
  ledger: Ledger;
  nowMs: number;
}

function cell(v: string, accountId?: string) {
  return accountId ? { Value: v, Attributes: [{ Value: accountId, Id: 'account' }] } : { Value: v };
}

function header(labels: string[]) {
  return { RowType: 'Header', Cells: [{ Value: '' }, ...labels.map((v) => ({ Value: v }))] };
}

function envelope(ctx: ReportContext, id: string, name: string, titles: string[], rows: unknown[]) {
  return {
    ReportID: id,
    ReportName: name,
    ReportType: id,
    ReportTitles: titles,
    ReportDate: fmtDay(ctx.nowMs),
    UpdatedDateUTC: msDate(ctx.nowMs),
    Fields: [],
    Rows: rows,
  };
}

/** Account rows of one section, plus the section total per column. */
function accountRows(ctx: ReportContext, section: Section, amounts: (code: string) => number[], columns: number) {
  const rows: unknown[] = [];
  const total = new Array<number>(columns).fill(0);
  for (const a of ctx.accounts) {
    if (sectionOf(a) !== section) continue;
    const v = amounts(a.code);
    if (v.every((x) => x === 0)) continue;
    v.forEach((x, i) => (total[i]! += x));
    const id = ctx.accountId(a);
    rows.push({ RowType: 'Row', Cells: [cell(a.name, id), ...v.map((x) => cell(value(x), id))] });
  }
  return { rows, total };
}

function summary(title: string, total: number[]) {
  return { RowType: 'SummaryRow', Cells: [{ Value: title }, ...total.map((x) => ({ Value: value(x) }))] };
}

/** Cumulative balance (debit positive) of every account at the end of each month in `months`. */
function balancesAt(ledger: Ledger, months: number[]): Map<number, Map<string, number>> {
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

function isPnl(a: Account): boolean {
  const c = accountClass(a.type);
  return c === 'REVENUE' || c === 'EXPENSE';
}

/** Profit (credit positive) over months [from, to]. */
function profit(ctx: ReportContext, from: number, to: number): number {
  let p = 0;
  const pnl = new Set(ctx.accounts.filter(isPnl).map((a) => a.code));
  for (const [m, accts] of ctx.ledger.movements) {
    if (m < from || m > to) continue;
    for (const [code, c] of accts) if (pnl.has(code)) p -= c;
  }
  return p;
}

export function balanceSheetReport(ctx: ReportContext, endMonth: number, periods: number) {
  const months = Array.from({ length: periods + 1 }, (_, i) => endMonth - i);
  const bal = balancesAt(ctx.ledger, months);
  const debit = (code: string) => months.map((m) => bal.get(m)!.get(code) ?? 0);
  const credit = (code: string) => debit(code).map((x) => -x);
  const cols = months.length;
  const bank = accountRows(ctx, 'bank', debit, cols);
  const ca = accountRows(ctx, 'currentAssets', debit, cols);
  const fa = accountRows(ctx, 'fixedAssets', debit, cols);
  const cl = accountRows(ctx, 'currentLiabilities', credit, cols);
  const ncl = accountRows(ctx, 'nonCurrentLiabilities', credit, cols);
  const fyStart0 = ctx.gen.organisation.financialYearEndMonth % 12;
  const fyStartOf = (m: number) => m - ((m - fyStart0 + 1200) % 12);
  const cye = months.map((m) => profit(ctx, fyStartOf(m), m));
  const earlier = months.map((m) => profit(ctx, -Infinity, fyStartOf(m) - 1));
  const equityAmounts = (code: string) => {
    const c = credit(code);
    return code === '960' ? c.map((x, i) => x + earlier[i]!) : c;
  };
  const eq = accountRows(ctx, 'equity', equityAmounts, cols);
  const cyeRow = { RowType: 'Row', Cells: [{ Value: 'Current Year Earnings' }, ...cye.map((x) => ({ Value: value(x) }))] };
  const retained = ctx.accounts.find((a) => a.code === '960');
  if (retained && !eq.rows.some((r) => (r as { Cells: { Value: string }[] }).Cells[0]!.Value === retained.name) && earlier.some((x) => x !== 0)) {
    const id = ctx.accountId(retained);
    eq.rows.push({ RowType: 'Row', Cells: [cell(retained.name, id), ...earlier.map((x) => cell(value(x), id))] });
    earlier.forEach((x, i) => (eq.total[i]! += x));
  }
  const eqTotal = eq.total.map((x, i) => x + cye[i]!);
  const totalAssets = bank.total.map((x, i) => x + ca.total[i]! + fa.total[i]!);
  const totalLiabilities = cl.total.map((x, i) => x + ncl.total[i]!);
  const net = totalAssets.map((x, i) => x - totalLiabilities[i]!);
  const titles = ['Balance Sheet', ctx.gen.organisation.name, `As at ${fmtDay(monthEndMs(endMonth))}`];
  return envelope(ctx, 'BalanceSheet', 'Balance Sheet', titles, [
    header(months.map((m) => fmtDay(monthEndMs(m)))),
    { RowType: 'Section', Title: 'Assets', Rows: [] },
    { RowType: 'Section', Title: 'Bank', Rows: [...bank.rows, summary('Total Bank', bank.total)] },
    { RowType: 'Section', Title: 'Current Assets', Rows: [...ca.rows, summary('Total Current Assets', ca.total)] },
    { RowType: 'Section', Title: 'Fixed Assets', Rows: [...fa.rows, summary('Total Fixed Assets', fa.total)] },
    { RowType: 'Section', Title: '', Rows: [summary('Total Assets', totalAssets)] },
    { RowType: 'Section', Title: 'Liabilities', Rows: [] },
    { RowType: 'Section', Title: 'Current Liabilities', Rows: [...cl.rows, summary('Total Current Liabilities', cl.total)] },
    { RowType: 'Section', Title: 'Non-current Liabilities', Rows: [...ncl.rows, summary('Total Non-current Liabilities', ncl.total)] },
    { RowType: 'Section', Title: '', Rows: [summary('Total Liabilities', totalLiabilities)] },
    { RowType: 'Section', Title: '', Rows: [{ RowType: 'Row', Cells: [{ Value: 'Net Assets' }, ...net.map((x) => ({ Value: value(x) }))] }] },
    { RowType: 'Section', Title: 'Equity', Rows: [cyeRow, ...eq.rows, summary('Total Equity', eqTotal)] },
  ]);
}

export function profitAndLossReport(ctx: ReportContext, endMonth: number, periods: number) {
  const months = Array.from({ length: periods + 1 }, (_, i) => endMonth - i);
  const cols = months.length;
  const mv = (code: string) => months.map((m) => ctx.ledger.movements.get(m)?.get(code) ?? 0);
  const cr = (code: string) => mv(code).map((x) => -x);
  const income = accountRows(ctx, 'income', cr, cols);
  const cos = accountRows(ctx, 'costOfSales', mv, cols);
  const other = accountRows(ctx, 'otherIncome', cr, cols);
  const exp = accountRows(ctx, 'expenses', mv, cols);
  const gross = income.total.map((x, i) => x - cos.total[i]!);
  const net = gross.map((x, i) => x + other.total[i]! - exp.total[i]!);
  const row = (title: string, v: number[]) => ({ RowType: 'Section', Title: '', Rows: [{ RowType: 'Row', Cells: [{ Value: title }, ...v.map((x) => ({ Value: value(x) }))] }] });
  const titles = ['Profit and Loss', ctx.gen.organisation.name, `For the month ended ${fmtDay(monthEndMs(endMonth))}`];
  return envelope(ctx, 'ProfitAndLoss', 'Profit and Loss', titles, [
    header(months.map(fmtMonth)),
    { RowType: 'Section', Title: 'Income', Rows: [...income.rows, summary('Total Income', income.total)] },
    { RowType: 'Section', Title: 'Less Cost of Sales', Rows: [...cos.rows, summary('Total Cost of Sales', cos.total)] },
    row('Gross Profit', gross),
    { RowType: 'Section', Title: 'Plus Other Income', Rows: [...other.rows, summary('Total Other Income', other.total)] },
    { RowType: 'Section', Title: 'Less Operating Expenses', Rows: [...exp.rows, summary('Total Operating Expenses', exp.total)] },
    row('Net Profit', net),
  ]);
}

/** Not a Xero endpoint (Xero has no cash-flow report): a direct-method statement in the same ReportWithRow shape. */
export function cashFlowReport(ctx: ReportContext, endMonth: number, periods: number) {
  const months = Array.from({ length: periods + 1 }, (_, i) => endMonth - i);
  const get = (m: number) => ctx.ledger.cash.get(m) ?? { customers: 0, otherReceipts: 0, suppliers: 0, otherPayments: 0 };
  const line = (title: string, v: number[]) => ({ RowType: 'Row', Cells: [{ Value: title }, ...v.map((x) => ({ Value: value(x) }))] });
  const customers = months.map((m) => get(m).customers);
  const otherR = months.map((m) => get(m).otherReceipts);
  const suppliers = months.map((m) => get(m).suppliers);
  const otherP = months.map((m) => get(m).otherPayments);
  const receipts = customers.map((x, i) => x + otherR[i]!);
  const payments = suppliers.map((x, i) => x + otherP[i]!);
  const titles = ['Cash Summary', ctx.gen.organisation.name, `For the month ended ${fmtDay(monthEndMs(endMonth))}`];
  return envelope(ctx, 'CashFlow', 'Cash Flow Statement', titles, [
    header(months.map(fmtMonth)),
    { RowType: 'Section', Title: 'Cash Receipts', Rows: [line('Receipts from customers', customers), line('Other cash receipts', otherR), summary('Total Cash Receipts', receipts)] },
    { RowType: 'Section', Title: 'Cash Payments', Rows: [line('Payments to suppliers', suppliers), line('Other cash payments', otherP), summary('Total Cash Payments', payments)] },
    { RowType: 'Section', Title: '', Rows: [line('Net Cash Movement', receipts.map((x, i) => x - payments[i]!))] },
  ]);
}

export { monthStartMs, monthIndexOf };
export type { ReportContext };
