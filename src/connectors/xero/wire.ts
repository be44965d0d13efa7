/**
 * Xero wire-format helpers (the Sandbox speaks Xero's Accounting API: xero_accounting.yaml). Wire objects are typed
 * loosely on purpose: a platform payload is untrusted input, every field is checked where it is read.
 */
import { MappingError } from '../connector.js';

export type Wire = Record<string, unknown>;

/** `/Date(1539993600000+0000)/` (Microsoft JSON) or an ISO string → epoch ms. */
export function parseXeroDate(v: unknown): number | undefined {
  if (typeof v !== 'string' || !v) return undefined;
  const m = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(v);
  if (m) return Number(m[1]);
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Platform dates without a time render as `YYYY-MM-DDT00:00:00` (accounting-model.md §1). */
export const dateOnly = (ms: number): string => new Date(ms).toISOString().slice(0, 10) + 'T00:00:00';
/** Platform instants (UpdatedDateUTC) render as RFC 3339 UTC. */
export const instant = (ms: number): string => new Date(ms).toISOString();

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const num = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};
export const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
export const obj = (v: unknown): Wire | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Wire) : undefined);
export const arr = (v: unknown): Wire[] => (Array.isArray(v) ? v.filter((x): x is Wire => !!x && typeof x === 'object') : []);

/** Drops undefined values so optional fields are omitted, not sent as null (accounting-model.md §1). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  // A fresh object rather than `delete` (which would drop the object into slow dictionary mode).
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}

export function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new MappingError(`platform record has no ${what}`);
  return v;
}

/** Money: two decimals in, same precision out. Sums are rounded to cents to avoid binary-float noise. */
export const round2 = (x: number): number => Math.round(x * 100) / 100;
