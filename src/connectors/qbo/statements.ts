/**
 * QuickBooks' `Header / Columns / Rows` reports (summarize_column_by=Month) → one statement period per month column.
 * The `Total` column is dropped. Lines are mapped by the sections' `group` (Income, COGS, Expenses, …; TotalAssets,
 * Liabilities, Equity), never by their display titles, which the company can rename.
 */
import { MappingError } from '../connector.js';
import { arr, compact, num, obj, round2, str, type Wire } from './wire.js';

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
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const modelDate = (ms: number) => `${day(ms)}T00:00:00`;

/** Month columns of a report: ColData index → month index. The Total column is left out. */
export function monthColumns(report: Wire): Map<number, number> {
  const out = new Map<number, number>();
  arr(obj(report.Columns)?.Column).forEach((c, i) => {
    if (i === 0) return;
    const meta = arr(c.MetaData);
    const key = str(meta.find((m) => m.Name === 'ColKey')?.Value);
    const start = str(meta.find((m) => m.Name === 'StartDate')?.Value);
    if (key === 'total' || c.ColTitle === 'Total' || !start) return;
    const ms = Date.parse(`${start}T00:00:00Z`);
    if (Number.isNaN(ms)) throw new MappingError(`report column ${i} has an unreadable StartDate ${start}`);
    out.set(i, monthIndex(ms));
  });
  return out;
}

function value(colData: unknown, col: number): number {
  const v = arr(colData)[col]?.value;
  if (v === undefined || v === '') return 0;
  const n = num(v);
  if (n === undefined) throw new MappingError(`report cell is not a number: ${JSON.stringify(v)}`);
  return n;
}

function toLine(row: Wire, col: number): ReportLine {
  if (row.type === 'Data' || row.ColData) {
    const first = arr(row.ColData)[0];
    return compact({ accountId: str(first?.id), name: str(first?.value), value: value(row.ColData, col) }) as ReportLine;
  }
  const title = str(arr(obj(row.Header)?.ColData)[0]?.value) ?? str(arr(obj(row.Summary)?.ColData)[0]?.value) ?? str(row.group);
  const items = arr(obj(row.Rows)?.Row).map((r) => toLine(r, col));
  const summary = obj(row.Summary);
  return compact({ name: title, value: summary ? value(summary.ColData, col) : round2(items.reduce((a, b) => a + b.value, 0)), items: items.length ? items : undefined }) as ReportLine;
}

function findGroup(rows: Wire[], group: string): Wire | undefined {
  for (const r of rows) {
    if (r.group === group) return r;
    const inner = findGroup(arr(obj(r.Rows)?.Row), group);
    if (inner) return inner;
  }
  return undefined;
}

const topRows = (report: Wire) => arr(obj(report.Rows)?.Row);

export function balanceSheetPeriod(report: Wire, col: number, month: number) {
  const rows = topRows(report);
  const assetsRow = findGroup(rows, 'TotalAssets');
  if (!assetsRow) throw new MappingError('balance sheet has no TotalAssets section');
  const liabilitiesRow = findGroup(rows, 'Liabilities');
  const equityRow = findGroup(rows, 'Equity');
  const assets = { ...toLine(assetsRow, col), name: 'Assets' };
  const liabilities = liabilitiesRow ? { ...toLine(liabilitiesRow, col), name: 'Liabilities' } : { name: 'Liabilities', value: 0, items: [] };
  const equity = equityRow ? { ...toLine(equityRow, col), name: 'Equity' } : { name: 'Equity', value: 0, items: [] };
  const netAssets = round2(assets.value - liabilities.value);
  if (Math.abs(netAssets - equity.value) > 0.005) throw new MappingError(`balance sheet ${monthKey(month)}: assets − liabilities = ${netAssets} but equity = ${equity.value}`);
  return { date: modelDate(monthLast(month)), assets, liabilities, netAssets, equity };
}

export function profitAndLossPeriod(report: Wire, col: number, month: number) {
  const rows = topRows(report);
  const line = (group: string, name: string) => {
    const r = findGroup(rows, group);
    return r ? { ...toLine(r, col), name } : undefined;
  };
  const summaryOf = (group: string) => {
    const r = findGroup(rows, group);
    return r && obj(r.Summary) ? value(obj(r.Summary)!.ColData, col) : undefined;
  };
  const income = line('Income', 'Income');
  const costOfSales = line('COGS', 'Cost of Sales');
  const expenses = line('Expenses', 'Expenses');
  const otherIncome = line('OtherIncome', 'Other Income');
  const otherExpenses = line('OtherExpenses', 'Other Expenses');
  const v = (l: ReportLine | undefined) => l?.value ?? 0;
  const grossProfit = round2(v(income) - v(costOfSales));
  const netOperatingProfit = round2(grossProfit - v(expenses));
  const netOtherIncome = round2(v(otherIncome) - v(otherExpenses));
  const netProfit = round2(netOperatingProfit + netOtherIncome);
  const reported = summaryOf('NetIncome');
  if (reported !== undefined && Math.abs(reported - netProfit) > 0.005) throw new MappingError(`profit and loss ${monthKey(month)}: NetIncome ${reported} ≠ computed ${netProfit}`);
  return compact({
    fromDate: modelDate(monthFirst(month)),
    toDate: modelDate(monthLast(month)),
    income,
    costOfSales,
    grossProfit,
    expenses,
    netOperatingProfit,
    otherExpenses,
    otherIncome,
    netOtherIncome,
    netProfit,
  });
}

export const reportDay = day;
