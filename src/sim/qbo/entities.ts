/**
 * The QuickBooks entities the dialect serves, over the neutral ledger's collections: for each, its rows (live,
 * inactive and deleted), whether it is a name list (Active=true by default in queries) and whether CDC covers it.
 */
import { amountDue } from '../generate.js';
import type { CollectionName, Contact, Doc, ManualJournal, Pay, PurchaseOrder, RecordTypes } from '../model.js';
import type { Tenant } from '../tenant.js';
import type { BankTransfer, BankTxn } from '../banking.js';
import * as R from './render.js';
import * as X from './render-more.js';

/** A voided expense or sales receipt stays (zeroed); a deleted one is gone. */
const bankState = (b: BankTxn): 'live' | 'deleted' => (b.status === 'DELETED' ? 'deleted' : 'live');

export interface Row {
  /** Numeric id for ordering (the rendered `Id`). */
  id: number;
  updatedMs: number;
  /** `deleted`: a hard-deleted transaction; only CDC sees it (as a tombstone). */
  state: 'live' | 'deleted';
  render(): R.QboObject;
}

export interface EntityDef {
  name: string;
  nameList: boolean;
  cdc: boolean;
  /** Every row; `sinceMs` is a hint: rows updated before it may be left out. */
  rows(t: Tenant, ctx: RenderCache, sinceMs?: number): Row[];
}

/** Per-request caches of figures that need a scan (account balances, customer and vendor balances). */
export class RenderCache {
  private balances: Map<string, number> | undefined;
  private customerBalances: Map<number, number> | undefined;
  private vendorBalances: Map<number, number> | undefined;
  constructor(private readonly t: Tenant) {}
  accountBalance(code: string): number {
    if (!this.balances) {
      this.balances = new Map();
      for (const accts of this.t.ledger().movements.values()) for (const [c, v] of accts) this.balances.set(c, (this.balances.get(c) ?? 0) + v);
    }
    return this.balances.get(code) ?? 0;
  }
  private dueBy(name: 'invoices' | 'bills'): Map<number, number> {
    const m = new Map<number, number>();
    for (const d of this.t.collections[name].list({ offset: 0, limit: Number.MAX_SAFE_INTEGER }).items) {
      if (R.docState(d) !== 'live' || d.status === 'VOIDED') continue;
      const due = Math.round(amountDue(d) / d.rate);
      if (due) m.set(d.contactIndex, (m.get(d.contactIndex) ?? 0) + due);
    }
    return m;
  }
  customerBalance(i: number): number {
    this.customerBalances ??= this.dueBy('invoices');
    return this.customerBalances.get(i) ?? 0;
  }
  vendorBalance(i: number): number {
    this.vendorBalances ??= this.dueBy('bills');
    return this.vendorBalances.get(i) ?? 0;
  }
}

function lazy(fn: () => R.QboObject): () => R.QboObject {
  let v: R.QboObject | undefined;
  return () => (v ??= fn());
}

function listAll<K extends CollectionName>(t: Tenant, name: K, sinceMs?: number): RecordTypes[K][] {
  return (t.collections[name] as unknown as { list(o: object): { items: RecordTypes[K][] } }).list({ since: sinceMs, offset: 0, limit: Number.MAX_SAFE_INTEGER }).items;
}

function removed<K extends CollectionName>(t: Tenant, name: K, sinceMs?: number): { record: RecordTypes[K]; atMs: number }[] {
  const out: { record: RecordTypes[K]; atMs: number }[] = [];
  for (const [, e] of (t.collections[name] as unknown as { removedEntries(): Iterable<[number, { record: RecordTypes[K]; atMs: number }]> }).removedEntries()) {
    if (sinceMs === undefined || e.atMs >= sinceMs) out.push(e);
  }
  return out;
}

const tombstone = (id: number, atMs: number): Row => ({
  id,
  updatedMs: atMs,
  state: 'deleted',
  render: () => ({ domain: 'QBO', status: 'Deleted', Id: String(id), MetaData: { LastUpdatedTime: R.qboTimeOf(atMs) } }),
});

type TxnCollection = 'invoices' | 'bills' | 'creditNotes' | 'payments' | 'billPayments' | 'manualJournals' | 'purchaseOrders' | 'billCreditNotes' | 'bankTransactions' | 'bankTransfers';

/**
 * A transaction entity over one ledger collection. `belongs` picks the records that are this entity at all (spend
 * money is a Purchase, receive money a SalesReceipt): the others are neither rows nor tombstones of it.
 */
function transactions<K extends TxnCollection>(
  name: string,
  col: K,
  state: (r: RecordTypes[K]) => 'live' | 'hidden' | 'deleted',
  render: (t: Tenant, r: RecordTypes[K]) => R.QboObject,
  belongs: (r: RecordTypes[K]) => boolean = () => true,
): EntityDef {
  return {
    name,
    nameList: false,
    cdc: true,
    rows(t, _ctx, sinceMs) {
      const out: Row[] = [];
      for (const r of listAll(t, col, sinceMs)) {
        if (!belongs(r)) continue;
        const s = state(r);
        if (s === 'hidden') continue;
        const rec = r as RecordTypes[K] & { index: number; updatedMs: number };
        if (s === 'deleted') out.push(tombstone(rec.index + 1, rec.updatedMs));
        else out.push({ id: rec.index + 1, updatedMs: rec.updatedMs, state: 'live', render: lazy(() => render(t, r)) });
      }
      for (const e of removed(t, col, sinceMs)) {
        if (!belongs(e.record)) continue;
        const rec = e.record as { index: number };
        // A draft that was removed never existed for QuickBooks; anything else leaves a tombstone.
        if (state(e.record) !== 'hidden' || (e.record as { status: string }).status === 'DELETED') out.push(tombstone(rec.index + 1, e.atMs));
      }
      return out;
    },
  };
}

function contacts(name: 'Customer' | 'Vendor'): EntityDef {
  const want = (c: Contact) => (name === 'Customer' ? c.isCustomer : c.isSupplier);
  return {
    name,
    nameList: true,
    cdc: true,
    rows(t, ctx, sinceMs) {
      const render = (c: Contact, active: boolean) => () => {
        const o = name === 'Customer' ? R.renderCustomer(t, c, ctx.customerBalance(c.index)) : R.renderVendor(t, c, ctx.vendorBalance(c.index));
        if (!active) o.Active = false;
        return o;
      };
      const out: Row[] = listAll(t, 'contacts', sinceMs)
        .filter(want)
        .map((c) => ({ id: c.index + 1, updatedMs: c.updatedMs, state: 'live' as const, render: lazy(render(c, true)) }));
      // A removed contact is an inactive one in QuickBooks (name lists are never deleted).
      for (const e of removed(t, 'contacts', sinceMs)) if (want(e.record)) out.push({ id: e.record.index + 1, updatedMs: e.atMs, state: 'live', render: lazy(() => ({ ...render(e.record, false)(), MetaData: R.metaAt(e.record.updatedMs, e.atMs) })) });
      return out;
    },
  };
}

function trackingList(name: 'Class' | 'Department'): EntityDef {
  return {
    name,
    nameList: true,
    cdc: true,
    rows(t, _ctx, sinceMs) {
      const out: Row[] = [];
      for (const c of listAll(t, 'trackingCategories', sinceMs)) {
        if ((c.index === 0) !== (name === 'Class')) continue;
        for (const o of c.options) {
          const obj = lazy(() => R.renderTrackingOption(t, c, o.index));
          out.push({ id: Number(R.trackingRef(t, { category: c.index, option: o.index })!.ref.value), updatedMs: c.updatedMs, state: 'live', render: obj });
        }
      }
      return out;
    },
  };
}

export const ENTITIES: readonly EntityDef[] = [
  {
    name: 'Account',
    nameList: true,
    cdc: true,
    rows: (t, ctx, sinceMs) =>
      listAll(t, 'accounts', sinceMs).map((a) => ({
        id: a.index + 1,
        updatedMs: a.updatedMs,
        state: 'live' as const,
        render: lazy(() => R.renderAccount(t, a, ctx.accountBalance(a.code))),
      })),
  },
  contacts('Customer'),
  contacts('Vendor'),
  {
    name: 'Item',
    nameList: true,
    cdc: true,
    rows(t, _ctx, sinceMs) {
      const out: Row[] = listAll(t, 'items', sinceMs).map((i) => ({ id: i.index + 1, updatedMs: i.updatedMs, state: 'live' as const, render: lazy(() => R.renderItem(t, i)) }));
      // Deleting an item in QuickBooks makes it inactive.
      for (const e of removed(t, 'items', sinceMs)) out.push({ id: e.record.index + 1, updatedMs: e.atMs, state: 'live', render: lazy(() => ({ ...R.renderItem(t, e.record, false), MetaData: R.metaAt(e.record.updatedMs, e.atMs) })) });
      return out;
    },
  },
  trackingList('Class'),
  trackingList('Department'),
  {
    name: 'TaxCode',
    nameList: true,
    cdc: false,
    rows: (t) => listAll(t, 'taxRates').map((r) => ({ id: r.index + 1, updatedMs: r.updatedMs, state: 'live' as const, render: lazy(() => R.renderTaxCode(t, r)) })),
  },
  {
    name: 'TaxRate',
    nameList: true,
    cdc: false,
    rows: (t) =>
      listAll(t, 'taxRates').flatMap((r) => R.renderTaxRates(t, r).map((o) => ({ id: Number(o.Id), updatedMs: r.updatedMs, state: 'live' as const, render: () => o }))),
  },
  transactions('Invoice', 'invoices', R.docState, R.renderInvoice),
  transactions('CreditMemo', 'creditNotes', R.docState, R.renderCreditMemo),
  transactions('Bill', 'bills', R.docState, R.renderBill),
  transactions('Payment', 'payments', (p: Pay) => R.payState(p), R.renderPayment),
  transactions('BillPayment', 'billPayments', (p: Pay) => R.payState(p), R.renderBillPayment),
  transactions('JournalEntry', 'manualJournals', (j: ManualJournal) => R.journalState(j), R.renderJournalEntry),
  // issue 15 (render-more.ts)
  transactions('PurchaseOrder', 'purchaseOrders', (p: PurchaseOrder) => (p.status === 'DELETED' ? 'deleted' : p.status === 'DRAFT' || p.status === 'SUBMITTED' ? 'hidden' : 'live'), X.renderPurchaseOrder),
  transactions('VendorCredit', 'billCreditNotes', (d: Doc) => (d.status === 'VOIDED' ? 'deleted' : R.docState(d)), X.renderVendorCredit),
  transactions('Transfer', 'bankTransfers', (x: BankTransfer) => (x.status === 'DELETED' ? 'deleted' : 'live'), X.renderTransfer),
  transactions('Purchase', 'bankTransactions', bankState, X.renderPurchase, (b: BankTxn) => b.type === 'SPEND'),
  transactions('SalesReceipt', 'bankTransactions', bankState, X.renderSalesReceipt, (b: BankTxn) => b.type === 'RECEIVE'),
  // The neutral ledger pays no customer refunds in cash (its credit notes are allocated to invoices): a company with no
  // refund receipts, whose queries answer an empty QueryResponse and whose CDC reports none.
  { name: 'RefundReceipt', nameList: false, cdc: true, rows: () => [] },
  {
    name: 'PaymentMethod',
    nameList: true,
    cdc: true,
    rows: (t, _ctx, sinceMs) =>
      X.paymentMethodsOf(t)
        .filter((m) => sinceMs === undefined || m.updatedMs >= sinceMs)
        .map((m) => ({ id: m.id, updatedMs: m.updatedMs, state: 'live' as const, render: lazy(() => X.renderPaymentMethod(m)) })),
  },
];

const BY_NAME = new Map(ENTITIES.map((e) => [e.name.toLowerCase(), e]));
export const entityDef = (name: string): EntityDef | undefined => BY_NAME.get(name.toLowerCase());

/** Fields the query endpoint accepts in WHERE and ORDERBY (others: QueryValidationError, as QuickBooks answers). */
export const QUERYABLE = new Set(
  [
    'Id',
    'MetaData.CreateTime',
    'MetaData.LastUpdatedTime',
    'Active',
    'Name',
    'DisplayName',
    'CompanyName',
    'GivenName',
    'FamilyName',
    'FullyQualifiedName',
    'AccountType',
    'AccountSubType',
    'Classification',
    'AcctNum',
    'CurrentBalance',
    'Type',
    'Sku',
    'TxnDate',
    'DueDate',
    'DocNumber',
    'CustomerRef',
    'VendorRef',
    'TotalAmt',
    'Balance',
    'PrimaryEmailAddr',
    'POStatus',
    'PaymentType',
  ].map((f) => f.toLowerCase()),
);
