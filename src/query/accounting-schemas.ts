/**
 * The queryable shape of each accounting record (accounting-model.md §3, §5): every scalar property, nested object
 * paths included; arrays and free-form maps are declared so that a path through them gets the documented
 * "Could not resolve property" error (query-language.md §6).
 */
import { p, type ObjectProperties, type PropertySchema } from './entity.js';

const ref = (extra: ObjectProperties = {}): PropertySchema => p.object({ id: p.string, name: p.string, ...extra });

const accountRef = ref();
const customerRef = p.object({ id: p.string, companyName: p.string });
const supplierRef = p.object({ id: p.string, supplierName: p.string });
const taxRateRef = ref({ effectiveTaxRate: p.number });
const paymentMethodRef = ref();
const journalRef = ref();

/** id, metadata, modifiedDate, sourceModifiedDate, supplementalData (§3.1). */
const common = (opts: { supplementalData?: boolean } = {}): ObjectProperties => ({
  id: p.string,
  metadata: p.object({ isDeleted: p.boolean }),
  modifiedDate: p.date,
  sourceModifiedDate: p.date,
  ...(opts.supplementalData === false ? {} : { supplementalData: p.map }),
});

const status3 = p.enumOf('Unknown', 'Active', 'Archived');
const contactRef = p.object({ id: p.string, dataType: p.string });
const transferAccount = p.object({ accountRef, currency: p.string, amount: p.number });
const address = p.object({ type: p.enumOf('Unknown', 'Billing', 'Delivery'), line1: p.string, line2: p.string, city: p.string, region: p.string, country: p.string, postalCode: p.string });
const shipTo = p.object({ address, contact: p.object({ name: p.string, email: p.string, phone: p.string }) });
const orderStatus = p.enumOf('Unknown', 'Draft', 'Open', 'Closed', 'Void');

/** DirectCost and DirectIncome share one shape (Codat's accounting model). */
const direct = (entity: string): AccountingSchema => ({
  entity,
  properties: {
    ...common(),
    reference: p.string,
    note: p.string,
    contactRef,
    issueDate: p.date,
    currency: p.string,
    currencyRate: p.number,
    lineItems: lineItem,
    paymentAllocations: p.array,
    subTotal: p.number,
    taxAmount: p.number,
    totalAmount: p.number,
  },
});

const lineItem = p.array;

const item = p.object({ description: p.string, unitPrice: p.number, accountRef, taxRateRef });

export interface AccountingSchema {
  /** Singular schema name, the `{Entity}` of error messages. */
  entity: string;
  properties: ObjectProperties;
}

/** By data type key (the list endpoints of accounting-model.md §2). */
export const ACCOUNTING_SCHEMAS = {
  chartOfAccounts: {
    entity: 'Account',
    properties: {
      ...common(),
      nominalCode: p.string,
      name: p.string,
      description: p.string,
      fullyQualifiedCategory: p.string,
      fullyQualifiedName: p.string,
      currency: p.string,
      currentBalance: p.number,
      type: p.enumOf('Unknown', 'Asset', 'Expense', 'Income', 'Liability', 'Equity'),
      status: p.enumOf('Unknown', 'Active', 'Archived', 'Pending'),
      isBankAccount: p.boolean,
      validDatatypeLinks: p.array,
    },
  },
  taxRates: {
    entity: 'TaxRate',
    properties: {
      ...common(),
      name: p.string,
      code: p.string,
      status: status3,
      effectiveTaxRate: p.number,
      totalTaxRate: p.number,
      components: p.array,
      validDatatypeLinks: p.array,
    },
  },
  customers: {
    entity: 'Customer',
    properties: {
      ...common(),
      customerName: p.string,
      contactName: p.string,
      emailAddress: p.string,
      defaultCurrency: p.string,
      phone: p.string,
      addresses: p.array,
      contacts: p.array,
      registrationNumber: p.string,
      taxNumber: p.string,
      status: status3,
    },
  },
  suppliers: {
    entity: 'Supplier',
    properties: {
      ...common(),
      supplierName: p.string,
      contactName: p.string,
      emailAddress: p.string,
      phone: p.string,
      addresses: p.array,
      registrationNumber: p.string,
      taxNumber: p.string,
      status: status3,
      defaultCurrency: p.string,
    },
  },
  invoices: {
    entity: 'Invoice',
    properties: {
      ...common(),
      invoiceNumber: p.string,
      customerRef,
      salesOrderRefs: p.array,
      issueDate: p.date,
      dueDate: p.date,
      paidOnDate: p.date,
      currency: p.string,
      currencyRate: p.number,
      lineItems: lineItem,
      paymentAllocations: p.array,
      withholdingTax: p.array,
      totalDiscount: p.number,
      subTotal: p.number,
      additionalTaxAmount: p.number,
      additionalTaxPercentage: p.number,
      totalTaxAmount: p.number,
      totalAmount: p.number,
      amountDue: p.number,
      discountPercentage: p.number,
      status: p.enumOf('Unknown', 'Draft', 'Submitted', 'PartiallyPaid', 'Paid', 'Void'),
      note: p.string,
    },
  },
  creditNotes: {
    entity: 'CreditNote',
    properties: {
      ...common(),
      creditNoteNumber: p.string,
      customerRef,
      withholdingTax: p.array,
      totalAmount: p.number,
      totalDiscount: p.number,
      subTotal: p.number,
      additionalTaxAmount: p.number,
      additionalTaxPercentage: p.number,
      totalTaxAmount: p.number,
      discountPercentage: p.number,
      remainingCredit: p.number,
      status: p.enumOf('Unknown', 'Draft', 'Submitted', 'Paid', 'Void', 'PartiallyPaid'),
      issueDate: p.date,
      allocatedOnDate: p.date,
      currency: p.string,
      currencyRate: p.number,
      lineItems: lineItem,
      paymentAllocations: p.array,
      note: p.string,
    },
  },
  payments: {
    entity: 'Payment',
    properties: {
      ...common(),
      customerRef,
      accountRef,
      paymentMethodRef,
      totalAmount: p.number,
      currency: p.string,
      currencyRate: p.number,
      date: p.date,
      note: p.string,
      lines: p.array,
      reference: p.string,
    },
  },
  bills: {
    entity: 'Bill',
    properties: {
      ...common(),
      reference: p.string,
      supplierRef,
      purchaseOrderRefs: p.array,
      issueDate: p.date,
      dueDate: p.date,
      currency: p.string,
      currencyRate: p.number,
      lineItems: lineItem,
      withholdingTax: p.array,
      status: p.enumOf('Unknown', 'Open', 'PartiallyPaid', 'Paid', 'Void', 'Draft'),
      subTotal: p.number,
      taxAmount: p.number,
      totalAmount: p.number,
      amountDue: p.number,
      note: p.string,
      paymentAllocations: p.array,
    },
  },
  billPayments: {
    entity: 'BillPayment',
    properties: {
      ...common(),
      supplierRef,
      accountRef,
      totalAmount: p.number,
      currency: p.string,
      currencyRate: p.number,
      date: p.date,
      note: p.string,
      paymentMethodRef,
      lines: p.array,
      reference: p.string,
    },
  },
  bankAccounts: {
    entity: 'BankAccount',
    properties: {
      ...common(),
      accountName: p.string,
      accountType: p.enumOf('Unknown', 'Credit', 'Debit'),
      nominalCode: p.string,
      sortCode: p.string,
      accountNumber: p.string,
      iBan: p.string,
      currency: p.string,
      balance: p.number,
      institution: p.string,
      availableBalance: p.number,
      overdraftLimit: p.number,
      status: p.enumOf('Unknown', 'Active', 'Archived', 'Pending'),
    },
  },
  journalEntries: {
    entity: 'JournalEntry',
    properties: {
      ...common(),
      description: p.string,
      postedOn: p.date,
      createdOn: p.date,
      updatedOn: p.date,
      journalRef,
      journalLines: p.array,
      recordRef: p.object({
        id: p.string,
        dataType: p.enumOf(
          'bankTransactions',
          'billCreditNotes',
          'billPayments',
          'bills',
          'creditNotes',
          'directCosts',
          'directIncomes',
          'invoices',
          'journalEntries',
          'payments',
          'transfers',
        ),
      }),
    },
  },
  items: {
    entity: 'Item',
    properties: {
      ...common(),
      name: p.string,
      code: p.string,
      itemStatus: status3,
      type: p.enumOf('Unknown', 'Inventory', 'NonInventory', 'Service'),
      isBillItem: p.boolean,
      billItem: item,
      isInvoiceItem: p.boolean,
      invoiceItem: item,
    },
  },
  trackingCategories: {
    entity: 'TrackingCategory',
    properties: {
      ...common({ supplementalData: false }),
      name: p.string,
      status: status3,
      parentId: p.string,
      hasChildren: p.boolean,
    },
  },
  // ----- issue 15 ---------------------------------------------------------------------------------------------------
  billCreditNotes: {
    entity: 'BillCreditNote',
    properties: {
      ...common(),
      billCreditNoteNumber: p.string,
      supplierRef,
      withholdingTax: p.array,
      totalAmount: p.number,
      totalDiscount: p.number,
      subTotal: p.number,
      totalTaxAmount: p.number,
      discountPercentage: p.number,
      remainingCredit: p.number,
      status: p.enumOf('Unknown', 'Draft', 'Submitted', 'Paid', 'Void', 'PartiallyPaid'),
      issueDate: p.date,
      allocatedOnDate: p.date,
      currency: p.string,
      currencyRate: p.number,
      lineItems: lineItem,
      paymentAllocations: p.array,
      note: p.string,
    },
  },
  journals: {
    entity: 'Journal',
    properties: {
      ...common({ supplementalData: false }),
      name: p.string,
      journalCode: p.string,
      type: p.string,
      status: status3,
      parentId: p.string,
      hasChildren: p.boolean,
      createdOn: p.date,
    },
  },
  paymentMethods: {
    entity: 'PaymentMethod',
    properties: {
      ...common({ supplementalData: false }),
      name: p.string,
      type: p.enumOf('Unknown', 'Cash', 'Check', 'CreditCard', 'DebitCard', 'BankTransfer', 'Other'),
      status: status3,
    },
  },
  purchaseOrders: {
    entity: 'PurchaseOrder',
    properties: {
      ...common({ supplementalData: false }),
      purchaseOrderNumber: p.string,
      supplierRef,
      status: orderStatus,
      issueDate: p.date,
      expectedDeliveryDate: p.date,
      deliveryDate: p.date,
      paymentDueDate: p.date,
      shipTo,
      currency: p.string,
      currencyRate: p.number,
      lineItems: lineItem,
      subTotal: p.number,
      totalDiscount: p.number,
      totalTaxAmount: p.number,
      totalAmount: p.number,
      note: p.string,
    },
  },
  salesOrders: {
    entity: 'SalesOrder',
    properties: {
      ...common({ supplementalData: false }),
      salesOrderNumber: p.string,
      customerRef,
      customerPurchaseOrderNumber: p.string,
      status: orderStatus,
      invoicingStatus: p.enumOf('Unknown', 'PartiallyInvoiced', 'Invoiced', 'NotInvoiced'),
      issueDate: p.date,
      expectedDeliveryDate: p.date,
      shipTo,
      currency: p.string,
      currencyRate: p.number,
      lineItems: lineItem,
      subTotal: p.number,
      totalDiscount: p.number,
      totalTaxAmount: p.number,
      totalAmount: p.number,
      note: p.string,
    },
  },
  accountTransactions: {
    entity: 'AccountTransaction',
    properties: {
      ...common({ supplementalData: false }),
      transactionId: p.string,
      note: p.string,
      bankAccountRef: p.object({ id: p.string, name: p.string }),
      date: p.date,
      status: p.enumOf('Unknown', 'Unreconciled', 'Reconciled', 'Void'),
      currency: p.string,
      currencyRate: p.number,
      lines: p.array,
      totalAmount: p.number,
    },
  },
  directCosts: direct('DirectCost'),
  directIncomes: direct('DirectIncome'),
  transfers: {
    entity: 'Transfer',
    properties: {
      ...common(),
      description: p.string,
      contactRef,
      date: p.date,
      from: transferAccount,
      to: transferAccount,
      trackingCategoryRefs: p.array,
      depositedRecordRefs: p.array,
    },
  },
  bankTransactions: {
    entity: 'BankTransaction',
    properties: {
      ...common({ supplementalData: false }),
      accountId: p.string,
      clearedOnDate: p.date,
      description: p.string,
      reconciled: p.boolean,
      amount: p.number,
      balance: p.number,
      transactionType: p.enumOf(
        'Unknown', 'Credit', 'Debit', 'Int', 'Div', 'Fee', 'SerChg', 'Dep', 'Atm', 'Pos', 'Xfer', 'Check', 'Payment', 'Cash', 'DirectDep', 'DirectDebit', 'RepeatPmt', 'Other',
      ),
    },
  },
} as const satisfies Record<string, AccountingSchema>;

export type AccountingListType = keyof typeof ACCOUNTING_SCHEMAS;

export const isAccountingListType = (t: string): t is AccountingListType => Object.hasOwn(ACCOUNTING_SCHEMAS, t);
