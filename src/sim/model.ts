/**
 * The simulator's internal records. Amounts are integer cents (exact sums), times are epoch milliseconds; a wire dialect
 * (`xero/render.ts`) turns them into a platform's format. Every record carries its position `index` in its collection (the id encodes it)
 * and `updatedMs`, the platform's UpdatedDateUTC.
 */

import type { Generator } from './generate.js';
import type { BankTransfer, BankTxn } from './banking.js';

export type DocStatus = 'DRAFT' | 'SUBMITTED' | 'AUTHORISED' | 'PAID' | 'VOIDED' | 'DELETED';

export interface TrackingPick {
  category: number;
  option: number;
}

export interface DocLine {
  description: string;
  quantity: number;
  unitCents: number;
  /**
   * Hundredths of a cent beyond `unitCents` (1–99; absent = 0): a unit price's third and fourth decimals, which Xero
   * keeps and shows only with `unitdp=4` (fuel at 1.2345 a litre). `lineCents` is quantity × the full price, rounded.
   */
  unitSubCents?: number;
  discountRate: number;
  discountCents: number;
  /** Quantity × unit − discount, before tax (line amounts are tax-exclusive). */
  lineCents: number;
  taxType: string;
  taxCents: number;
  accountCode: string;
  itemIndex?: number;
  tracking: TrackingPick[];
}

export interface DocPaymentRef {
  /** Index in the payments (or bill payments) collection. */
  index: number;
  dateMs: number;
  amountCents: number;
  reference: string;
}

export interface DocCreditRef {
  /** For an invoice: index of the credit note. For a credit note: index of the invoice it is allocated to. */
  index: number;
  dateMs: number;
  amountCents: number;
}

export type DocKind = 'invoice' | 'bill' | 'creditNote' | 'billCreditNote';

/** Money received from a customer (or paid to a supplier) on account: Xero's overpayments and prepayments (on-account.ts). */
export type OnAccountKind = 'overpayment' | 'prepayment';

/** An invoice's (bill's) share of an overpayment or prepayment allocated to it. */
export interface DocOnAccountRef {
  kind: OnAccountKind;
  /** Index in the overpayments (prepayments) collection. */
  index: number;
  dateMs: number;
  amountCents: number;
}

/** The money of a record with lines (documents, overpayments and prepayments, bank transactions). */
export interface LineAmounts {
  lines: DocLine[];
  subCents: number;
  taxCents: number;
  totalCents: number;
  discountCents: number;
  currency: string;
  /** Xero's CurrencyRate: units of the document currency per unit of base currency (1 for base-currency documents). */
  rate: number;
}

export interface Doc extends LineAmounts {
  kind: DocKind;
  index: number;
  number: string;
  reference: string;
  contactIndex: number;
  dateMs: number;
  dueDateMs: number;
  status: DocStatus;
  payments: DocPaymentRef[];
  credits: DocCreditRef[];
  /** Overpayments and prepayments allocated to this invoice (bill); absent = none. */
  onAccount?: DocOnAccountRef[];
  fullyPaidOnMs?: number;
  sentToContact: boolean;
  updatedMs: number;
}

/**
 * A Xero overpayment or prepayment: money that entered (RECEIVE, from a customer) or left (SPEND, to a supplier) a bank
 * account on account, allocated later to invoices (bills). It posts bank against receivables (payables) when received;
 * an allocation moves no money and posts nothing (on-account.ts).
 */
export interface OnAccount extends LineAmounts {
  kind: OnAccountKind;
  index: number;
  type: 'RECEIVE' | 'SPEND';
  contactIndex: number;
  dateMs: number;
  bankCode: string;
  reference: string;
  /** Xero's statuses: AUTHORISED (credit remaining), PAID (all allocated), VOIDED. */
  status: 'AUTHORISED' | 'PAID' | 'VOIDED';
  isReconciled: boolean;
  /** Allocations to invoices (RECEIVE) or bills (SPEND), by index. */
  allocations: { docIndex: number; dateMs: number; amountCents: number }[];
  updatedMs: number;
}

export type PaymentKind = 'payment' | 'billPayment';

export interface Pay {
  kind: PaymentKind;
  index: number;
  /** Index of the invoice (payment) or bill (bill payment) it is allocated to. */
  docIndex: number;
  dateMs: number;
  amountCents: number;
  bankCode: string;
  reference: string;
  status: 'AUTHORISED' | 'DELETED';
  currency: string;
  rate: number;
  isReconciled: boolean;
  updatedMs: number;
}

export interface SimAddress {
  type: 'POBOX' | 'STREET';
  line1: string;
  line2?: string;
  city: string;
  region: string;
  postalCode: string;
  country: string;
}

export interface SimPhone {
  type: 'DEFAULT' | 'MOBILE' | 'FAX' | 'DDI';
  countryCode: string;
  areaCode: string;
  number: string;
}

export interface Contact {
  index: number;
  name: string;
  firstName: string;
  lastName: string;
  email: string;
  accountNumber: string;
  status: 'ACTIVE' | 'ARCHIVED';
  isCustomer: boolean;
  isSupplier: boolean;
  currency: string;
  taxNumber?: string;
  companyNumber?: string;
  website?: string;
  addresses: SimAddress[];
  phones: SimPhone[];
  persons: { firstName: string; lastName: string; email: string; includeInEmails: boolean }[];
  updatedMs: number;
}

export interface Item {
  index: number;
  code: string;
  name: string;
  description: string;
  purchaseDescription: string;
  isSold: boolean;
  isPurchased: boolean;
  isTracked: boolean;
  salesUnitCents: number;
  salesAccount: string;
  purchaseUnitCents: number;
  purchaseAccount: string;
  quantityOnHand: number;
  updatedMs: number;
}

export type AccountType =
  | 'BANK'
  | 'CURRENT'
  | 'CURRLIAB'
  | 'DEPRECIATN'
  | 'DIRECTCOSTS'
  | 'EQUITY'
  | 'EXPENSE'
  | 'FIXED'
  | 'INVENTORY'
  | 'LIABILITY'
  | 'NONCURRENT'
  | 'OTHERINCOME'
  | 'OVERHEADS'
  | 'PREPAYMENT'
  | 'REVENUE'
  | 'SALES'
  | 'TERMLIAB';

export interface Account {
  index: number;
  code: string;
  name: string;
  type: AccountType;
  status: 'ACTIVE' | 'ARCHIVED' | 'DELETED';
  description: string;
  taxType: string;
  bankAccountType?: 'BANK' | 'CREDITCARD';
  bankAccountNumber?: string;
  systemAccount?: string;
  updatedMs: number;
}

export interface TaxRate {
  index: number;
  taxType: string;
  name: string;
  status: 'ACTIVE' | 'ARCHIVED' | 'DELETED';
  reportTaxType: string;
  components: { name: string; rate: number; isCompound: boolean }[];
  updatedMs: number;
}

export interface TrackingCategory {
  index: number;
  name: string;
  status: 'ACTIVE' | 'ARCHIVED' | 'DELETED';
  options: { index: number; name: string; status: 'ACTIVE' | 'ARCHIVED' | 'DELETED' }[];
  updatedMs: number;
}

export interface ManualJournal {
  index: number;
  narration: string;
  dateMs: number;
  status: 'DRAFT' | 'POSTED' | 'DELETED' | 'VOIDED';
  /** Debits positive, credits negative; they sum to zero. */
  lines: { accountCode: string; description: string; amountCents: number; tracking: TrackingPick[] }[];
  updatedMs: number;
}

/** A Xero purchase order (documents.ts): no accounting effect, so it posts nothing to the ledger. */
export interface PurchaseOrder {
  index: number;
  number: string;
  reference: string;
  contactIndex: number;
  dateMs: number;
  deliveryDateMs: number;
  /** Xero's statuses: DRAFT, SUBMITTED, AUTHORISED, BILLED, DELETED. */
  status: 'DRAFT' | 'SUBMITTED' | 'AUTHORISED' | 'BILLED' | 'DELETED';
  lines: DocLine[];
  subCents: number;
  taxCents: number;
  totalCents: number;
  discountCents: number;
  currency: string;
  deliveryAddress: string;
  attentionTo: string;
  telephone: string;
  deliveryInstructions: string;
  sentToContact: boolean;
  updatedMs: number;
}

export interface Organisation {
  name: string;
  legalName: string;
  baseCurrency: string;
  countryCode: string;
  version: 'UK' | 'US' | 'AU' | 'NZ';
  timezone: string;
  taxNumber: string;
  registrationNumber: string;
  financialYearEndDay: number;
  financialYearEndMonth: number;
  periodLockMs: number;
  createdMs: number;
  shortCode: string;
  lineOfBusiness: string;
  addresses: SimAddress[];
  phones: SimPhone[];
  website: string;
}

/** The collections a tenant serves, by admin name. */
export const COLLECTIONS = [
  'accounts',
  'taxRates',
  'trackingCategories',
  'items',
  'contacts',
  'invoices',
  'bills',
  'creditNotes',
  'payments',
  'billPayments',
  'manualJournals',
  'bankTransactions',
  'bankTransfers',
  'billCreditNotes',
  'purchaseOrders',
  'overpayments',
  'prepayments',
] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

export interface RecordTypes {
  accounts: Account;
  taxRates: TaxRate;
  trackingCategories: TrackingCategory;
  items: Item;
  contacts: Contact;
  invoices: Doc;
  bills: Doc;
  creditNotes: Doc;
  payments: Pay;
  billPayments: Pay;
  manualJournals: ManualJournal;
  bankTransactions: BankTxn;
  bankTransfers: BankTransfer;
  billCreditNotes: Doc;
  purchaseOrders: PurchaseOrder;
  overpayments: OnAccount;
  prepayments: OnAccount;
}

/** A line's unit price with all four decimals. */
export const unitAmount = (l: { unitCents: number; unitSubCents?: number }): number => (l.unitCents * 100 + (l.unitSubCents ?? 0)) / 10_000;

/** Base-currency cents → an amount with two decimals. */
export const money = (cents: number): number => Math.round(cents) / 100;

/** The class of an account type (asset, liability, equity, revenue, expense): what statements group by. */
export function accountClass(type: Account['type']): 'ASSET' | 'EQUITY' | 'EXPENSE' | 'LIABILITY' | 'REVENUE' {
  switch (type) {
    case 'BANK':
    case 'CURRENT':
    case 'FIXED':
    case 'INVENTORY':
    case 'NONCURRENT':
    case 'PREPAYMENT':
      return 'ASSET';
    case 'CURRLIAB':
    case 'LIABILITY':
    case 'TERMLIAB':
      return 'LIABILITY';
    case 'EQUITY':
      return 'EQUITY';
    case 'REVENUE':
    case 'SALES':
    case 'OTHERINCOME':
      return 'REVENUE';
    default:
      return 'EXPENSE';
  }
}

/** What a wire dialect needs from the tenant to render a record: current state of referenced records. */
export interface RenderContext {
  gen: Generator;
  contact(index: number): Contact | undefined;
  item(index: number): Item | undefined;
  account(code: string): Account | undefined;
  trackingCategory(index: number): TrackingCategory | undefined;
  doc(kind: 'invoices' | 'bills' | 'creditNotes' | 'billCreditNotes', index: number): Doc | undefined;
  onAccount(name: 'overpayments' | 'prepayments', index: number): OnAccount | undefined;
}

export const DAY_MS = 86_400_000;
export const dayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
