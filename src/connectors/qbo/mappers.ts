/**
 * QuickBooks Online entities → Syncline's accounting model (accounting-model.md §5), field by field. Decisions the
 * model leaves open are noted where they are taken:
 * - invoice, bill and credit-memo status come from `Balance` / `RemainingCredit` and voids (QuickBooks has no status
 *   field; a void keeps the document with zero amounts and "Voided" in `PrivateNote`);
 * - `Active: false` name-list rows are `Archived` (QuickBooks never deletes them);
 * - Class and Department become tracking categories under two roots, `class` and `department`;
 * - `ExchangeRate` (home currency per unit of the document's currency) is the model's `currencyRate` as given;
 * - QuickBooks lines carry no tax amount and invoices no payment amounts, so those fields are left out, not guessed.
 */
import type { SourceRecord } from '../connector.js';
import { arr, bool, compact, dateField, instant, num, obj, parseQboInstant, round2, str, type Wire } from './wire.js';

export interface MapContext {
  baseCurrency?: string;
  realmId: string;
}

export function updated(w: Wire): string | undefined {
  const ms = parseQboInstant(obj(w.MetaData)?.LastUpdatedTime);
  return ms === undefined ? undefined : instant(ms);
}

export function record(id: string, data: Record<string, unknown>, w: Wire): SourceRecord {
  const u = updated(w);
  return { id, data: compact({ ...data, sourceModifiedDate: u }), sourceModifiedDate: u ?? null, deleted: false };
}

/** A CDC tombstone (`status: "Deleted"`): only the id and the deletion time are known. */
export function tombstone(w: Wire): SourceRecord {
  const id = String(w.Id);
  const u = updated(w);
  return { id, data: { id }, sourceModifiedDate: u ?? null, deleted: true };
}

export const isTombstone = (w: Wire): boolean => w.status === 'Deleted';

export const idOf = (w: Wire): string => {
  const id = str(w.Id);
  if (!id) throw new Error('QuickBooks entity without Id');
  return id;
};
export const ref = (v: unknown) => {
  const r = obj(v);
  return r && str(r.value) ? compact({ id: str(r.value)!, name: str(r.name) }) : undefined;
};
export const activeStatus = (w: Wire) => (bool(w.Active) === false ? 'Archived' : 'Active');

export function address(a: unknown, type: 'Billing' | 'Delivery') {
  const x = obj(a);
  if (!x) return undefined;
  return compact({
    type,
    line1: str(x.Line1),
    line2: [str(x.Line2), str(x.Line3), str(x.Line4)].filter(Boolean).join(', ') || undefined,
    city: str(x.City),
    region: str(x.CountrySubDivisionCode),
    country: str(x.Country),
    postalCode: str(x.PostalCode),
  });
}

// ----- company -------------------------------------------------------------------------------------------------

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Start of the financial year containing `nowMs`, from QuickBooks' FiscalYearStartMonth. */
export function financialYearStart(monthName: string | undefined, nowMs: number): string | undefined {
  const m = MONTHS.indexOf(monthName ?? '');
  if (m < 0) return undefined;
  const now = new Date(nowMs);
  let year = now.getUTCFullYear();
  if (Date.UTC(year, m, 1) > nowMs) year -= 1;
  return new Date(Date.UTC(year, m, 1)).toISOString().slice(0, 10) + 'T00:00:00';
}

export function mapCompany(info: Wire, prefs: Wire | undefined, ctx: MapContext, nowMs: number): SourceRecord {
  const phone = str(obj(info.PrimaryPhone)?.FreeFormNumber);
  const web = str(obj(info.WebAddr)?.URI);
  const created = parseQboInstant(obj(info.MetaData)?.CreateTime);
  const acct = obj(prefs?.AccountingInfoPrefs);
  return {
    id: ctx.realmId,
    data: compact({
      companyName: str(info.CompanyName),
      accountingPlatformRef: ctx.realmId,
      companyLegalName: str(info.LegalName),
      addresses: [address(info.CompanyAddr, 'Delivery'), address(info.CustomerCommunicationAddr, 'Billing')].filter((a) => a !== undefined),
      phoneNumbers: phone ? [{ number: phone, type: 'Primary' }] : [],
      webLinks: web ? [{ type: 'Website', url: web }] : [],
      ledgerLockDate: dateField(acct?.BookCloseDate),
      financialYearStartDate: financialYearStart(str(info.FiscalYearStartMonth) ?? str(acct?.FirstMonthOfFiscalYear), nowMs),
      baseCurrency: str(obj(obj(prefs?.CurrencyPrefs)?.HomeCurrency)?.value) ?? ctx.baseCurrency,
      createdDate: created === undefined ? undefined : instant(created),
    }),
    sourceModifiedDate: null,
    deleted: false,
  };
}

// ----- accounts ----------------------------------------------------------------------------------------------------

const CLASSIFICATION: Record<string, string> = { Asset: 'Asset', Liability: 'Liability', Equity: 'Equity', Revenue: 'Income', Expense: 'Expense' };
const BANK_TYPES = new Set(['Bank', 'Credit Card']);

export function mapAccount(a: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(a);
  const type = CLASSIFICATION[String(a.Classification)] ?? 'Unknown';
  const category = str(a.AccountType) ? `${type}.${str(a.AccountType)!.replace(/\s+/g, '')}` : undefined;
  const fqName = str(a.FullyQualifiedName) ?? str(a.Name);
  return record(
    id,
    {
      id,
      nominalCode: str(a.AcctNum),
      name: str(a.Name),
      description: str(a.Description),
      fullyQualifiedCategory: category,
      fullyQualifiedName: category && fqName ? `${category}.${fqName}` : undefined,
      currency: str(obj(a.CurrencyRef)?.value) ?? ctx.baseCurrency,
      currentBalance: num(a.CurrentBalance),
      type,
      status: activeStatus(a),
      isBankAccount: BANK_TYPES.has(String(a.AccountType)),
    },
    a,
  );
}

export function mapBankAccount(a: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(a);
  return record(
    id,
    {
      id,
      accountName: str(a.Name),
      accountType: a.AccountType === 'Credit Card' ? 'Credit' : a.AccountType === 'Bank' ? 'Debit' : 'Unknown',
      nominalCode: str(a.AcctNum),
      accountNumber: str(a.BankNum),
      currency: str(obj(a.CurrencyRef)?.value) ?? ctx.baseCurrency,
      balance: num(a.CurrentBalance),
      status: activeStatus(a),
    },
    a,
  );
}

// ----- tax ---------------------------------------------------------------------------------------------------------

/** A tax code with its component rates (TaxRate entities by id). */
export function mapTaxCode(c: Wire, rates: ReadonlyMap<string, Wire>): SourceRecord {
  const id = idOf(c);
  const details = [...arr(obj(c.SalesTaxRateList)?.TaxRateDetail), ...arr(obj(c.PurchaseTaxRateList)?.TaxRateDetail)];
  const seen = new Set<string>();
  const components = details.flatMap((d) => {
    const rid = str(obj(d.TaxRateRef)?.value);
    if (!rid || seen.has(rid)) return [];
    seen.add(rid);
    const r = rates.get(rid);
    return [compact({ name: str(r?.Name) ?? str(obj(d.TaxRateRef)?.name), rate: num(r?.RateValue), isCompound: d.TaxTypeApplicable === 'TaxOnAmountPlusTax' })];
  });
  let simple = 0;
  let compound = 0;
  for (const x of components) (x.isCompound ? (compound += x.rate ?? 0) : (simple += x.rate ?? 0));
  return record(
    id,
    {
      id,
      name: str(c.Name),
      code: str(c.Name),
      status: activeStatus(c),
      effectiveTaxRate: Math.round((simple + compound * (1 + simple / 100)) * 10_000) / 10_000,
      totalTaxRate: round2(simple + compound),
      components,
    },
    c,
  );
}

// ----- customers, suppliers, items ---------------------------------------------------------------------------------

const personName = (w: Wire) => [str(w.GivenName), str(w.FamilyName)].filter(Boolean).join(' ') || undefined;

export function mapCustomer(c: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(c);
  return record(
    id,
    {
      id,
      customerName: str(c.DisplayName) ?? str(c.CompanyName),
      contactName: personName(c),
      emailAddress: str(obj(c.PrimaryEmailAddr)?.Address),
      defaultCurrency: str(obj(c.CurrencyRef)?.value) ?? ctx.baseCurrency,
      phone: str(obj(c.PrimaryPhone)?.FreeFormNumber),
      addresses: [address(c.BillAddr, 'Billing'), address(c.ShipAddr, 'Delivery')].filter((a) => a !== undefined),
      status: activeStatus(c),
    },
    c,
  );
}

export function mapSupplier(v: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(v);
  return record(
    id,
    {
      id,
      supplierName: str(v.DisplayName) ?? str(v.CompanyName),
      contactName: personName(v),
      emailAddress: str(obj(v.PrimaryEmailAddr)?.Address),
      phone: str(obj(v.PrimaryPhone)?.FreeFormNumber),
      addresses: [address(v.BillAddr, 'Billing')].filter((a) => a !== undefined),
      status: activeStatus(v),
      defaultCurrency: str(obj(v.CurrencyRef)?.value) ?? ctx.baseCurrency,
    },
    v,
  );
}

const ITEM_TYPES: Record<string, string> = { Inventory: 'Inventory', NonInventory: 'NonInventory', Service: 'Service' };

export function mapItem(i: Wire): SourceRecord {
  const id = idOf(i);
  const income = ref(i.IncomeAccountRef);
  const expense = ref(i.ExpenseAccountRef);
  return record(
    id,
    {
      id,
      name: str(i.Name),
      code: str(i.Sku),
      itemStatus: activeStatus(i),
      type: ITEM_TYPES[String(i.Type)] ?? 'Unknown',
      isBillItem: expense !== undefined,
      billItem: expense ? compact({ description: str(i.PurchaseDesc), unitPrice: num(i.PurchaseCost), accountRef: expense }) : undefined,
      isInvoiceItem: income !== undefined,
      invoiceItem: income ? compact({ description: str(i.Description), unitPrice: num(i.UnitPrice), accountRef: income }) : undefined,
    },
    i,
  );
}

// ----- tracking categories -----------------------------------------------------------------------------------------

export const TRACKING_ROOTS = { Class: 'class', Department: 'department' } as const;
export const trackingId = (kind: 'Class' | 'Department', id: string) => `${TRACKING_ROOTS[kind]}-${id}`;

/** Class or Department rows → the root record and one record per row (sub-classes under their parent). */
export function mapTrackingList(kind: 'Class' | 'Department', rows: Wire[]): SourceRecord[] {
  const root = TRACKING_ROOTS[kind];
  const parents = new Set(rows.map((r) => str(obj(r.ParentRef)?.value)).filter(Boolean));
  return [
    { id: root, data: { id: root, name: kind, status: 'Active', hasChildren: rows.length > 0 }, sourceModifiedDate: null, deleted: false },
    ...rows.map((r) => {
      const id = trackingId(kind, idOf(r));
      const parent = str(obj(r.ParentRef)?.value);
      return record(id, { id, name: str(r.Name), status: activeStatus(r), parentId: parent ? trackingId(kind, parent) : root, hasChildren: parents.has(idOf(r)) }, r);
    }),
  ];
}

export function trackingRefs(line: Wire, detail: Wire | undefined, doc: Wire) {
  const refs: { id: string; name?: string }[] = [];
  const cls = ref(detail?.ClassRef) ?? ref(doc.ClassRef);
  if (cls) refs.push(compact({ id: trackingId('Class', cls.id), name: cls.name }));
  const dep = ref(detail?.DepartmentRef) ?? ref(doc.DepartmentRef);
  if (dep) refs.push(compact({ id: trackingId('Department', dep.id), name: dep.name }));
  void line;
  return refs;
}

// ----- documents ---------------------------------------------------------------------------------------------------

export const isVoided = (d: Wire) => (num(d.TotalAmt) ?? 0) === 0 && /\bVoided\b/.test(str(d.PrivateNote) ?? '');

export function salesLines(d: Wire) {
  return arr(d.Line)
    .filter((l) => l.DetailType === 'SalesItemLineDetail')
    .map((l) => {
      const det = obj(l.SalesItemLineDetail) ?? {};
      const refs = trackingRefs(l, det, d);
      const tax = ref(det.TaxCodeRef);
      return compact({
        description: str(l.Description),
        unitAmount: num(det.UnitPrice) ?? 0,
        quantity: num(det.Qty) ?? 0,
        discountAmount: num(det.DiscountAmt),
        discountPercentage: num(det.DiscountRate),
        subTotal: num(l.Amount),
        accountRef: ref(det.ItemAccountRef),
        taxRateRef: tax,
        itemRef: ref(det.ItemRef),
        trackingCategoryRefs: refs,
        tracking: { categoryRefs: refs, isBilledTo: 'NotApplicable', isRebilledTo: 'NotApplicable' },
        isDirectIncome: false,
      });
    });
}

export function subTotalOf(d: Wire): number {
  const sub = arr(d.Line).find((l) => l.DetailType === 'SubTotalLineDetail');
  if (sub && num(sub.Amount) !== undefined) return num(sub.Amount)!;
  return round2(arr(d.Line).filter((l) => l.DetailType !== 'SubTotalLineDetail' && l.DetailType !== 'DiscountLineDetail').reduce((a, l) => a + (num(l.Amount) ?? 0), 0));
}
export const discountOf = (d: Wire) => round2(arr(d.Line).filter((l) => l.DetailType === 'DiscountLineDetail').reduce((a, l) => a + (num(l.Amount) ?? 0), 0));

export function invoiceStatus(d: Wire): string {
  if (isVoided(d)) return 'Void';
  const total = num(d.TotalAmt) ?? 0;
  const balance = num(d.Balance) ?? 0;
  if (balance <= 0) return 'Paid';
  if (balance < total) return 'PartiallyPaid';
  return 'Submitted';
}

export function mapInvoice(d: Wire): SourceRecord {
  const id = idOf(d);
  const customer = ref(d.CustomerRef);
  return record(
    id,
    {
      id,
      invoiceNumber: str(d.DocNumber),
      customerRef: customer ? compact({ id: customer.id, companyName: customer.name }) : undefined,
      issueDate: dateField(d.TxnDate),
      dueDate: dateField(d.DueDate),
      currency: str(obj(d.CurrencyRef)?.value),
      currencyRate: num(d.ExchangeRate),
      lineItems: salesLines(d),
      totalDiscount: discountOf(d),
      subTotal: subTotalOf(d),
      totalTaxAmount: num(obj(d.TxnTaxDetail)?.TotalTax) ?? 0,
      totalAmount: num(d.TotalAmt) ?? 0,
      amountDue: num(d.Balance) ?? 0,
      status: invoiceStatus(d),
      note: str(d.PrivateNote),
    },
    d,
  );
}

export function mapCreditMemo(d: Wire): SourceRecord {
  const id = idOf(d);
  const customer = ref(d.CustomerRef);
  const total = num(d.TotalAmt) ?? 0;
  const remaining = num(d.RemainingCredit) ?? num(d.Balance) ?? 0;
  const status = isVoided(d) ? 'Void' : remaining <= 0 ? 'Paid' : remaining < total ? 'PartiallyPaid' : 'Submitted';
  return record(
    id,
    {
      id,
      creditNoteNumber: str(d.DocNumber),
      customerRef: customer ? compact({ id: customer.id, companyName: customer.name }) : undefined,
      totalAmount: total,
      totalDiscount: discountOf(d),
      subTotal: subTotalOf(d),
      totalTaxAmount: num(obj(d.TxnTaxDetail)?.TotalTax) ?? 0,
      discountPercentage: 0,
      remainingCredit: remaining,
      status,
      issueDate: dateField(d.TxnDate),
      currency: str(obj(d.CurrencyRef)?.value),
      currencyRate: num(d.ExchangeRate),
      lineItems: salesLines(d),
      note: str(d.PrivateNote),
    },
    d,
  );
}

/** Purchase lines (bills, vendor credits, purchase orders, expenses): account- or item-based expense lines. */
export function billLines(d: Wire): Record<string, unknown>[] {
  return arr(d.Line)
    .filter((l) => l.DetailType === 'AccountBasedExpenseLineDetail' || l.DetailType === 'ItemBasedExpenseLineDetail')
    .map((l, n) => {
      const acct = l.DetailType === 'AccountBasedExpenseLineDetail';
      const det = obj(acct ? l.AccountBasedExpenseLineDetail : l.ItemBasedExpenseLineDetail) ?? {};
      const refs = trackingRefs(l, det, d);
      return compact({
        lineNumber: String(num(l.LineNum) ?? n + 1),
        description: str(l.Description),
        unitAmount: acct ? undefined : num(det.UnitPrice),
        quantity: acct ? undefined : num(det.Qty),
        subTotal: num(l.Amount),
        accountRef: acct ? ref(det.AccountRef) : undefined,
        taxRateRef: ref(det.TaxCodeRef),
        itemRef: acct ? undefined : ref(det.ItemRef),
        trackingCategoryRefs: refs,
        tracking: { categoryRefs: refs, isBilledTo: det.BillableStatus === 'Billable' ? 'Customer' : 'NotApplicable', isRebilledTo: 'NotApplicable' },
        isDirectCost: false,
      });
    });
}

export function mapBill(d: Wire): SourceRecord {
  const id = idOf(d);
  const vendor = ref(d.VendorRef);
  const total = num(d.TotalAmt) ?? 0;
  const balance = num(d.Balance) ?? 0;
  const status = isVoided(d) ? 'Void' : balance <= 0 ? 'Paid' : balance < total ? 'PartiallyPaid' : 'Open';
  const lines = billLines(d);
  return record(
    id,
    {
      id,
      reference: str(d.DocNumber),
      supplierRef: vendor ? compact({ id: vendor.id, supplierName: vendor.name }) : undefined,
      issueDate: dateField(d.TxnDate),
      dueDate: dateField(d.DueDate),
      currency: str(obj(d.CurrencyRef)?.value),
      currencyRate: num(d.ExchangeRate),
      lineItems: lines,
      status,
      subTotal: round2(lines.reduce((a, l) => a + ((l.subTotal as number | undefined) ?? 0), 0)),
      taxAmount: num(obj(d.TxnTaxDetail)?.TotalTax) ?? 0,
      totalAmount: total,
      amountDue: balance,
      note: str(d.PrivateNote),
    },
    d,
  );
}

const LINK_TYPES: Record<string, string> = { Invoice: 'Invoice', CreditMemo: 'CreditNote', JournalEntry: 'ManualJournal', Payment: 'Payment', RefundReceipt: 'Refund' };
const BILL_LINK_TYPES: Record<string, string> = { Bill: 'Bill', VendorCredit: 'CreditNote', JournalEntry: 'ManualJournal', BillPayment: 'BillPayment' };

function paymentLines(p: Wire, types: Record<string, string>) {
  const date = dateField(p.TxnDate);
  const rate = num(p.ExchangeRate);
  const lines: Record<string, unknown>[] = arr(p.Line).map((l) => {
    const amount = num(l.Amount) ?? 0;
    return compact({
      amount,
      links: arr(l.LinkedTxn).map((t) => compact({ type: types[String(t.TxnType)] ?? 'Other', id: str(t.TxnId), amount: -amount, currencyRate: rate })),
      allocatedOnDate: date,
    });
  });
  const unapplied = num(p.UnappliedAmt) ?? 0;
  if (unapplied > 0) lines.push(compact({ amount: unapplied, links: [{ type: 'PaymentOnAccount', amount: -unapplied }], allocatedOnDate: date }));
  return lines;
}

export function mapPayment(p: Wire): SourceRecord {
  const id = idOf(p);
  const customer = ref(p.CustomerRef);
  return record(
    id,
    {
      id,
      customerRef: customer ? compact({ id: customer.id, companyName: customer.name }) : undefined,
      accountRef: ref(p.DepositToAccountRef),
      paymentMethodRef: ref(p.PaymentMethodRef),
      totalAmount: num(p.TotalAmt),
      currency: str(obj(p.CurrencyRef)?.value),
      currencyRate: num(p.ExchangeRate),
      date: dateField(p.TxnDate),
      note: str(p.PrivateNote),
      lines: paymentLines(p, LINK_TYPES),
      reference: str(p.PaymentRefNum),
    },
    p,
  );
}

export function mapBillPayment(p: Wire): SourceRecord {
  const id = idOf(p);
  const vendor = ref(p.VendorRef);
  const account = ref(obj(p.CheckPayment)?.BankAccountRef) ?? ref(obj(p.CreditCardPayment)?.CCAccountRef);
  return record(
    id,
    {
      id,
      supplierRef: vendor ? compact({ id: vendor.id, supplierName: vendor.name }) : undefined,
      accountRef: account,
      totalAmount: num(p.TotalAmt),
      currency: str(obj(p.CurrencyRef)?.value),
      currencyRate: num(p.ExchangeRate),
      date: dateField(p.TxnDate),
      note: str(p.PrivateNote),
      lines: paymentLines(p, BILL_LINK_TYPES),
      reference: str(p.DocNumber),
    },
    p,
  );
}

export function mapJournalEntry(j: Wire, ctx: MapContext): SourceRecord {
  const id = idOf(j);
  const rate = num(j.ExchangeRate) ?? 1;
  const currency = str(obj(j.CurrencyRef)?.value) ?? ctx.baseCurrency;
  const created = parseQboInstant(obj(j.MetaData)?.CreateTime);
  return record(
    id,
    {
      id,
      description: str(j.PrivateNote),
      postedOn: dateField(j.TxnDate),
      createdOn: created === undefined ? undefined : instant(created),
      updatedOn: updated(j),
      journalLines: arr(j.Line)
        .filter((l) => l.DetailType === 'JournalEntryLineDetail')
        .map((l) => {
          const det = obj(l.JournalEntryLineDetail) ?? {};
          const sign = det.PostingType === 'Credit' ? -1 : 1;
          const amount = sign * (num(l.Amount) ?? 0);
          const refs = trackingRefs(l, det, {});
          const entity = obj(det.Entity);
          const entityRef = ref(entity?.EntityRef);
          return compact({
            description: str(l.Description),
            netAmount: round2(amount * rate),
            transactionAmount: amount,
            currency: ctx.baseCurrency,
            transactionCurrency: currency,
            accountRef: ref(det.AccountRef),
            tracking: { recordRefs: refs.map((r) => ({ id: r.id, dataType: 'trackingCategories' })) },
            contactRef: entityRef && (entity?.Type === 'Customer' || entity?.Type === 'Vendor') ? { id: entityRef.id, dataType: entity.Type === 'Customer' ? 'customers' : 'suppliers' } : undefined,
          });
        }),
      recordRef: { id, dataType: 'journalEntries' },
    },
    j,
  );
}
