import { createHash } from 'node:crypto';

/**
 * Deterministic, stateless randomness: every generated value is a pure function of (tenant seed, stream, index), so
 * record i of a million-record tenant is derived on demand without generating records 0…i-1 (issue 4, item 6).
 */

/** murmur3's finaliser: a cheap 32-bit avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of 32-bit integers into one. Order matters. */
export function hashInts(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) h = fmix32((h ^ (p >>> 0)) + 0x9e3779b9);
  return h;
}

/** 32-bit hash of a string (stream names, seeds). */
export function hashString(s: string): number {
  return createHash('sha256').update(s, 'utf8').digest().readUInt32BE(0);
}

/** A small PRNG (mulberry32) seeded from a hash; one per derived record. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  static of(...parts: number[]): Rng {
    return new Rng(hashInts(...parts));
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

const hex = (n: number, width: number): string => (n >>> 0).toString(16).padStart(8, '0').slice(8 - width);

/**
 * A UUID-shaped id that is derived from (seed, stream, index) and encodes the index in its last 12 hex digits, so the
 * simulator can find record i from its id without an index. `decodeIndex` checks the rest of the id.
 */
export function deriveUuid(seed: number, stream: number, index: number): string {
  const a = hashInts(seed, stream, index, 1);
  const b = hashInts(seed, stream, 2);
  const c = hashInts(seed, stream, index, 3);
  const variant = '89ab'[c & 3];
  const tail = index.toString(16).padStart(12, '0');
  return `${hex(a, 8)}-${hex(b, 4)}-4${hex(b >>> 16, 3)}-${variant}${hex(c >>> 8, 3)}-${tail}`;
}

export function decodeIndex(seed: number, stream: number, id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return undefined;
  const index = parseInt(id.slice(24), 16);
  return deriveUuid(seed, stream, index) === id ? index : undefined;
}
