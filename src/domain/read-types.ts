import type { DataType } from './data-types.js';

/** The record read endpoints (accounting-model.md §2): path segment, data type, and the schema name used in errors. */
export interface ReadType {
  segment: string;
  dataType: DataType;
  entity: string;
  /** Company info is a single document: no list, no id, no modifiedDate. */
  single?: boolean;
  /**
   * Codat serves these only under `/companies/{companyId}/connections/{connectionId}/data/…` (accounting-model.md §2):
   * no company-level path.
   */
  connectionOnly?: boolean;
  /** Path parameter name of one record (default: the singular of the segment + `Id`). */
  idParam?: string;
}

export const READ_TYPES: readonly ReadType[] = [
  { segment: 'info', dataType: 'company', entity: 'CompanyInfo', single: true },
  { segment: 'accounts', dataType: 'chartOfAccounts', entity: 'Account' },
  { segment: 'taxRates', dataType: 'taxRates', entity: 'TaxRate' },
  { segment: 'customers', dataType: 'customers', entity: 'Customer' },
  { segment: 'suppliers', dataType: 'suppliers', entity: 'Supplier' },
  { segment: 'invoices', dataType: 'invoices', entity: 'Invoice' },
  { segment: 'creditNotes', dataType: 'creditNotes', entity: 'CreditNote' },
  { segment: 'payments', dataType: 'payments', entity: 'Payment' },
  { segment: 'bills', dataType: 'bills', entity: 'Bill' },
  { segment: 'billPayments', dataType: 'billPayments', entity: 'BillPayment' },
  { segment: 'bankAccounts', dataType: 'bankAccounts', entity: 'BankAccount', idParam: 'accountId' },
  { segment: 'journalEntries', dataType: 'journalEntries', entity: 'JournalEntry' },
  { segment: 'items', dataType: 'items', entity: 'Item' },
  { segment: 'trackingCategories', dataType: 'trackingCategories', entity: 'TrackingCategory' },
  // issue 15
  { segment: 'billCreditNotes', dataType: 'billCreditNotes', entity: 'BillCreditNote' },
  { segment: 'journals', dataType: 'journals', entity: 'Journal' },
  { segment: 'paymentMethods', dataType: 'paymentMethods', entity: 'PaymentMethod' },
  { segment: 'purchaseOrders', dataType: 'purchaseOrders', entity: 'PurchaseOrder' },
  { segment: 'salesOrders', dataType: 'salesOrders', entity: 'SalesOrder' },
  { segment: 'accountTransactions', dataType: 'accountTransactions', entity: 'AccountTransaction', connectionOnly: true },
  { segment: 'directCosts', dataType: 'directCosts', entity: 'DirectCost', connectionOnly: true },
  { segment: 'directIncomes', dataType: 'directIncomes', entity: 'DirectIncome', connectionOnly: true },
  { segment: 'transfers', dataType: 'transfers', entity: 'Transfer', connectionOnly: true },
];

/**
 * Bank transactions are listed per bank account (`…/connections/{connectionId}/data/bankAccounts/{accountId}/
 * bankTransactions`, list only, as in Codat); stored as one data type per connection, each carrying its `accountId`.
 */
export const BANK_TRANSACTIONS: ReadType = { segment: 'bankTransactions', dataType: 'bankTransactions', entity: 'BankTransaction', connectionOnly: true };

export const STATEMENTS = [
  { segment: 'balanceSheet', dataType: 'balanceSheet', entity: 'BalanceSheet' },
  { segment: 'profitAndLoss', dataType: 'profitAndLoss', entity: 'ProfitAndLossReport' },
  { segment: 'cashFlowStatement', dataType: 'cashFlowStatement', entity: 'CashFlowStatement' },
] as const satisfies readonly ReadType[];
