import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted recursively, so equal content always serialises (and hashes) the same.
 *
 * Built as a copy of the value whose objects have their keys in sorted order, written by the native JSON.stringify.
 * Every staged record goes through here, and the earlier form — the text appended piece by piece — allocated about
 * ten times the text it produced (36 MB of short-lived strings per page of 1,000 invoices, against 3.5 MB for one
 * JSON.stringify): most of the worker's allocation during a pull, promoted into the old generation under load, and
 * so much of its peak memory (issue 17). The copy reuses every object already in sorted order and allocates only
 * reordered objects. The few values whose JSON.stringify text could differ from the piecewise definition below
 * (integer-like or `__proto__` keys, which an object cannot hold in sorted order; objects other than plain objects
 * and arrays) take that definition, which stays the reference.
 */
export function canonicalJson(value: unknown): string {
  const sorted = canonicalCopy(value);
  if (sorted === SLOW) return canonicalJsonPiecewise(value);
  return JSON.stringify(sorted) ?? 'null';
}

const SLOW = Symbol('slow');
/** Array-index-like keys: objects enumerate them first, in numeric order, whatever order they were added in. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;
const OBJECT_PROTO = Object.prototype;

/**
 * The value with every object's keys in sorted order (the value itself where nothing needs reordering), which
 * JSON.stringify then writes as the canonical text; SLOW when that would not hold.
 */
function canonicalCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    // In an object, the piecewise form writes a function or symbol member as null (JSON.stringify drops it).
    return typeof value === 'function' || typeof value === 'symbol' ? null : value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    // A member whose toJSON gives undefined is written as null by the piecewise form (JSON.stringify drops it).
    const c = canonicalCopy((value as { toJSON(): unknown }).toJSON());
    return c === undefined ? null : c;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = canonicalCopy(v);
      if (c === SLOW) return SLOW;
      if (c !== v && !out) out = value.slice(0, i);
      if (out) out.push(c);
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== OBJECT_PROTO && proto !== null) return SLOW;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === '__proto__' || INDEX_KEY.test(k)) return SLOW;
    if (i > 0 && keys[i - 1]! > k) inOrder = false;
  }
  if (inOrder) {
    // Reused as it is unless a member needs a copy (or is a function or symbol, which JSON.stringify would drop).
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = obj[k];
      const c = canonicalCopy(v);
      if (c === SLOW) return SLOW;
      if (c !== v && !copy) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]!] = obj[keys[j]!];
      }
      if (copy) copy[k] = c;
    }
    return copy ?? obj;
  }
  keys.sort();
  const copy: Record<string, unknown> = {};
  for (const k of keys) {
    const c = canonicalCopy(obj[k]);
    if (c === SLOW) return SLOW;
    copy[k] = c;
  }
  return copy;
}

/** The definition: object keys sorted, undefined members dropped, undefined array items null, written piece by piece. */
export function canonicalJsonPiecewise(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // A value with toJSON (a Date) is what JSON.stringify would write: the canonical text is also the stored document.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJsonPiecewise((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      const v: unknown = value[i];
      out += v === undefined ? 'null' : canonicalJsonPiecewise(v);
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + canonicalJsonPiecewise(v);
  }
  return out + '}';
}

export function contentHash(value: unknown): string {
  return hashText(canonicalJson(value));
}

/** The content hash of a canonical JSON text (contentHash of the value it was made from). */
export function hashText(canonical: string): string {
  return createHash('sha256').update(canonical).digest('base64url');
}
