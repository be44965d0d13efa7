/**
 * Test support (not built into dist/): field-by-field checks of what Syncline made of a Xero tenant against that
 * tenant's own wire records and ledger, shared by the connector-level test (sandbox.test.ts, records straight from a
 * pull) and the end-to-end one (test/gbol-e2e.test.ts, records as the API serves them after a `gbol` link).
 *
 * `Mapped` is one data type's records by id: `data` (the model fields), `deleted` and `sourceModifiedDate`. A record
 * already deleted at the source when first seen is never stored (sync-behaviour), so with `unseenDeleted: true` a wire
 * record that is DELETED may be absent.
 */
import { expect } from 'vitest';
import type { SourceRecord } from '../connector.js';
import { balancesAt, profit, type Ledger } from '../../sim/ledger.js';
import { accountClass, type Account } from '../../sim/model.js';

export interface MappedRecord {
  id: string;
  data: Record<string, any>;
  deleted: boolean;
  sourceModifiedDate: string | null;
}
export type Mapped = Map<string, MappedRecord>;
export type Wire = Record<string, any>;

export const byId = (records: readonly (SourceRecord | MappedRecord)[]): Mapped => new Map(records.map((r) => [r.id, { id: r.id, data: r.data as Record<string, any>, deleted: r.deleted, sourceModifiedDate: r.sourceModifiedDate }]));

export const msOf = (d: string): number => Number(/-?\d+/.exec(d)![0]);
export const day = (d: string): string => new Date(msOf(d)).toISOString().slice(0, 10) + 'T00:00:00';
export const cents = (x: number): number => Math.round(x * 100);

export interface CheckOptions {
  unseenDeleted?: boolean;
}

/** The mapped record of a wire record, or undefined when it may legitimately be absent (deleted before first seen). */
function find(mapped: Mapped, id: string, w: Wire, opts: CheckOptions): MappedRecord | undefined {
  const r = mapped.get(id);
  if (!r && opts.unseenDeleted && (w.Status === 'DELETED' || w.Status === 'VOIDED')) return undefined;
  expect(r, `record ${id} (${w.Status ?? ''})`).toBeDefined();
  return r;
}

/** Sales invoices (`/Invoices` ACCREC) → invoices, every field; payment allocations add up to AmountPaid + AmountCredited. */
export function checkInvoices(wire: Wire[], mapped: Mapped, opts: CheckOptions = {}): Set<string> {
  const statuses = new Set<string>();
  let seen = 0;
  for (const w of wire) {
    const r = find(mapped, w.InvoiceID, w, opts);
    if (!r) continue;
    seen++;
    const d = r.data;
    statuses.add(`${w.Status}->${d.status}`);
    expect(d.invoiceNumber).toBe(w.InvoiceNumber);
    expect(d.customerRef).toEqual({ id: w.Contact.ContactID, companyName: w.Contact.Name });
    expect(d.issueDate).toBe(day(w.Date));
    expect(d.dueDate).toBe(day(w.DueDate));
    expect(d.paidOnDate).toBe(w.Status === 'PAID' ? day(w.FullyPaidOnDate) : undefined);
    expect(d.currency).toBe(w.CurrencyCode);
    expect(d.currencyRate).toBeCloseTo(1 / w.CurrencyRate, 10);
    expect(d.subTotal).toBe(w.SubTotal);
    expect(d.totalTaxAmount).toBe(w.TotalTax);
    expect(d.totalAmount).toBe(w.Total);
    expect(d.amountDue).toBe(w.AmountDue);
    expect(d.totalDiscount).toBe(w.TotalDiscount);
    expect(d.note).toBe(w.Reference || undefined);
    expect(r.sourceModifiedDate).toBe(new Date(msOf(w.UpdatedDateUTC)).toISOString());
    expect(d.sourceModifiedDate).toBe(r.sourceModifiedDate);
    expect(r.deleted).toBe(w.Status === 'DELETED');
    expect(d.lineItems).toHaveLength(w.LineItems.length);
    w.LineItems.forEach((l: Wire, i: number) => {
      const m = d.lineItems[i];
      expect(m.description).toBe(l.Description);
      expect(m.unitAmount).toBe(l.UnitAmount);
      expect(m.quantity).toBe(l.Quantity);
      expect(m.subTotal).toBe(l.LineAmount);
      expect(m.taxAmount).toBe(l.TaxAmount);
      expect(cents(m.totalAmount)).toBe(cents(l.LineAmount + l.TaxAmount));
      expect(m.accountRef).toEqual({ id: l.AccountID });
      expect(m.taxRateRef).toEqual({ id: l.TaxType });
      expect(m.itemRef).toEqual(l.Item ? { id: l.Item.ItemID, name: l.Item.Name } : undefined);
      expect(m.discountPercentage).toBe(l.DiscountRate);
      expect(m.trackingCategoryRefs).toEqual(l.Tracking.map((t: Wire) => ({ id: t.TrackingOptionID, name: t.Option })));
      expect(m.tracking.categoryRefs).toEqual(m.trackingCategoryRefs);
    });
    const allocated = d.paymentAllocations.reduce((s: number, p: Wire) => s + cents(p.allocation.totalAmount), 0);
    expect(allocated).toBe(cents(w.AmountPaid) + cents(w.AmountCredited));
    const onAccount = [...(w.Prepayments ?? []).map((x: Wire) => x.PrepaymentID), ...(w.Overpayments ?? []).map((x: Wire) => x.OverpaymentID)];
    expect(d.paymentAllocations.map((p: Wire) => p.payment.id)).toEqual([...w.Payments.map((p: Wire) => p.PaymentID), ...w.CreditNotes.map((c: Wire) => c.CreditNoteID), ...onAccount]);
    if (w.Status !== 'VOIDED' && w.Status !== 'DELETED') expect(cents(d.amountDue)).toBe(cents(d.totalAmount) - allocated);
  }
  expect(seen).toBe(mapped.size);
  const allowed = ['AUTHORISED->PartiallyPaid', 'AUTHORISED->Submitted', 'PAID->Paid', 'VOIDED->Void', 'DELETED->Void', 'DRAFT->Draft', 'SUBMITTED->Submitted'];
  for (const s of statuses) expect(allowed).toContain(s);
  return statuses;
}

/**
 * Payments or bill payments against the wire: `/Payments` of the side's types (one line linking its invoice or bill
 * with −amount), credit-note allocations (amount 0, linking the document −amount and the credit note +amount), and
 * overpayments and prepayments (mapOnAccount: one line per allocation, the rest on account). Every record is one of
 * those, and every link points at a stored document.
 */
export function checkPayments(
  side: 'customer' | 'supplier',
  w: { payments: Wire[]; creditNotes: Wire[]; overpayments: Wire[]; prepayments: Wire[] },
  mapped: Mapped,
  ctx: { documents: Mapped; contacts: Mapped; bankAccounts: Mapped },
  opts: CheckOptions = {},
): { payments: number; creditAllocations: number; onAccount: number } {
  const docType = side === 'customer' ? 'Invoice' : 'Bill';
  const ref = side === 'customer' ? 'customerRef' : 'supplierRef';
  // Payments of invoices (bills). Refunds (ARCREDITPAYMENT…) are not checked here: a tenant with some fails the count below.
  const types = side === 'customer' ? ['ACCRECPAYMENT'] : ['ACCPAYPAYMENT'];
  const counts = { payments: 0, creditAllocations: 0, onAccount: 0 };
  for (const p of w.payments.filter((x) => types.includes(x.PaymentType))) {
    const r = find(mapped, p.PaymentID, p, opts);
    if (!r) continue;
    counts.payments++;
    const d = r.data;
    expect(r.deleted).toBe(p.Status === 'DELETED');
    expect(d.totalAmount).toBe(p.Amount);
    expect(d.date).toBe(day(p.Date));
    expect(d.reference).toBe(p.Reference || undefined);
    expect(d.accountRef).toEqual({ id: p.Account.AccountID, name: p.Account.Name });
    expect(ctx.bankAccounts.has(d.accountRef.id)).toBe(true);
    expect(ctx.contacts.has(d[ref].id)).toBe(true);
    expect(d.lines).toHaveLength(1);
    const link = d.lines[0].links[0];
    expect(link).toMatchObject({ type: docType, id: p.Invoice.InvoiceID, amount: -d.totalAmount });
    const doc = ctx.documents.get(link.id);
    expect(doc, `${r.id} → ${link.id}`).toBeDefined();
    if (!r.deleted) expect(doc!.data.paymentAllocations.some((a: Wire) => a.payment.id === r.id && a.allocation.totalAmount === d.totalAmount)).toBe(true);
  }
  for (const cn of w.creditNotes) {
    if (cn.Status === 'DELETED' || cn.Status === 'VOIDED') continue;
    for (const a of cn.Allocations) {
      const r = mapped.get(a.AllocationID)!;
      expect(r, a.AllocationID).toBeDefined();
      counts.creditAllocations++;
      expect(r.deleted).toBe(false);
      expect(r.data).toMatchObject({
        totalAmount: 0,
        date: day(a.Date),
        [ref]: { id: cn.Contact.ContactID },
        lines: [{ amount: 0, links: [{ type: docType, id: a.Invoice.InvoiceID, amount: -a.Amount }, { type: 'CreditNote', id: cn.CreditNoteID, amount: a.Amount }] }],
      });
      expect(ctx.documents.has(a.Invoice.InvoiceID)).toBe(true);
    }
  }
  for (const o of [...w.overpayments, ...w.prepayments]) {
    const id = o.OverpaymentID ?? o.PrepaymentID;
    const r = find(mapped, id, o, opts);
    if (!r) continue;
    counts.onAccount++;
    const d = r.data;
    expect(r.deleted, id).toBe(o.Status === 'VOIDED');
    expect(r.sourceModifiedDate).toBe(new Date(msOf(o.UpdatedDateUTC)).toISOString());
    expect(d).toMatchObject({ id, totalAmount: o.Total, currency: o.CurrencyCode, date: day(o.Date), note: o.OverpaymentID ? 'Overpayment' : 'Prepayment', [ref]: { id: o.Contact.ContactID, [side === 'customer' ? 'companyName' : 'supplierName']: o.Contact.Name } });
    expect(d.reference).toBe(o.Reference || undefined);
    expect(d.currencyRate).toBeCloseTo(1 / o.CurrencyRate, 10);
    expect(d.accountRef).toBeUndefined();
    expect(ctx.contacts.has(d[ref].id)).toBe(true);
    // One line per allocation, linking the document; the credit not allocated on account; the lines add up to the total.
    const lines = o.Allocations.map((a: Wire) => ({ amount: a.Amount, allocatedOnDate: day(a.Date), links: [{ type: docType, id: a.Invoice.InvoiceID, amount: -a.Amount, currencyRate: d.currencyRate }] }));
    const rest = cents(o.Total) - o.Allocations.reduce((s: number, a: Wire) => s + cents(a.Amount), 0);
    if (rest !== 0 || lines.length === 0) lines.push({ amount: rest / 100, allocatedOnDate: day(o.Date), links: [{ type: 'PaymentOnAccount', id, amount: -rest / 100, currencyRate: d.currencyRate }] });
    expect(d.lines).toEqual(lines);
    if (o.Status !== 'VOIDED') expect(cents(o.RemainingCredit)).toBe(rest);
    for (const a of o.Allocations) {
      const doc = ctx.documents.get(a.Invoice.InvoiceID);
      expect(doc, `${id} → ${a.Invoice.InvoiceID}`).toBeDefined();
      expect(doc!.data.paymentAllocations.filter((x: Wire) => x.payment.id === id).map((x: Wire) => [x.allocation.totalAmount, x.allocation.allocatedOnDate])).toContainEqual([a.Amount, day(a.Date)]);
    }
  }
  // Nothing else: every mapped record is one of the above.
  expect(mapped.size).toBe(counts.payments + counts.creditAllocations + counts.onAccount);
  return counts;
}

/** Accounts, bank accounts, tax rates, tracking categories, items, customers and suppliers, and the company. */
export function checkReferenceData(
  w: { accounts: Wire[]; taxRates: Wire[]; items: Wire[]; contacts: Wire[]; organisation: Wire },
  m: { chartOfAccounts: Mapped; bankAccounts: Mapped; taxRates: Mapped; trackingCategories: Mapped; items: Mapped; customers: Mapped; suppliers: Mapped; company: Mapped },
  nowMs: number,
): void {
  for (const a of w.accounts) {
    const r = m.chartOfAccounts.get(a.AccountID)!;
    expect(r, a.AccountID).toBeDefined();
    expect(r.deleted).toBe(a.Status === 'DELETED');
    expect(r.data).toMatchObject({ nominalCode: a.Code, name: a.Name, description: a.Description, isBankAccount: a.Type === 'BANK' });
    expect(r.data.type).toBe({ ASSET: 'Asset', LIABILITY: 'Liability', EQUITY: 'Equity', REVENUE: 'Income', EXPENSE: 'Expense' }[a.Class as string]);
    if (a.Status !== 'DELETED') expect(r.data.status).toBe(a.Status === 'ARCHIVED' ? 'Archived' : 'Active');
    expect(r.data.fullyQualifiedName).toBe(`${r.data.fullyQualifiedCategory}.${a.Name}`);
  }
  const banks = [...m.bankAccounts.values()].map((r) => r.data);
  expect(banks.map((b) => b.nominalCode).sort()).toEqual(w.accounts.filter((a) => a.Type === 'BANK').map((a) => a.Code).sort());
  expect(banks.find((b) => b.nominalCode === '092')).toMatchObject({ accountType: 'Credit', status: 'Active' });
  expect(banks.find((b) => b.nominalCode === '090')).toMatchObject({ accountType: 'Debit', sortCode: expect.stringMatching(/^\d\d-\d\d-\d\d$/), accountNumber: expect.stringMatching(/^\d{8}$/) });

  for (const t of w.taxRates) {
    const r = m.taxRates.get(t.TaxType)!;
    expect(r.deleted).toBe(t.Status === 'DELETED');
    if (t.Status === 'DELETED') continue;
    expect(r.data).toEqual({ id: t.TaxType, name: t.Name, code: t.TaxType, status: t.Status === 'ARCHIVED' ? 'Archived' : 'Active', effectiveTaxRate: t.EffectiveRate, totalTaxRate: t.DisplayTaxRate, components: t.TaxComponents.map((c: Wire) => ({ name: c.Name, rate: c.Rate, isCompound: c.IsCompound })) });
  }

  const tracking = [...m.trackingCategories.values()].filter((r) => !r.deleted).map((r) => r.data);
  const categories = tracking.filter((x) => !x.parentId);
  expect(categories.map((c) => c.name).sort()).toEqual(['Department', 'Region']);
  const region = categories.find((c) => c.name === 'Region')!;
  expect(tracking.filter((x) => x.parentId === region.id).map((x) => `${x.name}:${x.status}`).sort()).toEqual(['East:Active', 'North:Active', 'South:Active', 'West:Archived']);

  const accountByCode = new Map(w.accounts.map((a) => [a.Code, a]));
  for (const i of w.items) {
    const d = m.items.get(i.ItemID)!.data;
    expect(d).toMatchObject({ name: i.Name, code: i.Code, itemStatus: 'Active', type: i.IsTrackedAsInventory ? 'Inventory' : 'NonInventory', isBillItem: i.IsPurchased, isInvoiceItem: i.IsSold });
    const sales = accountByCode.get(i.SalesDetails.AccountCode)!;
    expect(d.invoiceItem).toEqual({ description: i.Description, unitPrice: i.SalesDetails.UnitPrice, accountRef: { id: sales.AccountID, name: sales.Name }, taxRateRef: { id: 'OUTPUT2' } });
    if (i.IsPurchased) expect(d.billItem.unitPrice).toBe(i.PurchaseDetails.UnitPrice);
  }

  expect(m.customers.size).toBe(w.contacts.filter((c) => c.IsCustomer).length);
  expect(m.suppliers.size).toBe(w.contacts.filter((c) => c.IsSupplier).length);
  for (const c of w.contacts) {
    const target = (c.IsCustomer ? m.customers.get(c.ContactID) : m.suppliers.get(c.ContactID))!.data;
    expect(target[c.IsCustomer ? 'customerName' : 'supplierName']).toBe(c.Name);
    expect(target.emailAddress).toBe(c.EmailAddress);
    expect(target.contactName).toBe(`${c.FirstName} ${c.LastName}`);
    expect(target.registrationNumber).toBe(c.CompanyNumber);
    expect(target.taxNumber).toBe(c.TaxNumber);
    expect(target.status).toBe(c.ContactStatus === 'ACTIVE' ? 'Active' : 'Archived');
    expect(target.defaultCurrency).toBe(c.DefaultCurrency);
    expect(target.addresses.map((a: Wire) => a.type)).toEqual(c.Addresses.map((a: Wire) => (a.AddressType === 'POBOX' ? 'Billing' : 'Delivery')));
    const def = c.Phones.find((p: Wire) => p.PhoneType === 'DEFAULT');
    expect(target.phone).toBe(`+${def.PhoneCountryCode} ${def.PhoneAreaCode} ${def.PhoneNumber}`);
    if (c.IsCustomer) expect(target.contacts.map((x: Wire) => x.email)).toEqual(c.ContactPersons.map((p: Wire) => p.EmailAddress));
  }

  const org = w.organisation;
  const company = m.company.get(org.OrganisationID)!;
  expect(company).toBeDefined();
  expect(company.data).toMatchObject({
    companyName: org.Name,
    companyLegalName: org.LegalName,
    accountingPlatformRef: org.OrganisationID,
    baseCurrency: org.BaseCurrency,
    registrationNumber: org.RegistrationNumber,
    taxNumber: org.TaxNumber,
    ledgerLockDate: day(org.PeriodLockDate),
    createdDate: new Date(msOf(org.CreatedDateUTC)).toISOString(),
    webLinks: [{ type: 'Website', url: org.ExternalLinks[0].Url }],
  });
  const fyStart = company.data.financialYearStartDate as string;
  expect(new Date(`${fyStart}Z`).getUTCMonth()).toBe(org.FinancialYearEndMonth % 12);
  expect(Date.parse(`${fyStart}Z`)).toBeLessThanOrEqual(nowMs);
}

/** Customer credit notes (ACCRECCREDIT) and manual journals. */
export function checkCreditNotesAndJournals(w: { creditNotes: Wire[] }, m: { creditNotes: Mapped; invoices: Mapped; journalEntries: Mapped; chartOfAccounts: Mapped }, opts: CheckOptions = {}): void {
  for (const cn of w.creditNotes) {
    const r = find(m.creditNotes, cn.CreditNoteID, cn, opts);
    if (!r) continue;
    expect(r.data).toMatchObject({ creditNoteNumber: cn.CreditNoteNumber, totalAmount: cn.Total, subTotal: cn.SubTotal, totalTaxAmount: cn.TotalTax, remainingCredit: cn.RemainingCredit, issueDate: day(cn.Date) });
    expect(r.data.status).toBe({ PAID: 'Paid', AUTHORISED: cents(cn.RemainingCredit) < cents(cn.Total) && cents(cn.RemainingCredit) > 0 ? 'PartiallyPaid' : 'Submitted', VOIDED: 'Void', DELETED: 'Void', DRAFT: 'Draft', SUBMITTED: 'Submitted' }[cn.Status as string]);
    for (const a of cn.Allocations) expect(m.invoices.has(a.Invoice.InvoiceID)).toBe(true);
    expect(r.data.paymentAllocations.reduce((s: number, p: Wire) => s + cents(p.allocation.totalAmount), 0)).toBe(cn.Status === 'VOIDED' ? 0 : cents(cn.Total) - cents(cn.RemainingCredit));
  }
  for (const r of m.journalEntries.values()) {
    expect(r.data.journalLines.reduce((s: number, l: Wire) => s + cents(l.netAmount), 0)).toBe(0);
    for (const l of r.data.journalLines) expect(m.chartOfAccounts.has(l.accountRef.id)).toBe(true);
    expect(r.data.recordRef).toEqual({ id: r.id, dataType: 'journalEntries' });
  }
}

/** Monthly balance sheets and profit and loss equal the platform ledger's own figures, account by account. */
export function checkStatements(tenant: { ledger(): Ledger; gen: { id(name: 'accounts', i: number): string }; collections: { accounts: { list(o: object): { items: Account[] } } } }, bs: MappedRecord[], pnl: MappedRecord[]): void {
  const ledger = tenant.ledger();
  const accounts = tenant.collections.accounts.list({ offset: 0, limit: 10_000 }).items;
  const idOf = new Map(accounts.map((a) => [tenant.gen.id('accounts', a.index), a]));
  const monthOf = (id: string) => Number(id.slice(0, 4)) * 12 + Number(id.slice(5, 7)) - 1;
  expect(bs.length).toBeGreaterThan(0);
  expect(pnl.length).toBe(bs.length);
  for (const r of bs) {
    const m = monthOf(r.id);
    const bal = balancesAt(ledger, [m]).get(m)!;
    const d = r.data;
    const byClass = (cls: string, sign: number) => accounts.filter((a) => accountClass(a.type) === cls).reduce((s, a) => s + sign * (bal.get(a.code) ?? 0), 0);
    expect(cents(d.assets.value), r.id).toBe(byClass('ASSET', 1));
    expect(cents(d.liabilities.value), r.id).toBe(byClass('LIABILITY', -1));
    expect(cents(d.netAssets), r.id).toBe(cents(d.assets.value) - cents(d.liabilities.value));
    expect(cents(d.equity.value), r.id).toBe(cents(d.netAssets));
    for (const g of d.assets.items) for (const l of g.items) expect(cents(l.value), `${r.id} ${l.name}`).toBe(bal.get(idOf.get(l.accountId)!.code) ?? 0);
  }
  for (const r of pnl) {
    const m = monthOf(r.id);
    const mv = ledger.movements.get(m) ?? new Map<string, number>();
    const d = r.data;
    const sumOf = (ok: (a: Account) => boolean, sign: number) => accounts.filter(ok).reduce((s, a) => s + sign * (mv.get(a.code) ?? 0), 0);
    expect(cents(d.income.value), r.id).toBe(sumOf((a) => accountClass(a.type) === 'REVENUE' && a.type !== 'OTHERINCOME', -1));
    expect(cents(d.otherIncome.value), r.id).toBe(sumOf((a) => a.type === 'OTHERINCOME', -1));
    expect(cents(d.costOfSales.value), r.id).toBe(sumOf((a) => a.type === 'DIRECTCOSTS', 1));
    expect(cents(d.expenses.value), r.id).toBe(sumOf((a) => accountClass(a.type) === 'EXPENSE' && a.type !== 'DIRECTCOSTS', 1));
    expect(cents(d.netProfit), r.id).toBe(profit({ accounts, ledger }, m, m));
  }
}

const DAY = 86_400_000;

/**
 * Aged debtors (creditors) straight from the platform's ledger, as at `reportDateMs` (periods of `length` days, the
 * last open-ended): per contact|currency, each document's total less what was paid or credited before the report
 * date, by issue date; credit not yet allocated at the report date (credit notes, overpayments and prepayments) counts
 * against the contact, by its own date. Compare with Syncline's `reports/agedDebtor` (`agedCreditor`).
 */
export function expectedAged(
  tenant: { gen: { id(name: 'contacts', i: number): string }; collections: Record<string, { list(o: object): { items: any[] } }> },
  kind: 'invoices' | 'bills',
  reportDateMs: number,
  length: number,
  periods: number,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (contactIndex: number, currency: string, dateMs: number, c: number) => {
    const d = Math.floor(dateMs / DAY) * DAY;
    if (!(d < reportDateMs) || c === 0) return;
    const period = Math.min(periods - 1, Math.floor((reportDateMs - d - 1) / (length * DAY)));
    const key = `${tenant.gen.id('contacts', contactIndex)}|${currency}`;
    const row = out.get(key) ?? Array(periods).fill(0);
    row[period] += c;
    out.set(key, row);
  };
  const before = (xs: { dateMs: number; amountCents: number }[] = []) => xs.filter((x) => Math.floor(x.dateMs / DAY) * DAY < reportDateMs).reduce((a, x) => a + x.amountCents, 0);
  const all = (name: string) => tenant.collections[name]!.list({ offset: 0, limit: 1_000_000 }).items;
  // Drafts, voids and deletions are out; a bill awaiting approval (SUBMITTED) is a Draft bill, not yet owed.
  const live = (d: { status: string }) => !['DRAFT', 'VOIDED', 'DELETED', ...(kind === 'bills' ? ['SUBMITTED'] : [])].includes(d.status);
  for (const d of all(kind)) if (live(d)) add(d.contactIndex, d.currency, d.dateMs, d.totalCents - before(d.payments) - before(d.credits) - before(d.onAccount));
  for (const d of all(kind === 'invoices' ? 'creditNotes' : 'billCreditNotes')) if (live(d)) add(d.contactIndex, d.currency, d.dateMs, -(d.totalCents - before(d.credits)));
  const side = kind === 'invoices' ? 'RECEIVE' : 'SPEND';
  for (const name of ['overpayments', 'prepayments']) {
    for (const r of all(name)) if (r.type === side && r.status !== 'VOIDED') add(r.contactIndex, r.currency, r.dateMs, -(r.totalCents - before(r.allocations)));
  }
  for (const [k, v] of out) if (v.every((c) => c === 0)) out.delete(k);
  return out;
}

/** Syncline's aged report as the same map, each period's amount checked against its details. */
export function agedFromReport(report: { data: Wire[] }, idKey: 'customerId' | 'supplierId'): Map<string, number[]> {
  const actual = new Map<string, number[]>();
  for (const c of report.data) {
    for (const cur of c.agedCurrencyOutstanding) {
      actual.set(`${c[idKey]}|${cur.currency}`, cur.agedOutstandingAmounts.map((a: Wire) => cents(a.amount)));
      for (const a of cur.agedOutstandingAmounts) expect(cents(a.amount)).toBe(a.details.reduce((x: number, d: Wire) => x + cents(d.amount), 0));
    }
  }
  return actual;
}
