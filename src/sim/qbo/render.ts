/**
 * The platform-neutral ledger's records rendered as QuickBooks Online v3 JSON entities (the shapes of Intuit's XSDs:
 * `Id`, `SyncToken`, `MetaData{CreateTime, LastUpdatedTime}`, `{value, name}` references, `Line[]` with a
 * `DetailType` and its detail object).
 *
 * QuickBooks is not Xero, and where the two differ the rendering follows QuickBooks:
 * - Ids are small integers per entity (`index + 1`).
 * - There are no draft documents: the ledger's DRAFT/SUBMITTED documents and draft journals do not exist here.
 * - Transactions are hard-deleted: a DELETED document, payment or journal (and a voided journal, which QuickBooks
 *   cannot void) is gone from queries; only CDC reports it, as a tombstone stamped with the deletion time.
 * - A voided invoice, bill or credit memo stays, with every amount zeroed and "Voided" in its PrivateNote.
 * - Name-list entities (accounts, customers, vendors, items, classes, departments, tax codes) are never deleted: an
 *   archived or deleted one is `Active: false`, still dated by its last change.
 * - Tracking: the ledger's first tracking category is QuickBooks' Class (per line); the others are Departments (one
 *   per transaction, taken from the first line that names one).
 * - ExchangeRate is home currency per unit of the document's currency (the inverse of Xero's CurrencyRate).
 */
import { amountCredited, amountDue, amountPaid, taxRatePercent } from '../generate.js';
import type { Account, Contact, Doc, DocLine, Item, ManualJournal, Pay, SimAddress, TaxRate, TrackingCategory, TrackingPick } from '../model.js';
import { unitAmount } from '../model.js';
import type { Tenant } from '../tenant.js';
import { qboDate, qboTime } from './time.js';

export type QboObject = Record<string, unknown>;

export const money = (cents: number): number => Math.round(cents) / 100;

const CURRENCY_NAMES: Record<string, string> = {
  GBP: 'British Pound Sterling',
  USD: 'United States Dollar',
  AUD: 'Australian Dollar',
  EUR: 'Euro',
  NZD: 'New Zealand Dollar',
};
export const currencyRef = (code: string) => ({ value: code, name: CURRENCY_NAMES[code] ?? code });

export const compact = <T extends Record<string, unknown>>(o: T): T => {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
};

function meta(created: number, updated: number) {
  return { CreateTime: qboTime(Math.min(created, updated)), LastUpdatedTime: qboTime(updated) };
}
export const metaAt = meta;
export const qboTimeOf = qboTime;

/** Per-record creation time: generated records were created when first dated; created ones when first saved. */
export function createdMs(t: Tenant, name: Parameters<Tenant['gen']['baseUpdated']>[0], index: number, updated: number): number {
  return index < t.gen.baseCount(name) ? t.gen.baseUpdated(name, index) : updated;
}

export function syncToken(t: Tenant, name: Parameters<Tenant['gen']['baseUpdated']>[0], index: number, updated: number): string {
  return String(updated === createdMs(t, name, index, updated) ? 0 : 1);
}

// ----- references -------------------------------------------------------------------------------------------------

export function accountRef(t: Tenant, code: string): { value: string; name: string } | undefined {
  const a = t.account(code);
  return a ? { value: String(a.index + 1), name: a.name } : undefined;
}

export function taxCodeRef(t: Tenant, taxType: string): { value: string; name: string } | undefined {
  const i = t.indexOf('taxRates', taxType);
  const r = i === undefined ? undefined : t.collections.taxRates.get(i);
  return r ? { value: String(r.index + 1), name: r.name } : undefined;
}

/** Class for category 0, Department for the others (ids per list). */
export function trackingRef(t: Tenant, p: TrackingPick): { kind: 'Class' | 'Department'; ref: { value: string; name: string } } | undefined {
  const c = t.trackingCategory(p.category);
  const o = c?.options.find((x) => x.index === p.option);
  if (!c || !o) return undefined;
  if (p.category === 0) return { kind: 'Class', ref: { value: String(p.option + 1), name: o.name } };
  return { kind: 'Department', ref: { value: String((p.category - 1) * 100 + p.option + 1), name: o.name } };
}

export function contactRef(t: Tenant, index: number) {
  const c = t.contact(index);
  return { value: String(index + 1), name: c?.name ?? '' };
}

function address(a: SimAddress | undefined) {
  if (!a) return undefined;
  return compact({ Line1: a.line1, Line2: a.line2, City: a.city, CountrySubDivisionCode: a.region, PostalCode: a.postalCode, Country: a.country });
}

function phoneText(p: { countryCode: string; areaCode: string; number: string } | undefined) {
  return p ? { FreeFormNumber: `+${p.countryCode} ${p.areaCode} ${p.number}` } : undefined;
}

export const exchangeRate = (rate: number) => (rate === 1 ? 1 : Math.round((1 / rate) * 1e6) / 1e6);

// ----- company ----------------------------------------------------------------------------------------------------

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function renderCompanyInfo(t: Tenant, realmId: string) {
  const o = t.gen.organisation;
  const street = o.addresses.find((a) => a.type === 'STREET') ?? o.addresses[0];
  const postal = o.addresses.find((a) => a.type === 'POBOX') ?? street;
  return {
    CompanyName: t.displayName,
    LegalName: o.legalName,
    CompanyAddr: compact({ Id: '1', ...address(street) }),
    CustomerCommunicationAddr: compact({ Id: '2', ...address(postal) }),
    LegalAddr: compact({ Id: '3', ...address(street) }),
    PrimaryPhone: phoneText(o.phones[0]),
    CompanyStartDate: qboDate(o.createdMs),
    FiscalYearStartMonth: MONTH_NAMES[o.financialYearEndMonth % 12],
    Country: o.countryCode,
    Email: { Address: `accounts@${t.displayName.toLowerCase().replace(/[^a-z]+/g, '')}.example` },
    WebAddr: { URI: o.website },
    SupportedLanguages: 'en',
    NameValue: [
      { Name: 'NeoEnabled', Value: 'true' },
      { Name: 'IndustryType', Value: o.lineOfBusiness },
      { Name: 'CompanyType', Value: 'Limited Company' },
      { Name: 'OfferingSku', Value: 'QuickBooks Online Plus' },
    ],
    domain: 'QBO',
    sparse: false,
    Id: '1',
    SyncToken: '1',
    MetaData: meta(o.createdMs, Math.max(o.createdMs, t.gen.startMs - 40 * 86_400_000)),
    // Not QuickBooks' field: which realm this is (QuickBooks puts it only in the URL).
    RealmId: realmId,
  };
}

export function renderPreferences(t: Tenant) {
  const o = t.gen.organisation;
  return {
    AccountingInfoPrefs: {
      TrackDepartments: true,
      DepartmentTerminology: 'Location',
      ClassTrackingPerTxn: false,
      ClassTrackingPerTxnLine: true,
      FirstMonthOfFiscalYear: MONTH_NAMES[o.financialYearEndMonth % 12],
      TaxYearMonth: MONTH_NAMES[o.financialYearEndMonth % 12],
      BookCloseDate: qboDate(o.periodLockMs),
    },
    CurrencyPrefs: { MultiCurrencyEnabled: true, HomeCurrency: { value: o.baseCurrency } },
    TaxPrefs: { UsingSalesTax: true, PartnerTaxEnabled: o.countryCode !== 'US' },
    domain: 'QBO',
    sparse: false,
    Id: '1',
    SyncToken: '1',
    MetaData: meta(o.createdMs, t.gen.startMs - 40 * 86_400_000),
  };
}

// ----- name lists -------------------------------------------------------------------------------------------------

const ACCOUNT_TYPES: Record<Account['type'], [classification: string, type: string, subType: string]> = {
  BANK: ['Asset', 'Bank', 'Checking'],
  CURRENT: ['Asset', 'Other Current Asset', 'OtherCurrentAssets'],
  INVENTORY: ['Asset', 'Other Current Asset', 'Inventory'],
  PREPAYMENT: ['Asset', 'Other Current Asset', 'PrepaidExpenses'],
  FIXED: ['Asset', 'Fixed Asset', 'MachineryAndEquipment'],
  NONCURRENT: ['Asset', 'Other Asset', 'OtherLongTermAssets'],
  CURRLIAB: ['Liability', 'Other Current Liability', 'OtherCurrentLiabilities'],
  LIABILITY: ['Liability', 'Other Current Liability', 'OtherCurrentLiabilities'],
  TERMLIAB: ['Liability', 'Long Term Liability', 'NotesPayable'],
  EQUITY: ['Equity', 'Equity', 'OwnersEquity'],
  REVENUE: ['Revenue', 'Income', 'SalesOfProductIncome'],
  SALES: ['Revenue', 'Income', 'SalesOfProductIncome'],
  OTHERINCOME: ['Revenue', 'Other Income', 'InterestEarned'],
  DIRECTCOSTS: ['Expense', 'Cost of Goods Sold', 'SuppliesMaterialsCogs'],
  EXPENSE: ['Expense', 'Expense', 'OfficeGeneralAdministrativeExpenses'],
  OVERHEADS: ['Expense', 'Expense', 'OfficeGeneralAdministrativeExpenses'],
  DEPRECIATN: ['Expense', 'Other Expense', 'Depreciation'],
};

/** QuickBooks' account type and detail type for a ledger account (system accounts and cards have their own). */
export function qboAccountType(a: Account): [classification: string, type: string, subType: string] {
  if (a.systemAccount === 'DEBTORS') return ['Asset', 'Accounts Receivable', 'AccountsReceivable'];
  if (a.systemAccount === 'CREDITORS') return ['Liability', 'Accounts Payable', 'AccountsPayable'];
  if (a.systemAccount === 'GST') return ['Liability', 'Other Current Liability', 'GlobalTaxPayable'];
  if (a.systemAccount === 'RETAINEDEARNINGS') return ['Equity', 'Equity', 'RetainedEarnings'];
  if (a.type === 'BANK' && a.bankAccountType === 'CREDITCARD') return ['Liability', 'Credit Card', 'CreditCard'];
  if (a.type === 'BANK' && /savings/i.test(a.name)) return ['Asset', 'Bank', 'Savings'];
  return ACCOUNT_TYPES[a.type];
}

export function renderAccount(t: Tenant, a: Account, balanceCents: number | undefined) {
  const [classification, type, subType] = qboAccountType(a);
  // CurrentBalance is kept for balance-sheet accounts, in the account's natural sign (credit positive for liabilities and equity).
  const natural = balanceCents === undefined ? undefined : classification === 'Asset' ? balanceCents : -balanceCents;
  const bs = classification === 'Asset' || classification === 'Liability' || classification === 'Equity';
  return compact({
    Name: a.name,
    SubAccount: false,
    FullyQualifiedName: a.name,
    Active: a.status === 'ACTIVE',
    Classification: classification,
    AccountType: type,
    AccountSubType: subType,
    AcctNum: a.code,
    Description: a.description,
    CurrentBalance: bs ? money(natural ?? 0) : 0,
    CurrentBalanceWithSubAccounts: bs ? money(natural ?? 0) : 0,
    CurrencyRef: currencyRef(t.gen.organisation.baseCurrency),
    BankNum: a.bankAccountNumber,
    domain: 'QBO',
    sparse: false,
    Id: String(a.index + 1),
    SyncToken: syncToken(t, 'accounts', a.index, a.updatedMs),
    MetaData: meta(createdMs(t, 'accounts', a.index, a.updatedMs), a.updatedMs),
  });
}

function personCommon(t: Tenant, c: Contact) {
  const billing = c.addresses.find((a) => a.type === 'POBOX') ?? c.addresses[0];
  const shipping = c.addresses.find((a) => a.type === 'STREET');
  const phone = c.phones.find((p) => p.type === 'DEFAULT');
  const mobile = c.phones.find((p) => p.type === 'MOBILE');
  const fax = c.phones.find((p) => p.type === 'FAX');
  return {
    GivenName: c.firstName,
    FamilyName: c.lastName,
    CompanyName: c.name,
    DisplayName: c.name,
    PrintOnCheckName: c.name,
    Active: c.status === 'ACTIVE',
    PrimaryPhone: phoneText(phone),
    Mobile: phoneText(mobile),
    Fax: phoneText(fax),
    PrimaryEmailAddr: c.email ? { Address: c.email } : undefined,
    WebAddr: c.website ? { URI: c.website } : undefined,
    BillAddr: billing ? compact({ Id: String(c.index * 2 + 1), ...address(billing) }) : undefined,
    CurrencyRef: currencyRef(c.currency),
    AcctNum: c.accountNumber,
    domain: 'QBO',
    sparse: false,
    Id: String(c.index + 1),
    SyncToken: syncToken(t, 'contacts', c.index, c.updatedMs),
    MetaData: meta(createdMs(t, 'contacts', c.index, c.updatedMs), c.updatedMs),
    shipping,
  };
}

export function renderCustomer(t: Tenant, c: Contact, balanceCents: number) {
  const { shipping, ...common } = personCommon(t, c);
  return compact({
    ...common,
    ShipAddr: shipping ? compact({ Id: String(c.index * 2 + 2), ...address(shipping) }) : undefined,
    Taxable: true,
    Job: false,
    BillWithParent: false,
    Balance: money(balanceCents),
    BalanceWithJobs: money(balanceCents),
    PreferredDeliveryMethod: 'Email',
    Notes: c.persons.length ? c.persons.map((p) => `${p.firstName} ${p.lastName} <${p.email}>`).join('; ') : undefined,
  });
}

export function renderVendor(t: Tenant, c: Contact, balanceCents: number) {
  const { shipping: _s, ...common } = personCommon(t, c);
  return compact({ ...common, Vendor1099: false, Balance: money(balanceCents), TaxIdentifier: c.taxNumber ? `XXXXXX${c.taxNumber.slice(-4)}` : undefined });
}

export function renderItem(t: Tenant, i: Item, active = true) {
  const type = i.isTracked ? 'Inventory' : i.isPurchased ? 'NonInventory' : 'Service';
  return compact({
    Name: i.name,
    Sku: i.code,
    Description: i.description,
    PurchaseDesc: i.isPurchased ? i.purchaseDescription : undefined,
    Active: active,
    FullyQualifiedName: i.name,
    Taxable: true,
    UnitPrice: money(i.salesUnitCents),
    Type: type,
    IncomeAccountRef: i.isSold ? accountRef(t, i.salesAccount) : undefined,
    PurchaseCost: i.isPurchased ? money(i.purchaseUnitCents) : 0,
    ExpenseAccountRef: i.isPurchased ? accountRef(t, i.isTracked ? '310' : i.purchaseAccount) : undefined,
    AssetAccountRef: i.isTracked ? accountRef(t, i.purchaseAccount) : undefined,
    TrackQtyOnHand: i.isTracked,
    QtyOnHand: i.isTracked ? i.quantityOnHand : undefined,
    domain: 'QBO',
    sparse: false,
    Id: String(i.index + 1),
    SyncToken: syncToken(t, 'items', i.index, i.updatedMs),
    MetaData: meta(createdMs(t, 'items', i.index, i.updatedMs), i.updatedMs),
  });
}

/** A tracking option as a Class (category 0) or Department (others). */
export function renderTrackingOption(t: Tenant, c: TrackingCategory, optionIndex: number) {
  const o = c.options.find((x) => x.index === optionIndex)!;
  const ref = trackingRef(t, { category: c.index, option: optionIndex })!;
  const body: Record<string, unknown> = { Name: o.name, FullyQualifiedName: o.name, Active: c.status === 'ACTIVE' && o.status === 'ACTIVE' };
  if (ref.kind === 'Class') body.SubClass = false;
  else body.SubDepartment = false;
  return {
    ...body,
    domain: 'QBO',
    sparse: false,
    Id: ref.ref.value,
    SyncToken: syncToken(t, 'trackingCategories', c.index, c.updatedMs),
    MetaData: meta(createdMs(t, 'trackingCategories', c.index, c.updatedMs), c.updatedMs),
  };
}

/** Tax codes: one per ledger tax rate. Tax rates: one per component (Id = index·10 + component + 1). */
export function renderTaxCode(t: Tenant, r: TaxRate) {
  const details = r.components.map((c, k) => ({
    TaxRateRef: { value: String(r.index * 10 + k + 1), name: `${c.name} ${r.name}`.slice(0, 100) },
    TaxTypeApplicable: c.isCompound ? 'TaxOnAmountPlusTax' : 'TaxOnAmount',
    TaxOrder: k,
  }));
  const sales = r.reportTaxType.includes('OUTPUT') || r.reportTaxType === 'NONE';
  const purchase = r.reportTaxType === 'INPUT' || r.reportTaxType === 'NONE';
  return {
    Name: r.name,
    Description: r.name,
    Active: r.status === 'ACTIVE',
    Hidden: false,
    Taxable: r.components.some((c) => c.rate > 0),
    TaxGroup: r.components.length > 1,
    SalesTaxRateList: { TaxRateDetail: sales ? details : [] },
    PurchaseTaxRateList: { TaxRateDetail: purchase ? details : [] },
    domain: 'QBO',
    sparse: false,
    Id: String(r.index + 1),
    SyncToken: syncToken(t, 'taxRates', r.index, r.updatedMs),
    MetaData: meta(createdMs(t, 'taxRates', r.index, r.updatedMs), r.updatedMs),
  };
}

export function renderTaxRates(t: Tenant, r: TaxRate) {
  return r.components.map((c, k) => ({
    Name: `${c.name} ${r.name}`.slice(0, 100),
    Description: r.name,
    Active: r.status === 'ACTIVE',
    RateValue: c.rate,
    AgencyRef: { value: '1' },
    SpecialTaxType: 'NONE',
    DisplayType: 'ReadOnly',
    domain: 'QBO',
    sparse: false,
    Id: String(r.index * 10 + k + 1),
    SyncToken: syncToken(t, 'taxRates', r.index, r.updatedMs),
    MetaData: meta(createdMs(t, 'taxRates', r.index, r.updatedMs), r.updatedMs),
  }));
}

export const effectiveRate = (r: TaxRate) => taxRatePercent(r.components).effective;

// ----- transactions -----------------------------------------------------------------------------------------------

/** Whether a ledger document exists in QuickBooks' world: `live`, `hidden` (no drafts in QBO) or `deleted`. */
export function docState(d: Doc): 'live' | 'hidden' | 'deleted' {
  if (d.status === 'DELETED') return 'deleted';
  if (d.status === 'DRAFT' || d.status === 'SUBMITTED') return 'hidden';
  return 'live';
}
export const payState = (p: Pay): 'live' | 'deleted' => (p.status === 'DELETED' ? 'deleted' : 'live');
export function journalState(j: ManualJournal): 'live' | 'hidden' | 'deleted' {
  if (j.status === 'DRAFT') return 'hidden';
  if (j.status === 'DELETED' || j.status === 'VOIDED') return 'deleted';
  return 'live';
}

export function department(t: Tenant, lines: { tracking: TrackingPick[] }[]) {
  for (const l of lines) for (const p of l.tracking) if (p.category !== 0) return trackingRef(t, p)?.ref;
  return undefined;
}
export const classOf = (t: Tenant, l: { tracking: TrackingPick[] }) => {
  const p = l.tracking.find((x) => x.category === 0);
  return p ? trackingRef(t, p)?.ref : undefined;
};

export function taxDetail(t: Tenant, d: { lines: DocLine[]; taxCents: number }, voided: boolean) {
  const byType = new Map<string, { tax: number; net: number }>();
  for (const l of d.lines) {
    const e = byType.get(l.taxType) ?? { tax: 0, net: 0 };
    e.tax += l.taxCents;
    e.net += l.lineCents;
    byType.set(l.taxType, e);
  }
  return {
    TotalTax: voided ? 0 : money(d.taxCents),
    TaxLine: voided
      ? []
      : [...byType].map(([taxType, e]) => {
          const i = t.indexOf('taxRates', taxType);
          const r = i === undefined ? undefined : t.collections.taxRates.get(i);
          return {
            Amount: money(e.tax),
            DetailType: 'TaxLineDetail',
            TaxLineDetail: compact({
              TaxRateRef: r ? { value: String(r.index * 10 + 1) } : undefined,
              PercentBased: true,
              TaxPercent: r ? effectiveRate(r) : 0,
              NetAmountTaxable: money(e.net),
            }),
          };
        }),
  };
}

export function salesLine(t: Tenant, l: DocLine, n: number, voided: boolean) {
  const item = l.itemIndex === undefined ? undefined : t.item(l.itemIndex);
  return {
    Id: String(n + 1),
    LineNum: n + 1,
    Description: l.description,
    Amount: voided ? 0 : money(l.lineCents),
    DetailType: 'SalesItemLineDetail',
    SalesItemLineDetail: compact({
      ItemRef: item ? { value: String(item.index + 1), name: item.name } : undefined,
      ClassRef: classOf(t, l),
      UnitPrice: unitAmount(l),
      Qty: voided ? 0 : l.quantity,
      ItemAccountRef: accountRef(t, l.accountCode),
      TaxCodeRef: taxCodeRef(t, l.taxType),
      DiscountRate: l.discountRate || undefined,
      DiscountAmt: l.discountCents ? money(l.discountCents) : undefined,
    }),
  };
}

export function docCommon(t: Tenant, d: Doc, name: 'invoices' | 'bills' | 'creditNotes' | 'billCreditNotes') {
  const voided = d.status === 'VOIDED';
  const note = [d.reference || undefined, voided ? 'Voided' : undefined].filter(Boolean).join(' ');
  return {
    voided,
    head: compact({
      domain: 'QBO',
      sparse: false,
      Id: String(d.index + 1),
      SyncToken: syncToken(t, name, d.index, d.updatedMs),
      MetaData: meta(createdMs(t, name, d.index, d.updatedMs), d.updatedMs),
      TxnDate: qboDate(d.dateMs),
      CurrencyRef: currencyRef(d.currency),
      ExchangeRate: exchangeRate(d.rate),
      PrivateNote: note || undefined,
      DepartmentRef: department(t, d.lines),
      TxnTaxDetail: taxDetail(t, d, voided),
      GlobalTaxCalculation: 'TaxExcluded',
    }),
  };
}

export function renderInvoice(t: Tenant, d: Doc) {
  const { voided, head } = docCommon(t, d, 'invoices');
  const total = voided ? 0 : d.totalCents;
  const balance = voided ? 0 : amountDue(d);
  const rate = exchangeRate(d.rate);
  const subtotal = d.lines.reduce((a, l) => a + l.lineCents, 0);
  return compact({
    ...head,
    DocNumber: d.number,
    DueDate: qboDate(d.dueDateMs),
    CustomerRef: contactRef(t, d.contactIndex),
    Line: [
      ...d.lines.map((l, n) => salesLine(t, l, n, voided)),
      { Amount: voided ? 0 : money(subtotal), DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} },
    ],
    LinkedTxn: [
      ...d.payments.map((p) => ({ TxnId: String(p.index + 1), TxnType: 'Payment' })),
      ...d.credits.map((c) => ({ TxnId: String(c.index + 1), TxnType: 'CreditMemo' })),
    ],
    TotalAmt: money(total),
    HomeTotalAmt: rate === 1 ? undefined : Math.round(money(total) * rate * 100) / 100,
    Balance: money(balance),
    HomeBalance: rate === 1 ? undefined : Math.round(money(balance) * rate * 100) / 100,
    EmailStatus: d.sentToContact ? 'EmailSent' : 'NotSet',
    PrintStatus: 'NotSet',
  });
}

export function renderCreditMemo(t: Tenant, d: Doc) {
  const { voided, head } = docCommon(t, d, 'creditNotes');
  const subtotal = d.lines.reduce((a, l) => a + l.lineCents, 0);
  const remaining = voided ? 0 : d.totalCents - amountCredited(d) - amountPaid(d);
  return compact({
    ...head,
    DocNumber: d.number,
    CustomerRef: contactRef(t, d.contactIndex),
    Line: [
      ...d.lines.map((l, n) => salesLine(t, l, n, voided)),
      { Amount: voided ? 0 : money(subtotal), DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} },
    ],
    TotalAmt: voided ? 0 : money(d.totalCents),
    RemainingCredit: money(remaining),
    Balance: money(remaining),
  });
}

/** A purchase line (bills, vendor credits, expenses, purchase orders): item-based when it names an item. */
export function expenseLine(t: Tenant, l: DocLine, n: number, voided: boolean) {
  const item = l.itemIndex === undefined ? undefined : t.item(l.itemIndex);
  const common = { Id: String(n + 1), LineNum: n + 1, Description: l.description, Amount: voided ? 0 : money(l.lineCents) };
  if (item) {
    return {
      ...common,
      DetailType: 'ItemBasedExpenseLineDetail',
      ItemBasedExpenseLineDetail: compact({
        ItemRef: { value: String(item.index + 1), name: item.name },
        ClassRef: classOf(t, l),
        UnitPrice: unitAmount(l),
        Qty: voided ? 0 : l.quantity,
        TaxCodeRef: taxCodeRef(t, l.taxType),
        BillableStatus: 'NotBillable',
      }),
    };
  }
  return {
    ...common,
    DetailType: 'AccountBasedExpenseLineDetail',
    AccountBasedExpenseLineDetail: compact({ AccountRef: accountRef(t, l.accountCode), ClassRef: classOf(t, l), TaxCodeRef: taxCodeRef(t, l.taxType), BillableStatus: 'NotBillable' }),
  };
}

export function renderBill(t: Tenant, d: Doc) {
  const { voided, head } = docCommon(t, d, 'bills');
  return compact({
    ...head,
    DocNumber: d.number,
    DueDate: qboDate(d.dueDateMs),
    VendorRef: contactRef(t, d.contactIndex),
    APAccountRef: accountRef(t, '800'),
    Line: d.lines.map((l, n) => expenseLine(t, l, n, voided)),
    LinkedTxn: d.payments.map((p) => ({ TxnId: String(p.index + 1), TxnType: 'BillPayment' })),
    TotalAmt: voided ? 0 : money(d.totalCents),
    Balance: voided ? 0 : money(amountDue(d)),
  });
}

export function renderPayment(t: Tenant, p: Pay) {
  const doc = t.doc('invoices', p.docIndex);
  return compact({
    domain: 'QBO',
    sparse: false,
    Id: String(p.index + 1),
    SyncToken: syncToken(t, 'payments', p.index, p.updatedMs),
    MetaData: meta(createdMs(t, 'payments', p.index, p.updatedMs), p.updatedMs),
    TxnDate: qboDate(p.dateMs),
    CurrencyRef: currencyRef(p.currency),
    ExchangeRate: exchangeRate(p.rate),
    CustomerRef: doc ? contactRef(t, doc.contactIndex) : undefined,
    DepositToAccountRef: accountRef(t, p.bankCode),
    PaymentRefNum: p.reference || undefined,
    TotalAmt: money(p.amountCents),
    UnappliedAmt: 0,
    ProcessPayment: false,
    Line: [{ Amount: money(p.amountCents), LinkedTxn: [{ TxnId: String(p.docIndex + 1), TxnType: 'Invoice' }] }],
  });
}

export function renderBillPayment(t: Tenant, p: Pay) {
  const doc = t.doc('bills', p.docIndex);
  const bank = t.account(p.bankCode);
  const card = bank?.bankAccountType === 'CREDITCARD';
  return compact({
    domain: 'QBO',
    sparse: false,
    Id: String(p.index + 1),
    SyncToken: syncToken(t, 'billPayments', p.index, p.updatedMs),
    MetaData: meta(createdMs(t, 'billPayments', p.index, p.updatedMs), p.updatedMs),
    TxnDate: qboDate(p.dateMs),
    CurrencyRef: currencyRef(p.currency),
    ExchangeRate: exchangeRate(p.rate),
    VendorRef: doc ? contactRef(t, doc.contactIndex) : undefined,
    PayType: card ? 'CreditCard' : 'Check',
    CheckPayment: card ? undefined : { BankAccountRef: accountRef(t, p.bankCode), PrintStatus: 'NotSet' },
    CreditCardPayment: card ? { CCAccountRef: accountRef(t, p.bankCode) } : undefined,
    DocNumber: p.reference || undefined,
    TotalAmt: money(p.amountCents),
    Line: [{ Amount: money(p.amountCents), LinkedTxn: [{ TxnId: String(p.docIndex + 1), TxnType: 'Bill' }] }],
  });
}

export function renderJournalEntry(t: Tenant, j: ManualJournal) {
  const total = j.lines.reduce((a, l) => a + (l.amountCents > 0 ? l.amountCents : 0), 0);
  return compact({
    domain: 'QBO',
    sparse: false,
    Id: String(j.index + 1),
    SyncToken: syncToken(t, 'manualJournals', j.index, j.updatedMs),
    MetaData: meta(createdMs(t, 'manualJournals', j.index, j.updatedMs), j.updatedMs),
    DocNumber: `JE${j.index + 1}`,
    TxnDate: qboDate(j.dateMs),
    PrivateNote: j.narration,
    Adjustment: false,
    CurrencyRef: currencyRef(t.gen.organisation.baseCurrency),
    TotalAmt: money(total),
    Line: j.lines.map((l, n) => {
      const cls = l.tracking.find((p) => p.category === 0);
      const dep = l.tracking.find((p) => p.category !== 0);
      return {
        Id: String(n),
        Description: l.description,
        Amount: money(Math.abs(l.amountCents)),
        DetailType: 'JournalEntryLineDetail',
        JournalEntryLineDetail: compact({
          PostingType: l.amountCents >= 0 ? 'Debit' : 'Credit',
          AccountRef: accountRef(t, l.accountCode),
          ClassRef: cls ? trackingRef(t, cls)?.ref : undefined,
          DepartmentRef: dep ? trackingRef(t, dep)?.ref : undefined,
        }),
      };
    }),
  });
}
