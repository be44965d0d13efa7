/**
 * The QuickBooks Online entities beyond v1 (issue 15), rendered from the same platform-neutral ledger records the Xero
 * dialect serves, so both dialects show the same money for a tenant:
 * - `PurchaseOrder` ← the ledger's purchase orders (no accounting effect). QuickBooks has no draft or awaiting-approval
 *   orders: those do not exist here; AUTHORISED is `POStatus: Open`, BILLED `Closed`.
 * - `VendorCredit` ← supplier credit notes. `Balance` is the credit not yet applied to bills. QuickBooks cannot void a
 *   vendor credit (only delete it), so a voided one is gone, like a deleted one (CDC tombstone).
 * - `Transfer` ← transfers between the tenant's bank accounts.
 * - `Purchase` (an expense: cash, check or credit-card purchase) ← spend money; `SalesReceipt` ← receive money. The
 *   account paid from / deposited to is the bank account of the ledger record; a card account makes `PaymentType`
 *   `CreditCard`. A voided one stays with zero amounts and "Voided" in `PrivateNote`, as QuickBooks voids do.
 * - `PaymentMethod` ← the payment methods QuickBooks creates for every new company (the neutral ledger has none, as
 *   Xero has none): a name list, never deleted, only made inactive.
 */
import { amountCredited, amountPaid } from '../generate.js';
import type { BankTransfer, BankTxn } from '../banking.js';
import type { Doc, PurchaseOrder } from '../model.js';
import type { Tenant } from '../tenant.js';
import { accountRef, compact, contactRef, createdMs, currencyRef, department, docCommon, exchangeRate, expenseLine, money, salesLine, syncToken, taxDetail } from './render.js';
import { qboDate, qboTime } from './time.js';

const head = (t: Tenant, name: 'purchaseOrders' | 'bankTransactions' | 'bankTransfers', index: number, updatedMs: number) => ({
  domain: 'QBO',
  sparse: false,
  Id: String(index + 1),
  SyncToken: syncToken(t, name, index, updatedMs),
  MetaData: { CreateTime: qboTime(Math.min(createdMs(t, name, index, updatedMs), updatedMs)), LastUpdatedTime: qboTime(updatedMs) },
});

export function renderPurchaseOrder(t: Tenant, p: PurchaseOrder) {
  const voided = false;
  return compact({
    ...head(t, 'purchaseOrders', p.index, p.updatedMs),
    DocNumber: p.number,
    TxnDate: qboDate(p.dateMs),
    DueDate: qboDate(p.deliveryDateMs),
    CurrencyRef: currencyRef(p.currency),
    ExchangeRate: 1,
    PrivateNote: p.reference || undefined,
    Memo: p.deliveryInstructions || undefined,
    DepartmentRef: department(t, p.lines),
    VendorRef: contactRef(t, p.contactIndex),
    APAccountRef: accountRef(t, '800'),
    ShipAddr: p.deliveryAddress ? { Id: String(p.index + 1), Line1: p.deliveryAddress } : undefined,
    POStatus: p.status === 'BILLED' ? 'Closed' : 'Open',
    EmailStatus: p.sentToContact ? 'EmailSent' : 'NotSet',
    Line: p.lines.map((l, n) => expenseLine(t, l, n, voided)),
    TxnTaxDetail: taxDetail(t, p, voided),
    GlobalTaxCalculation: 'TaxExcluded',
    TotalAmt: money(p.totalCents),
  });
}

/** Remaining credit of a supplier credit note: total less what was applied to bills or refunded. */
export const vendorCreditBalance = (d: Doc): number => d.totalCents - amountCredited(d) - amountPaid(d);

export function renderVendorCredit(t: Tenant, d: Doc) {
  const { head: common } = docCommon(t, d, 'billCreditNotes');
  return compact({
    ...common,
    DocNumber: d.number,
    VendorRef: contactRef(t, d.contactIndex),
    APAccountRef: accountRef(t, '800'),
    Line: d.lines.map((l, n) => expenseLine(t, l, n, false)),
    LinkedTxn: d.credits.map((c) => ({ TxnId: String(c.index + 1), TxnType: 'Bill' })),
    TotalAmt: money(d.totalCents),
    Balance: money(vendorCreditBalance(d)),
  });
}

export function renderTransfer(t: Tenant, x: BankTransfer) {
  return compact({
    ...head(t, 'bankTransfers', x.index, x.updatedMs),
    TxnDate: qboDate(x.dateMs),
    CurrencyRef: currencyRef(t.gen.organisation.baseCurrency),
    PrivateNote: x.reference || undefined,
    FromAccountRef: accountRef(t, x.fromCode),
    ToAccountRef: accountRef(t, x.toCode),
    Amount: money(x.amountCents),
  });
}

function bankCommon(t: Tenant, b: BankTxn) {
  const voided = b.status === 'VOIDED';
  const note = [voided ? 'Voided' : undefined].filter(Boolean).join(' ');
  return {
    voided,
    common: {
      ...head(t, 'bankTransactions', b.index, b.updatedMs),
      DocNumber: b.reference || undefined,
      TxnDate: qboDate(b.dateMs),
      CurrencyRef: currencyRef(b.currency),
      ExchangeRate: exchangeRate(b.rate),
      PrivateNote: note || undefined,
      DepartmentRef: department(t, b.lines),
      TxnTaxDetail: taxDetail(t, b, voided),
      GlobalTaxCalculation: 'TaxExcluded',
      TotalAmt: voided ? 0 : money(b.totalCents),
    },
  };
}

/** Spend money as an expense (`Purchase`): paid from a bank account (Cash) or charged to a card (CreditCard). */
export function renderPurchase(t: Tenant, b: BankTxn) {
  const { voided, common } = bankCommon(t, b);
  const card = t.account(b.bankCode)?.bankAccountType === 'CREDITCARD';
  const vendor = contactRef(t, b.contactIndex);
  return compact({
    ...common,
    AccountRef: accountRef(t, b.bankCode),
    PaymentType: card ? 'CreditCard' : 'Cash',
    Credit: card ? false : undefined,
    EntityRef: { ...vendor, type: 'Vendor' },
    Line: b.lines.map((l, n) => expenseLine(t, l, n, voided)),
  });
}

/** Receive money as a sales receipt, deposited straight to the bank account. */
export function renderSalesReceipt(t: Tenant, b: BankTxn) {
  const { voided, common } = bankCommon(t, b);
  const subtotal = b.lines.reduce((a, l) => a + l.lineCents, 0);
  return compact({
    ...common,
    CustomerRef: contactRef(t, b.contactIndex),
    DepositToAccountRef: accountRef(t, b.bankCode),
    PaymentRefNum: b.reference || undefined,
    Line: [...b.lines.map((l, n) => salesLine(t, l, n, voided)), { Amount: voided ? 0 : money(subtotal), DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} }],
    Balance: 0,
    PrintStatus: 'NotSet',
    EmailStatus: 'NotSet',
  });
}

// ----- payment methods ------------------------------------------------------------------------------------------

export interface PaymentMethodRow {
  id: number;
  name: string;
  type: 'CREDIT_CARD' | 'NON_CREDIT_CARD';
  active: boolean;
  createdMs: number;
  updatedMs: number;
}

/** The payment methods a new QuickBooks Online company starts with. */
const DEFAULT_METHODS: [string, PaymentMethodRow['type']][] = [
  ['Cash', 'NON_CREDIT_CARD'],
  ['Check', 'NON_CREDIT_CARD'],
  ['Visa', 'CREDIT_CARD'],
  ['MasterCard', 'CREDIT_CARD'],
  ['Discover', 'CREDIT_CARD'],
  ['American Express', 'CREDIT_CARD'],
  ['Diners Club', 'CREDIT_CARD'],
];

const METHODS = new WeakMap<Tenant, PaymentMethodRow[]>();

/** A realm's payment methods (created with the company; QuickBooks-only, so kept beside the tenant, not in it). */
export function paymentMethodsOf(t: Tenant): PaymentMethodRow[] {
  let rows = METHODS.get(t);
  if (!rows) {
    const at = t.gen.startMs;
    rows = DEFAULT_METHODS.map(([name, type], i) => ({ id: i + 1, name, type, active: true, createdMs: at, updatedMs: at }));
    METHODS.set(t, rows);
  }
  return rows;
}

/** Adds a payment method, or changes one (name, active), stamped with the tenant's now. */
export function upsertPaymentMethod(t: Tenant, id: number | undefined, patch: { name?: string; type?: PaymentMethodRow['type']; active?: boolean }): PaymentMethodRow {
  const rows = paymentMethodsOf(t);
  const now = t.nowMs();
  let row = id === undefined ? undefined : rows.find((r) => r.id === id);
  if (id !== undefined && !row) throw Object.assign(new Error(`no payment method ${id}`), { status: 404 });
  if (!row) {
    if (!patch.name) throw Object.assign(new Error('name is required'), { status: 400 });
    row = { id: rows.length + 1, name: patch.name, type: patch.type ?? 'NON_CREDIT_CARD', active: true, createdMs: now, updatedMs: now };
    rows.push(row);
  }
  if (patch.name !== undefined) row.name = patch.name;
  if (patch.type !== undefined) row.type = patch.type;
  if (patch.active !== undefined) row.active = patch.active;
  row.updatedMs = now;
  return row;
}

export function renderPaymentMethod(r: PaymentMethodRow) {
  return {
    Name: r.name,
    Active: r.active,
    Type: r.type,
    domain: 'QBO',
    sparse: false,
    Id: String(r.id),
    SyncToken: String(r.updatedMs === r.createdMs ? 0 : 1),
    MetaData: { CreateTime: qboTime(r.createdMs), LastUpdatedTime: qboTime(r.updatedMs) },
  };
}
