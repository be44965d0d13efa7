/**
 * QuickBooks' ProfitAndLoss and BalanceSheet reports (`Header / Columns / Rows`) built from the neutral ledger's
 * monthly postings, so they agree with the documents to the cent. Sections carry QuickBooks' `group` names (Income,
 * COGS, GrossProfit, Expenses, NetOperatingIncome, OtherIncome, OtherExpenses, NetOtherIncome, NetIncome; TotalAssets,
 * CurrentAssets, BankAccounts, AR, OtherCurrentAssets, FixedAssets, OtherAssets, TotalLiabilitiesAndEquity,
 * Liabilities, CurrentLiabilities, AP, CreditCards, OtherCurrentLiabilities, LongTermLiabilities, Equity);
 * titles are display text. With `summarize_column_by=Month` there is one column per month and a `Total`.
 */
import { monthEndMs, monthIndexOf, monthStartMs } from '../generate.js';
import type { Ledger } from '../ledger.js';
import type { Account } from '../model.js';
import type { Tenant } from '../tenant.js';
import { qboAccountType } from './render.js';
import { qboDate, qboNow } from './time.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const fmt = (cents: number) => (Math.round(cents) / 100).toFixed(2);
const cellValue = (cents: number) => (cents === 0 ? '' : fmt(cents));

export interface ReportRequest {
  startMonth: number;
  endMonth: number;
  byMonth: boolean;
}

interface Col {
  title: string;
  months: number[];
}

function columns(r: ReportRequest): Col[] {
  const all: number[] = [];
  for (let m = r.startMonth; m <= r.endMonth; m++) all.push(m);
  const cols = r.byMonth ? all.map((m) => ({ title: `${MONTHS[m % 12]} ${Math.floor(m / 12)}`, months: [m] })) : [];
  cols.push({ title: 'Total', months: all });
  return cols;
}

function columnsBlock(cols: Col[]) {
  return {
    Column: [
      { ColTitle: '', ColType: 'Account', MetaData: [{ Name: 'ColKey', Value: 'account' }] },
      ...cols.map((c) =>
        c.title === 'Total'
          ? { ColTitle: 'Total', ColType: 'Money', MetaData: [{ Name: 'ColKey', Value: 'total' }] }
          : {
              ColTitle: c.title,
              ColType: 'Money',
              MetaData: [
                { Name: 'StartDate', Value: qboDate(monthStartMs(c.months[0]!)) },
                { Name: 'EndDate', Value: qboDate(monthEndMs(c.months[0]!)) },
                { Name: 'ColKey', Value: c.title },
              ],
            },
      ),
    ],
  };
}

function header(t: Tenant, name: string, r: ReportRequest) {
  return {
    Time: qboNow(t.nowMs()),
    ReportName: name,
    ReportBasis: 'Accrual',
    StartPeriod: qboDate(monthStartMs(r.startMonth)),
    EndPeriod: qboDate(monthEndMs(r.endMonth)),
    SummarizeColumnsBy: r.byMonth ? 'Month' : 'Total',
    Currency: t.gen.organisation.baseCurrency,
    Option: [
      { Name: 'AccountingStandard', Value: 'GAAP' },
      { Name: 'NoReportData', Value: 'false' },
    ],
  };
}

type Row = Record<string, unknown>;
const dataRow = (title: string, values: number[], id?: string): Row => ({
  ColData: [id ? { value: title, id } : { value: title }, ...values.map((v) => ({ value: cellValue(v) }))],
  type: 'Data',
});
const summaryOnly = (group: string, title: string, values: number[]): Row => ({ Summary: { ColData: [{ value: title }, ...values.map((v) => ({ value: fmt(v) }))] }, type: 'Section', group });
function section(group: string, title: string, rows: Row[], totalTitle: string, totals: number[]): Row {
  return {
    Header: { ColData: [{ value: title }, ...totals.map(() => ({ value: '' }))] },
    Rows: { Row: rows },
    Summary: { ColData: [{ value: totalTitle }, ...totals.map((v) => ({ value: fmt(v) }))] },
    type: 'Section',
    group,
  };
}
const add = (a: number[], b: number[]) => a.map((x, i) => x + b[i]!);
const sub = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!);

function accountsOf(t: Tenant): Account[] {
  return t.collections.accounts.list({ offset: 0, limit: Number.MAX_SAFE_INTEGER }).items;
}

const accountId = (a: Account) => String(a.index + 1);

/** Movement (debit positive) of one account over a set of months. */
function movement(ledger: Ledger, code: string, months: number[]): number {
  let s = 0;
  for (const m of months) s += ledger.movements.get(m)?.get(code) ?? 0;
  return s;
}

const PNL_GROUPS: [group: string, title: string, type: string][] = [
  ['Income', 'Income', 'Income'],
  ['COGS', 'Cost of Goods Sold', 'Cost of Goods Sold'],
  ['Expenses', 'Expenses', 'Expense'],
  ['OtherIncome', 'Other Income', 'Other Income'],
  ['OtherExpenses', 'Other Expenses', 'Other Expense'],
];

export function profitAndLoss(t: Tenant, r: ReportRequest) {
  const ledger = t.ledger();
  const cols = columns(r);
  const accounts = accountsOf(t);
  const totals: Record<string, number[]> = {};
  const sections: Record<string, Row | undefined> = {};
  for (const [group, title, type] of PNL_GROUPS) {
    const credit = group === 'Income' || group === 'OtherIncome';
    const rows: Row[] = [];
    const total = cols.map(() => 0);
    for (const a of accounts) {
      if (qboAccountType(a)[1] !== type) continue;
      const v = cols.map((c) => (credit ? -1 : 1) * movement(ledger, a.code, c.months));
      if (v.every((x) => x === 0)) continue;
      v.forEach((x, i) => (total[i]! += x));
      rows.push(dataRow(a.name, v, accountId(a)));
    }
    totals[group] = total;
    sections[group] = rows.length ? section(group, title, rows, `Total ${title}`, total) : undefined;
  }
  const gross = sub(totals.Income!, totals.COGS!);
  const netOperating = sub(gross, totals.Expenses!);
  const netOther = sub(totals.OtherIncome!, totals.OtherExpenses!);
  const net = add(netOperating, netOther);
  const rows = [
    sections.Income,
    sections.COGS,
    summaryOnly('GrossProfit', 'Gross Profit', gross),
    sections.Expenses,
    summaryOnly('NetOperatingIncome', 'Net Operating Income', netOperating),
    sections.OtherIncome,
    sections.OtherExpenses,
    summaryOnly('NetOtherIncome', 'Net Other Income', netOther),
    summaryOnly('NetIncome', 'Net Income', net),
  ].filter((x): x is Row => x !== undefined);
  return { Header: header(t, 'ProfitAndLoss', r), Columns: columnsBlock(cols), Rows: { Row: rows } };
}

/** Profit (credit positive) of every income and expense account over months [from, to]. */
function profit(ledger: Ledger, pnl: Set<string>, from: number, to: number): number {
  let p = 0;
  for (const [m, accts] of ledger.movements) {
    if (m < from || m > to) continue;
    for (const [code, c] of accts) if (pnl.has(code)) p -= c;
  }
  return p;
}

export function balanceSheet(t: Tenant, r: ReportRequest) {
  const ledger = t.ledger();
  const cols = columns(r);
  // A balance-sheet column is the balance at the end of its last month.
  const ends = cols.map((c) => c.months[c.months.length - 1]!);
  const accounts = accountsOf(t);
  const balance = (code: string) => ends.map((m) => {
    let s = 0;
    for (const [lm, accts] of ledger.movements) if (lm <= m) s += accts.get(code) ?? 0;
    return s;
  });
  const pnl = new Set(accounts.filter((a) => ['Revenue', 'Expense'].includes(qboAccountType(a)[0])).map((a) => a.code));
  const fyStart0 = t.gen.organisation.financialYearEndMonth % 12;
  const fyStartOf = (m: number) => m - ((m - fyStart0 + 1200) % 12);

  const leaf = (type: string, group: string, title: string, credit: boolean): { row?: Row; total: number[] } => {
    const rows: Row[] = [];
    const total = cols.map(() => 0);
    for (const a of accounts) {
      if (qboAccountType(a)[1] !== type) continue;
      const v = balance(a.code).map((x) => (credit ? -x : x));
      if (v.every((x) => x === 0)) continue;
      v.forEach((x, i) => (total[i]! += x));
      rows.push(dataRow(a.name, v, accountId(a)));
    }
    return { row: rows.length ? section(group, title, rows, `Total ${title}`, total) : undefined, total };
  };
  const parent = (group: string, title: string, parts: { row?: Row; total: number[] }[]) => {
    const total = parts.reduce((acc, p) => add(acc, p.total), cols.map(() => 0));
    const rows = parts.flatMap((p) => (p.row ? [p.row] : []));
    return { row: section(group, title, rows, `Total ${title}`, total), total };
  };

  const bank = leaf('Bank', 'BankAccounts', 'Bank Accounts', false);
  const ar = leaf('Accounts Receivable', 'AR', 'Accounts Receivable', false);
  const oca = leaf('Other Current Asset', 'OtherCurrentAssets', 'Other Current Assets', false);
  const currentAssets = parent('CurrentAssets', 'Current Assets', [bank, ar, oca]);
  const fixed = leaf('Fixed Asset', 'FixedAssets', 'Fixed Assets', false);
  const other = leaf('Other Asset', 'OtherAssets', 'Other Assets', false);
  const assets = parent('TotalAssets', 'Assets', [currentAssets, fixed, other]);
  const ap = leaf('Accounts Payable', 'AP', 'Accounts Payable', true);
  const cards = leaf('Credit Card', 'CreditCards', 'Credit Cards', true);
  const ocl = leaf('Other Current Liability', 'OtherCurrentLiabilities', 'Other Current Liabilities', true);
  const currentLiabilities = parent('CurrentLiabilities', 'Current Liabilities', [ap, cards, ocl]);
  const longTerm = leaf('Long Term Liability', 'LongTermLiabilities', 'Long-Term Liabilities', true);
  const liabilities = parent('Liabilities', 'Liabilities', [currentLiabilities, longTerm]);

  // Equity: the equity accounts, retained earnings including every earlier financial year's profit, and this year's
  // net income to date.
  const eqRows: Row[] = [];
  const eqTotal = cols.map(() => 0);
  const earlier = ends.map((m) => profit(ledger, pnl, -Infinity, fyStartOf(m) - 1));
  let retainedShown = false;
  for (const a of accounts) {
    if (qboAccountType(a)[1] !== 'Equity') continue;
    let v = balance(a.code).map((x) => -x);
    if (a.systemAccount === 'RETAINEDEARNINGS') {
      v = add(v, earlier);
      retainedShown = true;
    }
    if (v.every((x) => x === 0)) continue;
    v.forEach((x, i) => (eqTotal[i]! += x));
    eqRows.push(dataRow(a.name, v, accountId(a)));
  }
  if (!retainedShown && earlier.some((x) => x !== 0)) {
    eqRows.push(dataRow('Retained Earnings', earlier));
    earlier.forEach((x, i) => (eqTotal[i]! += x));
  }
  const netIncome = ends.map((m) => profit(ledger, pnl, fyStartOf(m), m));
  eqRows.push(dataRow('Net Income', netIncome));
  netIncome.forEach((x, i) => (eqTotal[i]! += x));
  const equity = { row: section('Equity', 'Equity', eqRows, 'Total Equity', eqTotal), total: eqTotal };
  const le = parent('TotalLiabilitiesAndEquity', 'Liabilities and Equity', [liabilities, equity]);
  const assetsRow = { ...assets.row, Header: { ColData: [{ value: 'ASSETS' }, ...cols.map(() => ({ value: '' }))] }, Summary: { ColData: [{ value: 'TOTAL ASSETS' }, ...assets.total.map((v) => ({ value: fmt(v) }))] } };
  const leRow = {
    ...le.row,
    Header: { ColData: [{ value: 'LIABILITIES AND EQUITY' }, ...cols.map(() => ({ value: '' }))] },
    Summary: { ColData: [{ value: 'TOTAL LIABILITIES AND EQUITY' }, ...le.total.map((v) => ({ value: fmt(v) }))] },
  };
  return { Header: header(t, 'BalanceSheet', r), Columns: columnsBlock(cols), Rows: { Row: [assetsRow, leRow] } };
}

/** `start_date` / `end_date` (YYYY-MM-DD) → months; defaults: this calendar year to date. */
export function reportMonths(t: Tenant, start: string | null, end: string | null): { startMonth: number; endMonth: number } {
  const parse = (s: string) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(ms)) throw new RangeError(`Invalid date ${s}`);
    return monthIndexOf(ms);
  };
  const now = monthIndexOf(t.nowMs());
  const endMonth = end ? parse(end) : now;
  const startMonth = start ? parse(start) : endMonth - (endMonth % 12);
  if (startMonth > endMonth) throw new RangeError('start_date is after end_date');
  return { startMonth, endMonth };
}
