import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * How long this process trusts a positive answer to "which key is this?" or "does this company exist?" (issue 17):
 * every authenticated request asked the first, every read the second, each a statement. A change made through this
 * process (key deleted, company deleted) is seen at once: the entry is dropped when the change commits. A change made
 * by another process (`syncline api-keys delete`, another server on the same PostgreSQL) is seen within this bound.
 * Negative answers are never kept, so a key or company created anywhere is usable at once.
 */
export const RECENT_LOOKUP_MS = 2_000;
/** Entries kept at most per cache; the oldest go first. */
const MAX_ENTRIES = 10_000;

/**
 * Positive lookups kept for `ttlMs`. A lookup that started before an invalidation does not store its (possibly stale)
 * answer: each invalidation bumps a generation, and `remember` only stores an answer read in the current generation.
 */
export class RecentLookups<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private generation = 0;
  constructor(private readonly ttlMs: number = RECENT_LOOKUP_MS) {}

  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** The generation to hand back to `remember` with the answer of a lookup started now. */
  begin(): number {
    return this.generation;
  }

  remember(key: string, value: V, now: number, generation: number): void {
    if (generation !== this.generation || this.ttlMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  /** Forgets `key` (or everything when undefined) and makes lookups in flight forget what they read. */
  forget(key?: string): void {
    this.generation++;
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }
}

/** One pair of caches per database handle, shared by every repository instance over it in this process. */
const byDb = new WeakMap<object, { apiKeys: RecentLookups<string>; companies: RecentLookups<true> }>();

export function recentLookups(db: Kysely<Database>): { apiKeys: RecentLookups<string>; companies: RecentLookups<true> } {
  let c = byDb.get(db);
  if (!c) {
    c = { apiKeys: new RecentLookups<string>(), companies: new RecentLookups<true>() };
    byDb.set(db, c);
  }
  return c;
}
