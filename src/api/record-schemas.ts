/**
 * OpenAPI shapes of the accounting types beyond v1 (docs/accounting-model.md, issue 15), as Codat's Accounting API
 * declares them (the `@codat/accounting` SDK's models): BillCreditNote, Journal, PaymentMethod, PurchaseOrder,
 * SalesOrder, AccountTransaction, DirectCost, DirectIncome, Transfer, BankTransaction, and the aged debtor and creditor
 * reports. Every object keeps `additionalProperties: true` (platforms may add fields; the response serialiser is plain
 * JSON.stringify, so a schema never drops or coerces what is served), and every property is optional, as a record a
 * platform sent without a field is still served; test/record-schemas.test.ts checks served records against them with
 * additional properties forbidden, so no served field is undeclared.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { DataType } from '../domain/data-types.js';

const open = { additionalProperties: true };
/** Every property optional (see the file's comment). */
const Obj = (props: Record<string, TSchema>, description?: string) =>
  Type.Object(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Type.Optional(v)])), { ...open, ...(description ? { description } : {}) });
/**
 * A named shape: a component of /openapi.json (`#/components/schemas/{name}`, registered once in app.ts), referenced by
 * its list and get operations instead of inlined into each of them.
 */
const Named = (name: string, props: Record<string, TSchema>, description: string) => ({ ...Obj(props, description), $id: name }) as TSchema & { $id: string };
const Opt = Type.Optional;
const Str = (description?: string) => Type.String(description ? { description } : {});
const Num = (description?: string) => Type.Number(description ? { description } : {});
const Enum = (values: readonly string[], description?: string) => Type.String({ enum: [...values], ...(description ? { description } : {}) });
const DateTime = (description?: string) => Type.String({ description: description ?? 'ISO 8601 date-time' });

const common = {
  id: Str('The platform id'),
  modifiedDate: Opt(DateTime('When Syncline last changed its copy')),
  sourceModifiedDate: Opt(DateTime('When the platform last changed the record')),
  metadata: Opt(Obj({ isDeleted: Opt(Type.Boolean()) })),
};
const ref = Obj({ id: Str(), name: Opt(Str()) });
const taxRateRef = Obj({ id: Opt(Str()), name: Opt(Str()), effectiveTaxRate: Opt(Num()) });
const supplierRef = Obj({ id: Str(), supplierName: Opt(Str()) });
const customerRef = Obj({ id: Str(), companyName: Opt(Str()) });
const supplementalData = Obj({ content: Opt(Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))) });
const address = Obj({ type: Enum(['Unknown', 'Billing', 'Delivery']), line1: Opt(Str()), line2: Opt(Str()), city: Opt(Str()), region: Opt(Str()), country: Opt(Str()), postalCode: Opt(Str()) });
const shipTo = Obj({ address: Opt(address), contact: Opt(Obj({ name: Opt(Str()), email: Opt(Str()), phone: Opt(Str()) })) });
const billedTo = ['Unknown', 'NotApplicable', 'Customer', 'Project'] as const;
const orderStatus = ['Unknown', 'Draft', 'Open', 'Closed', 'Void'] as const;
const recordRef = Obj({ id: Str(), dataType: Str() });
const trackingRefs = Type.Array(Obj({ id: Str(), name: Opt(Str()) }));
const allocation = Obj({
  payment: Obj({ id: Opt(Str()), note: Opt(Str()), reference: Opt(Str()), accountRef: Opt(ref), currency: Opt(Str()), currencyRate: Opt(Num()), paidOnDate: Opt(DateTime()), totalAmount: Opt(Num()) }),
  allocation: Obj({ currency: Opt(Str()), currencyRate: Opt(Num()), allocatedOnDate: Opt(DateTime()), totalAmount: Opt(Num()) }),
});
const directLine = Obj({
  description: Opt(Str()),
  unitAmount: Num(),
  quantity: Num(),
  discountAmount: Opt(Num()),
  discountPercentage: Opt(Num()),
  subTotal: Opt(Num()),
  taxAmount: Opt(Num()),
  totalAmount: Opt(Num()),
  accountRef: Opt(ref),
  taxRateRef: Opt(taxRateRef),
  itemRef: Opt(ref),
  trackingCategoryRefs: Opt(trackingRefs),
  tracking: Opt(Obj({ categoryRefs: trackingRefs, customerRef: Opt(customerRef), projectRef: Opt(ref), isBilledTo: Enum(billedTo), isRebilledTo: Enum(billedTo) })),
});
/** A purchase or sales order's line (Codat's PurchaseOrderLineItem; a sales order's has `tracking.recordRefs`). */
const orderLine = (extra: Record<string, TSchema>) =>
  Obj({
    description: Opt(Str()),
    unitAmount: Num(),
    quantity: Num(),
    discountAmount: Opt(Num()),
    discountPercentage: Opt(Num()),
    subTotal: Opt(Num()),
    taxAmount: Opt(Num()),
    totalAmount: Opt(Num()),
    accountRef: Opt(ref),
    taxRateRef: Opt(taxRateRef),
    itemRef: Opt(ref),
    ...extra,
  });
const orderTotals = { subTotal: Num(), totalDiscount: Num(), totalTaxAmount: Num(), totalAmount: Num(), note: Opt(Str()) };
const direct = (entity: string, contact: string) =>
  Named(
    entity,
    {
      ...common,
      reference: Opt(Str()),
      note: Opt(Str()),
      contactRef: Opt(Obj({ id: Str(), dataType: Str(`\`${contact}\``) })),
      issueDate: DateTime(),
      currency: Str(),
      currencyRate: Opt(Num()),
      lineItems: Type.Array(directLine),
      paymentAllocations: Type.Array(allocation),
      subTotal: Num(),
      taxAmount: Num(),
      totalAmount: Num(),
      supplementalData: Opt(supplementalData),
    },
    `${entity} (docs/accounting-model.md): money ${contact === 'suppliers' ? 'spent' : 'received'} without a ${contact === 'suppliers' ? 'bill' : 'invoice'}`,
  );
const transferSide = Obj({ accountRef: Opt(ref), currency: Opt(Str()), amount: Opt(Num()) });

export const RECORD_SCHEMAS: Partial<Record<DataType, TSchema & { $id: string }>> = {
  billCreditNotes: Named(
    'BillCreditNote',
    {
      ...common,
      billCreditNoteNumber: Opt(Str()),
      supplierRef: Opt(supplierRef),
      issueDate: Opt(DateTime()),
      allocatedOnDate: Opt(DateTime('When the credit was last allocated')),
      currency: Opt(Str()),
      currencyRate: Opt(Num('Document currency to base currency')),
      status: Enum(['Unknown', 'Draft', 'Submitted', 'Paid', 'Void', 'PartiallyPaid']),
      lineItems: Opt(Type.Array(directLine)),
      subTotal: Num(),
      totalTaxAmount: Num(),
      totalDiscount: Num(),
      discountPercentage: Num(),
      totalAmount: Num(),
      remainingCredit: Opt(Num()),
      paymentAllocations: Opt(Type.Array(allocation)),
      withholdingTax: Opt(Type.Array(Obj({ name: Str(), amount: Num() }))),
      note: Opt(Str()),
      supplementalData: Opt(supplementalData),
    },
    'BillCreditNote (docs/accounting-model.md): credit a supplier gave against bills',
  ),
  paymentMethods: Named(
    'PaymentMethod',
    {
      ...common,
      name: Opt(Str()),
      type: Opt(Enum(['Unknown', 'Cash', 'Check', 'CreditCard', 'DebitCard', 'BankTransfer', 'Other'])),
      status: Opt(Enum(['Unknown', 'Active', 'Archived'])),
    },
    'PaymentMethod (docs/accounting-model.md): how a payment was made',
  ),
  purchaseOrders: Named(
    'PurchaseOrder',
    {
      ...common,
      purchaseOrderNumber: Opt(Str()),
      supplierRef: Opt(supplierRef),
      status: Opt(Enum(orderStatus)),
      issueDate: Opt(DateTime()),
      expectedDeliveryDate: Opt(DateTime()),
      deliveryDate: Opt(DateTime()),
      paymentDueDate: Opt(DateTime()),
      shipTo: Opt(shipTo),
      currency: Opt(Str()),
      currencyRate: Opt(Num()),
      lineItems: Opt(Type.Array(orderLine({ trackingCategoryRefs: Opt(trackingRefs) }))),
      ...orderTotals,
    },
    'PurchaseOrder (docs/accounting-model.md): goods or services ordered from a supplier',
  ),
  salesOrders: Named(
    'SalesOrder',
    {
      ...common,
      salesOrderNumber: Opt(Str()),
      customerRef: Opt(customerRef),
      customerPurchaseOrderNumber: Opt(Str()),
      status: Opt(Enum(orderStatus)),
      invoicingStatus: Opt(Enum(['Unknown', 'PartiallyInvoiced', 'Invoiced', 'NotInvoiced'])),
      issueDate: Opt(DateTime()),
      expectedDeliveryDate: Opt(DateTime()),
      shipTo: Opt(shipTo),
      currency: Opt(Str()),
      currencyRate: Opt(Num()),
      lineItems: Opt(Type.Array(orderLine({ tracking: Opt(Obj({ recordRefs: Opt(Type.Array(Obj({ id: Opt(Str()), dataType: Opt(Str()) }))) })) }))),
      ...orderTotals,
    },
    'SalesOrder (docs/accounting-model.md): goods or services a customer ordered',
  ),
  directCosts: direct('DirectCost', 'suppliers'),
  directIncomes: direct('DirectIncome', 'customers'),
  transfers: Named(
    'Transfer',
    {
      ...common,
      description: Opt(Str()),
      contactRef: Opt(recordRef),
      date: DateTime(),
      from: Opt(transferSide),
      to: Opt(transferSide),
      trackingCategoryRefs: Opt(trackingRefs),
      depositedRecordRefs: Opt(Type.Array(recordRef)),
      supplementalData: Opt(supplementalData),
    },
    'Transfer (docs/accounting-model.md): money moved between two accounts',
  ),
  accountTransactions: Named(
    'AccountTransaction',
    {
      ...common,
      transactionId: Opt(Str()),
      note: Opt(Str()),
      bankAccountRef: Opt(ref),
      date: DateTime(),
      status: Enum(['Unknown', 'Unreconciled', 'Reconciled', 'Void']),
      currency: Opt(Str()),
      currencyRate: Opt(Num()),
      lines: Type.Array(Obj({ description: Opt(Str()), recordRef: recordRef, amount: Num('Money in positive, money out negative') })),
      totalAmount: Num('Money in positive, money out negative'),
    },
    'AccountTransaction (docs/accounting-model.md): a movement on a bank account and the record it comes from',
  ),
  bankTransactions: Named(
    'BankTransaction',
    {
      ...common,
      accountId: Str('The bank account'),
      clearedOnDate: DateTime(),
      description: Opt(Str()),
      reconciled: Type.Boolean(),
      amount: Num('Money in positive, money out negative, in the account currency'),
      balance: Opt(Num()),
      transactionType: Enum(['Unknown', 'Credit', 'Debit', 'Int', 'Div', 'Fee', 'SerChg', 'Dep', 'Atm', 'Pos', 'Xfer', 'Check', 'Payment', 'Cash', 'DirectDep', 'DirectDebit', 'RepeatPmt', 'Other']),
    },
    'BankTransaction (docs/accounting-model.md): one line of a bank account',
  ),
  journals: Named(
    'Journal',
    {
      ...common,
      name: Opt(Str()),
      journalCode: Opt(Str()),
      type: Opt(Str()),
      status: Enum(['Unknown', 'Active', 'Archived']),
      parentId: Opt(Str()),
      hasChildren: Opt(Type.Boolean()),
      createdOn: Opt(DateTime()),
    },
    'Journal (docs/accounting-model.md): a book of the ledger, not an entry',
  ),
};

/** Codat's AgedDebtorReport / AgedCreditorReport (docs/accounting-model.md, src/domain/aged-report.ts). */
const agedReport = (name: string, entity: string, idKey: string, nameKey: string) =>
  Named(
    name,
    {
      reportDate: Opt(DateTime('Documents issued before this date are counted')),
      generated: Opt(DateTime('When the report was computed')),
      data: Opt(
        Type.Array(
          Obj({
            [idKey]: Opt(Str()),
            [nameKey]: Opt(Str()),
            agedCurrencyOutstanding: Opt(
              Type.Array(
                Obj({
                  currency: Opt(Str()),
                  agedOutstandingAmounts: Opt(
                    Type.Array(Obj({ fromDate: Opt(DateTime()), toDate: Opt(DateTime()), amount: Opt(Num()), details: Opt(Type.Array(Obj({ name: Opt(Str()), amount: Opt(Num()) }))) })),
                  ),
                }),
              ),
            ),
          }),
        ),
      ),
    },
    entity,
  );
export const AGED_REPORT_SCHEMAS = {
  debtor: agedReport('AgedDebtorReport', 'AgedDebtorReport: outstanding balances per customer and currency, by issue-date period', 'customerId', 'customerName'),
  creditor: agedReport('AgedCreditorReport', 'AgedCreditorReport: outstanding balances per supplier and currency, by issue-date period', 'supplierId', 'supplierName'),
};

/** Every named shape above, for app.ts to register once at the root. */
export const NAMED_RECORD_SCHEMAS: readonly TSchema[] = [...Object.values(RECORD_SCHEMAS), ...Object.values(AGED_REPORT_SCHEMAS)];
