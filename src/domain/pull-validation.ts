/**
 * Pull validation (Codat's `GET /companies/{companyId}/sync/{datasetId}/validation`, a ValidationResult of `errors`
 * and `warnings`, each `{itemId, message, validatorName}`): what a pull found wrong with the records it read.
 *
 * The validator sees each page as the pull stages it (the pages are in memory anyway: nothing is read back), so a
 * 100k-invoice pull costs one pass over its own records. It checks, for each record the pull read (deleted ones
 * excepted):
 * - totals (errors): document lines add up to the document's subtotal, subtotal plus tax to its total; a journal
 *   entry's lines balance; a transfer's two sides agree;
 * - references (warnings): the ids a record points at (customer, supplier, account, item, invoice, bill, bank account…)
 *   are collected per target type; at the end the caller checks them against the stored records of that type and the
 *   missing ones become findings. A target type never pulled successfully is not checked (nothing to compare with).
 * Pure: the lookup of stored ids is passed in.
 */
import type { DataType } from './data-types.js';

export interface ValidationItem {
  itemId: string;
  message: string;
  validatorName: string;
}

export interface ValidationResult {
  errors: ValidationItem[];
  warnings: ValidationItem[];
}

/** Findings kept per list; beyond it one summary item says how many more there were. */
export const MAX_FINDINGS = 500;

/** Amounts are decimals rounded per line by platforms: a cent of difference per line is rounding, not an error. */
const TOLERANCE = 0.011;

interface PageRecord {
  id: string;
  data: Record<string, unknown>;
  deleted: boolean;
}

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : undefined);
const arr = (v: unknown): Doc[] => (Array.isArray(v) ? (v.filter((x) => obj(x)) as Doc[]) : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const refId = (v: unknown): string | undefined => {
  const id = obj(v)?.id;
  return typeof id === 'string' && id ? id : undefined;
};
const round2 = (n: number) => Math.round(n * 100) / 100;

const LINK_TARGET: Record<string, DataType> = {
  Invoice: 'invoices',
  CreditNote: 'creditNotes',
  Bill: 'bills',
  Payment: 'payments',
  BillPayment: 'billPayments',
};

const RECORD_REF_TARGET: Record<string, DataType> = {
  invoices: 'invoices',
  bills: 'bills',
  creditNotes: 'creditNotes',
  billCreditNotes: 'billCreditNotes',
  payments: 'payments',
  billPayments: 'billPayments',
  customers: 'customers',
  suppliers: 'suppliers',
  directCosts: 'directCosts',
  directIncomes: 'directIncomes',
  transfers: 'transfers',
  journalEntries: 'journalEntries',
  bankTransactions: 'bankTransactions',
};

const ENTITY: Partial<Record<DataType, string>> = {
  invoices: 'Invoice',
  creditNotes: 'CreditNote',
  bills: 'Bill',
  billCreditNotes: 'BillCreditNote',
  payments: 'Payment',
  billPayments: 'BillPayment',
  journalEntries: 'JournalEntry',
  purchaseOrders: 'PurchaseOrder',
  salesOrders: 'SalesOrder',
  directCosts: 'DirectCost',
  directIncomes: 'DirectIncome',
  transfers: 'Transfer',
  bankTransactions: 'BankTransaction',
  accountTransactions: 'AccountTransaction',
  items: 'Item',
  bankAccounts: 'BankAccount',
};

export class PullValidator {
  private readonly errors: ValidationItem[] = [];
  private readonly warnings: ValidationItem[] = [];
  private errorsOver = 0;
  private warningsOver = 0;
  /** target type → referenced id → the first record (and field) that referenced it. */
  private readonly refs = new Map<DataType, Map<string, { itemId: string; field: string }>>();
  private readonly entity: string;

  constructor(readonly dataType: DataType) {
    this.entity = ENTITY[dataType] ?? dataType;
  }

  /** Types this pull's records point at. */
  targets(): DataType[] {
    return [...this.refs.keys()];
  }

  private error(itemId: string, validatorName: string, message: string) {
    if (this.errors.length < MAX_FINDINGS) this.errors.push({ itemId, message, validatorName });
    else this.errorsOver++;
  }

  private warning(itemId: string, validatorName: string, message: string) {
    if (this.warnings.length < MAX_FINDINGS) this.warnings.push({ itemId, message, validatorName });
    else this.warningsOver++;
  }

  private ref(target: DataType, id: string | undefined, itemId: string, field: string) {
    if (!id) return;
    let m = this.refs.get(target);
    if (!m) this.refs.set(target, (m = new Map()));
    if (!m.has(id)) m.set(id, { itemId, field });
  }

  page(records: readonly PageRecord[]): void {
    for (const r of records) if (!r.deleted) this.record(r.id, r.data);
  }

  private lines(id: string, lines: Doc[], field: string) {
    lines.forEach((l, i) => {
      this.ref('chartOfAccounts', refId(l.accountRef), id, `${field}[${i}].accountRef.id`);
      this.ref('items', refId(l.itemRef), id, `${field}[${i}].itemRef.id`);
    });
  }

  /** Σ line subTotal = subTotal, subTotal + tax = total (documents whose lines carry subTotals). */
  private totals(id: string, d: Doc, taxField: 'totalTaxAmount' | 'taxAmount') {
    const lines = arr(d.lineItems);
    const sub = num(d.subTotal);
    const tax = num(d[taxField]);
    const total = num(d.totalAmount);
    const lineSubs = lines.map((l) => num(l.subTotal));
    if (sub !== undefined && lines.length > 0 && lineSubs.every((x) => x !== undefined)) {
      const sum = round2(lineSubs.reduce<number>((a, b) => a + b!, 0));
      if (Math.abs(sum - sub) > TOLERANCE * lines.length) {
        this.error(id, `${this.entity}LinesValidator`, `${this.entity} ${id}: its line items add up to ${sum}, its subTotal is ${sub}.`);
      }
    }
    if (sub !== undefined && tax !== undefined && total !== undefined && Math.abs(round2(sub + tax) - total) > TOLERANCE) {
      this.error(id, `${this.entity}TotalsValidator`, `${this.entity} ${id}: subTotal ${sub} plus ${taxField} ${tax} is ${round2(sub + tax)}, its totalAmount is ${total}.`);
    }
  }

  private paymentLinks(id: string, d: Doc) {
    arr(d.lines).forEach((line, i) =>
      arr(line.links).forEach((link, j) => {
        // A bill payment's CreditNote link is a supplier credit note (Codat's BillPayment link types).
        const target = link.type === 'CreditNote' && this.dataType === 'billPayments' ? 'billCreditNotes' : LINK_TARGET[String(link.type)];
        if (target && typeof link.id === 'string') this.ref(target, link.id, id, `lines[${i}].links[${j}].id`);
      }),
    );
  }

  private record(id: string, d: Doc): void {
    switch (this.dataType) {
      case 'invoices':
      case 'creditNotes':
      case 'salesOrders':
        this.ref('customers', refId(d.customerRef), id, 'customerRef.id');
        this.lines(id, arr(d.lineItems), 'lineItems');
        if (this.dataType !== 'salesOrders') this.totals(id, d, 'totalTaxAmount');
        break;
      case 'bills':
      case 'billCreditNotes':
      case 'purchaseOrders':
        this.ref('suppliers', refId(d.supplierRef), id, 'supplierRef.id');
        this.lines(id, arr(d.lineItems), 'lineItems');
        if (this.dataType === 'bills') this.totals(id, d, 'taxAmount');
        if (this.dataType === 'billCreditNotes') this.totals(id, d, 'totalTaxAmount');
        break;
      case 'directCosts':
      case 'directIncomes': {
        const c = obj(d.contactRef);
        const target = c?.dataType === 'suppliers' ? 'suppliers' : c?.dataType === 'customers' ? 'customers' : undefined;
        if (target) this.ref(target, refId(c), id, 'contactRef.id');
        this.lines(id, arr(d.lineItems), 'lineItems');
        this.totals(id, d, 'taxAmount');
        break;
      }
      case 'payments':
        this.ref('customers', refId(d.customerRef), id, 'customerRef.id');
        this.ref('chartOfAccounts', refId(d.accountRef), id, 'accountRef.id');
        this.paymentLinks(id, d);
        break;
      case 'billPayments':
        this.ref('suppliers', refId(d.supplierRef), id, 'supplierRef.id');
        this.ref('chartOfAccounts', refId(d.accountRef), id, 'accountRef.id');
        this.paymentLinks(id, d);
        break;
      case 'journalEntries': {
        const lines = arr(d.journalLines);
        lines.forEach((l, i) => this.ref('chartOfAccounts', refId(l.accountRef), id, `journalLines[${i}].accountRef.id`));
        const net = round2(lines.reduce((a, l) => a + (num(l.netAmount) ?? 0), 0));
        if (lines.length > 0 && Math.abs(net) > TOLERANCE) this.error(id, 'JournalEntryBalanceValidator', `JournalEntry ${id}: its journal lines sum to ${net}, not 0 (debits must equal credits).`);
        break;
      }
      case 'transfers': {
        const from = obj(d.from);
        const to = obj(d.to);
        this.ref('chartOfAccounts', refId(from?.accountRef), id, 'from.accountRef.id');
        this.ref('chartOfAccounts', refId(to?.accountRef), id, 'to.accountRef.id');
        const a = num(from?.amount);
        const b = num(to?.amount);
        if (a !== undefined && b !== undefined && from?.currency === to?.currency && Math.abs(a - b) > TOLERANCE) {
          this.error(id, 'TransferAmountValidator', `Transfer ${id}: ${a} left ${refId(from?.accountRef) ?? 'the source account'} but ${b} arrived in ${refId(to?.accountRef) ?? 'the target account'}.`);
        }
        arr(d.depositedRecordRefs).forEach((r, i) => {
          const target = RECORD_REF_TARGET[String(r.dataType)];
          if (target) this.ref(target, refId(r), id, `depositedRecordRefs[${i}].id`);
        });
        break;
      }
      case 'bankTransactions':
        if (typeof d.accountId === 'string') this.ref('bankAccounts', d.accountId, id, 'accountId');
        break;
      case 'accountTransactions': {
        this.ref('bankAccounts', refId(d.bankAccountRef), id, 'bankAccountRef.id');
        arr(d.lines).forEach((l, i) => {
          const r = obj(l.recordRef);
          const target = RECORD_REF_TARGET[String(r?.dataType)];
          if (target) this.ref(target, refId(r), id, `lines[${i}].recordRef.id`);
        });
        const lines = arr(d.lines);
        const total = num(d.totalAmount);
        if (lines.length > 0 && total !== undefined) {
          const sum = round2(lines.reduce((a, l) => a + (num(l.amount) ?? 0), 0));
          if (Math.abs(sum - total) > TOLERANCE * lines.length) this.error(id, 'AccountTransactionTotalsValidator', `AccountTransaction ${id}: its lines add up to ${sum}, its totalAmount is ${total}.`);
        }
        break;
      }
    }
  }

  /**
   * Resolves the collected references: `existing(target, ids)` answers which of `ids` are stored (not deleted) for
   * the connection, or undefined when the target type was never pulled successfully (then it is not checked).
   */
  async resolve(existing: (target: DataType, ids: string[]) => Promise<Set<string> | undefined>): Promise<void> {
    for (const [target, m] of this.refs) {
      const ids = [...m.keys()];
      const found = await existing(target, ids);
      if (!found) continue;
      for (const id of ids) {
        if (found.has(id)) continue;
        const { itemId, field } = m.get(id)!;
        this.warning(itemId, 'MissingReferenceValidator', `${this.entity} ${itemId}: ${field} is ${id}, which is not among the connection's ${target}.`);
      }
    }
  }

  result(): ValidationResult {
    const more = (n: number, kind: string): ValidationItem[] =>
      n > 0 ? [{ itemId: this.dataType, message: `${n} more ${kind} were found and not listed.`, validatorName: 'Summary' }] : [];
    return { errors: [...this.errors, ...more(this.errorsOver, 'errors')], warnings: [...this.warnings, ...more(this.warningsOver, 'warnings')] };
  }
}
