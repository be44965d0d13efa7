import { deriveUuid, hashInts, hashString, Rng } from './rng.js';
import {
  DAY_MS,
  dayStart,
  type Account,
  type AccountType,
  type CollectionName,
  type Contact,
  type Doc,
  type DocLine,
  type Item,
  type ManualJournal,
  type Organisation,
  type Pay,
  type PurchaseOrder,
  type RecordTypes,
  type SimAddress,
  type SimPhone,
  type TaxRate,
  type TrackingCategory,
  type TrackingPick,
} from './model.js';
import * as W from './names.js';
import { bankingCounts, baseBankTransaction, baseBankTransfer } from './banking.js';
import { billCreditNoteFor, purchaseOrderAt } from './documents.js';
import { onAccountAnchor, onAccountFor, onAccountLayout } from './on-account.js';
import type { OnAccount } from './model.js';

/**
 * Deterministic tenant generation. A tenant is a pure function of (seed, size, anchor day): reference data is small and
 * built eagerly; documents are derived one by one from (seed, index), so any page of a million-invoice tenant costs only
 * its own records. Documents' UpdatedDateUTC grows with their index, so a modified-since filter is a binary search.
 *
 * Consistency by construction: payment i pays invoice i (the oldest invoices are the paid ones), credit note k is
 * allocated to invoice (k+1)·stride−1, bill payment i pays bill i. Invoice and payment are derived together, so they
 * always agree on amounts and dates.
 */

export interface TenantSize {
  invoices: number;
  bills?: number;
  creditNotes?: number;
  customers?: number;
  suppliers?: number;
  items?: number;
  manualJournals?: number;
  /** Supplier credit notes (default bills / 20; documents.ts) and purchase orders (default bills / 4). */
  billCreditNotes?: number;
  purchaseOrders?: number;
  /** Customer overpayments and prepayments, each on its own invoice (default 0; on-account.ts). */
  overpayments?: number;
  prepayments?: number;
  /** Months of document history before the anchor (default 36). */
  historyMonths?: number;
}

export interface ResolvedSize {
  invoices: number;
  bills: number;
  creditNotes: number;
  customers: number;
  suppliers: number;
  items: number;
  manualJournals: number;
  billCreditNotes: number;
  purchaseOrders: number;
  overpayments: number;
  prepayments: number;
  historyMonths: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

export function resolveSize(size: number | TenantSize): ResolvedSize {
  const s: TenantSize = typeof size === 'number' ? { invoices: size } : size;
  const n = Math.max(0, Math.floor(s.invoices));
  const historyMonths = clamp(Math.floor(s.historyMonths ?? 36), 1, 240);
  return {
    invoices: n,
    bills: s.bills ?? Math.floor(n * 0.4),
    creditNotes: s.creditNotes ?? Math.floor(n / 20),
    customers: s.customers ?? clamp(Math.floor(n / 20), 5, 5000),
    suppliers: s.suppliers ?? clamp(Math.floor(n / 50), 5, 2000),
    items: s.items ?? clamp(10 + Math.floor(n / 2000), 10, 500),
    manualJournals: s.manualJournals ?? historyMonths * 2 + Math.floor(n / 2000),
    billCreditNotes: s.billCreditNotes ?? Math.floor((s.bills ?? Math.floor(n * 0.4)) / 20),
    purchaseOrders: s.purchaseOrders ?? Math.floor((s.bills ?? Math.floor(n * 0.4)) / 4),
    overpayments: Math.max(0, Math.floor(s.overpayments ?? 0)),
    prepayments: Math.max(0, Math.floor(s.prepayments ?? 0)),
    historyMonths,
  };
}

export const STREAMS: Record<CollectionName | 'trackingOptions' | 'organisation' | 'activity', number> = {
  accounts: hashString('accounts'),
  taxRates: hashString('taxRates'),
  trackingCategories: hashString('trackingCategories'),
  trackingOptions: hashString('trackingOptions'),
  items: hashString('items'),
  contacts: hashString('contacts'),
  invoices: hashString('invoices'),
  bills: hashString('bills'),
  creditNotes: hashString('creditNotes'),
  payments: hashString('payments'),
  billPayments: hashString('billPayments'),
  manualJournals: hashString('manualJournals'),
  bankTransactions: hashString('bankTransactions'),
  bankTransfers: hashString('bankTransfers'),
  billCreditNotes: hashString('billCreditNotes'),
  purchaseOrders: hashString('purchaseOrders'),
  overpayments: hashString('overpayments'),
  prepayments: hashString('prepayments'),
  organisation: hashString('organisation'),
  activity: hashString('activity'),
};

export const FOREIGN_CURRENCY = 'EUR';
/** Xero's CurrencyRate for the foreign currency: units of EUR per unit of base currency. */
export const FOREIGN_RATE = 1.25;

/** Chart of accounts: [code, name, type, systemAccount?, taxType]. The first three are the bank accounts. */
const CHART: readonly [string, string, AccountType, string | undefined, string][] = [
  ['090', 'Business Bank Account', 'BANK', undefined, 'NONE'],
  ['091', 'Business Savings Account', 'BANK', undefined, 'NONE'],
  ['092', 'Company Credit Card', 'BANK', undefined, 'NONE'],
  ['200', 'Sales', 'REVENUE', undefined, 'OUTPUT2'],
  ['260', 'Other Revenue', 'REVENUE', undefined, 'OUTPUT2'],
  ['270', 'Interest Income', 'OTHERINCOME', undefined, 'NONE'],
  ['310', 'Cost of Goods Sold', 'DIRECTCOSTS', undefined, 'INPUT2'],
  ['400', 'Advertising', 'OVERHEADS', undefined, 'INPUT2'],
  ['404', 'Bank Fees', 'OVERHEADS', undefined, 'NONE'],
  ['408', 'Cleaning', 'OVERHEADS', undefined, 'INPUT2'],
  ['412', 'Consulting & Accounting', 'EXPENSE', undefined, 'INPUT2'],
  ['416', 'Depreciation', 'DEPRECIATN', undefined, 'NONE'],
  ['429', 'General Expenses', 'OVERHEADS', undefined, 'INPUT2'],
  ['433', 'Insurance', 'OVERHEADS', undefined, 'NONE'],
  ['437', 'Interest Expense', 'OVERHEADS', undefined, 'NONE'],
  ['445', 'Light, Power, Heating', 'OVERHEADS', undefined, 'INPUT2'],
  ['449', 'Motor Vehicle Expenses', 'OVERHEADS', undefined, 'INPUT2'],
  ['469', 'Rent', 'OVERHEADS', undefined, 'INPUT2'],
  ['473', 'Repairs and Maintenance', 'OVERHEADS', undefined, 'INPUT2'],
  ['477', 'Salaries', 'EXPENSE', undefined, 'NONE'],
  ['489', 'Telephone & Internet', 'OVERHEADS', undefined, 'INPUT2'],
  ['493', 'Travel - National', 'OVERHEADS', undefined, 'INPUT2'],
  ['499', 'Old Marketing Costs', 'OVERHEADS', undefined, 'INPUT2'],
  ['610', 'Accounts Receivable', 'CURRENT', 'DEBTORS', 'NONE'],
  ['620', 'Prepayments', 'CURRENT', undefined, 'NONE'],
  ['630', 'Inventory', 'INVENTORY', undefined, 'NONE'],
  ['710', 'Office Equipment', 'FIXED', undefined, 'INPUT2'],
  ['711', 'Less Accumulated Depreciation on Office Equipment', 'FIXED', undefined, 'NONE'],
  ['800', 'Accounts Payable', 'CURRLIAB', 'CREDITORS', 'NONE'],
  ['820', 'VAT', 'CURRLIAB', 'GST', 'NONE'],
  ['825', 'Accruals', 'CURRLIAB', undefined, 'NONE'],
  ['900', 'Loan', 'TERMLIAB', undefined, 'NONE'],
  ['960', 'Retained Earnings', 'EQUITY', 'RETAINEDEARNINGS', 'NONE'],
  ['970', 'Owner A Funds Introduced', 'EQUITY', undefined, 'NONE'],
];
export const BANK_CODES = ['090', '091', '092'] as const;
const EXPENSE_CODES = ['400', '404', '408', '412', '429', '433', '445', '449', '469', '473', '489', '493'];

/** [taxType, name, status, reportTaxType, components] */
const TAX_RATES: readonly [string, string, TaxRate['status'], string, TaxRate['components']][] = [
  ['OUTPUT2', '20% (VAT on Income)', 'ACTIVE', 'OUTPUT', [{ name: 'VAT', rate: 20, isCompound: false }]],
  ['INPUT2', '20% (VAT on Expenses)', 'ACTIVE', 'INPUT', [{ name: 'VAT', rate: 20, isCompound: false }]],
  ['RROUTPUT', '5% (VAT on Income)', 'ACTIVE', 'OUTPUT', [{ name: 'VAT', rate: 5, isCompound: false }]],
  ['ZERORATEDOUTPUT', 'Zero Rated Income', 'ACTIVE', 'OUTPUT', [{ name: 'VAT', rate: 0, isCompound: false }]],
  ['ZERORATEDINPUT', 'Zero Rated Expenses', 'ACTIVE', 'INPUT', [{ name: 'VAT', rate: 0, isCompound: false }]],
  ['NONE', 'No VAT', 'ACTIVE', 'NONE', [{ name: 'No tax', rate: 0, isCompound: false }]],
  [
    'TAX001',
    'Import Duty and Levy',
    'ACTIVE',
    'INPUT',
    [
      { name: 'Duty', rate: 5, isCompound: false },
      { name: 'Levy', rate: 2, isCompound: true },
    ],
  ],
  ['EXEMPTOUTPUT', 'Exempt Income', 'ARCHIVED', 'EXEMPTOUTPUT', [{ name: 'VAT', rate: 0, isCompound: false }]],
];

/** Percentage rates of a tax rate: `display` sums the components; `effective` compounds them. */
export function taxRatePercent(components: TaxRate['components']): { display: number; effective: number } {
  let simple = 0;
  let compound = 0;
  for (const c of components) (c.isCompound ? (compound += c.rate) : (simple += c.rate));
  const display = simple + compound;
  const effective = Math.round((simple + compound * (1 + simple / 100)) * 10_000) / 10_000;
  return { display, effective };
}

const TRACKING: readonly [string, [string, 'ACTIVE' | 'ARCHIVED'][]][] = [
  [
    'Region',
    [
      ['North', 'ACTIVE'],
      ['South', 'ACTIVE'],
      ['East', 'ACTIVE'],
      ['West', 'ARCHIVED'],
    ],
  ],
  [
    'Department',
    [
      ['Sales', 'ACTIVE'],
      ['Operations', 'ACTIVE'],
      ['Administration', 'ACTIVE'],
    ],
  ],
];

const ORG_PROFILES = [
  { currency: 'GBP', country: 'GB', version: 'UK', timezone: 'GMTSTANDARDTIME', phone: '44', fyEndMonth: 3 },
  { currency: 'USD', country: 'US', version: 'US', timezone: 'EASTERNSTANDARDTIME', phone: '1', fyEndMonth: 12 },
  { currency: 'AUD', country: 'AU', version: 'AU', timezone: 'AUSEASTERNSTANDARDTIME', phone: '61', fyEndMonth: 6 },
] as const;

export const monthIndexOf = (ms: number): number => {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};
export const monthStartMs = (monthIndex: number): number => Date.UTC(Math.floor(monthIndex / 12), monthIndex % 12, 1);
export const monthEndMs = (monthIndex: number): number => monthStartMs(monthIndex + 1) - DAY_MS;
const roundCents = (x: number) => Math.round(x);
const pad = (n: number, w: number) => String(n).padStart(w, '0');

export class Generator {
  readonly seedHash: number;
  readonly counts: ResolvedSize;
  /** Start of the UTC day the tenant was generated for: everything generated lies before it. */
  readonly anchorMs: number;
  /** First instant of document history (first day of the month historyMonths before the anchor's month). */
  readonly startMs: number;
  readonly endMs: number;
  readonly organisation: Organisation;
  readonly accounts: Account[];
  readonly taxRates: TaxRate[];
  readonly trackingCategories: TrackingCategory[];
  readonly accountByCode: ReadonlyMap<string, Account>;
  /** Invoices [0, paidInvoices) have a payment; so do bills [0, paidBills). */
  readonly paidInvoices: number;
  readonly paidBills: number;
  readonly creditStride: number;
  readonly creditNotes: number;
  /** Bill credit note k belongs to bill (k+1)·billCreditStride−1 (documents.ts). */
  readonly billCreditStride: number;
  readonly billCreditNotes: number;
  private readonly step: Partial<Record<CollectionName, number>> = {};

  constructor(
    readonly seed: string,
    size: number | TenantSize,
    anchor: Date,
  ) {
    this.seedHash = hashString(`syncline-sim:${seed}`);
    this.counts = resolveSize(size);
    this.anchorMs = dayStart(anchor.getTime());
    this.startMs = monthStartMs(monthIndexOf(this.anchorMs) - this.counts.historyMonths);
    this.endMs = this.anchorMs - 3_600_000;
    this.organisation = this.makeOrganisation();
    this.accounts = CHART.map(([code, name, type, systemAccount, taxType], index) => ({
      index,
      code,
      name,
      type,
      status: code === '499' ? 'ARCHIVED' : 'ACTIVE',
      description: `${name} (${type.toLowerCase()})`,
      taxType,
      ...(type === 'BANK'
        ? {
            bankAccountType: code === '092' ? ('CREDITCARD' as const) : ('BANK' as const),
            bankAccountNumber: this.bankAccountNumber(index),
          }
        : {}),
      ...(systemAccount ? { systemAccount } : {}),
      updatedMs: this.startMs - 40 * DAY_MS + index * 1000,
    }));
    this.accountByCode = new Map(this.accounts.map((a) => [a.code, a]));
    this.taxRates = TAX_RATES.map(([taxType, name, status, reportTaxType, components], index) => ({
      index,
      taxType,
      name,
      status,
      reportTaxType,
      components,
      updatedMs: this.startMs - 40 * DAY_MS + index * 1000,
    }));
    this.trackingCategories = TRACKING.map(([name, options], index) => ({
      index,
      name,
      status: 'ACTIVE' as const,
      options: options.map(([optName, status], oi) => ({ index: oi, name: optName, status })),
      updatedMs: this.startMs - 40 * DAY_MS + index * 1000,
    }));
    const n = this.counts.invoices;
    this.creditNotes = Math.min(this.counts.creditNotes, n);
    this.creditStride = this.creditNotes > 0 ? Math.max(1, Math.floor(n / this.creditNotes)) : 0;
    this.billCreditNotes = Math.min(this.counts.billCreditNotes, this.counts.bills);
    this.billCreditStride = this.billCreditNotes > 0 ? Math.max(1, Math.floor(this.counts.bills / this.billCreditNotes)) : 0;
    const paidBefore = this.anchorMs - 45 * DAY_MS;
    this.paidInvoices = this.lowerBound('invoices', paidBefore);
    this.paidBills = this.lowerBound('bills', paidBefore);
  }

  // ----- time layout -------------------------------------------------------------------------------------------

  baseCount(name: CollectionName): number {
    switch (name) {
      case 'accounts':
        return this.accounts.length;
      case 'taxRates':
        return this.taxRates.length;
      case 'trackingCategories':
        return this.trackingCategories.length;
      case 'items':
        return this.counts.items;
      case 'contacts':
        return this.counts.customers + this.counts.suppliers;
      case 'invoices':
        return this.counts.invoices;
      case 'bills':
        return this.counts.bills;
      case 'creditNotes':
        return this.creditNotes;
      case 'payments':
        return this.paidInvoices;
      case 'billPayments':
        return this.paidBills;
      case 'manualJournals':
        return this.counts.manualJournals;
      case 'bankTransactions':
      case 'bankTransfers':
        return bankingCounts(this)[name];
      case 'billCreditNotes':
        return this.billCreditNotes;
      case 'purchaseOrders':
        return this.counts.purchaseOrders;
      case 'overpayments':
      case 'prepayments':
        return onAccountLayout(this, name).count;
    }
  }

  /** UpdatedDateUTC of base record i: non-decreasing in i. */
  baseUpdated(name: CollectionName, i: number): number {
    switch (name) {
      case 'accounts':
      case 'taxRates':
      case 'trackingCategories':
        return this.startMs - 40 * DAY_MS + i * 1000;
      case 'creditNotes':
        return this.spread('invoices', (i + 1) * this.creditStride - 1);
      case 'payments':
        return this.spread('invoices', i);
      case 'billPayments':
        return this.spread('bills', i);
      case 'billCreditNotes':
        return this.spread('bills', (i + 1) * this.billCreditStride - 1);
      case 'overpayments':
      case 'prepayments':
        return this.spread('invoices', onAccountAnchor(this, name, i));
      default:
        return this.spread(name, i);
    }
  }

  /** @internal documents.ts */
  spread(name: CollectionName, i: number): number {
    let step = this.step[name];
    if (step === undefined) {
      step = (this.endMs - this.startMs) / (this.baseCount(name) + 1);
      this.step[name] = step;
    }
    return this.startMs + Math.floor((i + 1) * step);
  }

  /** First base index whose UpdatedDateUTC is ≥ `ms` (binary search: updated times grow with the index). */
  lowerBound(name: CollectionName, ms: number): number {
    let lo = 0;
    let hi = this.baseCount(name);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.baseUpdated(name, mid) < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private readonly idCache = new Map<string, string>();

  id(name: CollectionName, index: number): string {
    if (name === 'taxRates') return this.taxRates[index]?.taxType ?? `TAX${pad(index, 3)}`;
    // Reference records are named on every document line: cache their ids (documents' ids are derived each time).
    if (name === 'accounts' || name === 'contacts' || name === 'items' || name === 'trackingCategories') {
      const key = `${name}:${index}`;
      let id = this.idCache.get(key);
      if (!id) {
        id = deriveUuid(this.seedHash, STREAMS[name], index);
        if (this.idCache.size < 50_000) this.idCache.set(key, id);
      }
      return id;
    }
    return deriveUuid(this.seedHash, STREAMS[name], index);
  }

  trackingOptionId(category: number, option: number): string {
    const key = `opt:${category}:${option}`;
    let id = this.idCache.get(key);
    if (!id) {
      id = deriveUuid(this.seedHash, STREAMS.trackingOptions, category * 1000 + option);
      this.idCache.set(key, id);
    }
    return id;
  }

  organisationId(): string {
    return deriveUuid(this.seedHash, STREAMS.organisation, 0);
  }

  /** Base record i of a collection; undefined past the base count. */
  base<K extends CollectionName>(name: K, i: number): RecordTypes[K] | undefined {
    if (i < 0 || i >= this.baseCount(name)) return undefined;
    const r = ((): unknown => {
      switch (name) {
        // Shared objects: readers never mutate records (Tenant clones before every change).
        case 'accounts':
          return this.accounts[i];
        case 'taxRates':
          return this.taxRates[i];
        case 'trackingCategories':
          return this.trackingCategories[i];
        case 'items':
          return this.item(i);
        case 'contacts':
          return this.contact(i);
        case 'invoices':
          return this.invoiceBundle(i).invoice;
        case 'bills':
          return this.billBundle(i).bill;
        case 'creditNotes':
          return this.invoiceBundle((i + 1) * this.creditStride - 1).creditNote;
        case 'payments':
          return this.invoiceBundle(i).payment;
        case 'billPayments':
          return this.billBundle(i).payment;
        case 'manualJournals':
          return this.manualJournal(i);
        case 'bankTransactions':
          return baseBankTransaction(this, i, this.baseUpdated(name, i));
        case 'bankTransfers':
          return baseBankTransfer(this, i, this.baseUpdated(name, i));
        case 'billCreditNotes':
          return this.billBundle((i + 1) * this.billCreditStride - 1).creditNote;
        case 'purchaseOrders':
          return this.purchaseOrder(i);
        case 'overpayments':
          return this.invoiceBundle(onAccountAnchor(this, name, i)).overpayment;
        case 'prepayments':
          return this.invoiceBundle(onAccountAnchor(this, name, i)).prepayment;
      }
    })();
    return r as RecordTypes[K];
  }

  // ----- reference data -------------------------------------------------------------------------------------

  private makeOrganisation(): Organisation {
    const rng = Rng.of(this.seedHash, STREAMS.organisation, 0);
    const profile = rng.pick(ORG_PROFILES);
    const name = `${rng.pick(W.COMPANY_WORDS_A)} ${rng.pick(W.COMPANY_WORDS_B)}`;
    const fyEndMonth = profile.fyEndMonth;
    const fyEndDay = new Date(Date.UTC(2001, fyEndMonth, 0)).getUTCDate();
    const lockMonth = monthIndexOf(this.anchorMs) - 13;
    return {
      name,
      legalName: `${name} ${profile.currency === 'GBP' ? 'Limited' : 'Pty Ltd'}`.replace('Pty Ltd', profile.currency === 'USD' ? 'Inc.' : 'Pty Ltd'),
      baseCurrency: profile.currency,
      countryCode: profile.country,
      version: profile.version,
      timezone: profile.timezone,
      taxNumber: profile.currency === 'GBP' ? `GB${rng.int(100_000_000, 999_999_999)}` : `${rng.int(10, 99)}-${rng.int(1_000_000, 9_999_999)}`,
      registrationNumber: pad(rng.int(1_000_000, 99_999_999), 8),
      financialYearEndDay: fyEndDay,
      financialYearEndMonth: fyEndMonth,
      periodLockMs: monthEndMs(lockMonth),
      createdMs: this.startMs - 45 * DAY_MS,
      shortCode: `!${rng.int(10000, 99999).toString(36)}`,
      lineOfBusiness: rng.pick(W.COMPANY_WORDS_B),
      addresses: [this.address(rng, 'POBOX', profile.country), this.address(rng, 'STREET', profile.country)],
      phones: [
        { type: 'DEFAULT', countryCode: profile.phone, areaCode: String(rng.int(20, 199)), number: String(rng.int(1_000_000, 9_999_999)) },
      ],
      website: `https://www.${name.toLowerCase().replace(/[^a-z]+/g, '')}.example`,
    };
  }

  private bankAccountNumber(index: number): string {
    const rng = Rng.of(this.seedHash, STREAMS.accounts, index, 7);
    return `${pad(rng.int(10, 99), 2)}-${pad(rng.int(10, 99), 2)}-${pad(rng.int(10, 99), 2)} ${pad(rng.int(10_000_000, 99_999_999), 8)}`;
  }

  private address(rng: Rng, type: SimAddress['type'], country: string): SimAddress {
    const place = rng.pick(W.CITIES);
    return {
      type,
      line1: type === 'POBOX' ? `PO Box ${rng.int(100, 9999)}` : `${rng.int(1, 250)} ${rng.pick(W.STREETS)}`,
      ...(rng.chance(0.3) ? { line2: `Unit ${rng.int(1, 40)}` } : {}),
      city: place.city,
      region: place.region,
      postalCode: `${String.fromCharCode(65 + rng.int(0, 25))}${String.fromCharCode(65 + rng.int(0, 25))}${rng.int(1, 20)} ${rng.int(1, 9)}${String.fromCharCode(65 + rng.int(0, 25))}${String.fromCharCode(65 + rng.int(0, 25))}`,
      country,
    };
  }

  contactName(i: number): string {
    const a = W.COMPANY_WORDS_A.length;
    const b = W.COMPANY_WORDS_B.length;
    const s = W.COMPANY_SUFFIX.length;
    const combos = a * b * s;
    // 7919 is prime and does not divide `combos`, so this is a bijection on [0, combos): names are unique.
    const k = (i * 7919 + (this.seedHash % combos)) % combos;
    const base = `${W.COMPANY_WORDS_A[k % a]} ${W.COMPANY_WORDS_B[Math.floor(k / a) % b]} ${W.COMPANY_SUFFIX[Math.floor(k / (a * b)) % s]}`;
    return i >= combos ? `${base} ${Math.floor(i / combos) + 1}` : base;
  }

  isForeignCustomer(i: number): boolean {
    return i < this.counts.customers && i % 10 === 3;
  }

  private readonly contactCache = new Map<number, Contact>();
  private readonly itemCache = new Map<number, Item>();

  /** Contacts and items are referenced by every document line: derived once (they are few), then shared read-only. */
  contact(i: number): Contact {
    let c = this.contactCache.get(i);
    if (!c) {
      c = this.deriveContact(i);
      if (this.contactCache.size < 20_000) this.contactCache.set(i, c);
    }
    return c;
  }

  item(i: number): Item {
    let it = this.itemCache.get(i);
    if (!it) {
      it = this.deriveItem(i);
      if (this.itemCache.size < 5_000) this.itemCache.set(i, it);
    }
    return it;
  }

  private deriveContact(i: number): Contact {
    const rng = Rng.of(this.seedHash, STREAMS.contacts, i);
    const isCustomer = i < this.counts.customers;
    const first = rng.pick(W.FIRST_NAMES);
    const last = rng.pick(W.LAST_NAMES);
    const name = this.contactName(i);
    const domain = `${name.toLowerCase().replace(/[^a-z]+/g, '')}.example`;
    const country = this.organisation.countryCode;
    const persons = Array.from({ length: rng.int(0, 2) }, () => {
      const f = rng.pick(W.FIRST_NAMES);
      const l = rng.pick(W.LAST_NAMES);
      return { firstName: f, lastName: l, email: `${f}.${l}@${domain}`.toLowerCase(), includeInEmails: rng.chance(0.5) };
    });
    const phones: SimPhone[] = [
      { type: 'DEFAULT', countryCode: this.organisation.phones[0]?.countryCode ?? '44', areaCode: String(rng.int(20, 199)), number: String(rng.int(1_000_000, 9_999_999)) },
    ];
    if (rng.chance(0.5)) phones.push({ type: 'MOBILE', countryCode: phones[0]!.countryCode, areaCode: '7', number: String(rng.int(100_000_000, 999_999_999)) });
    if (rng.chance(0.1)) phones.push({ type: 'FAX', countryCode: phones[0]!.countryCode, areaCode: String(rng.int(20, 199)), number: String(rng.int(1_000_000, 9_999_999)) });
    return {
      index: i,
      name,
      firstName: first,
      lastName: last,
      email: `${first}.${last}@${domain}`.toLowerCase(),
      accountNumber: `${isCustomer ? 'C' : 'S'}${pad(i + 1, 6)}`,
      status: rng.chance(0.03) ? 'ARCHIVED' : 'ACTIVE',
      isCustomer: isCustomer,
      isSupplier: !isCustomer || i % 17 === 5,
      currency: this.isForeignCustomer(i) ? FOREIGN_CURRENCY : this.organisation.baseCurrency,
      ...(rng.chance(0.6) ? { taxNumber: `${country}${rng.int(100_000_000, 999_999_999)}` } : {}),
      ...(rng.chance(0.5) ? { companyNumber: pad(rng.int(1_000_000, 99_999_999), 8) } : {}),
      ...(rng.chance(0.4) ? { website: `https://www.${domain}` } : {}),
      addresses: rng.chance(0.8) ? [this.address(rng, 'POBOX', country), this.address(rng, 'STREET', country)] : [this.address(rng, 'STREET', country)],
      phones,
      persons,
      updatedMs: this.baseUpdated('contacts', i),
    };
  }

  private deriveItem(i: number): Item {
    const rng = Rng.of(this.seedHash, STREAMS.items, i);
    const product = W.PRODUCTS[i % W.PRODUCTS.length]!;
    const name = i >= W.PRODUCTS.length ? `${product} ${Math.floor(i / W.PRODUCTS.length) + 1}` : product;
    const sales = rng.int(5, 900) * 100 + rng.pick([0, 50, 99]);
    const isTracked = i % 5 === 0;
    return {
      index: i,
      code: `ITEM-${pad(i + 1, 4)}`,
      name: name.slice(0, 50),
      description: `${name} (standard)`,
      purchaseDescription: `${name} (supplier)`,
      isSold: true,
      isPurchased: i % 3 !== 2,
      isTracked,
      salesUnitCents: sales,
      salesAccount: '200',
      purchaseUnitCents: Math.round(sales * 0.6),
      purchaseAccount: isTracked ? '630' : '310',
      quantityOnHand: isTracked ? rng.int(0, 500) : 0,
      updatedMs: this.baseUpdated('items', i),
    };
  }

  // ----- documents --------------------------------------------------------------------------------------------

  private tracking(rng: Rng): TrackingPick[] {
    const picks: TrackingPick[] = [];
    if (rng.chance(0.5)) picks.push({ category: 0, option: rng.int(0, 2) });
    if (rng.chance(0.3)) picks.push({ category: 1, option: rng.int(0, 2) });
    return picks;
  }

  /** @internal documents.ts */
  line(rng: Rng, sales: boolean, foreign: boolean): DocLine {
    let description: string;
    let unitCents: number;
    let accountCode: string;
    let itemIndex: number | undefined;
    const items = this.counts.items;
    if (items > 0 && rng.chance(sales ? 0.6 : 0.3)) {
      itemIndex = rng.int(0, items - 1);
      const item = this.item(itemIndex);
      description = sales ? item.description : item.purchaseDescription;
      unitCents = sales ? item.salesUnitCents : item.purchaseUnitCents;
      accountCode = sales ? item.salesAccount : item.purchaseAccount;
    } else if (sales) {
      description = rng.pick(W.PRODUCTS);
      unitCents = rng.int(10, 2000) * 100 + rng.pick([0, 25, 50, 95]);
      accountCode = rng.chance(0.85) ? '200' : '260';
    } else {
      description = rng.pick(W.EXPENSE_DESCRIPTIONS);
      unitCents = rng.int(5, 600) * 100 + rng.pick([0, 20, 49, 99]);
      accountCode = rng.chance(0.3) ? '310' : rng.chance(0.03) ? '710' : rng.pick(EXPENSE_CODES);
    }
    const quantity = rng.int(1, 10);
    const discountRate = sales && rng.chance(0.1) ? rng.pick([5, 10]) : 0;
    // About one expense line in eight is priced to four decimals (fuel, utilities by the unit). Derived by hashing, not
    // drawn from `rng`, so every other generated value stays as it was.
    const h = sales || itemIndex !== undefined ? 1 : hashInts(this.seedHash, unitCents, quantity, hashString(description));
    const unitSubCents = h % 8 === 0 ? 1 + ((h >>> 8) % 99) : 0;
    const gross = Math.round((quantity * (unitCents * 100 + unitSubCents)) / 100);
    const discountCents = roundCents((gross * discountRate) / 100);
    const lineCents = gross - discountCents;
    const taxType = sales
      ? foreign
        ? 'ZERORATEDOUTPUT'
        : rng.chance(0.9)
          ? 'OUTPUT2'
          : rng.chance(0.5)
            ? 'RROUTPUT'
            : 'ZERORATEDOUTPUT'
      : rng.chance(0.85)
        ? 'INPUT2'
        : rng.chance(0.4)
          ? 'ZERORATEDINPUT'
          : 'NONE';
    const taxCents = roundCents((lineCents * this.taxPercent(taxType)) / 100);
    return {
      description,
      quantity,
      unitCents,
      ...(unitSubCents ? { unitSubCents } : {}),
      discountRate,
      discountCents,
      lineCents,
      taxType,
      taxCents,
      accountCode,
      ...(itemIndex !== undefined ? { itemIndex } : {}),
      tracking: this.tracking(rng),
    };
  }

  /**
   * The one line of a credit note raised against a document: 10–40 % of the document's first line (at least 1.00),
   * on the same account, tax type and tracking.
   */
  creditLine(rng: Rng, first: DocLine, prefix: string): DocLine {
    const unitCents = Math.max(100, Math.round(first.lineCents * (rng.int(10, 40) / 100)));
    return {
      description: `${prefix}: ${first.description}`,
      quantity: 1,
      unitCents,
      discountRate: 0,
      discountCents: 0,
      lineCents: unitCents,
      taxType: first.taxType,
      taxCents: roundCents((unitCents * this.taxPercent(first.taxType)) / 100),
      accountCode: first.accountCode,
      tracking: first.tracking,
    };
  }

  taxPercent(taxType: string): number {
    const t = this.taxRates.find((r) => r.taxType === taxType);
    return t ? taxRatePercent(t.components).effective : 0;
  }

  /** Builds a document's lines and totals. */
  /** `l` at another unit price (up to four decimals) and quantity: line amount and tax recomputed. */
  repriceLine(l: DocLine, unitPrice: number, quantity: number): DocLine {
    const unit10k = Math.round(unitPrice * 10_000);
    const unitCents = Math.floor(unit10k / 100);
    const unitSubCents = unit10k - unitCents * 100;
    const gross = Math.round((quantity * unit10k) / 100);
    const discountCents = roundCents((gross * l.discountRate) / 100);
    const lineCents = gross - discountCents;
    const { unitSubCents: _old, ...rest } = l;
    return { ...rest, quantity, unitCents, ...(unitSubCents ? { unitSubCents } : {}), discountCents, lineCents, taxCents: roundCents((lineCents * this.taxPercent(l.taxType)) / 100) };
  }

  makeLines(rng: Rng, sales: boolean, foreign: boolean, count: number): Pick<Doc, 'lines' | 'subCents' | 'taxCents' | 'totalCents' | 'discountCents'> {
    const lines = Array.from({ length: count }, () => this.line(rng, sales, foreign));
    return totals(lines);
  }

  private customerFor(rng: Rng): number {
    const r = rng.next();
    return Math.min(this.counts.customers - 1, Math.floor(this.counts.customers * r * r));
  }

  invoiceBundle(i: number): { invoice: Doc; payment?: Pay; creditNote?: Doc; overpayment?: OnAccount; prepayment?: OnAccount } {
    const rng = Rng.of(this.seedHash, STREAMS.invoices, i);
    const n = this.counts.invoices;
    const u = this.spread('invoices', i);
    const customer = this.customerFor(rng);
    const foreign = this.isForeignCustomer(customer);
    const currency = foreign ? FOREIGN_CURRENCY : this.organisation.baseCurrency;
    const rate = foreign ? FOREIGN_RATE : 1;
    const body = this.makeLines(rng, true, foreign, rng.int(1, 4));
    const paid = i < this.paidInvoices;
    const payLagDays = rng.int(7, 60);
    const terms = rng.pick([14, 30, 30, 45]);
    const payDate = dayStart(u);
    const dateMs = paid ? payDate - payLagDays * DAY_MS : dayStart(u) - rng.int(0, 2) * DAY_MS;
    let status: Doc['status'] = 'AUTHORISED';
    if (!paid && i >= n - Math.max(1, Math.floor(n / 200)) && rng.chance(0.5)) status = 'DRAFT';
    else if (!paid && rng.chance(0.03)) status = 'VOIDED';
    const invoice: Doc = {
      kind: 'invoice',
      index: i,
      number: `INV-${pad(i + 1, 6)}`,
      reference: rng.chance(0.6) ? `PO ${rng.int(1000, 99999)}` : '',
      contactIndex: customer,
      dateMs,
      dueDateMs: dateMs + terms * DAY_MS,
      status,
      ...body,
      currency,
      rate,
      payments: [],
      credits: [],
      sentToContact: status !== 'DRAFT',
      updatedMs: u,
    };
    let creditNote: Doc | undefined;
    const stride = this.creditStride;
    if (stride > 0 && i % stride === stride - 1 && Math.floor(i / stride) < this.creditNotes) {
      const k = Math.floor(i / stride);
      const cnLines: DocLine[] = [this.creditLine(rng, invoice.lines[0]!, 'Credit')];
      const cnDate = paid ? dateMs + rng.int(1, 5) * DAY_MS : dateMs;
      creditNote = {
        kind: 'creditNote',
        index: k,
        number: `CN-${pad(k + 1, 6)}`,
        reference: `Credit for ${invoice.number}`,
        contactIndex: customer,
        dateMs: cnDate,
        dueDateMs: cnDate,
        status: 'AUTHORISED',
        ...totals(cnLines),
        currency,
        rate,
        payments: [],
        credits: [],
        sentToContact: true,
        updatedMs: u,
      };
      if (status === 'AUTHORISED' && creditNote.totalCents < invoice.totalCents) {
        creditNote.credits.push({ index: i, dateMs: cnDate, amountCents: creditNote.totalCents });
        creditNote.status = 'PAID';
        creditNote.fullyPaidOnMs = cnDate;
        invoice.credits.push({ index: k, dateMs: cnDate, amountCents: creditNote.totalCents });
      }
    }
    // Money on account allocated to it (on-account.ts): its own random stream, so the draws below stay as they were.
    const onAccount = onAccountFor(this, invoice, paid);
    let payment: Pay | undefined;
    if (paid) {
      const due = amountDue(invoice);
      const partial = rng.chance(0.1);
      const amountCents = partial ? Math.max(1, Math.round(due * (rng.int(30, 90) / 100))) : due;
      payment = {
        kind: 'payment',
        index: i,
        docIndex: i,
        dateMs: payDate,
        amountCents,
        bankCode: rng.chance(0.9) ? '090' : '091',
        reference: rng.chance(0.7) ? `BACS ${rng.int(100_000, 999_999)}` : '',
        status: 'AUTHORISED',
        currency,
        rate,
        isReconciled: rng.chance(0.8),
        updatedMs: u,
      };
      invoice.payments.push({ index: i, dateMs: payDate, amountCents, reference: payment.reference });
      if (amountDue(invoice) === 0) {
        invoice.status = 'PAID';
        invoice.fullyPaidOnMs = payDate;
      }
    }
    return { invoice, ...(payment ? { payment } : {}), ...(creditNote ? { creditNote } : {}), ...onAccount };
  }

  billBundle(i: number): { bill: Doc; payment?: Pay; creditNote?: Doc } {
    const rng = Rng.of(this.seedHash, STREAMS.bills, i);
    const n = this.counts.bills;
    const u = this.spread('bills', i);
    const supplier = this.counts.customers + rng.int(0, this.counts.suppliers - 1);
    const body = this.makeLines(rng, false, false, rng.int(1, 3));
    const paid = i < this.paidBills;
    const payDate = dayStart(u);
    const dateMs = paid ? payDate - rng.int(5, 40) * DAY_MS : dayStart(u) - rng.int(0, 3) * DAY_MS;
    let status: Doc['status'] = 'AUTHORISED';
    if (!paid && i >= n - Math.max(1, Math.floor(n / 200)) && rng.chance(0.5)) status = rng.chance(0.5) ? 'DRAFT' : 'SUBMITTED';
    else if (!paid && rng.chance(0.02)) status = 'VOIDED';
    const bill: Doc = {
      kind: 'bill',
      index: i,
      number: `SI-${rng.int(10_000, 99_999)}`,
      reference: rng.chance(0.5) ? `PO-${pad(rng.int(1, 99_999), 5)}` : '',
      contactIndex: supplier,
      dateMs,
      dueDateMs: dateMs + 30 * DAY_MS,
      status,
      ...body,
      currency: this.organisation.baseCurrency,
      rate: 1,
      payments: [],
      credits: [],
      sentToContact: false,
      updatedMs: u,
    };
    // A supplier credit note on every billCreditStride-th bill, allocated to it (before its payment) when it is open.
    const creditNote = billCreditNoteFor(this, bill);
    let payment: Pay | undefined;
    if (paid) {
      const due = amountDue(bill);
      const amountCents = rng.chance(0.08) ? Math.max(1, Math.round(due * 0.5)) : due;
      payment = {
        kind: 'billPayment',
        index: i,
        docIndex: i,
        dateMs: payDate,
        amountCents,
        bankCode: rng.chance(0.75) ? '090' : '092',
        reference: rng.chance(0.5) ? `DD ${rng.int(1000, 9999)}` : '',
        status: 'AUTHORISED',
        currency: bill.currency,
        rate: 1,
        isReconciled: rng.chance(0.8),
        updatedMs: u,
      };
      bill.payments.push({ index: i, dateMs: payDate, amountCents, reference: payment.reference });
      if (amountDue(bill) === 0) {
        bill.status = 'PAID';
        bill.fullyPaidOnMs = payDate;
      }
    }
    return { bill, ...(payment ? { payment } : {}), ...(creditNote ? { creditNote } : {}) };
  }

  manualJournal(i: number): ManualJournal {
    const rng = Rng.of(this.seedHash, STREAMS.manualJournals, i);
    const u = this.spread('manualJournals', i);
    const amount = rng.int(100, 2500) * 100;
    const kinds: [string, string, string][] = [
      ['Monthly depreciation', '416', '711'],
      ['Salary accrual', '477', '825'],
      ['Loan interest', '437', '900'],
      ['Reclassify marketing spend', '429', '400'],
    ];
    const [narration, debit, credit] = kinds[i % kinds.length]!;
    const tracking = this.tracking(rng);
    const n = this.counts.manualJournals;
    return {
      index: i,
      narration: `${narration} #${i + 1}`,
      dateMs: dayStart(u),
      status: i >= n - Math.max(1, Math.floor(n / 100)) && rng.chance(0.5) ? 'DRAFT' : 'POSTED',
      lines: [
        { accountCode: debit, description: narration, amountCents: amount, tracking },
        { accountCode: credit, description: narration, amountCents: -amount, tracking: [] },
      ],
      updatedMs: u,
    };
  }

  purchaseOrder(i: number): PurchaseOrder {
    return purchaseOrderAt(this, i);
  }

  /** Opening balances posted in the first month of history: owner's funds and a loan, both into the main bank. */
  openingCash(): { ownerCents: number; loanCents: number } {
    const rng = Rng.of(this.seedHash, STREAMS.organisation, 1);
    return { ownerCents: rng.int(50, 200) * 1_000_00, loanCents: rng.int(20, 80) * 1_000_00 };
  }
}

export function totals(lines: DocLine[]): Pick<Doc, 'lines' | 'subCents' | 'taxCents' | 'totalCents' | 'discountCents'> {
  let sub = 0;
  let tax = 0;
  let disc = 0;
  for (const l of lines) {
    sub += l.lineCents;
    tax += l.taxCents;
    disc += l.discountCents;
  }
  return { lines, subCents: sub, taxCents: tax, totalCents: sub + tax, discountCents: disc };
}

export function amountPaid(d: Doc): number {
  return d.payments.reduce((s, p) => s + p.amountCents, 0);
}
/** Credit notes, overpayments and prepayments applied to the document (Xero's AmountCredited). */
export function amountCredited(d: Doc): number {
  return d.credits.reduce((s, c) => s + c.amountCents, 0) + (d.onAccount ?? []).reduce((s, c) => s + c.amountCents, 0);
}
export function amountDue(d: Doc): number {
  if (d.status === 'VOIDED' || d.status === 'DELETED') return 0;
  return d.totalCents - amountPaid(d) - amountCredited(d);
}
