import { DATA_TYPES, STATEMENT_TYPES, canonicalIndex, isAccountingReadType, isDataType, isStatementType, type DataType } from './data-types.js';
import type { ValidationItem } from './errors.js';

/** SyncSetting (platform-api.md §7.7). Optional fields are omitted when unset, never null. */
export interface SyncSetting {
  dataType: DataType;
  fetchOnFirstLink: boolean;
  syncSchedule: number;
  syncOrder: number;
  syncFromUtc?: string;
  syncFromWindow?: number;
  monthsToSync?: number;
  isLocked?: boolean;
}

export const DEFAULT_SYNC_SCHEDULE_HOURS = 168;
export const DEFAULT_MONTHS_TO_SYNC = 24;

/** Default syncOrder (sync-behaviour.md §5.3): reference data, then documents, then statements, then the rest. */
const ORDER_HEAD: DataType[] = [
  'company',
  'chartOfAccounts',
  'taxRates',
  'trackingCategories',
  'items',
  'customers',
  'suppliers',
  'bankAccounts',
  'invoices',
  'creditNotes',
  'payments',
  'bills',
  'billPayments',
  'journalEntries',
  'balanceSheet',
  'profitAndLoss',
  'cashFlowStatement',
  // issue 15: reference data first, then documents; bank transactions after the accounts they belong to
  'paymentMethods',
  'journals',
  'billCreditNotes',
  'purchaseOrders',
  'salesOrders',
  'directCosts',
  'directIncomes',
  'transfers',
  'bankTransactions',
  'accountTransactions',
];
const DEFAULT_ORDER: DataType[] = [...ORDER_HEAD, ...DATA_TYPES.filter((t) => !ORDER_HEAD.includes(t))];

export function defaultSetting(dataType: DataType): SyncSetting {
  const s: SyncSetting = {
    dataType,
    fetchOnFirstLink: isAccountingReadType(dataType),
    syncSchedule: DEFAULT_SYNC_SCHEDULE_HOURS,
    syncOrder: DEFAULT_ORDER.indexOf(dataType) + 1,
  };
  if (isStatementType(dataType)) s.monthsToSync = DEFAULT_MONTHS_TO_SYNC;
  return s;
}

export const bySyncOrder = (a: SyncSetting, b: SyncSetting): number =>
  a.syncOrder - b.syncOrder || canonicalIndex(a.dataType) - canonicalIndex(b.dataType);

/** The profile's settings: built-in defaults, overlaid by the stored list (types not listed keep the defaults). */
export function profileSettings(stored: SyncSetting[] | undefined): SyncSetting[] {
  const byType = new Map((stored ?? []).map((s) => [s.dataType, s]));
  return DATA_TYPES.map((t) => byType.get(t) ?? defaultSetting(t)).sort(bySyncOrder);
}

export interface CompanySettingsState {
  overridesDefaults: boolean;
  settings: SyncSetting[];
}

/** Effective setting per data type (sync-behaviour.md §5.1). */
export function effectiveSettings(profile: SyncSetting[], company: CompanySettingsState | undefined): Map<DataType, SyncSetting> {
  const out = new Map<DataType, SyncSetting>();
  for (const p of profile) out.set(p.dataType, p);
  if (company?.overridesDefaults) {
    for (const c of company.settings) {
      const p = out.get(c.dataType);
      if (p?.isLocked) continue;
      out.set(c.dataType, c);
    }
  }
  return out;
}

const SETTING_KEYS = ['dataType', 'fetchOnFirstLink', 'syncSchedule', 'syncOrder', 'syncFromUtc', 'syncFromWindow', 'monthsToSync', 'isLocked'];

/** Normalises one posted entry, collecting validation errors with JSON paths like `settings[2].syncSchedule`. */
export function validateSettings(raw: unknown[], path = 'settings'): { settings: SyncSetting[]; errors: ValidationItem[] } {
  const errors: ValidationItem[] = [];
  const settings: SyncSetting[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, i) => {
    const at = (f: string) => `${path}[${i}].${f}`;
    const err = (f: string, message: string, validatorName = 'Validation') => errors.push({ itemId: at(f), message, validatorName });
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push({ itemId: `${path}[${i}]`, message: 'Each setting must be an object.', validatorName: 'Type' });
      return;
    }
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!SETTING_KEYS.includes(k)) errors.push({ itemId: at(k), message: `Unknown property '${k}'.`, validatorName: 'additionalProperties' });
    }
    const dataType = e.dataType;
    if (typeof dataType !== 'string' || !isDataType(dataType)) {
      err('dataType', `Unknown data type '${String(dataType)}'.`, 'Enum');
      return;
    }
    if (seen.has(dataType)) err('dataType', `Data type '${dataType}' is listed more than once.`, 'Unique');
    seen.add(dataType);
    const s: SyncSetting = {
      dataType,
      fetchOnFirstLink: e.fetchOnFirstLink as boolean,
      syncSchedule: e.syncSchedule as number,
      syncOrder: e.syncOrder as number,
    };
    if (typeof e.fetchOnFirstLink !== 'boolean') err('fetchOnFirstLink', 'fetchOnFirstLink must be a boolean.', 'Type');
    if (!Number.isInteger(e.syncSchedule) || ((e.syncSchedule as number) !== 0 && ((e.syncSchedule as number) < 1 || (e.syncSchedule as number) > 8760))) {
      err('syncSchedule', 'syncSchedule must be 0 (no schedule) or an integer number of hours from 1 to 8760.', 'Range');
    }
    if (!Number.isInteger(e.syncOrder)) err('syncOrder', 'syncOrder must be an integer.', 'Type');
    if (e.syncFromUtc !== undefined && e.syncFromUtc !== null) {
      if (typeof e.syncFromUtc !== 'string' || Number.isNaN(Date.parse(e.syncFromUtc)) || !/^\d{4}-\d{2}-\d{2}/.test(e.syncFromUtc)) {
        err('syncFromUtc', 'syncFromUtc must be a date-time.', 'Format');
      } else s.syncFromUtc = new Date(e.syncFromUtc).toISOString();
    }
    if (e.syncFromWindow !== undefined && e.syncFromWindow !== null) {
      if (!Number.isInteger(e.syncFromWindow) || (e.syncFromWindow as number) < 1) err('syncFromWindow', 'syncFromWindow must be an integer of at least 1.', 'Range');
      else s.syncFromWindow = e.syncFromWindow as number;
    }
    if (s.syncFromUtc !== undefined && s.syncFromWindow !== undefined) {
      err('syncFromWindow', 'Set syncFromUtc or syncFromWindow, not both.', 'Exclusive');
    }
    if (e.monthsToSync !== undefined && e.monthsToSync !== null) {
      if (!(STATEMENT_TYPES as readonly string[]).includes(dataType)) {
        err('monthsToSync', 'monthsToSync applies only to balanceSheet, profitAndLoss and cashFlowStatement.', 'NotAllowed');
      } else if (!Number.isInteger(e.monthsToSync) || (e.monthsToSync as number) < 1 || (e.monthsToSync as number) > 120) {
        err('monthsToSync', 'monthsToSync must be an integer from 1 to 120.', 'Range');
      } else s.monthsToSync = e.monthsToSync as number;
    }
    if (e.isLocked !== undefined && e.isLocked !== null) {
      if (typeof e.isLocked !== 'boolean') err('isLocked', 'isLocked must be a boolean.', 'Type');
      else s.isLocked = e.isLocked;
    }
    settings.push(s);
  });
  return { settings, errors };
}

/** Equal in every value a company could override (used for the isLocked round-trip rule). */
export function sameSetting(a: SyncSetting, b: SyncSetting): boolean {
  return (
    a.fetchOnFirstLink === b.fetchOnFirstLink &&
    a.syncSchedule === b.syncSchedule &&
    a.syncOrder === b.syncOrder &&
    a.syncFromUtc === b.syncFromUtc &&
    a.syncFromWindow === b.syncFromWindow &&
    a.monthsToSync === b.monthsToSync
  );
}

/** History window for a dataset queued now with this setting (sync-behaviour.md §8.2). */
export function windowFor(setting: SyncSetting, now: Date): { monthsToSync?: number; syncFrom?: string } {
  if (isStatementType(setting.dataType)) return { monthsToSync: setting.monthsToSync ?? DEFAULT_MONTHS_TO_SYNC };
  if (REFERENCE_TYPES.includes(setting.dataType)) return {};
  if (setting.syncFromUtc) return { syncFrom: setting.syncFromUtc };
  if (setting.syncFromWindow) {
    const d = new Date(now);
    d.setUTCMonth(d.getUTCMonth() - setting.syncFromWindow);
    return { syncFrom: d.toISOString() };
  }
  return {};
}

/** Reference types ignore syncFrom windows: a document's references must always resolve. */
export const REFERENCE_TYPES: DataType[] = ['company', 'chartOfAccounts', 'taxRates', 'trackingCategories', 'items', 'customers', 'suppliers', 'bankAccounts'];
