/**
 * One collection of a tenant: base records derived on demand plus a small overlay of changes (edits, soft deletes,
 * hard deletes, new records appended after the base). Memory is O(overlay), never O(records).
 *
 * Listings are in creation order (index order), optionally filtered by UpdatedDateUTC ≥ since. Creation order keeps
 * offset paging stable while records change: a record modified during a listing stays where it is (a record that
 * newly matches the filter can only add a duplicate, never push another record out of a page). Xero's own order is
 * not documented; see docs/simulator.md.
 */
export interface CollectionSource<T> {
  baseCount(): number;
  base(i: number): T | undefined;
  baseUpdated(i: number): number;
  /** First base index with UpdatedDateUTC ≥ ms. */
  lowerBound(ms: number): number;
}

export interface ListOptions<T> {
  since?: number;
  filter?: (r: T) => boolean;
  offset: number;
  limit: number;
}

/** Binary search: number of elements ≤ v in a sorted array. */
function countLe(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Collection<T extends { updatedMs: number }> {
  /** index → current record, or null when hard-deleted. Only indexes that changed since generation. */
  private readonly overlay = new Map<number, T | null>();
  private created = 0;
  private sortedOverridden: number[] | null = null;
  /** Hard-deleted records: the last version and when it went, for dialects that report deletions (QBO's CDC). */
  private readonly removed = new Map<number, { record: T; atMs: number }>();

  constructor(private readonly src: CollectionSource<T>) {}

  get size(): number {
    return this.src.baseCount() + this.created;
  }
  get overlaySize(): number {
    return this.overlay.size;
  }

  get(i: number): T | undefined {
    if (this.overlay.has(i)) return this.overlay.get(i) ?? undefined;
    return i < this.src.baseCount() ? this.src.base(i) : undefined;
  }

  /** Index for a record created now (appended after everything else). */
  allocate(): number {
    return this.src.baseCount() + this.created++;
  }

  put(i: number, record: T): void {
    this.overlay.set(i, record);
    this.sortedOverridden = null;
  }

  hardDelete(i: number, atMs?: number): boolean {
    const last = this.get(i);
    if (last === undefined) return false;
    this.removed.set(i, { record: last, atMs: atMs ?? last.updatedMs });
    this.overlay.set(i, null);
    this.sortedOverridden = null;
    return true;
  }

  /** Hard-deleted records with their last version and deletion time. */
  removedEntries(): IterableIterator<[number, { record: T; atMs: number }]> {
    return this.removed.entries();
  }

  /** Overlay entries, e.g. for report deltas. */
  changes(): IterableIterator<[number, T | null]> {
    return this.overlay.entries();
  }

  private overridden(): number[] {
    if (!this.sortedOverridden) {
      const n = this.src.baseCount();
      this.sortedOverridden = [...this.overlay.keys()].filter((i) => i < n).sort((a, b) => a - b);
    }
    return this.sortedOverridden;
  }

  /** Returns one page of the listing and the listing's total size. */
  list(opts: ListOptions<T>): { items: T[]; total: number } {
    const n = this.src.baseCount();
    const since = opts.since;
    const lo = since === undefined ? 0 : this.src.lowerBound(since);
    const X = this.overridden();
    const xSet = new Set(X);
    // B: live overlay records inside the filter window, by index.
    const B: number[] = [];
    for (const [i, r] of this.overlay) if (r && (since === undefined || r.updatedMs >= since)) B.push(i);
    B.sort((a, b) => a - b);
    const bSet = new Set(B);
    const countA = (v: number): number => {
      const hi = Math.min(v, n - 1);
      if (hi < lo) return 0;
      return hi - lo + 1 - (countLe(X, hi) - countLe(X, lo - 1));
    };
    const total = countA(n - 1) + B.length;
    const end = n + this.created;
    const isMember = (v: number) => bSet.has(v) || (v >= lo && v < n && !xSet.has(v));
    const nextB = (v: number): number => {
      const k = countLe(B, v);
      return k < B.length ? B[k]! : end;
    };
    /** Walks members in index order starting at index v. */
    const walk = function* (v: number): Generator<number> {
      while (v < end) {
        if (isMember(v)) {
          yield v;
          v++;
        } else if (v < lo) v = Math.min(lo, nextB(v));
        else if (v >= n) v = nextB(v);
        else v++;
      }
    };
    const items: T[] = [];
    if (opts.filter) {
      // Filtered listings scan (only used on small collections: contacts, accounts).
      let matched = 0;
      let filteredTotal = 0;
      for (const v of walk(0)) {
        const r = this.get(v)!;
        if (!opts.filter(r)) continue;
        filteredTotal++;
        if (matched++ >= opts.offset && items.length < opts.limit) items.push(r);
      }
      return { items, total: filteredTotal };
    }
    if (opts.offset >= total) return { items, total };
    // Smallest index v whose member count (≤ v) exceeds offset.
    let a = 0;
    let b = end - 1;
    while (a < b) {
      const mid = Math.floor((a + b) / 2);
      if (countA(mid) + countLe(B, mid) > opts.offset) b = mid;
      else a = mid + 1;
    }
    for (const v of walk(a)) {
      if (items.length >= opts.limit) break;
      items.push(this.get(v)!);
    }
    return { items, total };
  }
}
