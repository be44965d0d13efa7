/**
 * Aged debtors and aged creditors (Codat's `reports/agedDebtor`, `reports/agedCreditor`), computed from the stored
 * documents as Codat does:
 * - by **issue date** (Codat: "the reports run based on the issue dates of the underlying data types rather than the due
 *   date"), counting documents issued before the report date ("up to, but not including", the report date);
 * - `numberOfPeriods` periods of `periodLengthDays` days ending at the report date, newest first: period i runs from
 *   reportDate − (i+1)·length (inclusive) to reportDate − i·length (exclusive); the last period is open-ended, from
 *   0001-01-01, so the periods together hold the whole balance;
 * - per customer (supplier) and currency, in the document's currency, with the amount of each period split into
 *   `details` by data type: `Invoices` (`Bills`) outstanding, `CreditNotes` (`BillCreditNotes`) not yet allocated
 *   (negative), and `Payments` (`BillPayments`) on account not yet allocated (negative);
 * - outstanding *as at the report date*: a document's total less its allocations (payments, credit notes) dated before
 *   the report date, so a report for a past date shows what was owed then. Draft, void and deleted documents are left
 *   out. Contacts whose balance is zero in every period are left out.
 * Pure: the caller streams the stored documents in.
 */

export type AgedKind = 'debtor' | 'creditor';

export interface AgedParams {
  /** Midnight UTC of the report date, epoch ms. */
  reportDateMs: number;
  periodLengthDays: number;
  numberOfPeriods: number;
}

export const AGED_DEFAULTS = { periodLengthDays: 30, numberOfPeriods: 4 } as const;
export const AGED_LIMITS = { periodLengthDays: 3650, numberOfPeriods: 120 } as const;

/** The data types each report reads: documents, credits, payments, and contacts for names. */
export const AGED_SOURCES = {
  debtor: { documents: 'invoices', credits: 'creditNotes', payments: 'payments', contacts: 'customers' },
  creditor: { documents: 'bills', credits: 'billCreditNotes', payments: 'billPayments', contacts: 'suppliers' },
} as const;

const DETAIL_NAMES = {
  debtor: { documents: 'Invoices', credits: 'CreditNotes', payments: 'Payments' },
  creditor: { documents: 'Bills', credits: 'BillCreditNotes', payments: 'BillPayments' },
} as const;

type Source = 'documents' | 'credits' | 'payments';
const SOURCES: Source[] = ['documents', 'credits', 'payments'];

type Doc = Record<string, unknown>;
const DAY_MS = 86_400_000;
const MIN_DATE = '0001-01-01T00:00:00';
const cents = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 100) : 0);
const obj = (v: unknown): Doc | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : undefined);
const arr = (v: unknown): Doc[] => (Array.isArray(v) ? (v.filter((x) => obj(x)) as Doc[]) : []);

/** A model DateTime (`2026-01-31T00:00:00`, with or without zone) → epoch ms of its UTC day; NaN if unreadable. */
export function dayOf(v: unknown): number {
  if (typeof v !== 'string' || v.length < 10) return NaN;
  const t = Date.parse(`${v.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(t) ? NaN : t;
}

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}`;

interface Bucket {
  /** cents per period per source */
  amounts: number[][];
  seen: Set<Source>;
}

export class AgedReportBuilder {
  /** contact id → currency → buckets */
  private readonly byContact = new Map<string, Map<string, Bucket>>();
  private readonly names = new Map<string, string>();
  private readonly refNames = new Map<string, string>();

  constructor(
    readonly kind: AgedKind,
    readonly params: AgedParams,
  ) {}

  private period(issueMs: number): number {
    const { reportDateMs, periodLengthDays, numberOfPeriods } = this.params;
    if (!(issueMs < reportDateMs)) return -1;
    const i = Math.floor((reportDateMs - issueMs - 1) / (periodLengthDays * DAY_MS));
    return Math.min(i, numberOfPeriods - 1);
  }

  private add(contactId: string, currency: string, source: Source, period: number, amountCents: number) {
    let byCurrency = this.byContact.get(contactId);
    if (!byCurrency) this.byContact.set(contactId, (byCurrency = new Map()));
    let b = byCurrency.get(currency);
    if (!b) byCurrency.set(currency, (b = { amounts: Array.from({ length: this.params.numberOfPeriods }, () => [0, 0, 0]), seen: new Set() }));
    b.amounts[period]![SOURCES.indexOf(source)]! += amountCents;
    b.seen.add(source);
  }

  /** Allocations dated before the report date (allocation.allocatedOnDate, else payment.paidOnDate). */
  private allocatedBefore(d: Doc): number {
    let sum = 0;
    for (const a of arr(d.paymentAllocations)) {
      const allocation = obj(a.allocation);
      const on = dayOf(allocation?.allocatedOnDate ?? obj(a.payment)?.paidOnDate);
      if (on < this.params.reportDateMs) sum += cents(allocation?.totalAmount ?? obj(a.payment)?.totalAmount);
    }
    return sum;
  }

  private contactOf(d: Doc): string | undefined {
    const ref = obj(this.kind === 'debtor' ? d.customerRef : d.supplierRef);
    const id = typeof ref?.id === 'string' ? ref.id : undefined;
    if (id) {
      const name = this.kind === 'debtor' ? ref?.companyName : ref?.supplierName;
      if (typeof name === 'string' && !this.refNames.has(id)) this.refNames.set(id, name);
    }
    return id;
  }

  /** A stored customer (supplier): its name. */
  contact(id: string, d: Doc): void {
    const name = this.kind === 'debtor' ? d.customerName : d.supplierName;
    if (typeof name === 'string') this.names.set(id, name);
  }

  /** An invoice (bill) or a credit note (bill credit note). */
  document(source: 'documents' | 'credits', d: Doc, deleted: boolean): void {
    if (deleted || d.status === 'Draft' || d.status === 'Void') return;
    const contact = this.contactOf(d);
    const period = this.period(dayOf(d.issueDate));
    if (!contact || period < 0) return;
    const outstanding = cents(d.totalAmount) - this.allocatedBefore(d);
    if (outstanding === 0) return;
    this.add(contact, String(d.currency ?? ''), source, period, source === 'credits' ? -outstanding : outstanding);
  }

  /**
   * A payment (bill payment): only the part on account at the report date reduces the balance — its lines linking
   * nothing but the payment on account (a refund of it is a negative line, which gives credit back), and lines
   * allocated to a document only on or after the report date (that document still counts in full then).
   */
  payment(d: Doc, deleted: boolean): void {
    if (deleted) return;
    const contact = this.contactOf(d);
    const period = this.period(dayOf(d.date));
    if (!contact || period < 0) return;
    let onAccount = 0;
    for (const line of arr(d.lines)) {
      const links = arr(line.links);
      if (links.length === 0 || links.every((l) => l.type === 'PaymentOnAccount' || l.type === 'Unlinked')) onAccount += cents(line.amount);
      else if (line.allocatedOnDate !== undefined && dayOf(line.allocatedOnDate) >= this.params.reportDateMs && links.every((l) => l.type === 'Invoice' || l.type === 'Bill')) {
        onAccount += cents(line.amount);
      }
    }
    if (onAccount === 0) return;
    this.add(contact, String(d.currency ?? ''), 'payments', period, -onAccount);
  }

  build(generated: string): Record<string, unknown> {
    const { reportDateMs, periodLengthDays, numberOfPeriods } = this.params;
    const periods = Array.from({ length: numberOfPeriods }, (_, i) => ({
      fromDate: i === numberOfPeriods - 1 ? MIN_DATE : iso(reportDateMs - (i + 1) * periodLengthDays * DAY_MS),
      toDate: iso(reportDateMs - i * periodLengthDays * DAY_MS),
    }));
    const names = DETAIL_NAMES[this.kind];
    const data: Record<string, unknown>[] = [];
    const contacts = [...this.byContact.keys()].sort((a, b) => {
      const na = this.nameOf(a) ?? '';
      const nb = this.nameOf(b) ?? '';
      return na < nb ? -1 : na > nb ? 1 : a < b ? -1 : a > b ? 1 : 0;
    });
    for (const id of contacts) {
      const currencies: Record<string, unknown>[] = [];
      for (const [currency, b] of [...this.byContact.get(id)!].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
        if (b.amounts.every((p) => p.every((c) => c === 0))) continue;
        currencies.push({
          currency,
          agedOutstandingAmounts: periods.map((p, i) => {
            const row = b.amounts[i]!;
            return {
              ...p,
              amount: (row[0]! + row[1]! + row[2]!) / 100,
              details: SOURCES.filter((s) => b.seen.has(s)).map((s) => ({ name: names[s], amount: row[SOURCES.indexOf(s)]! / 100 })),
            };
          }),
        });
      }
      if (!currencies.length) continue;
      const name = this.nameOf(id);
      data.push(
        this.kind === 'debtor'
          ? { customerId: id, ...(name !== undefined ? { customerName: name } : {}), agedCurrencyOutstanding: currencies }
          : { supplierId: id, ...(name !== undefined ? { supplierName: name } : {}), agedCurrencyOutstanding: currencies },
      );
    }
    return { reportDate: `${iso(reportDateMs)}Z`, generated, data };
  }

  private nameOf(id: string): string | undefined {
    return this.names.get(id) ?? this.refNames.get(id);
  }
}
