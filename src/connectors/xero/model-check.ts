/**
 * Test support: a compact, executable reading of accounting-model.md §3–§5 — for each data type, the fields a mapped
 * record may carry, their types and closed enums, and which are required. `checkRecord` returns the violations.
 */
type Spec = { [field: string]: FieldSpec };
type FieldSpec = { t: Kind; req?: boolean; of?: Spec | Kind; values?: readonly string[] };
type Kind = 'string' | 'number' | 'boolean' | 'datetime' | 'enum' | 'object' | 'array' | 'map';

const s = (req = false): FieldSpec => ({ t: 'string', req });
const n = (req = false): FieldSpec => ({ t: 'number', req });
const b = (req = false): FieldSpec => ({ t: 'boolean', req });
const dt = (req = false): FieldSpec => ({ t: 'datetime', req });
const e = (values: readonly string[], req = false): FieldSpec => ({ t: 'enum', values, req });
const o = (of: Spec, req = false): FieldSpec => ({ t: 'object', of, req });
const a = (of: Spec | Kind, req = false): FieldSpec => ({ t: 'array', of, req });

const address: Spec = { type: e(['Unknown', 'Billing', 'Delivery'], true), line1: s(), line2: s(), city: s(), region: s(), country: s(), postalCode: s() };
const phone: Spec = { number: s(), type: e(['Primary', 'Landline', 'Mobile', 'Fax', 'Unknown'], true) };
const accountRef: Spec = { id: s(), name: s() };
const taxRateRef: Spec = { id: s(), name: s(), effectiveTaxRate: n() };
const itemRef: Spec = { id: s(true), name: s() };
const trackingRef: Spec = { id: s(true), name: s() };
const customerRef: Spec = { id: s(true), companyName: s() };
const supplierRef: Spec = { id: s(true), supplierName: s() };
const common: Spec = { sourceModifiedDate: dt() };
const paymentAllocation: Spec = {
  payment: o({ id: s(), note: s(), reference: s(), accountRef: o(accountRef), currency: s(), currencyRate: n(), paidOnDate: dt(), totalAmount: n() }, true),
  allocation: o({ currency: s(), currencyRate: n(), allocatedOnDate: dt(), totalAmount: n() }, true),
};
const billedTo = ['Unknown', 'NotApplicable', 'Project'];
const salesLine: Spec = {
  description: s(),
  unitAmount: n(true),
  quantity: n(true),
  discountAmount: n(),
  subTotal: n(),
  taxAmount: n(),
  totalAmount: n(),
  accountRef: o(accountRef),
  discountPercentage: n(),
  taxRateRef: o(taxRateRef),
  itemRef: o(itemRef),
  trackingCategoryRefs: a(trackingRef),
  tracking: o({ categoryRefs: a(trackingRef, true), customerRef: o(customerRef), projectRef: o(itemRef), isBilledTo: e(billedTo, true), isRebilledTo: e(billedTo, true), recordRef: o({ id: s(), dataType: s() }) }),
  isDirectIncome: b(),
};
const billLine: Spec = {
  ...salesLine,
  lineNumber: s(),
  unitAmount: n(),
  quantity: n(),
  unitOfMeasurement: s(),
  isDirectCost: b(),
  tracking: o({ categoryRefs: a(trackingRef, true), customerRef: o(customerRef), projectRef: o(itemRef), isBilledTo: e(['Unknown', 'NotApplicable', 'Customer', 'Project'], true), isRebilledTo: e(['Unknown', 'NotApplicable', 'Customer', 'Project'], true) }),
};
delete billLine.isDirectIncome;
const reportLine: Spec = { accountId: s(), name: s(), value: n(true) };
reportLine.items = a(reportLine);
const linkTypes = ['Unknown', 'Unlinked', 'Invoice', 'CreditNote', 'Other', 'Refund', 'Payment', 'PaymentOnAccount', 'ManualJournal', 'Discount'];
const billLinkTypes = ['Unknown', 'Unlinked', 'Bill', 'Other', 'CreditNote', 'BillPayment', 'PaymentOnAccount', 'Refund', 'ManualJournal', 'Discount'];
const activeArchived = ['Unknown', 'Active', 'Archived'];
/** DirectCost and DirectIncome: the contact is a supplier (costs) or a customer (incomes); direct costs' lines carry tracking. */
const direct = (contacts: 'suppliers' | 'customers'): Spec => ({
  ...common,
  id: s(),
  reference: s(),
  note: s(),
  contactRef: o({ id: s(true), dataType: e([contacts], true) }),
  issueDate: dt(true),
  currency: s(true),
  currencyRate: n(),
  lineItems: a(
    {
      description: s(),
      unitAmount: n(true),
      quantity: n(true),
      discountAmount: n(),
      discountPercentage: n(),
      subTotal: n(),
      taxAmount: n(),
      totalAmount: n(),
      accountRef: o(accountRef),
      taxRateRef: o(taxRateRef),
      itemRef: o(itemRef),
      trackingCategoryRefs: a(trackingRef),
      ...(contacts === 'suppliers' ? { tracking: o({ categoryRefs: a(trackingRef, true), customerRef: o(customerRef), projectRef: o(itemRef), isBilledTo: e(['Unknown', 'NotApplicable', 'Customer', 'Project'], true), isRebilledTo: e(['Unknown', 'NotApplicable', 'Customer', 'Project'], true) }) } : {}),
    },
    true,
  ),
  paymentAllocations: a(paymentAllocation, true),
  subTotal: n(true),
  taxAmount: n(true),
  totalAmount: n(true),
});

export const MODEL: Record<string, Spec> = {
  company: {
    companyName: s(),
    accountingPlatformRef: s(),
    companyLegalName: s(),
    addresses: a(address),
    phoneNumbers: a(phone),
    webLinks: a({ type: e(['Website', 'Social', 'Unknown']), url: s() }),
    ledgerLockDate: dt(),
    registrationNumber: s(),
    taxNumber: s(),
    financialYearStartDate: dt(),
    baseCurrency: s(),
    sourceUrls: { t: 'map' },
    createdDate: dt(),
  },
  chartOfAccounts: {
    ...common,
    id: s(),
    nominalCode: s(),
    name: s(),
    description: s(),
    fullyQualifiedCategory: s(),
    fullyQualifiedName: s(),
    currency: s(),
    currentBalance: n(),
    type: e(['Unknown', 'Asset', 'Expense', 'Income', 'Liability', 'Equity'], true),
    status: e(['Unknown', 'Active', 'Archived', 'Pending'], true),
    isBankAccount: b(true),
  },
  taxRates: {
    ...common,
    id: s(),
    name: s(),
    code: s(),
    status: e(activeArchived),
    effectiveTaxRate: n(),
    totalTaxRate: n(),
    components: a({ name: s(), rate: n(), isCompound: b(true) }),
  },
  customers: {
    ...common,
    id: s(),
    customerName: s(),
    contactName: s(),
    emailAddress: s(),
    defaultCurrency: s(),
    phone: s(),
    addresses: a(address),
    contacts: a({ name: s(), email: s(), phone: a(phone), address: o(address), status: e(activeArchived, true), modifiedDate: dt() }),
    registrationNumber: s(),
    taxNumber: s(),
    status: e(activeArchived, true),
  },
  suppliers: {
    ...common,
    id: s(),
    supplierName: s(),
    contactName: s(),
    emailAddress: s(),
    phone: s(),
    addresses: a(address),
    registrationNumber: s(),
    taxNumber: s(),
    status: e(activeArchived, true),
    defaultCurrency: s(),
  },
  invoices: {
    ...common,
    id: s(),
    invoiceNumber: s(),
    customerRef: o(customerRef),
    salesOrderRefs: a({ id: s(), dataType: s() }),
    issueDate: dt(true),
    dueDate: dt(),
    paidOnDate: dt(),
    currency: s(),
    currencyRate: n(),
    lineItems: a(salesLine),
    paymentAllocations: a(paymentAllocation),
    withholdingTax: a({ name: s(true), amount: n(true) }),
    totalDiscount: n(),
    subTotal: n(),
    additionalTaxAmount: n(),
    additionalTaxPercentage: n(),
    totalTaxAmount: n(true),
    totalAmount: n(true),
    amountDue: n(true),
    discountPercentage: n(),
    status: e(['Unknown', 'Draft', 'Submitted', 'PartiallyPaid', 'Paid', 'Void'], true),
    note: s(),
  },
  creditNotes: {
    ...common,
    id: s(),
    creditNoteNumber: s(),
    customerRef: o(customerRef),
    withholdingTax: a({ name: s(true), amount: n(true) }),
    totalAmount: n(true),
    totalDiscount: n(true),
    subTotal: n(true),
    additionalTaxAmount: n(),
    additionalTaxPercentage: n(),
    totalTaxAmount: n(true),
    discountPercentage: n(true),
    remainingCredit: n(true),
    status: e(['Unknown', 'Draft', 'Submitted', 'Paid', 'Void', 'PartiallyPaid'], true),
    issueDate: dt(),
    allocatedOnDate: dt(),
    currency: s(),
    currencyRate: n(),
    lineItems: a(salesLine),
    paymentAllocations: a(paymentAllocation),
    note: s(),
  },
  payments: {
    ...common,
    id: s(),
    customerRef: o(customerRef),
    accountRef: o(accountRef),
    paymentMethodRef: o({ id: s(true), name: s() }),
    totalAmount: n(),
    currency: s(),
    currencyRate: n(),
    date: dt(true),
    note: s(),
    lines: a({ amount: n(true), links: a({ type: e(linkTypes, true), id: s(), amount: n(), currencyRate: n() }), allocatedOnDate: dt() }),
    reference: s(),
  },
  bills: {
    ...common,
    id: s(),
    reference: s(),
    supplierRef: o(supplierRef),
    purchaseOrderRefs: a({ id: s(), purchaseOrderNumber: s() }),
    issueDate: dt(true),
    dueDate: dt(),
    currency: s(),
    currencyRate: n(),
    lineItems: a(billLine),
    withholdingTax: a({ name: s(true), amount: n(true) }),
    status: e(['Unknown', 'Open', 'PartiallyPaid', 'Paid', 'Void', 'Draft'], true),
    subTotal: n(true),
    taxAmount: n(true),
    totalAmount: n(true),
    amountDue: n(),
    note: s(),
    paymentAllocations: a(paymentAllocation),
  },
  billPayments: {
    ...common,
    id: s(),
    supplierRef: o(supplierRef),
    accountRef: o(accountRef),
    totalAmount: n(),
    currency: s(),
    currencyRate: n(),
    date: dt(true),
    note: s(),
    paymentMethodRef: o({ id: s(true), name: s() }),
    lines: a({ amount: n(true), links: a({ type: e(billLinkTypes, true), id: s(), amount: n(), currencyRate: n() }), allocatedOnDate: dt() }),
    reference: s(),
  },
  bankAccounts: {
    ...common,
    id: s(),
    accountName: s(),
    accountType: e(['Unknown', 'Credit', 'Debit']),
    nominalCode: s(),
    sortCode: s(),
    accountNumber: s(),
    iBan: s(),
    currency: s(),
    balance: n(),
    institution: s(),
    availableBalance: n(),
    overdraftLimit: n(),
    status: e(['Unknown', 'Active', 'Archived', 'Pending']),
  },
  journalEntries: {
    ...common,
    id: s(),
    description: s(),
    postedOn: dt(),
    createdOn: dt(),
    updatedOn: dt(),
    journalRef: o({ id: s(true), name: s() }),
    journalLines: a({
      description: s(),
      netAmount: n(true),
      transactionAmount: n(),
      currency: s(),
      transactionCurrency: s(),
      accountRef: o(accountRef),
      tracking: o({ recordRefs: a({ id: s(true), dataType: e(['customers', 'suppliers', 'trackingCategories'], true) }) }),
      contactRef: o({ id: s(true), dataType: e(['customers', 'suppliers']) }),
    }),
    recordRef: o({ id: s(true), dataType: e(['bankTransactions', 'billCreditNotes', 'billPayments', 'bills', 'creditNotes', 'directCosts', 'directIncomes', 'invoices', 'journalEntries', 'payments', 'transfers'], true) }),
  },
  items: {
    ...common,
    id: s(),
    name: s(),
    code: s(),
    itemStatus: e(activeArchived, true),
    type: e(['Unknown', 'Inventory', 'NonInventory', 'Service'], true),
    isBillItem: b(true),
    billItem: o({ description: s(), unitPrice: n(), accountRef: o(accountRef), taxRateRef: o(taxRateRef) }),
    isInvoiceItem: b(true),
    invoiceItem: o({ description: s(), unitPrice: n(), accountRef: o(accountRef), taxRateRef: o(taxRateRef) }),
  },
  trackingCategories: { ...common, id: s(), name: s(), status: e(activeArchived), parentId: s(), hasChildren: b() },
  // Issue 15, the bank and ledger types (docs/accounting-model.md).
  directCosts: direct('suppliers'),
  directIncomes: direct('customers'),
  transfers: {
    ...common,
    id: s(),
    description: s(),
    contactRef: o({ id: s(true), dataType: s() }),
    date: dt(true),
    from: o({ accountRef: o(accountRef), currency: s(), amount: n() }),
    to: o({ accountRef: o(accountRef), currency: s(), amount: n() }),
    trackingCategoryRefs: a(trackingRef),
    depositedRecordRefs: a({ id: s(true), dataType: s() }),
  },
  bankTransactions: {
    ...common,
    id: s(),
    accountId: s(true),
    clearedOnDate: dt(true),
    description: s(),
    reconciled: b(true),
    amount: n(true),
    balance: n(),
    transactionType: e(['Unknown', 'Credit', 'Debit', 'Int', 'Div', 'Fee', 'SerChg', 'Dep', 'Atm', 'Pos', 'Xfer', 'Check', 'Payment', 'Cash', 'DirectDep', 'DirectDebit', 'RepeatPmt', 'Other'], true),
  },
  accountTransactions: {
    ...common,
    id: s(),
    transactionId: s(),
    note: s(),
    bankAccountRef: o({ id: s(), name: s() }),
    date: dt(true),
    status: e(['Unknown', 'Unreconciled', 'Reconciled', 'Void'], true),
    currency: s(),
    currencyRate: n(),
    lines: a({ description: s(), recordRef: o({ id: s(true), dataType: e(['bankTransactions', 'billPayments', 'directCosts', 'directIncomes', 'payments', 'transfers'], true) }, true), amount: n(true) }, true),
    totalAmount: n(true),
  },
  journals: { id: s(true), name: s(true), journalCode: s(), type: s(), status: e(activeArchived, true), parentId: s(), hasChildren: b(), createdOn: dt() },
  // Issue 15, the document types (docs/accounting-model.md).
  paymentMethods: { ...common, id: s(), name: s(), type: e(['Unknown', 'Cash', 'Check', 'CreditCard', 'DebitCard', 'BankTransfer', 'Other'], true), status: e(activeArchived, true) },
  billCreditNotes: {
    ...common,
    id: s(),
    billCreditNoteNumber: s(),
    supplierRef: o(supplierRef),
    withholdingTax: a({ name: s(true), amount: n(true) }),
    totalAmount: n(true),
    totalDiscount: n(true),
    subTotal: n(true),
    totalTaxAmount: n(true),
    discountPercentage: n(true),
    remainingCredit: n(),
    status: e(['Unknown', 'Draft', 'Submitted', 'Paid', 'Void', 'PartiallyPaid'], true),
    issueDate: dt(),
    allocatedOnDate: dt(),
    currency: s(),
    currencyRate: n(),
    lineItems: a(billLine),
    paymentAllocations: a(paymentAllocation),
    note: s(),
  },
  purchaseOrders: {
    ...common,
    id: s(),
    purchaseOrderNumber: s(),
    supplierRef: o(supplierRef),
    status: e(['Unknown', 'Draft', 'Open', 'Closed', 'Void']),
    issueDate: dt(),
    expectedDeliveryDate: dt(),
    deliveryDate: dt(),
    paymentDueDate: dt(),
    shipTo: o({ address: o(address), contact: o({ name: s(), email: s(), phone: s() }) }),
    currency: s(),
    currencyRate: n(),
    lineItems: a({
      description: s(),
      unitAmount: n(),
      quantity: n(),
      discountAmount: n(),
      discountPercentage: n(),
      subTotal: n(),
      taxAmount: n(),
      totalAmount: n(),
      accountRef: o(accountRef),
      taxRateRef: o(taxRateRef),
      itemRef: o(itemRef),
      trackingCategoryRefs: a(trackingRef),
    }),
    subTotal: n(),
    totalDiscount: n(),
    totalTaxAmount: n(),
    totalAmount: n(),
    note: s(),
  },
  balanceSheet: { currency: s(), date: dt(), assets: o(reportLine), liabilities: o(reportLine), netAssets: n(true), equity: o(reportLine) },
  profitAndLoss: {
    currency: s(),
    reportBasis: e(['Unknown', 'Accrual', 'Cash'], true),
    fromDate: dt(),
    toDate: dt(),
    income: o(reportLine),
    costOfSales: o(reportLine),
    grossProfit: n(true),
    expenses: o(reportLine),
    netOperatingProfit: n(true),
    otherExpenses: o(reportLine),
    otherIncome: o(reportLine),
    netOtherIncome: n(true),
    netProfit: n(true),
  },
  cashFlowStatement: {
    currency: s(),
    reportBasis: e(['Unknown', 'Accrual', 'Cash'], true),
    reportInput: e(['Unknown', 'Indirect', 'Direct'], true),
    fromDate: dt(),
    toDate: dt(),
    cashReceipts: o(reportLine),
    cashPayments: o(reportLine),
  },
};

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

function check(v: unknown, f: FieldSpec, path: string, out: string[]): void {
  if (v === undefined) return;
  if (v === null) return void out.push(`${path}: null (Syncline omits unknown values)`);
  switch (f.t) {
    case 'string':
      if (typeof v !== 'string') out.push(`${path}: not a string`);
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) out.push(`${path}: not a number`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') out.push(`${path}: not a boolean`);
      return;
    case 'datetime':
      if (typeof v !== 'string' || !DATETIME.test(v) || Number.isNaN(Date.parse(v.endsWith('Z') || /[+-]\d{2}:\d{2}$/.test(v) ? v : `${v}Z`))) out.push(`${path}: not an ISO 8601 date-time (${String(v)})`);
      return;
    case 'enum':
      if (!f.values!.includes(v as string)) out.push(`${path}: ${String(v)} is not one of ${f.values!.join('|')}`);
      return;
    case 'map':
      if (typeof v !== 'object') out.push(`${path}: not an object`);
      return;
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) return void out.push(`${path}: not an object`);
      return checkObject(v as Record<string, unknown>, f.of as Spec, path, out);
    case 'array':
      if (!Array.isArray(v)) return void out.push(`${path}: not an array`);
      v.forEach((x, i) => (typeof f.of === 'string' ? check(x, { t: f.of }, `${path}[${i}]`, out) : check(x, { t: 'object', of: f.of }, `${path}[${i}]`, out)));
      return;
  }
}

function checkObject(v: Record<string, unknown>, spec: Spec, path: string, out: string[]): void {
  for (const [k, f] of Object.entries(spec)) if (f.req && v[k] === undefined) out.push(`${path}.${k}: required`);
  for (const [k, x] of Object.entries(v)) {
    const f = spec[k];
    if (!f) out.push(`${path}.${k}: not in the model`);
    else check(x, f, `${path}.${k}`, out);
  }
}

export function checkRecord(dataType: string, data: Record<string, unknown>): string[] {
  const spec = MODEL[dataType];
  if (!spec) return [`no model for ${dataType}`];
  const out: string[] = [];
  checkObject(data, spec, dataType, out);
  return out;
}
