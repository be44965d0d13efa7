/**
 * Xero wire records → Syncline's accounting model (accounting-model.md §5), field by field. Decisions that the model
 * leaves open are written next to the code that takes them, and collected in docs/simulator.md.
 */
import type { SourceRecord } from '../connector.js';
import { arr, bool, compact, dateOnly, instant, num, obj, parseXeroDate, required, round2, str, type Wire } from './wire.js';

export interface MapContext {
  /** The organisation's base currency, when known (connectionInfo.baseCurrency). */
  baseCurrency?: string;
  /** Chart of accounts by code, for references that carry only an account code (items). */
  accountsByCode?: ReadonlyMap<string, { id: string; name: string }>;
}

const DELETED = 'DELETED';

export function record(id: string, data: Record<string, unknown>, updated: unknown, deleted: boolean): SourceRecord {
  const ms = parseXeroDate(updated);
  return { id, data: compact(data), sourceModifiedDate: ms === undefined ? null : instant(ms), deleted };
}

export const modified = (w: Wire) => {
  const ms = parseXeroDate(w.UpdatedDateUTC);
  return ms === undefined ? undefined : instant(ms);
};
export const dateField = (v: unknown) => {
  const ms = parseXeroDate(v);
  return ms === undefined ? undefined : dateOnly(ms);
};

/**
 * Xero's CurrencyRate is units of document currency per unit of base currency; the model's currencyRate is "the rate
 * from the document currency to the company's base currency" (base = document × rate), hence the inverse.
 */
export function currencyRate(w: Wire): number | undefined {
  const r = num(w.CurrencyRate);
  if (r === undefined || r <= 0) return undefined;
  return r === 1 ? 1 : Math.round((1 / r) * 1e10) / 1e10;
}

// ----- shared value objects ----------------------------------------------------------------------------------------

/** Xero POBOX is the postal (billing) address, STREET and DELIVERY the physical one. */
export function mapAddress(a: Wire) {
  const type = a.AddressType === 'POBOX' ? 'Billing' : a.AddressType === 'STREET' || a.AddressType === 'DELIVERY' ? 'Delivery' : 'Unknown';
  const line2 = [str(a.AddressLine2), str(a.AddressLine3), str(a.AddressLine4)].filter(Boolean).join(', ');
  return compact({
    type,
    line1: str(a.AddressLine1),
    line2: line2 || undefined,
    city: str(a.City),
    region: str(a.Region),
    country: str(a.Country),
    postalCode: str(a.PostalCode),
  });
}

const PHONE_TYPES: Record<string, string> = { DEFAULT: 'Primary', DDI: 'Landline', OFFICE: 'Landline', MOBILE: 'Mobile', FAX: 'Fax' };

export function phoneNumber(p: Wire): string | undefined {
  const n = str(p.PhoneNumber);
  if (!n) return undefined;
  return [str(p.PhoneCountryCode) ? `+${str(p.PhoneCountryCode)}` : undefined, str(p.PhoneAreaCode), n].filter(Boolean).join(' ');
}

export function mapPhones(phones: Wire[]) {
  return phones.flatMap((p) => {
    const number = phoneNumber(p);
    return number ? [{ number, type: PHONE_TYPES[String(p.PhoneType)] ?? 'Unknown' }] : [];
  });
}

const contactStatus = (s: unknown) => (s === 'ACTIVE' ? 'Active' : s === 'ARCHIVED' || s === 'GDPRREQUEST' ? 'Archived' : 'Unknown');

// ----- company -------------------------------------------------------------------------------------------------

/** Start of the financial year that contains `nowMs`, from Xero's FinancialYearEndDay/Month. */
export function financialYearStart(endDay: number, endMonth: number, nowMs: number): string {
  const now = new Date(nowMs);
  let year = now.getUTCFullYear();
  // The day after this year's year-end; if that lies in the future, the year started a year earlier.
  const lastDay = new Date(Date.UTC(year, endMonth, 0)).getUTCDate();
  let start = Date.UTC(year, endMonth - 1, Math.min(endDay, lastDay)) + 86_400_000;
  if (start > nowMs) {
    year -= 1;
    const ld = new Date(Date.UTC(year, endMonth, 0)).getUTCDate();
    start = Date.UTC(year, endMonth - 1, Math.min(endDay, ld)) + 86_400_000;
  }
  return dateOnly(start);
}

export function mapCompany(o: Wire, tenantId: string, nowMs: number): SourceRecord {
  const endDay = num(o.FinancialYearEndDay);
  const endMonth = num(o.FinancialYearEndMonth);
  const created = parseXeroDate(o.CreatedDateUTC);
  const website = arr(o.ExternalLinks).map((l) => ({ type: l.LinkType === 'Website' ? 'Website' : l.LinkType ? 'Social' : 'Unknown', url: str(l.Url) }));
  const data = {
    companyName: str(o.Name),
    accountingPlatformRef: str(o.OrganisationID) ?? tenantId,
    companyLegalName: str(o.LegalName),
    addresses: arr(o.Addresses).map(mapAddress),
    phoneNumbers: mapPhones(arr(o.Phones)),
    webLinks: website.filter((w) => w.url).map((w) => compact(w)),
    ledgerLockDate: dateField(o.PeriodLockDate),
    registrationNumber: str(o.RegistrationNumber),
    taxNumber: str(o.TaxNumber),
    financialYearStartDate: endDay && endMonth ? financialYearStart(endDay, endMonth, nowMs) : undefined,
    baseCurrency: str(o.BaseCurrency),
    createdDate: created === undefined ? undefined : instant(created),
  };
  return { id: required(str(o.OrganisationID) ?? tenantId, 'OrganisationID'), data: compact(data), sourceModifiedDate: null, deleted: false };
}

// ----- chart of accounts, bank accounts --------------------------------------------------------------------------

const ACCOUNT_CATEGORY: Record<string, string> = {
  BANK: 'Asset.Bank',
  CURRENT: 'Asset.Current',
  FIXED: 'Asset.Fixed',
  INVENTORY: 'Asset.Inventory',
  NONCURRENT: 'Asset.NonCurrent',
  PREPAYMENT: 'Asset.Prepayment',
  CURRLIAB: 'Liability.Current',
  LIABILITY: 'Liability.Liability',
  TERMLIAB: 'Liability.NonCurrent',
  PAYG: 'Liability.PAYG',
  EQUITY: 'Equity.Equity',
  REVENUE: 'Income.Revenue',
  SALES: 'Income.Sales',
  OTHERINCOME: 'Income.OtherIncome',
  DIRECTCOSTS: 'Expense.DirectCosts',
  EXPENSE: 'Expense.Expense',
  OVERHEADS: 'Expense.Overheads',
  DEPRECIATN: 'Expense.Depreciation',
};
const ACCOUNT_TYPE: Record<string, string> = { ASSET: 'Asset', EQUITY: 'Equity', EXPENSE: 'Expense', LIABILITY: 'Liability', REVENUE: 'Income' };
const statusOf = (s: unknown) => (s === 'ACTIVE' ? 'Active' : s === 'ARCHIVED' ? 'Archived' : s === 'PENDING' ? 'Pending' : 'Unknown');

export function mapAccount(a: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(a.AccountID), 'AccountID');
  const category = ACCOUNT_CATEGORY[String(a.Type)];
  const name = str(a.Name);
  const type = ACCOUNT_TYPE[String(a.Class)] ?? (category ? category.split('.')[0] : undefined) ?? 'Unknown';
  return record(
    id,
    {
      id,
      nominalCode: str(a.Code),
      name,
      description: str(a.Description),
      fullyQualifiedCategory: category,
      fullyQualifiedName: category && name ? `${category}.${name}` : undefined,
      currency: str(a.CurrencyCode) ?? ctx.baseCurrency,
      type,
      status: statusOf(a.Status),
      isBankAccount: a.Type === 'BANK',
      sourceModifiedDate: modified(a),
    },
    a.UpdatedDateUTC,
    a.Status === DELETED,
  );
}

/** Splits a UK-style `12-34-56 12345678` into sort code and number; an IBAN-looking value goes to iBan. */
export function splitBankNumber(v: string | undefined): { sortCode?: string; accountNumber?: string; iBan?: string } {
  if (!v) return {};
  const uk = /^(\d{2}-?\d{2}-?\d{2})\s+(\d{6,10})$/.exec(v.trim());
  if (uk) return { sortCode: uk[1], accountNumber: uk[2] };
  if (/^[A-Z]{2}\d{2}[A-Z0-9 ]{10,30}$/.test(v.trim())) return { iBan: v.trim() };
  return { accountNumber: v.trim() };
}

export function mapBankAccount(a: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(a.AccountID), 'AccountID');
  return record(
    id,
    {
      id,
      accountName: str(a.Name),
      // Xero BANK/PAYPAL accounts are current accounts (Debit); CREDITCARD is Credit.
      accountType: a.BankAccountType === 'CREDITCARD' ? 'Credit' : a.BankAccountType === 'BANK' || a.BankAccountType === 'PAYPAL' ? 'Debit' : 'Unknown',
      nominalCode: str(a.Code),
      ...splitBankNumber(str(a.BankAccountNumber)),
      currency: str(a.CurrencyCode) ?? ctx.baseCurrency,
      status: statusOf(a.Status),
      sourceModifiedDate: modified(a),
    },
    a.UpdatedDateUTC,
    a.Status === DELETED,
  );
}

// ----- tax rates, tracking, items --------------------------------------------------------------------------------

export function mapTaxRate(t: Wire): SourceRecord {
  const id = required(str(t.TaxType), 'TaxType');
  return record(
    id,
    {
      id,
      name: str(t.Name),
      code: id,
      status: t.Status === 'ACTIVE' ? 'Active' : t.Status === 'ARCHIVED' ? 'Archived' : 'Unknown',
      effectiveTaxRate: num(t.EffectiveRate),
      totalTaxRate: num(t.DisplayTaxRate),
      components: arr(t.TaxComponents).map((c) => compact({ name: str(c.Name), rate: num(c.Rate), isCompound: bool(c.IsCompound) ?? false })),
    },
    undefined,
    t.Status === DELETED,
  );
}

const trackingStatus = (s: unknown) => (s === 'ACTIVE' ? 'Active' : s === 'ARCHIVED' ? 'Archived' : 'Unknown');

/** Each category and each option becomes a record; options are parented to their category (source-platforms §1.4). */
export function mapTrackingCategory(c: Wire): SourceRecord[] {
  const id = required(str(c.TrackingCategoryID), 'TrackingCategoryID');
  const options = arr(c.Options);
  return [
    record(id, { id, name: str(c.Name), status: trackingStatus(c.Status), hasChildren: options.length > 0 }, undefined, c.Status === DELETED),
    ...options.map((o) => {
      const oid = required(str(o.TrackingOptionID), 'TrackingOptionID');
      return record(oid, { id: oid, name: str(o.Name), status: trackingStatus(o.Status), parentId: id, hasChildren: false }, undefined, o.Status === DELETED || c.Status === DELETED);
    }),
  ];
}

function accountRefByCode(code: string | undefined, ctx: MapContext) {
  if (!code) return undefined;
  const a = ctx.accountsByCode?.get(code);
  return a ? { id: a.id, name: a.name } : undefined;
}

export function mapItem(i: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(i.ItemID), 'ItemID');
  const sales = obj(i.SalesDetails) ?? {};
  const purchase = obj(i.PurchaseDetails) ?? {};
  const tracked = bool(i.IsTrackedAsInventory) ?? false;
  const detail = (d: Wire, description: string | undefined, accountCode: string | undefined) =>
    compact({
      description,
      unitPrice: num(d.UnitPrice),
      accountRef: accountRefByCode(accountCode, ctx),
      taxRateRef: str(d.TaxType) ? { id: str(d.TaxType) } : undefined,
    });
  return record(
    id,
    {
      id,
      name: str(i.Name),
      code: str(i.Code),
      // Xero items have no status: a deleted item disappears, so every listed item is Active.
      itemStatus: 'Active',
      // Xero only distinguishes tracked inventory from the rest; the rest is NonInventory (Xero has no "service" flag).
      type: tracked ? 'Inventory' : 'NonInventory',
      isBillItem: bool(i.IsPurchased) ?? false,
      billItem: bool(i.IsPurchased) ? detail(purchase, str(i.PurchaseDescription), str(purchase.COGSAccountCode) ?? str(purchase.AccountCode)) : undefined,
      isInvoiceItem: bool(i.IsSold) ?? false,
      invoiceItem: bool(i.IsSold) ? detail(sales, str(i.Description), str(sales.AccountCode)) : undefined,
      sourceModifiedDate: modified(i),
    },
    i.UpdatedDateUTC,
    false,
  );
}

// ----- customers, suppliers --------------------------------------------------------------------------------------

function contactPersonName(c: Wire): string | undefined {
  const first = [str(c.FirstName), str(c.LastName)].filter(Boolean).join(' ');
  return first || undefined;
}

function primaryPhone(c: Wire): string | undefined {
  const phones = arr(c.Phones);
  const p = phones.find((x) => x.PhoneType === 'DEFAULT' && phoneNumber(x)) ?? phones.find((x) => phoneNumber(x));
  return p ? phoneNumber(p) : undefined;
}

export function mapCustomer(c: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(c.ContactID), 'ContactID');
  const status = contactStatus(c.ContactStatus);
  return record(
    id,
    {
      id,
      customerName: str(c.Name),
      contactName: contactPersonName(c),
      emailAddress: str(c.EmailAddress),
      defaultCurrency: str(c.DefaultCurrency) ?? ctx.baseCurrency,
      phone: primaryPhone(c),
      addresses: arr(c.Addresses).map(mapAddress),
      contacts: arr(c.ContactPersons).map((p) =>
        compact({
          name: contactPersonName(p),
          email: str(p.EmailAddress),
          status,
        }),
      ),
      registrationNumber: str(c.CompanyNumber),
      taxNumber: str(c.TaxNumber),
      status,
      sourceModifiedDate: modified(c),
    },
    c.UpdatedDateUTC,
    false,
  );
}

export function mapSupplier(c: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(c.ContactID), 'ContactID');
  return record(
    id,
    {
      id,
      supplierName: str(c.Name),
      contactName: contactPersonName(c),
      emailAddress: str(c.EmailAddress),
      phone: primaryPhone(c),
      addresses: arr(c.Addresses).map(mapAddress),
      registrationNumber: str(c.CompanyNumber),
      taxNumber: str(c.TaxNumber),
      status: contactStatus(c.ContactStatus),
      defaultCurrency: str(c.DefaultCurrency) ?? ctx.baseCurrency,
      sourceModifiedDate: modified(c),
    },
    c.UpdatedDateUTC,
    false,
  );
}

// ----- documents ----------------------------------------------------------------------------------------------------

function trackingRefs(line: Wire) {
  return arr(line.Tracking).flatMap((t) => {
    const id = str(t.TrackingOptionID);
    return id ? [compact({ id, name: str(t.Option) })] : [];
  });
}

/** Line amounts: Xero's LineAmount is net of discount; it includes tax when LineAmountTypes is Inclusive. */
function lineAmounts(l: Wire, inclusive: boolean) {
  const lineAmount = num(l.LineAmount) ?? 0;
  const tax = num(l.TaxAmount) ?? 0;
  const subTotal = inclusive ? round2(lineAmount - tax) : lineAmount;
  return { subTotal, taxAmount: tax, totalAmount: round2(subTotal + tax) };
}

export function lineCommon(l: Wire, inclusive: boolean) {
  const item = obj(l.Item);
  const itemId = str(item?.ItemID);
  const discountRate = num(l.DiscountRate);
  return {
    description: str(l.Description),
    unitAmount: num(l.UnitAmount) ?? 0,
    quantity: num(l.Quantity) ?? 0,
    discountAmount: num(l.DiscountAmount) ?? (discountRate ? round2(((num(l.UnitAmount) ?? 0) * (num(l.Quantity) ?? 0) * discountRate) / 100) : undefined),
    ...lineAmounts(l, inclusive),
    accountRef: str(l.AccountID) ? { id: str(l.AccountID) } : undefined,
    discountPercentage: discountRate,
    taxRateRef: str(l.TaxType) ? { id: str(l.TaxType) } : undefined,
    itemRef: itemId ? compact({ id: itemId, name: str(item?.Name) }) : undefined,
    trackingCategoryRefs: trackingRefs(l),
  };
}

function salesLine(l: Wire, inclusive: boolean) {
  const common = lineCommon(l, inclusive);
  return compact({
    ...common,
    tracking: { categoryRefs: common.trackingCategoryRefs, isBilledTo: 'NotApplicable', isRebilledTo: 'NotApplicable' },
    isDirectIncome: false,
  });
}

export function billLine(l: Wire, inclusive: boolean, n: number) {
  const common = lineCommon(l, inclusive);
  return compact({
    lineNumber: String(n + 1),
    ...common,
    tracking: { categoryRefs: common.trackingCategoryRefs, isBilledTo: 'NotApplicable', isRebilledTo: 'NotApplicable' },
    isDirectCost: false,
  });
}

/** Payments embedded in an invoice or bill → PaymentAllocation. */
export function paymentAllocations(d: Wire) {
  const currency = str(d.CurrencyCode);
  const rate = currencyRate(d);
  const payments = arr(d.Payments).map((p) => {
    const paid = dateField(p.Date);
    const amount = num(p.Amount) ?? 0;
    const r = currencyRate(p) ?? rate;
    return {
      payment: compact({ id: str(p.PaymentID), reference: str(p.Reference), currency, currencyRate: r, paidOnDate: paid, totalAmount: amount }),
      allocation: compact({ currency, currencyRate: r, allocatedOnDate: paid, totalAmount: amount }),
    };
  });
  // A credit note applied to the invoice is a "payment" whose id is the credit note's.
  const credits = arr(d.CreditNotes).map((c) => {
    const on = dateField(c.Date);
    const amount = num(c.AppliedAmount) ?? 0;
    return {
      payment: compact({ id: str(c.CreditNoteID), reference: str(c.CreditNoteNumber), note: 'Credit note', currency, currencyRate: rate, paidOnDate: on, totalAmount: amount }),
      allocation: compact({ currency, currencyRate: rate, allocatedOnDate: on, totalAmount: amount }),
    };
  });
  // Overpayments and prepayments applied to it: the "payment" is the overpayment (prepayment) itself, its share here is
  // AppliedAmount, dated by the allocation.
  const onAccount = [...arr(d.Prepayments).map((x) => ['Prepayment', x] as const), ...arr(d.Overpayments).map((x) => ['Overpayment', x] as const)].map(([note, x]) => {
    const on = dateField(x.Date);
    const amount = num(x.AppliedAmount) ?? 0;
    return {
      payment: compact({ id: str(x.PrepaymentID) ?? str(x.OverpaymentID) ?? str(x.ID), note, currency, currencyRate: rate, paidOnDate: on, totalAmount: amount }),
      allocation: compact({ currency, currencyRate: rate, allocatedOnDate: on, totalAmount: amount }),
    };
  });
  return [...payments, ...credits, ...onAccount];
}

export const isInclusive = (d: Wire) => d.LineAmountTypes === 'Inclusive';

/**
 * Codat's status of a sales document (invoice, credit note) from Xero's Status: DRAFT Draft, SUBMITTED (awaiting
 * approval) Submitted, AUTHORISED PartiallyPaid when `partly` (part paid or used) and Submitted otherwise, PAID Paid,
 * VOIDED and DELETED Void.
 */
function documentStatus(status: unknown, partly: () => boolean): string {
  switch (status) {
    case 'DRAFT':
      return 'Draft';
    case 'SUBMITTED':
      return 'Submitted';
    case 'AUTHORISED':
      return partly() ? 'PartiallyPaid' : 'Submitted';
    case 'PAID':
      return 'Paid';
    case 'VOIDED':
    case 'DELETED':
      return 'Void';
    default:
      return 'Unknown';
  }
}

const invoiceStatus = (d: Wire) => documentStatus(d.Status, () => (num(d.AmountPaid) ?? 0) + (num(d.AmountCredited) ?? 0) > 0 && (num(d.AmountDue) ?? 0) > 0);

export function mapInvoice(d: Wire): SourceRecord {
  const id = required(str(d.InvoiceID), 'InvoiceID');
  const contact = obj(d.Contact);
  const inclusive = isInclusive(d);
  const issue = required(dateField(d.Date), 'Date');
  return record(
    id,
    {
      id,
      invoiceNumber: str(d.InvoiceNumber),
      customerRef: contact && str(contact.ContactID) ? compact({ id: str(contact.ContactID)!, companyName: str(contact.Name) }) : undefined,
      issueDate: issue,
      dueDate: dateField(d.DueDate),
      paidOnDate: d.Status === 'PAID' ? dateField(d.FullyPaidOnDate) : undefined,
      currency: str(d.CurrencyCode),
      currencyRate: currencyRate(d),
      lineItems: arr(d.LineItems).map((l) => salesLine(l, inclusive)),
      paymentAllocations: paymentAllocations(d),
      totalDiscount: num(d.TotalDiscount),
      subTotal: num(d.SubTotal),
      totalTaxAmount: num(d.TotalTax) ?? 0,
      totalAmount: required(num(d.Total), 'Total'),
      amountDue: num(d.AmountDue) ?? 0,
      status: invoiceStatus(d),
      // The model has no customer-reference field; Xero's Reference goes to note.
      note: str(d.Reference),
      sourceModifiedDate: modified(d),
    },
    d.UpdatedDateUTC,
    d.Status === DELETED,
  );
}

export function mapBill(d: Wire): SourceRecord {
  const id = required(str(d.InvoiceID), 'InvoiceID');
  const contact = obj(d.Contact);
  const inclusive = isInclusive(d);
  const status = (() => {
    switch (d.Status) {
      case 'DRAFT':
      case 'SUBMITTED': // awaiting approval: not yet an open bill
        return 'Draft';
      case 'AUTHORISED':
        return (num(d.AmountPaid) ?? 0) + (num(d.AmountCredited) ?? 0) > 0 && (num(d.AmountDue) ?? 0) > 0 ? 'PartiallyPaid' : 'Open';
      case 'PAID':
        return 'Paid';
      case 'VOIDED':
      case 'DELETED':
        return 'Void';
      default:
        return 'Unknown';
    }
  })();
  return record(
    id,
    {
      id,
      // For ACCPAY, Xero's InvoiceNumber is the supplier's invoice number: the model's `reference`.
      reference: str(d.InvoiceNumber),
      supplierRef: contact && str(contact.ContactID) ? compact({ id: str(contact.ContactID)!, supplierName: str(contact.Name) }) : undefined,
      issueDate: required(dateField(d.Date), 'Date'),
      dueDate: dateField(d.DueDate),
      currency: str(d.CurrencyCode),
      currencyRate: currencyRate(d),
      lineItems: arr(d.LineItems).map((l, n) => billLine(l, inclusive, n)),
      status,
      subTotal: num(d.SubTotal) ?? 0,
      taxAmount: num(d.TotalTax) ?? 0,
      totalAmount: required(num(d.Total), 'Total'),
      amountDue: num(d.AmountDue),
      note: str(d.Reference),
      paymentAllocations: paymentAllocations(d),
      sourceModifiedDate: modified(d),
    },
    d.UpdatedDateUTC,
    d.Status === DELETED,
  );
}

/** Codat's status of a credit note (customer or supplier): part of its credit used is PartiallyPaid. */
const creditNoteStatus = (d: Wire, total: number, remaining: number) => documentStatus(d.Status, () => remaining < total && remaining > 0);

/**
 * What customer and supplier credit notes (Xero `/CreditNotes`, ACCRECCREDIT and ACCPAYCREDIT) share: the amounts and
 * status before their lines, and their allocations, reference and modified date after them. For an allocation the
 * "payment" is the allocation itself (its id), with the invoice's or bill's number as reference; cash refunds follow.
 */
export function creditNoteParts(d: Wire, side: 'customer' | 'supplier') {
  const total = required(num(d.Total), 'Total');
  const remaining = num(d.RemainingCredit) ?? 0;
  const currency = str(d.CurrencyCode);
  const rate = currencyRate(d);
  const allocations = arr(d.Allocations);
  const lastAllocation = allocations.map((a) => parseXeroDate(a.Date)).filter((x): x is number => x !== undefined).sort((a, b) => b - a)[0];
  const amounts = {
    totalAmount: total,
    // Xero credit notes carry no document discount.
    totalDiscount: 0,
    subTotal: num(d.SubTotal) ?? 0,
    totalTaxAmount: num(d.TotalTax) ?? 0,
    discountPercentage: 0,
    remainingCredit: remaining,
    status: creditNoteStatus(d, total, remaining),
    issueDate: dateField(d.Date),
    allocatedOnDate: lastAllocation === undefined ? undefined : dateOnly(lastAllocation),
    currency,
    currencyRate: rate,
  };
  const allocatedTo = side === 'customer' ? 'Allocated to invoice' : 'Allocated to bill';
  const refunds = side === 'customer' ? { ...d, CreditNotes: [], Prepayments: [], Overpayments: [] } : { ...d, CreditNotes: [] };
  const rest = {
    paymentAllocations: [
      ...allocations.map((a) => {
        const on = dateField(a.Date);
        const amount = num(a.Amount) ?? 0;
        const doc = obj(a.Invoice);
        return {
          payment: compact({ id: str(a.AllocationID) ?? str(doc?.InvoiceID), reference: str(doc?.InvoiceNumber), note: allocatedTo, currency, currencyRate: rate, paidOnDate: on, totalAmount: amount }),
          allocation: compact({ currency, currencyRate: rate, allocatedOnDate: on, totalAmount: amount }),
        };
      }),
      ...paymentAllocations(refunds),
    ],
    note: str(d.Reference),
    sourceModifiedDate: modified(d),
  };
  return { amounts, rest };
}

export function mapCreditNote(d: Wire): SourceRecord {
  const id = required(str(d.CreditNoteID), 'CreditNoteID');
  const contact = obj(d.Contact);
  const inclusive = isInclusive(d);
  const { amounts, rest } = creditNoteParts(d, 'customer');
  return record(
    id,
    {
      id,
      creditNoteNumber: str(d.CreditNoteNumber),
      customerRef: contact && str(contact.ContactID) ? compact({ id: str(contact.ContactID)!, companyName: str(contact.Name) }) : undefined,
      ...amounts,
      lineItems: arr(d.LineItems).map((l) => salesLine(l, inclusive)),
      ...rest,
    },
    d.UpdatedDateUTC,
    d.Status === DELETED,
  );
}

/**
 * Payments and bill payments. A line's `amount` is the money paid; its link's `amount` is the change it makes to the
 * linked document's balance, so a payment of 100 against an invoice links with amount −100 (Codat's convention).
 * Xero's refunds of credit notes, overpayments and prepayments (ARCREDITPAYMENT, AROVERPAYMENTPAYMENT,
 * ARPREPAYMENTPAYMENT and the AP* ones) pay money back: the payment and its line are negative, and the link — to the
 * CreditNote, or to the overpayment/prepayment as PaymentOnAccount — is positive (the credit left on it goes down).
 */
function mapPaymentCommon(p: Wire, docType: 'Invoice' | 'Bill') {
  const id = required(str(p.PaymentID), 'PaymentID');
  const inv = obj(p.Invoice);
  const cn = obj(p.CreditNote);
  const op = obj(p.Overpayment) ?? obj(p.Prepayment);
  const account = obj(p.Account);
  const paid = required(num(p.Amount), 'Amount');
  const date = required(dateField(p.Date), 'Date');
  const rate = currencyRate(p);
  const refund = !inv && (cn !== undefined || op !== undefined);
  const amount = refund ? -paid : paid;
  const link = inv
    ? str(inv.InvoiceID) && compact({ type: docType, id: str(inv.InvoiceID), amount: -paid, currencyRate: rate })
    : cn
      ? str(cn.CreditNoteID) && compact({ type: 'CreditNote', id: str(cn.CreditNoteID), amount: paid, currencyRate: rate })
      : op
        ? (str(op.OverpaymentID) ?? str(op.PrepaymentID)) && compact({ type: 'PaymentOnAccount', id: str(op.OverpaymentID) ?? str(op.PrepaymentID), amount: paid, currencyRate: rate })
        : undefined;
  const doc = inv ?? cn ?? op;
  return {
    id,
    contact: obj(doc?.Contact),
    common: {
      id,
      accountRef: account && str(account.AccountID) ? compact({ id: str(account.AccountID), name: str(account.Name) }) : undefined,
      totalAmount: amount,
      currency: str(doc?.CurrencyCode),
      currencyRate: rate,
      date,
      lines: [{ amount, links: link ? [link] : [], allocatedOnDate: date }],
      reference: str(p.Reference),
      sourceModifiedDate: modified(p),
    },
  };
}

export function mapPayment(p: Wire): SourceRecord {
  const { id, contact, common } = mapPaymentCommon(p, 'Invoice');
  const customerRef = contact && str(contact.ContactID) ? compact({ id: str(contact.ContactID)!, companyName: str(contact.Name) }) : undefined;
  return record(id, { ...common, customerRef }, p.UpdatedDateUTC, p.Status === DELETED);
}

export function mapBillPayment(p: Wire): SourceRecord {
  const { id, contact, common } = mapPaymentCommon(p, 'Bill');
  const supplierRef = contact && str(contact.ContactID) ? compact({ id: str(contact.ContactID)!, supplierName: str(contact.Name) }) : undefined;
  return record(id, { ...common, supplierRef }, p.UpdatedDateUTC, p.Status === DELETED);
}

/**
 * Credit-note allocations as payments (how a credit note settles an invoice or bill without money moving): one
 * payment per allocation, id = the AllocationID, totalAmount 0, one line of amount 0 linking the document (its balance
 * goes down: −amount) and the credit note (its remaining credit goes down: +amount). The allocation belongs to the
 * credit note: it is deleted with it (a DELETED or VOIDED credit note keeps no allocations in Xero).
 */
export function mapCreditNoteAllocations(d: Wire, side: 'customer' | 'supplier'): SourceRecord[] {
  const cnId = str(d.CreditNoteID);
  if (!cnId) return [];
  const contact = obj(d.Contact);
  const rate = currencyRate(d);
  const docType = side === 'customer' ? 'Invoice' : 'Bill';
  return arr(d.Allocations).flatMap((a) => {
    const inv = obj(a.Invoice);
    const invId = str(inv?.InvoiceID);
    const amount = num(a.Amount);
    const date = dateField(a.Date);
    if (!invId || amount === undefined || !date) return [];
    const id = str(a.AllocationID) ?? `${cnId}-${invId}`;
    const ref = contact && str(contact.ContactID) ? (side === 'customer' ? { customerRef: compact({ id: str(contact.ContactID)!, companyName: str(contact.Name) }) } : { supplierRef: compact({ id: str(contact.ContactID)!, supplierName: str(contact.Name) }) }) : {};
    return [
      record(
        id,
        {
          id,
          ...ref,
          totalAmount: 0,
          currency: str(d.CurrencyCode),
          currencyRate: rate,
          date,
          lines: [
            {
              amount: 0,
              links: [compact({ type: docType, id: invId, amount: -amount, currencyRate: rate }), compact({ type: 'CreditNote', id: cnId, amount, currencyRate: rate })],
              allocatedOnDate: date,
            },
          ],
          reference: str(inv?.InvoiceNumber),
          note: `Credit note ${str(d.CreditNoteNumber) ?? cnId} allocated`,
          sourceModifiedDate: modified(d),
        },
        d.UpdatedDateUTC,
        d.Status === DELETED || d.Status === 'VOIDED',
      ),
    ];
  });
}

/**
 * Overpayments and prepayments (`/Overpayments`, `/Prepayments`) as payments (RECEIVE-*: `payments`, customerRef) or
 * bill payments (SPEND-*: `billPayments`, supplierRef), as Codat models a payment on account: id = the OverpaymentID
 * (PrepaymentID), totalAmount = the money received (paid), and one line per use of it — each allocation a line of its
 * amount, dated by the allocation, linking the invoice (bill) with −amount; what is not allocated a line linking the
 * payment on account itself (`PaymentOnAccount`, the same id) with −amount. The lines add up to the total; a refund of
 * the credit (`/Payments` AROVERPAYMENTPAYMENT…, mapPaymentCommon) links the same PaymentOnAccount id with +amount.
 * Allocations deleted at the source (IsDeleted) are left out. A VOIDED one moved no money: flagged deleted.
 * Xero's overpayment carries no bank account (its bank transaction does): accountRef is omitted.
 */
export function mapOnAccount(d: Wire, side: 'customer' | 'supplier'): SourceRecord {
  const id = required(str(d.OverpaymentID) ?? str(d.PrepaymentID), 'OverpaymentID');
  const kind = str(d.OverpaymentID) ? 'Overpayment' : 'Prepayment';
  const contact = obj(d.Contact);
  const rate = currencyRate(d);
  const total = required(num(d.Total), 'Total');
  const date = required(dateField(d.Date), 'Date');
  const docType = side === 'customer' ? 'Invoice' : 'Bill';
  const lines: Record<string, unknown>[] = [];
  let allocated = 0;
  for (const a of arr(d.Allocations)) {
    const docId = str(obj(a.Invoice)?.InvoiceID);
    const amount = num(a.Amount);
    if (a.IsDeleted === true || !docId || amount === undefined) continue;
    allocated += amount;
    lines.push({ amount, links: [compact({ type: docType, id: docId, amount: -amount, currencyRate: rate })], allocatedOnDate: dateField(a.Date) ?? date });
  }
  const onAccount = round2(total - allocated);
  if (onAccount !== 0 || lines.length === 0) lines.push({ amount: onAccount, links: [compact({ type: 'PaymentOnAccount', id, amount: -onAccount, currencyRate: rate })], allocatedOnDate: date });
  const ref = contact && str(contact.ContactID) ? (side === 'customer' ? { customerRef: compact({ id: str(contact.ContactID)!, companyName: str(contact.Name) }) } : { supplierRef: compact({ id: str(contact.ContactID)!, supplierName: str(contact.Name) }) }) : {};
  return record(
    id,
    {
      id,
      ...ref,
      totalAmount: total,
      currency: str(d.CurrencyCode),
      currencyRate: rate,
      date,
      lines,
      reference: str(d.Reference),
      note: kind,
      sourceModifiedDate: modified(d),
    },
    d.UpdatedDateUTC,
    d.Status === 'VOIDED' || d.Status === DELETED,
  );
}

/** Manual journals. Xero's LineAmount is debit-positive, as the model's netAmount. Journals are in base currency. */
export function mapJournalEntry(j: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(j.ManualJournalID), 'ManualJournalID');
  const updated = parseXeroDate(j.UpdatedDateUTC);
  return record(
    id,
    {
      id,
      description: str(j.Narration),
      postedOn: dateField(j.Date),
      updatedOn: updated === undefined ? undefined : instant(updated),
      journalLines: arr(j.JournalLines).map((l) => {
        const amount = num(l.LineAmount) ?? 0;
        return compact({
          description: str(l.Description),
          netAmount: amount,
          transactionAmount: amount,
          currency: ctx.baseCurrency,
          transactionCurrency: ctx.baseCurrency,
          accountRef: str(l.AccountID) ? { id: str(l.AccountID) } : undefined,
          tracking: { recordRefs: trackingRefs(l).map((t) => ({ id: t.id, dataType: 'trackingCategories' })) },
        });
      }),
      recordRef: { id, dataType: 'journalEntries' },
      sourceModifiedDate: modified(j),
    },
    j.UpdatedDateUTC,
    j.Status === DELETED,
  );
}
