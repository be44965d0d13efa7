/**
 * Xero's report endpoints (`/Reports/BalanceSheet`, `/Reports/ProfitAndLoss`) rendered from the platform-neutral
 * ledger (../ledger.ts) in Xero's ReportWithRows shape, plus the Sandbox's own cash-flow report.
 */
import { monthEndMs, type Generator } from '../generate.js';
import { balancesAt, profit, type Ledger } from '../ledger.js';
import { money, type Account } from '../model.js';
import { msDate } from './render.js';

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

export interface ReportContext {
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


