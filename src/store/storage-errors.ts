/**
 * Failures of the storage under the database (issue 12 item 7): a full disk (or a database at its size limit), a
 * read-only file or directory, an I/O error. They are nobody's request's fault and no request can fix them, so the API
 * answers them 503 naming the storage (never a generic 500), /readyz reports them, and pulls they break say so.
 */

/** SQLite result codes and PostgreSQL SQLSTATEs of storage failures, with the words an operator needs. */
const CAUSES: [RegExp, string][] = [
  [/^SQLITE_FULL$/, 'the disk (or the database size limit) is full'],
  [/^SQLITE_READONLY/, 'the database file or its directory is read-only'],
  [/^SQLITE_CANTOPEN$/, 'the database file cannot be opened (missing directory or no permission)'],
  [/^SQLITE_IOERR/, 'the disk reported an I/O error'],
  [/^SQLITE_CORRUPT$/, 'the database file is damaged'],
  [/^53100$/, 'the database server is out of disk space'],
  [/^25006$/, 'the database server is read-only (a standby, or default_transaction_read_only)'],
  [/^58030$/, 'the database server reported an I/O error'],
  [/^(ENOSPC|EDQUOT)$/, 'the disk is full'],
  [/^(EROFS|EACCES|EPERM)$/, 'the data directory is not writable'],
];

/** Why the storage failed ("… (SQLITE_FULL: database or disk is full)"), or undefined when `err` is something else. */
export function storageFailure(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  for (const [pattern, cause] of CAUSES) {
    if (pattern.test(code)) return `${cause} (${code}: ${typeof e?.message === 'string' ? e.message : 'no detail'})`;
  }
  return undefined;
}

/** The last storage failure seen on a database handle, so /readyz and the sweeper can name it. */
const lastFailure = new WeakMap<object, { at: number; cause: string }>();

/** Records `err` against `db` when it is a storage failure; returns its cause. */
export function noteStorageFailure(db: object, err: unknown, at = Date.now()): string | undefined {
  const cause = storageFailure(err);
  if (cause) lastFailure.set(db, { at, cause });
  return cause;
}

/** The storage failure seen on `db` within `withinMs` of `now`, if any. */
export function recentStorageFailure(db: object, withinMs: number, now = Date.now()): { at: number; cause: string } | undefined {
  const f = lastFailure.get(db);
  return f && now - f.at <= withinMs ? f : undefined;
}

export function clearStorageFailure(db: object): void {
  lastFailure.delete(db);
}
