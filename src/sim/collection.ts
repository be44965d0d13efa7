/**
 * One collection of a tenant: base records derived on demand plus a small overlay of changes (edits, soft deletes,
 * hard deletes, new records appended after the base). Memory is O(overlay), never O(records).
 *
 * Listings are in creation order (index order) or, with `order: 'updated'`, in UpdatedDateUTC order (Xero's default:
 * base records are generated with UpdatedDateUTC increasing with their index, and every changed record was changed
 * after the generated history, so the order is the unchanged base records by index, then the changed ones by
 * (UpdatedDateUTC, index)). Both are optionally filtered by UpdatedDateUTC ≥ since. In creation order a record
 * modified during a listing stays where it is; in UpdatedDateUTC order it moves to the end, and the records after it
 * move up one place — as on Xero, where offset paging over a changing list can skip a record.
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
  /** `created` (default): index order. `updated`: UpdatedDateUTC order. */
  order?: 'created' | 'updated';
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

export interface CollectionSnapshot<T> {
  created: number;
  overlay: [number, T | null][];
  removed: [number, { record: T; atMs: number }][];
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

  /** What the collection holds beyond its generated base, as plain JSON (the simulator's state file). */
  snapshot(): CollectionSnapshot<T> {
    return { created: this.created, overlay: [...this.overlay], removed: [...this.removed] };
  }

  /** Puts back a snapshot taken of a collection over the same generated base. */
  restore(s: CollectionSnapshot<T>): void {
    this.overlay.clear();
    this.removed.clear();
    this.created = s.created;
    for (const [i, r] of s.overlay) this.overlay.set(i, r);
    for (const [i, r] of s.removed) this.removed.set(i, r);
    this.sortedOverridden = null;
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
    if (opts.order === 'updated') return this.listByUpdated(opts);
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

  private listByUpdated(opts: ListOptions<T>): { items: T[]; total: number } {
    const n = this.src.baseCount();
    const since = opts.since;
    const lo = since === undefined ? 0 : this.src.lowerBound(since);
    const X = this.overridden();
    const xSet = new Set(X);
    // Changed and created records inside the window, by (UpdatedDateUTC, index): they follow the unchanged base.
    const changed: { i: number; r: T }[] = [];
    for (const [i, r] of this.overlay) if (r && (since === undefined || r.updatedMs >= since)) changed.push({ i, r });
    changed.sort((a, b) => a.r.updatedMs - b.r.updatedMs || a.i - b.i);
    const countA = (v: number): number => {
      const hi = Math.min(v, n - 1);
      if (hi < lo) return 0;
      return hi - lo + 1 - (countLe(X, hi) - countLe(X, lo - 1));
    };
    const baseTotal = countA(n - 1);
    const items: T[] = [];
    const baseFrom = function* (v: number): Generator<number> {
      for (; v < n; v++) if (!xSet.has(v)) yield v;
    };
    if (opts.filter) {
      let matched = 0;
      let filteredTotal = 0;
      const take = (r: T) => {
        if (!opts.filter!(r)) return;
        filteredTotal++;
        if (matched++ >= opts.offset && items.length < opts.limit) items.push(r);
      };
      for (const v of baseFrom(lo)) take(this.src.base(v)!);
      for (const c of changed) take(c.r);
      return { items, total: filteredTotal };
    }
    const total = baseTotal + changed.length;
    if (opts.offset >= total) return { items, total };
    if (opts.offset < baseTotal) {
      // Smallest base index v whose member count (≤ v) exceeds offset.
      let a = lo;
      let b = n - 1;
      while (a < b) {
        const mid = Math.floor((a + b) / 2);
        if (countA(mid) > opts.offset) b = mid;
        else a = mid + 1;
      }
      for (const v of baseFrom(a)) {
        if (items.length >= opts.limit) break;
        items.push(this.src.base(v)!);
      }
    }
    for (let k = Math.max(0, opts.offset - baseTotal); k < changed.length && items.length < opts.limit; k++) items.push(changed[k]!.r);
    return { items, total };
  }
}
