/** The 43 DataType keys in canonical order (platform-api.md §7.11). Order matters: it breaks syncOrder ties. */
export const DATA_TYPES = [
  'accountTransactions',
  'balanceSheet',
  'bankAccounts',
  'bankTransactions',
  'billCreditNotes',
  'billPayments',
  'bills',
  'cashFlowStatement',
  'chartOfAccounts',
  'company',
  'creditNotes',
  'customers',
  'directCosts',
  'directIncomes',
  'invoices',
  'itemReceipts',
  'items',
  'journalEntries',
  'journals',
  'paymentMethods',
  'payments',
  'profitAndLoss',
  'purchaseOrders',
  'salesOrders',
  'suppliers',
  'taxRates',
  'trackingCategories',
  'transfers',
  'banking-accountBalances',
  'banking-accounts',
  'banking-transactionCategories',
  'banking-transactions',
  'commerce-companyInfo',
  'commerce-customers',
  'commerce-disputes',
  'commerce-locations',
  'commerce-orders',
  'commerce-paymentMethods',
  'commerce-payments',
  'commerce-productCategories',
  'commerce-products',
  'commerce-taxComponents',
  'commerce-transactions',
] as const;

export type DataType = (typeof DATA_TYPES)[number];

const DATA_TYPE_SET: ReadonlySet<string> = new Set(DATA_TYPES);
export const isDataType = (s: string): s is DataType => DATA_TYPE_SET.has(s);

/** The 17 types Syncline v1 reads from any platform (platform-api.md §7.11). */
export const V1_READ_TYPES = [
  'company',
  'chartOfAccounts',
  'taxRates',
  'customers',
  'suppliers',
  'invoices',
  'creditNotes',
  'payments',
  'bills',
  'billPayments',
  'bankAccounts',
  'journalEntries',
  'items',
  'trackingCategories',
  'balanceSheet',
  'profitAndLoss',
  'cashFlowStatement',
] as const satisfies readonly DataType[];

/**
 * Accounting types beyond v1 (issue 15): Codat's other accounting read endpoints. `bankTransactions` is the
 * accounting data type Codat serves at `…/connections/{connectionId}/data/bankAccounts/{accountId}/bankTransactions`
 * (`banking-transactions` is the Banking API's, a different product); it is also the key in dataStatus and syncSettings.
 */
export const MORE_READ_TYPES = [
  'billCreditNotes',
  'journals',
  'paymentMethods',
  'purchaseOrders',
  'salesOrders',
  'accountTransactions',
  'directCosts',
  'directIncomes',
  'transfers',
  'bankTransactions',
] as const satisfies readonly DataType[];

/** Every accounting type Syncline can read from a platform that provides it: v1's 17 and the ten above. */
export const ACCOUNTING_READ_TYPES = [...V1_READ_TYPES, ...MORE_READ_TYPES] as const satisfies readonly DataType[];
export const isAccountingReadType = (t: string): boolean => (ACCOUNTING_READ_TYPES as readonly string[]).includes(t);

/** Financial statements: stored as monthly periods, history window set by `monthsToSync`. */
export const STATEMENT_TYPES = ['balanceSheet', 'profitAndLoss', 'cashFlowStatement'] as const satisfies readonly DataType[];
export const isStatementType = (t: string): boolean => (STATEMENT_TYPES as readonly string[]).includes(t);

export const canonicalIndex = (t: DataType): number => DATA_TYPES.indexOf(t);
