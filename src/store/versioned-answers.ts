/**
 * Answers kept per key for as long as the store's change version (Store.changeVersion) still reads what it read before
 * the answer was computed: exact, never stale — any change to the database by any process, or through this process,
 * moves the version and the next lookup computes afresh. Coarse (a change anywhere drops every answer), so it pays
 * for answers read far more often than the database changes, such as GET /companies/{id}/dataStatus polled while
 * nothing is pulling (issue 17: its one statement was most of the request on SQLite, where it blocks the event loop).
 */
export class VersionedAnswers<V> {
  private readonly entries = new Map<string, { version: string; value: V }>();
  constructor(private readonly maxEntries = 5_000) {}

  /** The answer stored for `key` under `version` (the version just read), if any. */
  get(key: string, version: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.version !== version) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Stores `value`, computed from reads made after `version` was read. The oldest entry goes first at the bound. */
  set(key: string, version: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { version, value });
  }
}
