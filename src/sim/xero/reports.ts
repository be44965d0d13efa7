/**
 * Xero's report endpoints (`/Reports/BalanceSheet`, `/Reports/ProfitAndLoss`) rendered from the platform-neutral
 * ledger (../ledger.ts) in Xero's ReportWithRows shape, plus the Sandbox's own cash-flow report.
 *
 * Columns: the first covers the requested period (`fromDate`–`toDate`, or the month of `date`), each further one
 * (`periods`, 1–12) the same period one `timeframe` (MONTH, QUARTER, YEAR) earlier, as Xero's do. The ledger is kept
 * by month, so periods are whole months. Section and total titles are words of the organisation's edition (UK, US,
 * AU…), as Xero's are, and a tenant may be given others (`PUT /admin/tenants/{id}/report-titles`): a client must
 * classify lines by account, never by title.
 */
import { monthEndMs, monthStartMs, type Generator } from '../generate.js';
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

/** Every title a report shows. */
export const REPORT_TITLE_KEYS = [
  'balanceSheet',
  'assets',
  'bank',
  'currentAssets',
  'fixedAssets',
  'totalBank',
  'totalCurrentAssets',
  'totalFixedAssets',
  'totalAssets',
  'liabilities',
  'currentLiabilities',
  'nonCurrentLiabilities',
  'totalCurrentLiabilities',
  'totalNonCurrentLiabilities',
  'totalLiabilities',
  'netAssets',
  'equity',
  'currentYearEarnings',
  'totalEquity',
  'profitAndLoss',
  'income',
  'costOfSales',
  'grossProfit',
  'otherIncome',
  'operatingExpenses',
  'netProfit',
  'totalIncome',
  'totalCostOfSales',
  'totalOtherIncome',
  'totalOperatingExpenses',
] as const;
export type ReportTitleKey = (typeof REPORT_TITLE_KEYS)[number];
export type ReportTitles = Record<ReportTitleKey, string>;

/** The titles of Xero's API documentation (AU and NZ editions). */
const BASE_TITLES: ReportTitles = {
  balanceSheet: 'Balance Sheet',
  assets: 'Assets',
  bank: 'Bank',
  currentAssets: 'Current Assets',
  fixedAssets: 'Fixed Assets',
  totalBank: 'Total Bank',
  totalCurrentAssets: 'Total Current Assets',
  totalFixedAssets: 'Total Fixed Assets',
  totalAssets: 'Total Assets',
  liabilities: 'Liabilities',
  currentLiabilities: 'Current Liabilities',
  nonCurrentLiabilities: 'Non-current Liabilities',
  totalCurrentLiabilities: 'Total Current Liabilities',
  totalNonCurrentLiabilities: 'Total Non-current Liabilities',
  totalLiabilities: 'Total Liabilities',
  netAssets: 'Net Assets',
  equity: 'Equity',
  currentYearEarnings: 'Current Year Earnings',
  totalEquity: 'Total Equity',
  profitAndLoss: 'Profit and Loss',
  income: 'Income',
  costOfSales: 'Less Cost of Sales',
  grossProfit: 'Gross Profit',
  otherIncome: 'Plus Other Income',
  operatingExpenses: 'Less Operating Expenses',
  netProfit: 'Net Profit',
  totalIncome: 'Total Income',
  totalCostOfSales: 'Total Cost of Sales',
  totalOtherIncome: 'Total Other Income',
  totalOperatingExpenses: 'Total Operating Expenses',
};

/** Edition wording (UK and US organisations word their statements differently). */
const EDITION_TITLES: Record<string, Partial<ReportTitles>> = {
  UK: {
    income: 'Turnover',
    totalIncome: 'Total Turnover',
    costOfSales: 'Cost of Sales',
    otherIncome: 'Other Income',
    operatingExpenses: 'Administrative Costs',
    totalOperatingExpenses: 'Total Administrative Costs',
    nonCurrentLiabilities: 'Creditors: amounts falling due after more than one year',
    totalNonCurrentLiabilities: 'Total Creditors: amounts falling due after more than one year',
    currentLiabilities: 'Creditors: amounts falling due within one year',
    totalCurrentLiabilities: 'Total Creditors: amounts falling due within one year',
    equity: 'Capital and Reserves',
    totalEquity: 'Total Capital and Reserves',
  },
  US: {
    costOfSales: 'Less Cost of Goods Sold',
    totalCostOfSales: 'Total Cost of Goods Sold',
    netProfit: 'Net Income',
    fixedAssets: 'Long Term Assets',
    totalFixedAssets: 'Total Long Term Assets',
    nonCurrentLiabilities: 'Long Term Liabilities',
    totalNonCurrentLiabilities: 'Total Long Term Liabilities',
  },
};

/** The titles a tenant's reports use: its edition's, then any set for the tenant. */
export function reportTitles(version: string, custom: Partial<ReportTitles> = {}): ReportTitles {
  return { ...BASE_TITLES, ...(EDITION_TITLES[version] ?? {}), ...custom };
}

export interface ReportContext {
  gen: Generator;
  accounts: Account[];
  accountId(a: Account): string;
  ledger: Ledger;
  nowMs: number;
  titles: ReportTitles;
}

/** One column: months [from, to] (month indices, inclusive). */
export interface Period {
  from: number;
  to: number;
}

/** Columns of a report: `first`, then `periods` more, each `stepMonths` earlier. */
export function reportPeriods(first: Period, periods: number, stepMonths: number): Period[] {
  return Array.from({ length: periods + 1 }, (_, i) => ({ from: first.from - i * stepMonths, to: first.to - i * stepMonths }));
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

/** Balance sheet at the end of month `endMonth`, then `periods` more columns `stepMonths` earlier. */
export function balanceSheetReport(ctx: ReportContext, endMonth: number, periods: number, stepMonths = 1) {
  const T = ctx.titles;
  const months = reportPeriods({ from: endMonth, to: endMonth }, periods, stepMonths).map((p) => p.to);
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
  const cyeRow = { RowType: 'Row', Cells: [{ Value: T.currentYearEarnings }, ...cye.map((x) => ({ Value: value(x) }))] };
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
  const titles = [T.balanceSheet, ctx.gen.organisation.name, `As at ${fmtDay(monthEndMs(endMonth))}`];
  return envelope(ctx, 'BalanceSheet', T.balanceSheet, titles, [
    header(months.map((m) => fmtDay(monthEndMs(m)))),
    { RowType: 'Section', Title: T.assets, Rows: [] },
    { RowType: 'Section', Title: T.bank, Rows: [...bank.rows, summary(T.totalBank, bank.total)] },
    { RowType: 'Section', Title: T.currentAssets, Rows: [...ca.rows, summary(T.totalCurrentAssets, ca.total)] },
    { RowType: 'Section', Title: T.fixedAssets, Rows: [...fa.rows, summary(T.totalFixedAssets, fa.total)] },
    { RowType: 'Section', Title: '', Rows: [summary(T.totalAssets, totalAssets)] },
    { RowType: 'Section', Title: T.liabilities, Rows: [] },
    { RowType: 'Section', Title: T.currentLiabilities, Rows: [...cl.rows, summary(T.totalCurrentLiabilities, cl.total)] },
    { RowType: 'Section', Title: T.nonCurrentLiabilities, Rows: [...ncl.rows, summary(T.totalNonCurrentLiabilities, ncl.total)] },
    { RowType: 'Section', Title: '', Rows: [summary(T.totalLiabilities, totalLiabilities)] },
    { RowType: 'Section', Title: '', Rows: [{ RowType: 'Row', Cells: [{ Value: T.netAssets }, ...net.map((x) => ({ Value: value(x) }))] }] },
    { RowType: 'Section', Title: T.equity, Rows: [cyeRow, ...eq.rows, summary(T.totalEquity, eqTotal)] },
  ]);
}

const periodLabel = (p: Period) => (p.from === p.to ? fmtMonth(p.to) : `${fmtDay(monthStartMs(p.from))}-${fmtDay(monthEndMs(p.to))}`);

/** Sum over each column's months of a per-month amount. */
function perPeriod(periods: Period[], monthly: (m: number) => number): number[] {
  return periods.map((p) => {
    let s = 0;
    for (let m = p.from; m <= p.to; m++) s += monthly(m);
    return s;
  });
}

export function profitAndLossReport(ctx: ReportContext, periods: Period[]) {
  const T = ctx.titles;
  const cols = periods.length;
  const mv = (code: string) => perPeriod(periods, (m) => ctx.ledger.movements.get(m)?.get(code) ?? 0);
  const cr = (code: string) => mv(code).map((x) => -x);
  const income = accountRows(ctx, 'income', cr, cols);
  const cos = accountRows(ctx, 'costOfSales', mv, cols);
  const other = accountRows(ctx, 'otherIncome', cr, cols);
  const exp = accountRows(ctx, 'expenses', mv, cols);
  const gross = income.total.map((x, i) => x - cos.total[i]!);
  const net = gross.map((x, i) => x + other.total[i]! - exp.total[i]!);
  const row = (title: string, v: number[]) => ({ RowType: 'Section', Title: '', Rows: [{ RowType: 'Row', Cells: [{ Value: title }, ...v.map((x) => ({ Value: value(x) }))] }] });
  const first = periods[0]!;
  const titles = [T.profitAndLoss, ctx.gen.organisation.name, first.from === first.to ? `For the month ended ${fmtDay(monthEndMs(first.to))}` : `For the period ${periodLabel(first)}`];
  return envelope(ctx, 'ProfitAndLoss', T.profitAndLoss, titles, [
    header(periods.map(periodLabel)),
    { RowType: 'Section', Title: T.income, Rows: [...income.rows, summary(T.totalIncome, income.total)] },
    { RowType: 'Section', Title: T.costOfSales, Rows: [...cos.rows, summary(T.totalCostOfSales, cos.total)] },
    row(T.grossProfit, gross),
    { RowType: 'Section', Title: T.otherIncome, Rows: [...other.rows, summary(T.totalOtherIncome, other.total)] },
    { RowType: 'Section', Title: T.operatingExpenses, Rows: [...exp.rows, summary(T.totalOperatingExpenses, exp.total)] },
    row(T.netProfit, net),
  ]);
}

/** Not a Xero endpoint (Xero has no cash-flow report): a direct-method statement in the same ReportWithRow shape. */
export function cashFlowReport(ctx: ReportContext, periods: Period[]) {
  const get = (m: number) => ctx.ledger.cash.get(m) ?? { customers: 0, otherReceipts: 0, suppliers: 0, otherPayments: 0 };
  const line = (title: string, v: number[]) => ({ RowType: 'Row', Cells: [{ Value: title }, ...v.map((x) => ({ Value: value(x) }))] });
  const customers = perPeriod(periods, (m) => get(m).customers);
  const otherR = perPeriod(periods, (m) => get(m).otherReceipts);
  const suppliers = perPeriod(periods, (m) => get(m).suppliers);
  const otherP = perPeriod(periods, (m) => get(m).otherPayments);
  const receipts = customers.map((x, i) => x + otherR[i]!);
  const payments = suppliers.map((x, i) => x + otherP[i]!);
  const first = periods[0]!;
  const titles = ['Cash Summary', ctx.gen.organisation.name, `For the period ${periodLabel(first)}`];
  return envelope(ctx, 'CashFlow', 'Cash Flow Statement', titles, [
    header(periods.map(periodLabel)),
    { RowType: 'Section', Title: 'Cash Receipts', Rows: [line('Receipts from customers', customers), line('Other cash receipts', otherR), summary('Total Cash Receipts', receipts)] },
    { RowType: 'Section', Title: 'Cash Payments', Rows: [line('Payments to suppliers', suppliers), line('Other cash payments', otherP), summary('Total Cash Payments', payments)] },
    { RowType: 'Section', Title: '', Rows: [line('Net Cash Movement', receipts.map((x, i) => x - payments[i]!))] },
  ]);
}
