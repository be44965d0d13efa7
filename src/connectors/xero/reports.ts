/**
 * Xero ReportWithRow (BalanceSheet, ProfitAndLoss, and the Sandbox's CashFlow extension) → one statement period per
 * column. Column c (1-based) of a MONTH-timeframe report is the month `end − (c − 1)`.
 */
import { MappingError } from '../connector.js';
import { arr, compact, dateOnly, num, obj, round2, str, type Wire } from './wire.js';

export interface ReportLine {
  accountId?: string;
  name?: string;
  value: number;
  items?: ReportLine[];
}

export const monthKey = (m: number): string => `${Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, '0')}`;
export const monthIndex = (ms: number): number => {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};
export const monthFirst = (m: number): number => Date.UTC(Math.floor(m / 12), m % 12, 1);
export const monthLast = (m: number): number => Date.UTC(Math.floor(m / 12), (m % 12) + 1, 0);

function cellValue(row: Wire, col: number): number {
  const cells = arr(row.Cells);
  const v = cells[col]?.Value;
  if (v === undefined || v === '') return 0;
  const n = num(v);
  if (n === undefined) throw new MappingError(`report cell is not a number: ${JSON.stringify(v)}`);
  return n;
}

function cellTitle(row: Wire): string {
  return str(arr(row.Cells)[0]?.Value) ?? '';
}

function accountIdOf(row: Wire): string | undefined {
  for (const c of arr(row.Cells)) {
    const a = arr(c.Attributes).find((x) => x.Id === 'account');
    if (a) return str(a.Value);
  }
  return undefined;
}

interface ParsedSection {
  title: string;
  rows: Wire[];
  summary?: Wire;
}

function sections(report: Wire): { header: Wire | undefined; sections: ParsedSection[] } {
  const rows = arr(report.Rows);
  const header = rows.find((r) => r.RowType === 'Header');
  const out: ParsedSection[] = [];
  for (const r of rows) {
    if (r.RowType !== 'Section') continue;
    const inner = arr(r.Rows);
    out.push({ title: str(r.Title) ?? '', rows: inner.filter((x) => x.RowType === 'Row'), summary: inner.find((x) => x.RowType === 'SummaryRow') });
  }
  return { header, sections: out };
}

function lines(rows: Wire[], col: number): ReportLine[] {
  return rows.map((r) => compact({ accountId: accountIdOf(r), name: cellTitle(r), value: cellValue(r, col) }) as ReportLine);
}

function sectionLine(s: ParsedSection, col: number, name = s.title): ReportLine {
  const items = lines(s.rows, col);
  const value = s.summary ? cellValue(s.summary, col) : round2(items.reduce((a, b) => a + b.value, 0));
  return { name, value, items };
}

export function columnsOf(report: Wire): number {
  const { header } = sections(report);
  return Math.max(0, arr(header?.Cells).length - 1);
}

export function checkColumns(report: Wire, expected: number): void {
  const n = columnsOf(report);
  if (n !== expected) throw new MappingError(`report has ${n} columns, expected ${expected}`);
}

/** Balance sheet column → BalanceSheetPeriod. */
export function balanceSheetPeriod(report: Wire, col: number, month: number) {
  const { sections: secs } = sections(report);
  let group: 'assets' | 'liabilities' | 'equity' | undefined;
  const groups: Record<'assets' | 'liabilities' | 'equity', ReportLine> = {
    assets: { name: 'Assets', value: 0, items: [] },
    liabilities: { name: 'Liabilities', value: 0, items: [] },
    equity: { name: 'Equity', value: 0, items: [] },
  };
  const totals: Partial<Record<'assets' | 'liabilities' | 'equity' | 'net', number>> = {};
  for (const s of secs) {
    const t = s.title.toLowerCase();
    if (t === 'assets' || t === 'liabilities') {
      group = t;
      continue;
    }
    if (t === 'equity') {
      group = 'equity';
      groups.equity.items = lines(s.rows, col);
      totals.equity = s.summary ? cellValue(s.summary, col) : undefined;
      continue;
    }
    if (!t) {
      for (const r of [...s.rows, ...(s.summary ? [s.summary] : [])]) {
        const title = cellTitle(r).toLowerCase();
        if (title === 'total assets') totals.assets = cellValue(r, col);
        else if (title === 'total liabilities') totals.liabilities = cellValue(r, col);
        else if (title === 'net assets') totals.net = cellValue(r, col);
      }
      continue;
    }
    if (!group || group === 'equity') throw new MappingError(`balance sheet section "${s.title}" outside assets or liabilities`);
    groups[group].items!.push(sectionLine(s, col));
  }
  for (const g of ['assets', 'liabilities', 'equity'] as const) {
    const sum = round2(groups[g].items!.reduce((a, b) => a + b.value, 0));
    groups[g].value = totals[g] ?? sum;
  }
  const netAssets = totals.net ?? round2(groups.assets.value - groups.liabilities.value);
  if (Math.abs(netAssets - (groups.assets.value - groups.liabilities.value)) > 0.005) {
    throw new MappingError(`balance sheet ${monthKey(month)}: net assets ${netAssets} ≠ assets − liabilities`);
  }
  return { date: dateOnly(monthLast(month)), assets: groups.assets, liabilities: groups.liabilities, netAssets, equity: groups.equity };
}

type PnlKey = 'income' | 'costOfSales' | 'otherIncome' | 'expenses' | 'otherExpenses';
function pnlKey(title: string): PnlKey | undefined {
  const t = title.toLowerCase().replace(/^(less|plus)\s+/, '');
  if (t === 'income' || t === 'trading income' || t === 'revenue') return 'income';
  if (t === 'cost of sales' || t === 'direct costs') return 'costOfSales';
  if (t === 'other income') return 'otherIncome';
  if (t === 'operating expenses' || t === 'expenses') return 'expenses';
  if (t === 'other expenses') return 'otherExpenses';
  return undefined;
}

export function profitAndLossPeriod(report: Wire, col: number, month: number) {
  const { sections: secs } = sections(report);
  const parts: Partial<Record<PnlKey, ReportLine>> = {};
  let reportedNet: number | undefined;
  for (const s of secs) {
    if (!s.title) {
      for (const r of s.rows) if (cellTitle(r).toLowerCase() === 'net profit') reportedNet = cellValue(r, col);
      continue;
    }
    const key = pnlKey(s.title);
    if (!key) throw new MappingError(`unknown profit and loss section "${s.title}"`);
    parts[key] = sectionLine(s, col, s.title.replace(/^(Less|Plus)\s+/i, ''));
  }
  const v = (k: PnlKey) => parts[k]?.value ?? 0;
  const grossProfit = round2(v('income') - v('costOfSales'));
  const netOperatingProfit = round2(grossProfit - v('expenses'));
  const netOtherIncome = round2(v('otherIncome') - v('otherExpenses'));
  const netProfit = round2(netOperatingProfit + netOtherIncome);
  if (reportedNet !== undefined && Math.abs(reportedNet - netProfit) > 0.005) {
    throw new MappingError(`profit and loss ${monthKey(month)}: net profit ${reportedNet} ≠ computed ${netProfit}`);
  }
  return compact({
    fromDate: dateOnly(monthFirst(month)),
    toDate: dateOnly(monthLast(month)),
    income: parts.income,
    costOfSales: parts.costOfSales,
    grossProfit,
    expenses: parts.expenses,
    netOperatingProfit,
    otherExpenses: parts.otherExpenses,
    otherIncome: parts.otherIncome,
    netOtherIncome,
    netProfit,
  });
}

export function cashFlowPeriod(report: Wire, col: number, month: number) {
  const { sections: secs } = sections(report);
  const find = (title: string) => secs.find((s) => s.title.toLowerCase() === title);
  const receipts = find('cash receipts');
  const payments = find('cash payments');
  if (!receipts || !payments) throw new MappingError('cash flow report lacks Cash Receipts / Cash Payments sections');
  return {
    fromDate: dateOnly(monthFirst(month)),
    toDate: dateOnly(monthLast(month)),
    cashReceipts: sectionLine(receipts, col, 'Cash Receipts'),
    cashPayments: sectionLine(payments, col, 'Cash Payments'),
  };
}

export function firstReport(body: Wire): Wire {
  const r = arr(body.Reports)[0];
  if (!r) throw new MappingError('report response has no Reports[0]');
  return obj(r)!;
}
