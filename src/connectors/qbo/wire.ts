/** Reading QuickBooks Online JSON: small typed accessors (payloads are untrusted until mapped). */
export type Wire = Record<string, unknown>;

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
export const num = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};
export const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : undefined);
export const obj = (v: unknown): Wire | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Wire) : undefined);
export const arr = (v: unknown): Wire[] => (Array.isArray(v) ? v.filter((x): x is Wire => !!x && typeof x === 'object') : []);
export const round2 = (x: number): number => Math.round(x * 100) / 100;

export function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** `2026-06-15T12:00:00-07:00` → epoch ms (QuickBooks always writes an offset). */
export function parseQboInstant(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}
/** QuickBooks instants are rendered as RFC 3339 UTC. */
export const instant = (ms: number): string => new Date(ms).toISOString();
/** A QuickBooks calendar date (`2026-06-15`) → the model's `2026-06-15T00:00:00`. */
export const dateField = (v: unknown): string | undefined => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00` : undefined);

/** A query or CDC time literal QuickBooks accepts: RFC 3339 with an explicit offset (`+` must be URL-encoded). */
export function qboLiteral(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
