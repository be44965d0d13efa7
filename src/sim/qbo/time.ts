/**
 * QuickBooks Online writes every timestamp in the company's time zone with its offset (US companies, and the API's own
 * `time`, are usually Pacific): `2026-06-15T05:00:00-07:00`. Record times have whole seconds; a response's `time` has
 * milliseconds. Query literals are parsed the same way; a date without an offset is read in the company's zone.
 */
const ZONE = 'America/Los_Angeles';
// Built at first use: a time-zone formatter costs milliseconds of ICU set-up, and a Syncline start imports this module
// (through the in-process Sandbox) without ever serving the QuickBooks dialect (issue 17).
let fmt: Intl.DateTimeFormat | undefined;

/** Offset of Pacific time at an instant, in minutes (−480 or −420). */
export function pacificOffsetMinutes(ms: number): number {
  fmt ??= new Intl.DateTimeFormat('en-US', { timeZone: ZONE, timeZoneName: 'longOffset', year: 'numeric' });
  const name = fmt.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT-08:00';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function format(ms: number, millis: boolean): string {
  const off = pacificOffsetMinutes(ms);
  const local = new Date(ms + off * 60_000);
  const base = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const frac = millis ? `.${pad(local.getUTCMilliseconds(), 3)}` : '';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${base}${frac}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** A record timestamp (MetaData.CreateTime / LastUpdatedTime): whole seconds, Pacific offset. */
export const qboTime = (ms: number): string => format(Math.floor(ms / 1000) * 1000, false);
/** The `time` of a response: milliseconds, Pacific offset. */
export const qboNow = (ms: number): string => format(ms, true);
/** A calendar date (TxnDate, DueDate): the UTC day of the ledger's date. */
export const qboDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class UnparseableDate extends Error {}

/**
 * A query or CDC time literal → epoch ms. Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.sss]` (company zone) and either
 * with `Z` or `±HH:MM`. A `+` that arrived unencoded in a URL is a space by now: "Unparseable date", as QuickBooks says.
 */
export function parseQboTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s.trim());
  if (!m) throw new UnparseableDate(`Unparseable date: "${s}"`);
  const [, y, mo, d, h = '00', mi = '00', se = '00', ms = '0', zone] = m;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se), Number(ms.padEnd(3, '0')));
  if (Number.isNaN(wall)) throw new UnparseableDate(`Unparseable date: "${s}"`);
  if (zone === 'Z') return wall;
  if (zone) {
    const z = /([+-])(\d{2}):?(\d{2})/.exec(zone)!;
    const off = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
    return wall - off * 60_000;
  }
  // Company zone: the offset at (approximately) that wall time.
  return wall - pacificOffsetMinutes(wall) * 60_000;
}
