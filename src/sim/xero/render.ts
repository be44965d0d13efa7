import { amountCredited, amountDue, amountPaid, taxRatePercent } from '../generate.js';
import { accountClass, money, unitAmount, type Account, type Contact, type Doc, type DocLine, type Item, type ManualJournal, type OnAccount, type Pay, type RenderContext, type SimAddress, type SimPhone, type TaxRate, type TrackingCategory, type TrackingPick } from '../model.js';
import { ON_ACCOUNT_COLLECTION, remainingCredit } from '../on-account.js';

export { accountClass, money, type RenderContext };

/** Rendering of internal records into Xero's JSON wire format (xero_accounting.yaml, components/schemas). */

export const msDate = (ms: number): string => `/Date(${ms}+0000)/`;
const isoNoZ = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

export function renderAddress(a: SimAddress) {
  return {
    AddressType: a.type,
    AddressLine1: a.line1,
    ...(a.line2 ? { AddressLine2: a.line2 } : {}),
    City: a.city,
    Region: a.region,
    PostalCode: a.postalCode,
    Country: a.country,
  };
}

export function renderPhone(p: SimPhone) {
  return { PhoneType: p.type, PhoneNumber: p.number, PhoneAreaCode: p.areaCode, PhoneCountryCode: p.countryCode };
}

export function renderOrganisation(ctx: RenderContext, tenantId: string) {
  const o = ctx.gen.organisation;
  return {
    OrganisationID: ctx.gen.organisationId(),
    APIKey: '',
    Name: o.name,
    LegalName: o.legalName,
    PaysTax: true,
    Version: o.version,
    OrganisationType: 'COMPANY',
    BaseCurrency: o.baseCurrency,
    CountryCode: o.countryCode,
    IsDemoCompany: false,
    OrganisationStatus: 'ACTIVE',
    RegistrationNumber: o.registrationNumber,
    TaxNumber: o.taxNumber,
    FinancialYearEndDay: o.financialYearEndDay,
    FinancialYearEndMonth: o.financialYearEndMonth,
    SalesTaxBasis: 'ACCRUALS',
    SalesTaxPeriod: 'QUARTERLY1',
    DefaultSalesTax: 'Tax Exclusive',
    DefaultPurchasesTax: 'Tax Exclusive',
    PeriodLockDate: msDate(o.periodLockMs),
    CreatedDateUTC: msDate(o.createdMs),
    OrganisationEntityType: 'COMPANY',
    Timezone: o.timezone,
    ShortCode: o.shortCode,
    Class: 'PREMIUM',
    Edition: 'BUSINESS',
    LineOfBusiness: o.lineOfBusiness,
    Addresses: o.addresses.map(renderAddress),
    Phones: o.phones.map(renderPhone),
    ExternalLinks: [{ LinkType: 'Website', Url: o.website }],
    PaymentTerms: { Bills: { Day: 30, Type: 'DAYSAFTERBILLDATE' }, Sales: { Day: 30, Type: 'DAYSAFTERBILLDATE' } },
    // Not in Xero's Organisation schema: lets a client find the tenant an organisation belongs to.
    TenantID: tenantId,
  };
}

export function renderAccount(ctx: RenderContext, a: Account) {
  return {
    AccountID: ctx.gen.id('accounts', a.index),
    Code: a.code,
    Name: a.name,
    Status: a.status,
    Type: a.type,
    TaxType: a.taxType,
    Description: a.description,
    Class: accountClass(a.type),
    ...(a.systemAccount ? { SystemAccount: a.systemAccount } : {}),
    EnablePaymentsToAccount: a.type === 'BANK',
    ShowInExpenseClaims: a.type === 'OVERHEADS' || a.type === 'EXPENSE',
    ...(a.bankAccountType ? { BankAccountType: a.bankAccountType, BankAccountNumber: a.bankAccountNumber, CurrencyCode: ctx.gen.organisation.baseCurrency } : {}),
    ReportingCode: accountClass(a.type).slice(0, 3),
    HasAttachments: false,
    UpdatedDateUTC: msDate(a.updatedMs),
    AddToWatchlist: false,
  };
}

export function renderTaxRate(t: TaxRate) {
  const { display, effective } = taxRatePercent(t.components);
  return {
    Name: t.name,
    TaxType: t.taxType,
    TaxComponents: t.components.map((c) => ({ Name: c.name, Rate: c.rate, IsCompound: c.isCompound, IsNonRecoverable: false })),
    Status: t.status,
    ReportTaxType: t.reportTaxType,
    CanApplyToAssets: true,
    CanApplyToEquity: true,
    CanApplyToExpenses: true,
    CanApplyToLiabilities: true,
    CanApplyToRevenue: true,
    DisplayTaxRate: display,
    EffectiveRate: effective,
  };
}

export function renderTrackingCategory(ctx: RenderContext, c: TrackingCategory, includeArchived: boolean) {
  const id = ctx.gen.id('trackingCategories', c.index);
  return {
    TrackingCategoryID: id,
    Name: c.name,
    Status: c.status,
    Options: c.options
      .filter((o) => includeArchived || o.status === 'ACTIVE')
      .map((o) => ({ TrackingOptionID: ctx.gen.trackingOptionId(c.index, o.index), Name: o.name, Status: o.status, TrackingCategoryID: id })),
  };
}

export function renderItem(ctx: RenderContext, i: Item) {
  return {
    ItemID: ctx.gen.id('items', i.index),
    Code: i.code,
    Name: i.name,
    Description: i.description,
    PurchaseDescription: i.purchaseDescription,
    IsSold: i.isSold,
    IsPurchased: i.isPurchased,
    IsTrackedAsInventory: i.isTracked,
    ...(i.isTracked ? { InventoryAssetAccountCode: '630', TotalCostPool: money(i.purchaseUnitCents * i.quantityOnHand), QuantityOnHand: i.quantityOnHand } : {}),
    SalesDetails: { UnitPrice: money(i.salesUnitCents), AccountCode: i.salesAccount, TaxType: 'OUTPUT2' },
    PurchaseDetails: i.isPurchased
      ? { UnitPrice: money(i.purchaseUnitCents), ...(i.isTracked ? { COGSAccountCode: '310' } : { AccountCode: i.purchaseAccount }), TaxType: 'INPUT2' }
      : {},
    UpdatedDateUTC: msDate(i.updatedMs),
  };
}

export function renderContact(ctx: RenderContext, c: Contact) {
  return {
    ContactID: ctx.gen.id('contacts', c.index),
    AccountNumber: c.accountNumber,
    ContactStatus: c.status,
    Name: c.name,
    FirstName: c.firstName,
    LastName: c.lastName,
    EmailAddress: c.email,
    ...(c.companyNumber ? { CompanyNumber: c.companyNumber } : {}),
    ...(c.taxNumber ? { TaxNumber: c.taxNumber } : {}),
    ContactPersons: c.persons.map((p) => ({ FirstName: p.firstName, LastName: p.lastName, EmailAddress: p.email, IncludeInEmails: p.includeInEmails })),
    Addresses: c.addresses.map(renderAddress),
    Phones: c.phones.map(renderPhone),
    IsSupplier: c.isSupplier,
    IsCustomer: c.isCustomer,
    DefaultCurrency: c.currency,
    ...(c.website ? { Website: c.website } : {}),
    UpdatedDateUTC: msDate(c.updatedMs),
    ContactGroups: [],
    HasAttachments: false,
    HasValidationErrors: false,
  };
}

/** The summary of a contact embedded in documents. */
export function contactSummary(ctx: RenderContext, index: number) {
  const c = ctx.contact(index) ?? ctx.gen.contact(index);
  return { ContactID: ctx.gen.id('contacts', index), Name: c.name, ContactStatus: c.status, IsCustomer: c.isCustomer, IsSupplier: c.isSupplier };
}

export function trackingRefs(ctx: RenderContext, picks: TrackingPick[]) {
  return picks.map((p) => {
    const cat = ctx.trackingCategory(p.category) ?? ctx.gen.trackingCategories[p.category]!;
    return {
      TrackingCategoryID: ctx.gen.id('trackingCategories', p.category),
      TrackingOptionID: ctx.gen.trackingOptionId(p.category, p.option),
      Name: cat.name,
      Option: cat.options[p.option]?.name ?? '',
    };
  });
}

/** A document line (invoices, bills, credit notes, purchase orders). */
export function renderLineItem(ctx: RenderContext, l: DocLine, docId: string, n: number, unitdp: 2 | 4 = 2) {
  return renderLine(ctx, l, docId, n, unitdp);
}

/**
 * `unitdp`: decimals of UnitAmount — Xero rounds unit prices to 2 unless the call asks for 4 (`unitdp=4`), while
 * line amounts are the same either way.
 */
export function renderLine(ctx: RenderContext, l: DocLine, docId: string, n: number, unitdp: 2 | 4 = 2) {
  const item = l.itemIndex === undefined ? undefined : (ctx.item(l.itemIndex) ?? ctx.gen.item(l.itemIndex));
  const account = ctx.account(l.accountCode);
  return {
    LineItemID: `${docId.slice(0, 24)}${(0xa00000000000 + n).toString(16)}`,
    Description: l.description,
    Quantity: l.quantity,
    UnitAmount: unitdp === 4 ? unitAmount(l) : money(Math.round(unitAmount(l) * 100)),
    ...(item && l.itemIndex !== undefined ? { ItemCode: item.code, Item: { ItemID: ctx.gen.id('items', l.itemIndex), Name: item.name, Code: item.code } } : {}),
    AccountCode: l.accountCode,
    ...(account ? { AccountID: ctx.gen.id('accounts', account.index) } : {}),
    TaxType: l.taxType,
    TaxAmount: money(l.taxCents),
    LineAmount: money(l.lineCents),
    ...(l.discountRate ? { DiscountRate: l.discountRate, DiscountAmount: money(l.discountCents) } : {}),
    Tracking: trackingRefs(ctx, l.tracking),
  };
}

const DOC_TYPE = { invoice: 'ACCREC', bill: 'ACCPAY' } as const;

export function renderDoc(ctx: RenderContext, d: Doc, unitdp: 2 | 4 = 2) {
  if (d.kind === 'creditNote' || d.kind === 'billCreditNote') return renderCreditNote(ctx, d, unitdp);
  const name = d.kind === 'invoice' ? 'invoices' : 'bills';
  const id = ctx.gen.id(name, d.index);
  const paymentsName = d.kind === 'invoice' ? 'payments' : 'billPayments';
  return {
    Type: DOC_TYPE[d.kind],
    InvoiceID: id,
    InvoiceNumber: d.number,
    Reference: d.reference,
    Contact: contactSummary(ctx, d.contactIndex),
    Date: msDate(d.dateMs),
    DateString: isoNoZ(d.dateMs),
    DueDate: msDate(d.dueDateMs),
    DueDateString: isoNoZ(d.dueDateMs),
    Status: d.status,
    LineAmountTypes: 'Exclusive',
    LineItems: d.lines.map((l, n) => renderLine(ctx, l, id, n, unitdp)),
    SubTotal: money(d.subCents),
    TotalTax: money(d.taxCents),
    Total: money(d.totalCents),
    TotalDiscount: money(d.discountCents),
    CurrencyCode: d.currency,
    CurrencyRate: d.rate,
    AmountDue: money(amountDue(d)),
    AmountPaid: money(amountPaid(d)),
    AmountCredited: money(amountCredited(d)),
    ...(d.fullyPaidOnMs !== undefined && d.status === 'PAID' ? { FullyPaidOnDate: msDate(d.fullyPaidOnMs) } : {}),
    SentToContact: d.sentToContact,
    IsDiscounted: d.discountCents > 0,
    HasAttachments: false,
    HasErrors: false,
    Payments: d.payments.map((p) => ({
      PaymentID: ctx.gen.id(paymentsName, p.index),
      Date: msDate(p.dateMs),
      Amount: money(p.amountCents),
      Reference: p.reference,
      CurrencyRate: d.rate,
      HasAccount: false,
      HasValidationErrors: false,
    })),
    ...(d.kind === 'invoice' || d.kind === 'bill'
      ? {
          CreditNotes: d.credits.map((c) => {
            const cnName = d.kind === 'invoice' ? 'creditNotes' : 'billCreditNotes';
            const cn = ctx.doc(cnName, c.index);
            return {
              CreditNoteID: ctx.gen.id(cnName, c.index),
              CreditNoteNumber: cn?.number ?? '',
              Date: msDate(c.dateMs),
              AppliedAmount: money(c.amountCents),
              Total: money(cn?.totalCents ?? c.amountCents),
              ID: ctx.gen.id(cnName, c.index),
            };
          }),
          // Overpayments and prepayments applied to it, as Xero embeds them (their share here is AppliedAmount).
          ...onAccountRefs(ctx, d),
        }
      : {}),
    UpdatedDateUTC: msDate(d.updatedMs),
    UpdatedDateUTCString: new Date(d.updatedMs).toISOString(),
  };
}

function onAccountRefs(ctx: RenderContext, d: Doc) {
  const out: { Prepayments: unknown[]; Overpayments: unknown[] } = { Prepayments: [], Overpayments: [] };
  for (const c of d.onAccount ?? []) {
    const name = ON_ACCOUNT_COLLECTION[c.kind];
    const r = ctx.onAccount(name, c.index);
    const id = ctx.gen.id(name, c.index);
    const common = { Date: msDate(c.dateMs), AppliedAmount: money(c.amountCents), Total: money(r?.totalCents ?? c.amountCents), CurrencyCode: d.currency, ID: id };
    if (c.kind === 'prepayment') out.Prepayments.push({ PrepaymentID: id, ...common });
    else out.Overpayments.push({ OverpaymentID: id, ...common });
  }
  return out;
}

/** Allocation ids: derived from the on-account record's id and the document it was applied to (stable, unique). */
export const onAccountAllocationId = (recordId: string, docIndex: number): string => `${recordId.slice(0, 24)}${(0xc00000000000 + docIndex).toString(16).slice(-12)}`;

/** An overpayment or prepayment (`/Overpayments`, `/Prepayments`). */
export function renderOnAccount(ctx: RenderContext, r: OnAccount, unitdp: 2 | 4 = 2) {
  const name = ON_ACCOUNT_COLLECTION[r.kind];
  const id = ctx.gen.id(name, r.index);
  const docName = r.type === 'RECEIVE' ? 'invoices' : 'bills';
  const prefix = r.kind === 'overpayment' ? 'OVERPAYMENT' : 'PREPAYMENT';
  return {
    Type: `${r.type}-${prefix}`,
    Contact: contactSummary(ctx, r.contactIndex),
    Date: msDate(r.dateMs),
    Status: r.status,
    LineAmountTypes: 'NoTax',
    LineItems: r.lines.map((l, n) => renderLine(ctx, l, id, n, unitdp)),
    SubTotal: money(r.subCents),
    TotalTax: money(r.taxCents),
    Total: money(r.totalCents),
    ...(r.reference ? { Reference: r.reference } : {}),
    UpdatedDateUTC: msDate(r.updatedMs),
    UpdatedDateUTCString: new Date(r.updatedMs).toISOString(),
    CurrencyCode: r.currency,
    [r.kind === 'overpayment' ? 'OverpaymentID' : 'PrepaymentID']: id,
    CurrencyRate: r.rate,
    RemainingCredit: money(remainingCredit(r)),
    Allocations: r.allocations.map((a) => {
      const doc = ctx.doc(docName, a.docIndex);
      return {
        AllocationID: onAccountAllocationId(id, a.docIndex),
        Invoice: { InvoiceID: ctx.gen.id(docName, a.docIndex), InvoiceNumber: doc?.number ?? '' },
        Amount: money(a.amountCents),
        Date: msDate(a.dateMs),
      };
    }),
    Payments: [],
    HasAttachments: false,
  };
}

function renderCreditNote(ctx: RenderContext, d: Doc, unitdp: 2 | 4) {
  // Customer credit notes (ACCRECCREDIT) allocate to invoices; supplier credit notes (ACCPAYCREDIT) to bills.
  const supplier = d.kind === 'billCreditNote';
  const id = ctx.gen.id(supplier ? 'billCreditNotes' : 'creditNotes', d.index);
  const docName = supplier ? 'bills' : 'invoices';
  return {
    Type: supplier ? 'ACCPAYCREDIT' : 'ACCRECCREDIT',
    CreditNoteID: id,
    CreditNoteNumber: d.number,
    Reference: d.reference,
    Contact: contactSummary(ctx, d.contactIndex),
    Date: msDate(d.dateMs),
    DateString: isoNoZ(d.dateMs),
    Status: d.status,
    LineAmountTypes: 'Exclusive',
    LineItems: d.lines.map((l, n) => renderLine(ctx, l, id, n, unitdp)),
    SubTotal: money(d.subCents),
    TotalTax: money(d.taxCents),
    Total: money(d.totalCents),
    CurrencyCode: d.currency,
    CurrencyRate: d.rate,
    RemainingCredit: money(amountDue(d)),
    ...(d.fullyPaidOnMs !== undefined && d.status === 'PAID' ? { FullyPaidOnDate: msDate(d.fullyPaidOnMs) } : {}),
    SentToContact: d.sentToContact,
    HasAttachments: false,
    HasErrors: false,
    Allocations: d.credits.map((c) => {
      const inv = ctx.doc(docName, c.index);
      return {
        AllocationID: `${id.slice(0, 24)}${(0xb00000000000 + c.index).toString(16).slice(-12)}`,
        Invoice: { InvoiceID: ctx.gen.id(docName, c.index), InvoiceNumber: inv?.number ?? '' },
        Amount: money(c.amountCents),
        Date: msDate(c.dateMs),
      };
    }),
    Payments: [],
    UpdatedDateUTC: msDate(d.updatedMs),
    UpdatedDateUTCString: new Date(d.updatedMs).toISOString(),
  };
}

export function renderPayment(ctx: RenderContext, p: Pay) {
  const docName = p.kind === 'payment' ? 'invoices' : 'bills';
  const doc = ctx.doc(docName, p.docIndex);
  const account = ctx.account(p.bankCode) ?? ctx.gen.accountByCode.get(p.bankCode)!;
  return {
    PaymentID: ctx.gen.id(p.kind === 'payment' ? 'payments' : 'billPayments', p.index),
    Date: msDate(p.dateMs),
    Amount: money(p.amountCents),
    BankAmount: money(Math.round(p.amountCents / p.rate)),
    CurrencyRate: p.rate,
    Reference: p.reference,
    IsReconciled: p.isReconciled,
    Status: p.status,
    PaymentType: p.kind === 'payment' ? 'ACCRECPAYMENT' : 'ACCPAYPAYMENT',
    Account: { AccountID: ctx.gen.id('accounts', account.index), Code: account.code, Name: account.name },
    Invoice: {
      Type: p.kind === 'payment' ? 'ACCREC' : 'ACCPAY',
      InvoiceID: ctx.gen.id(docName, p.docIndex),
      InvoiceNumber: doc?.number ?? '',
      Contact: contactSummary(ctx, doc?.contactIndex ?? 0),
      CurrencyCode: p.currency,
    },
    HasAccount: true,
    HasValidationErrors: false,
    UpdatedDateUTC: msDate(p.updatedMs),
    UpdatedDateUTCString: new Date(p.updatedMs).toISOString(),
  };
}

export function renderManualJournal(ctx: RenderContext, j: ManualJournal) {
  return {
    ManualJournalID: ctx.gen.id('manualJournals', j.index),
    Narration: j.narration,
    Date: msDate(j.dateMs),
    Status: j.status,
    LineAmountTypes: 'NoTax',
    ShowOnCashBasisReports: true,
    HasAttachments: false,
    JournalLines: j.lines.map((l) => {
      const a = ctx.account(l.accountCode);
      return {
        LineAmount: money(l.amountCents),
        AccountCode: l.accountCode,
        ...(a ? { AccountID: ctx.gen.id('accounts', a.index) } : {}),
        Description: l.description,
        TaxType: 'NONE',
        TaxAmount: 0,
        Tracking: trackingRefs(ctx, l.tracking),
        IsBlank: false,
      };
    }),
    UpdatedDateUTC: msDate(j.updatedMs),
  };
}
