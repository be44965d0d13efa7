import type { DataType } from './data-types.js';

/** The record read endpoints (accounting-model.md §2): path segment, data type, and the schema name used in errors. */
export interface ReadType {
  segment: string;
  dataType: DataType;
  entity: string;
  /** Company info is a single document: no list, no id, no modifiedDate. */
  single?: boolean;
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
  { segment: 'bankAccounts', dataType: 'bankAccounts', entity: 'BankAccount' },
  { segment: 'journalEntries', dataType: 'journalEntries', entity: 'JournalEntry' },
  { segment: 'items', dataType: 'items', entity: 'Item' },
  { segment: 'trackingCategories', dataType: 'trackingCategories', entity: 'TrackingCategory' },
];

export const STATEMENTS = [
  { segment: 'balanceSheet', dataType: 'balanceSheet', entity: 'BalanceSheet' },
  { segment: 'profitAndLoss', dataType: 'profitAndLoss', entity: 'ProfitAndLossReport' },
  { segment: 'cashFlowStatement', dataType: 'cashFlowStatement', entity: 'CashFlowStatement' },
] as const satisfies readonly ReadType[];
