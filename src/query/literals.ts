/**
 * Literal parsing and the value semantics shared by the SQL compiler and the in-memory evaluator
 * (query-language.md §4.1, §5, §7). Everything here is pure; the SQL in `sql-values.ts` mirrors these functions
 * exactly, and the property tests check that it does.
 */

/** Strings compare case-insensitively for ASCII letters only: the same on SQLite (`lower`), PostgreSQL (`lower(x COLLATE "C")`) and here. */
export function foldCase(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Unicode code point order (= UTF-8 byte order, what SQLite BINARY and PostgreSQL `COLLATE "C"` use), not UTF-16 unit order. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (D800–DFFF) starts an astral code point, which sorts after every BMP unit, E000–FFFF included.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------------

/** `0`, `-12.5`, `1000.00`, `+3`: optional sign, digits, optional fraction. No exponent, no separators (§4.1). */
const NUMBER_RE = /^[+-]?[0-9]+(?:\.[0-9]+)?$/;

export interface NumberLiteral {
  /** The literal as written (bound as `numeric` on PostgreSQL, so the comparison is exact there). */
  text: string;
  /** Its double value (SQLite and the evaluator). */
  value: number;
}

export function parseNumberLiteral(s: string): NumberLiteral | undefined {
  if (!NUMBER_RE.test(s)) return undefined;
  const value = Number(s);
  return Number.isFinite(value) ? { text: s, value } : undefined;
}

export function parseBooleanLiteral(s: string): boolean | undefined {
  const f = foldCase(s);
  return f === 'true' ? true : f === 'false' ? false : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------------------------

export const DAY_MS = 86_400_000;

/**
 * Days since 1970-01-01 of a proleptic Gregorian date. Month and day are not checked against the month's length:
 * 2021-02-30 is 2021-03-02, exactly as the SQL version computes it (`sql-values.ts`, `epochMsSql`).
 * Shifting the year by 400 keeps every intermediate value non-negative, so integer division truncates the same way
 * in SQLite, PostgreSQL and here.
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  const ys = y + 400 - (m <= 2 ? 1 : 0);
  const mp = (m + 9) % 12;
  return (
    365 * ys +
    Math.trunc(ys / 4) -
    Math.trunc(ys / 100) +
    Math.trunc(ys / 400) +
    Math.trunc((153 * mp + 2) / 5) +
    d -
    DAYS_FROM_CIVIL_OFFSET
  );
}
/** 719468 (0000-03-01 → 1970-01-01) + 146097 (the 400-year shift) + 1 (days are 1-based). */
export const DAYS_FROM_CIVIL_OFFSET = 865_566;

/**
 * The stored date-time forms Syncline reads (platform-api.md §1): `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS`, each time form
 * with an optional fraction of any length and an optional `Z` or `±HH:MM`. Anything else is treated like a missing
 * value. The same language is checked in SQL (a regular expression on PostgreSQL, GLOB patterns on SQLite).
 */
const STORED_DATE_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))?)?$/;

/**
 * UTC epoch milliseconds of a stored value: an offset converts to UTC, an unqualified time is read as UTC (its
 * wall-clock value, §5), fractional seconds are truncated to milliseconds. `undefined` for anything that is not one
 * of the accepted forms or has an out-of-range field (month 13, hour 24, minute 60, …).
 */
export function storedDateMs(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = STORED_DATE_RE.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = m[4] === undefined ? 0 : Number(m[4]);
  const mi = m[5] === undefined ? 0 : Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  const frac = m[7] === undefined ? 0 : Number((m[7] + '00').slice(0, 3));
  const sign = m[9] === '-' ? -1 : 1;
  const oh = m[10] === undefined ? 0 : Number(m[10]);
  const om = m[11] === undefined ? 0 : Number(m[11]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 || oh > 23 || om > 59) return undefined;
  return daysFromCivil(y, mo, d) * DAY_MS + h * 3_600_000 + mi * 60_000 + sec * 1000 + frac - sign * (oh * 60 + om) * 60_000;
}

/** `2022-08-23T10:15:00.000Z`: the form Syncline generates, which sorts lexically. */
export function canonicalText(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const rest = ms - days * DAY_MS;
  const { y, m, d } = civilFromDays(days);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const h = Math.floor(rest / 3_600_000);
  const mi = Math.floor((rest % 3_600_000) / 60_000);
  const s = Math.floor((rest % 60_000) / 1000);
  return `${p(y, 4)}-${p(m)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}.${p(rest % 1000, 3)}Z`;
}

/** Inverse of `daysFromCivil` for valid dates (Hinnant's algorithm). */
function civilFromDays(z0: number): { y: number; m: number; d: number } {
  const z = z0 + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** A date literal: a whole UTC day (`2021-01-28`) or an instant (`2022-08-23T10:00:00`, `…Z`, `…+01:00`). */
export type DateLiteral =
  | { kind: 'day'; /** first millisecond of the day */ startMs: number; /** first millisecond of the next day */ endMs: number }
  | { kind: 'instant'; ms: number };

const DATE_LITERAL_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))?)?$/;

/**
 * §5: a literal must be a real calendar date (2021-02-30 is refused, unlike a stored value, which is only read),
 * with hours 00–23, minutes and seconds 00–59 and an offset of at most ±23:59.
 */
export function parseDateLiteral(s: string): DateLiteral | undefined {
  const m = DATE_LITERAL_RE.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  const startMs = daysFromCivil(y, mo, d) * DAY_MS;
  if (m[4] === undefined) return { kind: 'day', startMs, endMs: startMs + DAY_MS };
  const ms = storedDateMs(s);
  return ms === undefined ? undefined : { kind: 'instant', ms };
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}
