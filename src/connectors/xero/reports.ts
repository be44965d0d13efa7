/**
 * Xero ReportWithRow (BalanceSheet, ProfitAndLoss, and the Sandbox's CashFlow extension) → one statement period per
 * column. Column c (1-based) of a MONTH-timeframe report is the month `end − (c − 1)`. Lines are classified by their
 * account's Class and Type from `/Accounts`, never by section title (titles vary by edition and locale).
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

function line(r: Wire, col: number): ReportLine {
  return compact({ accountId: accountIdOf(r), name: cellTitle(r), value: cellValue(r, col) }) as ReportLine;
}

export function columnsOf(report: Wire): number {
  const { header } = sections(report);
  return Math.max(0, arr(header?.Cells).length - 1);
}

export function checkColumns(report: Wire, expected: number): void {
  const n = columnsOf(report);
  if (n !== expected) throw new MappingError(`report has ${n} columns, expected ${expected}`);
}

/** What classifies a report line: its account's `Class` (ASSET, LIABILITY, EQUITY, REVENUE, EXPENSE) and `Type`. */
export interface AccountKind {
  cls: string;
  type: string;
}
export type AccountKinds = ReadonlyMap<string, AccountKind>;

/** `/Accounts` → account id → class and type. */
export function accountKinds(accounts: Wire[]): Map<string, AccountKind> {
  const out = new Map<string, AccountKind>();
  for (const a of accounts) {
    const id = str(a.AccountID);
    const cls = str(a.Class);
    if (id && cls) out.set(id.toLowerCase(), { cls: cls.toUpperCase(), type: (str(a.Type) ?? '').toUpperCase() });
  }
  return out;
}

interface ClassifiedRow<K extends string> {
  row: Wire;
  key: K;
  section: ParsedSection;
}

/**
 * Every line of a report, keyed by what its account is (`keyOf`), never by section title: Xero words titles by edition
 * and locale ("Income", "Turnover", "Trading Income"…). A line without a known account (Xero's own computed lines,
 * such as current year earnings, or an account since deleted) takes the key its section's account lines share;
 * untitled sections hold Xero's totals (Total Assets, Net Profit…), which are recomputed rather than read. Each
 * section total is checked against its lines, so a misread layout fails (MappingError) instead of mapping wrong figures.
 */
function classify<K extends string>(report: Wire, col: number, kinds: AccountKinds, what: string, keyOf: (k: AccountKind) => K | undefined, orphanKey?: K): ClassifiedRow<K>[] {
  const out: ClassifiedRow<K>[] = [];
  for (const s of sections(report).sections) {
    if (s.summary && s.rows.length) {
      const sum = round2(s.rows.reduce((a, r) => a + cellValue(r, col), 0));
      const total = cellValue(s.summary, col);
      if (Math.abs(sum - total) > 0.005) throw new MappingError(`${what}: a section's lines add up to ${sum}, its total says ${total}`);
    }
    const keyed = s.rows.map((row) => {
      const id = accountIdOf(row);
      const kind = id ? kinds.get(id.toLowerCase()) : undefined;
      if (!kind) return { row, key: undefined };
      const key = keyOf(kind);
      if (key === undefined) throw new MappingError(`${what}: line "${cellTitle(row)}" is on a ${kind.cls} account (${kind.type})`);
      return { row, key };
    });
    const shared = new Set(keyed.flatMap((k) => (k.key === undefined ? [] : [k.key])));
    for (const k of keyed) {
      let key = k.key;
      if (key === undefined) {
        if (!s.title && shared.size === 0) continue; // a computed total
        if (shared.size === 1) key = [...shared][0]!;
        else if (shared.size === 0 && orphanKey !== undefined) key = orphanKey;
        else throw new MappingError(`${what}: cannot tell what line "${cellTitle(k.row)}" is (no account, and its section has ${shared.size ? 'accounts of several kinds' : 'no account lines'})`);
      }
      out.push({ row: k.row, key, section: s });
    }
  }
  return out;
}

/** Lines of one key grouped by the section they appear in (the section title names the group, as the report does). */
function grouped<K extends string>(rows: ClassifiedRow<K>[], key: K, col: number): ReportLine[] {
  const bySection = new Map<ParsedSection, ReportLine[]>();
  for (const r of rows) {
    if (r.key !== key) continue;
    let list = bySection.get(r.section);
    if (!list) bySection.set(r.section, (list = []));
    list.push(line(r.row, col));
  }
  return [...bySection].map(([s, items]) => ({ name: s.title, value: round2(items.reduce((a, b) => a + b.value, 0)), items }));
}

function flat<K extends string>(rows: ClassifiedRow<K>[], key: K, col: number): ReportLine[] {
  return rows.filter((r) => r.key === key).map((r) => line(r.row, col));
}

const sum = (items: ReportLine[]) => round2(items.reduce((a, b) => a + b.value, 0));

type BsKey = 'assets' | 'liabilities' | 'equity';
const BS_KEY: Record<string, BsKey> = { ASSET: 'assets', LIABILITY: 'liabilities', EQUITY: 'equity' };

/** Balance sheet column → BalanceSheetPeriod, lines classified by their account's Class. */
export function balanceSheetPeriod(report: Wire, col: number, month: number, kinds: AccountKinds) {
  // The only lines Xero computes itself in a balance sheet are equity lines (current year earnings), hence the orphan key.
  const rows = classify<BsKey>(report, col, kinds, `balance sheet ${monthKey(month)}`, (k) => BS_KEY[k.cls], 'equity');
  const assetItems = grouped(rows, 'assets', col);
  const liabilityItems = grouped(rows, 'liabilities', col);
  const equityItems = flat(rows, 'equity', col);
  const assets = { name: 'Assets', value: sum(assetItems), items: assetItems };
  const liabilities = { name: 'Liabilities', value: sum(liabilityItems), items: liabilityItems };
  const equity = { name: 'Equity', value: sum(equityItems), items: equityItems };
  const netAssets = round2(assets.value - liabilities.value);
  if (Math.abs(netAssets - equity.value) > 0.005) {
    throw new MappingError(`balance sheet ${monthKey(month)}: equity ${equity.value} ≠ net assets ${netAssets} (assets − liabilities)`);
  }
  return { date: dateOnly(monthLast(month)), assets, liabilities, netAssets, equity };
}

type PnlKey = 'income' | 'costOfSales' | 'otherIncome' | 'expenses';
function pnlKey(k: AccountKind): PnlKey | undefined {
  if (k.cls === 'REVENUE') return k.type === 'OTHERINCOME' ? 'otherIncome' : 'income';
  if (k.cls === 'EXPENSE') return k.type === 'DIRECTCOSTS' ? 'costOfSales' : 'expenses';
  return undefined;
}
const PNL_NAMES: Record<PnlKey, string> = { income: 'Income', costOfSales: 'Cost of Sales', otherIncome: 'Other Income', expenses: 'Operating Expenses' };

/**
 * Profit and loss column → ProfitAndLossPeriod: REVENUE accounts are income (OTHERINCOME: other income), EXPENSE
 * accounts expenses (DIRECTCOSTS: cost of sales).
 */
export function profitAndLossPeriod(report: Wire, col: number, month: number, kinds: AccountKinds) {
  const rows = classify<PnlKey>(report, col, kinds, `profit and loss ${monthKey(month)}`, pnlKey);
  const part = (k: PnlKey): ReportLine => {
    const items = flat(rows, k, col);
    return { name: PNL_NAMES[k], value: sum(items), items };
  };
  const income = part('income');
  const costOfSales = part('costOfSales');
  const otherIncome = part('otherIncome');
  const expenses = part('expenses');
  const grossProfit = round2(income.value - costOfSales.value);
  const netOperatingProfit = round2(grossProfit - expenses.value);
  const netOtherIncome = otherIncome.value;
  const netProfit = round2(netOperatingProfit + netOtherIncome);
  return {
    fromDate: dateOnly(monthFirst(month)),
    toDate: dateOnly(monthLast(month)),
    income,
    costOfSales,
    grossProfit,
    expenses,
    netOperatingProfit,
    otherIncome,
    netOtherIncome,
    netProfit,
  };
}

function sectionLine(s: ParsedSection, col: number, name: string): ReportLine {
  const items = s.rows.map((r) => line(r, col));
  const value = s.summary ? cellValue(s.summary, col) : sum(items);
  return { name, value, items };
}

/** The Sandbox's own cash summary (not a Xero report): its section titles are Syncline's, fixed. */
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
