/**
 * Xero's scopes as the simulator enforces them (source-platforms.md §1.7, §5.1). A GET is allowed by the granular
 * scope, its `.read` variant, or the broad scope it came from (until Xero retires the broad ones); a call outside the
 * granted scopes answers 403, as Xero does.
 */
const TRANSACTIONS = ['accounting.transactions', 'accounting.transactions.read'];
const readOf = (s: string) => [s, `${s}.read`];

/** Scope names the authorize endpoint accepts. */
export const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'profile',
  'email',
  'offline_access',
  ...readOf('accounting.settings'),
  ...readOf('accounting.contacts'),
  ...readOf('accounting.attachments'),
  ...TRANSACTIONS,
  ...readOf('accounting.invoices'),
  ...readOf('accounting.payments'),
  ...readOf('accounting.banktransactions'),
  ...readOf('accounting.manualjournals'),
  'accounting.journals.read',
  'accounting.budgets.read',
  'accounting.reports.read',
  ...['aged', 'balancesheet', 'banksummary', 'budgetsummary', 'executivesummary', 'profitandloss', 'trialbalance', 'taxreports', 'tenninetynine'].map((r) => `accounting.reports.${r}.read`),
]);

const BY_RESOURCE: Record<string, string[]> = {
  organisation: readOf('accounting.settings'),
  accounts: readOf('accounting.settings'),
  taxrates: readOf('accounting.settings'),
  trackingcategories: readOf('accounting.settings'),
  currencies: readOf('accounting.settings'),
  brandingthemes: readOf('accounting.settings'),
  items: [...readOf('accounting.settings'), ...readOf('accounting.invoices'), ...TRANSACTIONS],
  contacts: readOf('accounting.contacts'),
  contactgroups: readOf('accounting.contacts'),
  invoices: [...readOf('accounting.invoices'), ...TRANSACTIONS],
  creditnotes: [...readOf('accounting.invoices'), ...TRANSACTIONS],
  purchaseorders: [...readOf('accounting.invoices'), ...TRANSACTIONS],
  quotes: [...readOf('accounting.invoices'), ...TRANSACTIONS],
  repeatinginvoices: [...readOf('accounting.invoices'), ...TRANSACTIONS],
  linkedtransactions: [...readOf('accounting.invoices'), ...TRANSACTIONS],
  payments: [...readOf('accounting.payments'), ...TRANSACTIONS],
  overpayments: [...readOf('accounting.payments'), ...TRANSACTIONS],
  prepayments: [...readOf('accounting.payments'), ...TRANSACTIONS],
  batchpayments: [...readOf('accounting.payments'), ...TRANSACTIONS],
  banktransactions: [...readOf('accounting.banktransactions'), ...TRANSACTIONS],
  banktransfers: [...readOf('accounting.banktransactions'), ...TRANSACTIONS],
  manualjournals: [...readOf('accounting.manualjournals'), ...TRANSACTIONS],
  journals: ['accounting.journals.read'],
};

const REPORTS: Record<string, string> = {
  balancesheet: 'balancesheet',
  profitandloss: 'profitandloss',
  trialbalance: 'trialbalance',
  banksummary: 'banksummary',
  budgetsummary: 'budgetsummary',
  executivesummary: 'executivesummary',
  agedpayablesbycontact: 'aged',
  agedreceivablesbycontact: 'aged',
};

/** Scopes any one of which allows GET of this accounting API path (relative to /api.xro/2.0); [] = none needed. */
export function scopesFor(path: string): string[] {
  const segs = path.toLowerCase().split('/').filter(Boolean);
  const first = segs[0] ?? '';
  if (first === 'reports') {
    const r = REPORTS[segs[1] ?? ''];
    return r ? [`accounting.reports.${r}.read`, 'accounting.reports.read'] : ['accounting.reports.read'];
  }
  // Files attached to any record need the attachments scope (xero_accounting.yaml: accounting.attachments[.read]).
  if ((segs[2] ?? '') === 'attachments') return readOf('accounting.attachments');
  return BY_RESOURCE[first] ?? [];
}

export function allowed(granted: readonly string[], path: string): boolean {
  const need = scopesFor(path);
  return need.length === 0 || need.some((s) => granted.includes(s));
}
