/**
 * Financial statements from stored monthly periods (accounting-model.md §4): a period of several months sums its months
 * for profit and loss and cash flow; a balance sheet period is its last month's balance sheet.
 */
export interface ReportLine {
  accountId?: string | null;
  name?: string | null;
  value: number;
  items?: ReportLine[] | null;
}

export type Month = string; // YYYY-MM

export const monthOf = (date: string): Month | undefined => (/^(\d{4})-(\d{2})/.exec(date) ? date.slice(0, 7) : undefined);

export function addMonths(m: Month, n: number): Month {
  const [y, mo] = m.split('-').map(Number) as [number, number];
  const idx = y * 12 + (mo - 1) + n;
  return `${String(Math.floor(idx / 12)).padStart(4, '0')}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

/** Platform dates without a time render as YYYY-MM-DDT00:00:00 (accounting-model.md §1). */
export const monthStart = (m: Month): string => `${m}-01T00:00:00`;
export function monthEnd(m: Month): string {
  const next = addMonths(m, 1);
  const d = new Date(`${next}-01T00:00:00Z`);
  d.setUTCDate(0);
  return `${d.toISOString().slice(0, 10)}T00:00:00`;
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** Sums report lines of several months, matching lines by account id, else name, at each level. */
export function sumLines(lines: (ReportLine | undefined | null)[]): ReportLine | undefined {
  const present = lines.filter((l): l is ReportLine => !!l);
  if (present.length === 0) return undefined;
  const first = present[0]!;
  const out: ReportLine = { value: round(present.reduce((s, l) => s + (Number(l.value) || 0), 0)) };
  if (first.accountId !== undefined) out.accountId = first.accountId;
  if (first.name !== undefined) out.name = first.name;
  const children = new Map<string, ReportLine[]>();
  const order: string[] = [];
  for (const l of present) {
    for (const c of l.items ?? []) {
      const key = c.accountId ?? `name:${c.name ?? ''}`;
      if (!children.has(key)) {
        children.set(key, []);
        order.push(key);
      }
      children.get(key)!.push(c);
    }
  }
  if (present.some((l) => Array.isArray(l.items))) out.items = order.map((k) => sumLines(children.get(k)!)!);
  return out;
}

export interface StatementQuery {
  periodLength: number;
  periodsToCompare: number;
  /** Any date in the most recent period's last month; default: the most recent available month. */
  startMonth?: string | undefined;
}

export type StatementKind = 'balanceSheet' | 'profitAndLoss' | 'cashFlowStatement';

const PL_LINES = ['income', 'costOfSales', 'expenses', 'otherExpenses', 'otherIncome'] as const;
const PL_TOTALS = ['grossProfit', 'netOperatingProfit', 'netOtherIncome', 'netProfit'] as const;
const CF_LINES = ['cashReceipts', 'cashPayments'] as const;
const BS_LINES = ['assets', 'liabilities', 'equity'] as const;

/** Builds the statement document from monthly period documents keyed by month. */
export function buildStatement(kind: StatementKind, months: Map<Month, Record<string, any>>, q: StatementQuery): Record<string, unknown> {
  const available = [...months.keys()].sort();
  const earliest = available[0];
  const latest = available[available.length - 1];
  const any = latest ? months.get(latest)! : undefined;
  const doc: Record<string, unknown> = {};
  const reports: Record<string, unknown>[] = [];
  if (earliest && latest) {
    const end0 = (q.startMonth && monthOf(q.startMonth)) || latest;
    for (let i = 0; i < q.periodsToCompare; i++) {
      const end = addMonths(end0, -i * q.periodLength);
      const start = addMonths(end, -(q.periodLength - 1));
      if (end < earliest) break; // entirely before the history we hold
      const inPeriod: Record<string, any>[] = [];
      for (let m = start; m <= end; m = addMonths(m, 1)) {
        const doc = months.get(m);
        if (doc) inPeriod.push(doc);
      }
      if (inPeriod.length === 0) continue;
      if (kind === 'balanceSheet') {
        const last = inPeriod[inPeriod.length - 1]!;
        const p: Record<string, unknown> = { date: monthEnd(end) };
        for (const k of BS_LINES) if (last[k]) p[k] = last[k];
        p.netAssets = round(Number(last.netAssets ?? (Number(last.assets?.value ?? 0) - Number(last.liabilities?.value ?? 0))));
        reports.push(p);
      } else {
        const p: Record<string, unknown> = { fromDate: monthStart(start), toDate: monthEnd(end) };
        const lineNames = kind === 'profitAndLoss' ? PL_LINES : CF_LINES;
        for (const k of lineNames) {
          const s = sumLines(inPeriod.map((d) => d[k]));
          if (s) p[k] = s;
        }
        if (kind === 'profitAndLoss') for (const k of PL_TOTALS) p[k] = round(inPeriod.reduce((s, d) => s + (Number(d[k]) || 0), 0));
        reports.push(p);
      }
    }
  }
  if (any?.currency) doc.currency = any.currency;
  doc.reports = reports;
  if (kind !== 'balanceSheet') doc.reportBasis = any?.reportBasis ?? 'Accrual';
  if (kind === 'cashFlowStatement') doc.reportInput = any?.reportInput ?? 'Direct';
  if (latest) doc.mostRecentAvailableMonth = monthStart(latest);
  if (earliest) doc.earliestAvailableMonth = monthStart(earliest);
  return doc;
}
