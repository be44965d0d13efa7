/**
 * Record history (issue 16; the table and its invariants are described in migration 0014): versions of a record, the
 * change feed of (connection, data type), a pull's own changes, the asOf view the record reads use, floors (where the
 * history stops being complete) and pruning. The merge that writes changes is RecordsRepository.merge.
 */
import { PostgresAdapter, sql, type Expression, type Kysely, type SqlBool, type Transaction } from 'kysely';
import { RequestValidationError } from '../domain/errors.js';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { offsetOf, type PageRequest } from './paging.js';
import { PAST_KEY_COLUMNS } from './migrations/0033-history-past-keys.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Feed kinds (`undeleted` is an update of a record that was deleted). */
export type FeedKind = 'added' | 'updated' | 'deleted';
export type ChangeKind = FeedKind | 'undeleted';
export const feedKind = (k: string): FeedKind => (k === 'undeleted' ? 'updated' : (k as FeedKind));

// ---- Helpers used inside the merge transaction --------------------------------------------------------------------

/** False when the connection's company opted out of history (sync settings `keepHistory: false`). */
export async function historyKept(db: Db, connectionId: string): Promise<boolean> {
  const r = await db
    .selectFrom('history_optouts as o')
    .innerJoin('connections as c', 'c.company_id', 'o.company_id')
    .select('o.company_id')
    .where('c.id', '=', connectionId)
    .executeTakeFirst();
  return r === undefined;
}

/** The newest seq of (connection, data type), 0 when none (through record_changes_feed). */
export async function lastSeq(db: Db, connectionId: string, dataType: string): Promise<number> {
  const r = await db
    .selectFrom('record_changes')
    .select((eb) => eb.fn.max('seq').as('m'))
    .where('connection_id', '=', connectionId)
    .where('data_type', '=', dataType)
    .executeTakeFirst();
  return Number(r?.m ?? 0);
}

/**
 * A seq value above every one assigned so far and below every later one, without a change row: the floor a merge of
 * an opted-out company sets, so a feed cursor from before its unrecorded changes is refused and one after is not.
 */
export async function freshSeq(trx: Db, dialect: Dialect): Promise<number> {
  if (dialect === 'postgres') {
    const r = await sql<{ v: number }>`select nextval(pg_get_serial_sequence('record_changes', 'seq')) as v`.execute(trx);
    return Number(r.rows[0]!.v);
  }
  // AUTOINCREMENT keeps the largest seq ever used in sqlite_sequence (ordinary UPDATE/INSERT are allowed on it).
  const r = await sql<{ seq: number }>`update sqlite_sequence set seq = seq + 1 where name = 'record_changes' returning seq`.execute(trx);
  if (r.rows[0]) return Number(r.rows[0].seq);
  await sql`insert into sqlite_sequence (name, seq) values ('record_changes', 1)`.execute(trx);
  return 1;
}

/** history_floors only ever rises. */
export async function raiseFloor(trx: Db, dialect: Dialect, connectionId: string, dataType: string, at: string | null, seq: number): Promise<void> {
  const greatest = dialect === 'postgres' ? 'greatest' : 'max';
  await sql`insert into history_floors (connection_id, data_type, floor_at, floor_seq) values (${connectionId}, ${dataType}, ${at}, ${seq})
            on conflict (connection_id, data_type) do update set
              floor_at = ${sql.raw(greatest)}(coalesce(history_floors.floor_at, ''), coalesce(excluded.floor_at, '')),
              floor_seq = ${sql.raw(greatest)}(history_floors.floor_seq, excluded.floor_seq)`.execute(trx);
  // Counts as of instants before the floor are never read again: keep the newest at or before it (the counts at the
  // floor, and at every instant up to the next row), remove the older ones (migration 0028).
  await sql`delete from record_counts_at where connection_id = ${connectionId} and data_type = ${dataType}
              and committed_at < (select max(a.committed_at) from record_counts_at a
                                  where a.connection_id = ${connectionId} and a.data_type = ${dataType}
                                    and a.committed_at <= (select f.floor_at from history_floors f where f.connection_id = ${connectionId} and f.data_type = ${dataType}))`.execute(trx);
}

// ---- The asOf view -----------------------------------------------------------------------------------------------

/**
 * The records of (connection, data type) as they were stored at instant `at` (canonical UTC text), with the columns
 * and the alias (`records`) of the records table, so compiled queries (src/query) filter and order it unchanged:
 * current rows not changed since `at`, plus, for each record changed since, the state its first later change replaced.
 *
 * `where` (a compiled filter, written against `records.<column>`) is applied inside each half, not on the union: the
 * second half is wrapped as a subquery aliased `records` whose `data` is `prev_data`, which both databases flatten, so
 * a filter on `data` becomes the same expression on `prev_data` and uses the record_changes expression indexes of
 * migration 0020 (SQLite does not push a filter into a compound subquery that it cannot flatten). Unfiltered, a page
 * in id order is a merge of the records primary key and record_changes_past that stops after one page.
 */
export function asOfRecords(db: Kysely<Database>, connectionId: string, dataType: string, at: string, where?: Expression<SqlBool>) {
  const [current, past] = asOfHalves(db, connectionId, dataType, at, where);
  return current.unionAll(past).as('records');
}

/** The two halves of asOfRecords (current rows, replaced states), each selecting the records columns, filtered. */
export function asOfHalves(db: Kysely<Database>, connectionId: string, dataType: string, at: string, where?: Expression<SqlBool>) {
  const { current, past } = asOfSources(db, connectionId, dataType, at, where);
  const now = current.select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted']);
  const then = past.select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted']);
  return [now, then as unknown as typeof now] as const;
}

/**
 * The matches of `where` at `at` in each half (current rows, replaced states), in one statement: each half is counted
 * on its own, so each is planned as a plain count through its own index (as one count over the union, SQLite read
 * every matching document into the compound's rows: 7 s instead of 0.5 s for 40,000 matches of a million invoices).
 */
export function asOfFilteredCounts(db: Kysely<Database>, connectionId: string, dataType: string, at: string, where: Expression<SqlBool>) {
  const { current, past } = asOfSources(db, connectionId, dataType, at, where);
  const now = current.select((eb) => eb.fn.countAll<number>().as('n'));
  const then = past.select((eb) => eb.fn.countAll<number>().as('n'));
  return db.selectNoFrom([sql<number>`(${now})`.as('current'), sql<number>`(${then})`.as('past')]);
}

/**
 * How many states the replaced half holds at `at` (matching `where` when given), counted up to `cap` (through
 * record_changes_window, index-only):
 * enough to tell an empty or small half, to read first and sort, from a large one, to walk in the list's order.
 */
export function asOfPastCountUpTo(db: Kysely<Database>, connectionId: string, dataType: string, at: string, cap: number, where?: Expression<SqlBool>) {
  // A constant, not a column: counted from the index alone (record_changes_window; with a filter, its own index).
  const some = asOfSources(db, connectionId, dataType, at, where).past.select(sql<number>`1`.as('x')).limit(cap);
  return db.selectFrom(some.as('s')).select((eb) => eb.fn.countAll<number>().as('n'));
}

/**
 * The counts of (connection, data type) as of `at`, kept by the merges (record_counts_at, migration 0028), in one
 * statement: the row of the last instant at or before `at` (a primary-key probe), and, for an `at` before every row,
 * what the first row says stood before it; with the pair's generation now (record_counts).
 */
export function asOfKeptCounts(db: Kysely<Database>, connectionId: string, dataType: string, at: string) {
  const pairOf = <T extends 'record_counts_at' | 'record_counts'>(t: T) =>
    db.selectFrom(t as 'record_counts_at').where('connection_id', '=', connectionId).where('data_type', '=', dataType);
  const last = pairOf('record_counts_at').where('committed_at', '<=', at).orderBy('committed_at', 'desc').limit(1);
  return db.selectNoFrom([
    sql<number | null>`(${last.select('total')})`.as('total'),
    sql<number | null>`(${last.select('deleted')})`.as('deleted'),
    sql<number | null>`(${pairOf('record_counts_at').select(sql<number>`total - added`.as('t')).orderBy('committed_at').limit(1)})`.as('before_first'),
    sql<number | null>`(${pairOf('record_counts').select('generation')})`.as('generation'),
  ]);
}

/**
 * Counts as of `at` from record_counts_at: undefined when they cannot tell (the pair has no row at or before `at` and
 * records stood before its first row: records stored by something other than a merge), and then the caller counts.
 * Before the first row and nothing stood before it: none at all (records are never removed, only flagged, so the
 * count of records only grows).
 */
export function keptCountsOf(row: { total: number | null; deleted: number | null; before_first: number | null }): { total: number; deleted: number } | undefined {
  if (row.total !== null && row.deleted !== null) return { total: Number(row.total), deleted: Number(row.deleted) };
  if (row.before_first !== null && Number(row.before_first) === 0) return { total: 0, deleted: 0 };
  return undefined;
}

/**
 * True when no merge that committed at or before `at` has committed since generation `generation` of the pair: then
 * the records as of `at` are what they were at that generation, and a count of them made then still holds (through
 * record_counts_at_generation: the rows of the merges since).
 */
export async function asOfUnchangedSince(db: Kysely<Database>, connectionId: string, dataType: string, at: string, generation: number): Promise<boolean> {
  return (await asOfChangedSince(db, connectionId, dataType, at, generation).executeTakeFirst()) === undefined;
}

/** The statement of asOfUnchangedSince (a row: something changed), public for the plan checks. */
export function asOfChangedSince(db: Kysely<Database>, connectionId: string, dataType: string, at: string, generation: number) {
  return db
    .selectFrom('record_counts_at')
    .select('committed_at')
    .where('connection_id', '=', connectionId)
    .where('data_type', '=', dataType)
    .where('generation', '>', generation)
    .where('committed_at', '<=', at)
    .limit(1);
}

/** records' key columns (migration 0024) of a replaced state, as record_changes keeps them (migration 0033), for the replaced half of the asOf view. */
const PAST_KEYS = (Object.entries(PAST_KEY_COLUMNS) as [keyof typeof PAST_KEY_COLUMNS, (typeof PAST_KEY_COLUMNS)[keyof typeof PAST_KEY_COLUMNS]][]).map(([column, key]) =>
  sql.ref<string | null>(column).as(key),
);

function asOfSources(db: Kysely<Database>, connectionId: string, dataType: string, at: string, where?: Expression<SqlBool>) {
  let current = db.selectFrom('records').where('connection_id', '=', connectionId).where('data_type', '=', dataType).where('modified_date', '<=', at);
  // Wrapped and aliased `records` so a compiled filter (written against records.<column>) reads the replaced state;
  // both databases flatten the wrapper, so a filter on `data` is the same expression on `prev_data` and uses the
  // expression indexes of migration 0020.
  const replaced = db
    .selectFrom('record_changes')
    .select([
      'record_id',
      'prev_data as data',
      sql<string>`prev_modified_date`.as('modified_date'),
      'prev_source_modified_date as source_modified_date',
      sql<number>`prev_is_deleted`.as('is_deleted'),
      // The stored key columns of records (migration 0024), which a compiled filter compares on PostgreSQL: the replaced
      // state's keys record_changes keeps (migration 0033); flattened, they are the keys of its indexes.
      ...(db.getExecutor().adapter instanceof PostgresAdapter ? PAST_KEYS : []),
    ])
    .where('connection_id', '=', connectionId)
    .where('data_type', '=', dataType)
    .where('committed_at', '>', at)
    .where('prev_modified_date', '<=', at);
  let past = db.selectFrom(replaced.as('records'));
  if (where) {
    current = current.where(where as never);
    past = past.where(where as never);
  }
  return { current, past };
}

/**
 * The number of records stored at `at`, unfiltered: the records of the type now (the count the merge keeps,
 * record_counts of migration 0021; counted when a pair has no row) minus those added after `at`. Records are never
 * removed (a deletion is a flag), and every add after the history floor is recorded (an `added` change; a merge with
 * history off raises the floor), so this is exact for any `at` a read accepts; it reads the adds after `at` through
 * record_changes_added instead of both halves of the view. One statement, so both terms see the same commit.
 */
export function asOfCount(db: Kysely<Database>, connectionId: string, dataType: string, at: string) {
  const kept = db.selectFrom('record_counts').select('total').where('connection_id', '=', connectionId).where('data_type', '=', dataType);
  const counted = db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', connectionId).where('data_type', '=', dataType);
  const later = db
    .selectFrom('record_changes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('connection_id', '=', connectionId)
    .where('data_type', '=', dataType)
    .where('kind', '=', 'added')
    .where('committed_at', '>', at);
  return db.selectNoFrom(sql<number>`coalesce((${kept}), (${counted})) - (${later})`.as('n'));
}

// ---- Cursors -----------------------------------------------------------------------------------------------------

/** Opaque feed cursor: the scope it belongs to and the seq of the last change read. */
export function encodeCursor(scope: string, seq: number): string {
  return Buffer.from(`1|${scope}|${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string, scope: string): number {
  const bad = () => RequestValidationError.of('cursor', 'The cursor is not valid here: pass a cursor returned by this same change feed.', 'Cursor');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw bad();
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== 4 || parts[0] !== '1' || `${parts[1]}|${parts[2]}` !== scope || !/^\d{1,15}$/.test(parts[3]!)) throw bad();
  return Number(parts[3]);
}

export const feedScope = (connectionId: string, dataType: string) => `${connectionId}|${dataType}`;
export const pullScope = (datasetId: string) => `pull|${datasetId}`;

// ---- Reads -------------------------------------------------------------------------------------------------------

export interface ChangeRow {
  seq: number;
  record_id: string;
  kind: string;
  dataset_id: string | null;
  committed_at: string;
  /** The record as it is now. */
  data: unknown;
  modified_date: string;
  source_modified_date: string | null;
  is_deleted: number;
}

export interface VersionRow {
  seq: number;
  kind: string;
  dataset_id: string | null;
  committed_at: string;
  content_hash: string;
  source_modified_date: string | null;
  /** The record after this change (document columns of a records row). */
  after: { record_id: string; data: unknown; modified_date: string; source_modified_date: string | null; is_deleted: number };
  /** The record before it; undefined for the first version known. */
  before: { record_id: string; data: unknown; modified_date: string; source_modified_date: string | null; is_deleted: number } | undefined;
}

export interface Floor {
  floorAt: string | null;
  floorSeq: number;
}

/** Whether the value's leading YYYY-MM-DD is a day of the calendar (Date.parse rolls 2026-02-30 over to 2 March). */
function realDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** Parses `asOf`: an ISO 8601 date-time with a zone (or a date, as UTC midnight) → canonical UTC text. */
export function parseInstant(value: string, itemId: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(value);
  const ms = ok && realDate(value) ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value) : NaN;
  if (Number.isNaN(ms)) {
    throw RequestValidationError.of(
      itemId,
      `${itemId} must be an ISO 8601 instant with a time zone (e.g. 2026-03-31T23:59:59Z) or a date (midnight UTC), got "${value}".`,
      'DateTime',
    );
  }
  return new Date(ms).toISOString();
}

export class HistoryRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async keepsHistory(companyId: string): Promise<boolean> {
    const r = await this.db.selectFrom('history_optouts').select('company_id').where('company_id', '=', companyId).executeTakeFirst();
    return r === undefined;
  }

  /** Turns history on or off for a company (off: the pruner removes what was kept, merges record nothing). */
  async setKeepsHistory(companyId: string, keep: boolean, now: string): Promise<void> {
    if (keep) await this.db.deleteFrom('history_optouts').where('company_id', '=', companyId).execute();
    else await this.db.insertInto('history_optouts').values({ company_id: companyId, since: now }).onConflict((oc) => oc.doNothing()).execute();
  }

  async floor(connectionId: string, dataType: string): Promise<Floor> {
    const r = await this.db
      .selectFrom('history_floors')
      .select(['floor_at', 'floor_seq'])
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .executeTakeFirst();
    return { floorAt: r?.floor_at || null, floorSeq: Number(r?.floor_seq ?? 0) };
  }

  /**
   * The instant a read `asOf`/`asOfPull` asks for, checked against what history can answer: a 400 (never a silently
   * wrong answer) when it is in the future, before the retention window, before the (connection, type) history floor
   * (pruned, or changes not recorded), or when the company turned history off. Undefined when neither is given.
   */
  async resolveAsOf(args: {
    companyId: string;
    connectionId: string;
    dataType: string;
    asOf?: string | undefined;
    asOfPull?: string | undefined;
    now: Date;
    retentionDays?: number | undefined;
  }): Promise<string | undefined> {
    const { asOf, asOfPull } = args;
    if (asOf === undefined && asOfPull === undefined) return undefined;
    if (asOf !== undefined && asOfPull !== undefined) throw RequestValidationError.of('asOf', 'Pass either asOf or asOfPull, not both.', 'Exclusive');
    let at: string;
    let itemId = 'asOf';
    if (asOfPull !== undefined) {
      itemId = 'asOfPull';
      const ds = /^[0-9a-f-]{36}$/i.test(asOfPull)
        ? await this.db.selectFrom('datasets').select(['status', 'completed']).where('id', '=', asOfPull.toLowerCase()).where('company_id', '=', args.companyId).executeTakeFirst()
        : undefined;
      if (!ds) throw RequestValidationError.of('asOfPull', `No pull ${asOfPull} was found for company ${args.companyId}.`, 'Pull');
      if (ds.status !== 'Complete' || !ds.completed) {
        throw RequestValidationError.of('asOfPull', `Pull ${asOfPull} is ${ds.status}: only a Complete pull marks a moment of the store.`, 'Pull');
      }
      at = ds.completed;
    } else at = parseInstant(asOf!, 'asOf');
    if (at > args.now.toISOString()) throw RequestValidationError.of(itemId, `${itemId} ${at} is in the future.`, 'History');
    if (!(await this.keepsHistory(args.companyId))) {
      throw RequestValidationError.of(itemId, `Record history is turned off for company ${args.companyId} (sync settings keepHistory).`, 'History');
    }
    if (args.retentionDays !== undefined) {
      const earliest = new Date(args.now.getTime() - args.retentionDays * 86_400_000).toISOString();
      if (at < earliest) {
        throw RequestValidationError.of(
          itemId,
          `${itemId} ${at} is before the history retention window (SYNCLINE_HISTORY_RETENTION_DAYS=${args.retentionDays}): the earliest instant available is ${earliest}.`,
          'History',
        );
      }
    }
    const floor = await this.floor(args.connectionId, args.dataType);
    if (floor.floorAt && at < floor.floorAt) {
      throw RequestValidationError.of(
        itemId,
        `${itemId} ${at} is before the recorded history of ${args.dataType} on this connection: the earliest instant available is ${floor.floorAt}.`,
        'History',
      );
    }
    return at;
  }

  /** Checks a feed position (seq already read) against the floor: a position before missing changes is refused. */
  async checkFeedPosition(companyId: string, connectionId: string, dataType: string, after: number): Promise<void> {
    if (!(await this.keepsHistory(companyId))) {
      throw RequestValidationError.of('cursor', `Record history is turned off for company ${companyId} (sync settings keepHistory).`, 'History');
    }
    const floor = await this.floor(connectionId, dataType);
    if (after > floor.floorSeq && after > (await lastSeq(this.db, connectionId, dataType))) {
      // Every cursor the feed, a pull's changes or a records.changed event hands out is at or before the feed's head
      // then (its last change, or the floor when history was pruned or off), and the head only moves forward: one
      // beyond it was not handed out, and following it would skip every change up to it for good.
      throw RequestValidationError.of('cursor', `The cursor is beyond the end of the ${dataType} change feed: it was not issued for this feed.`, 'History');
    }
    if (floor.floorSeq > 0 && after < floor.floorSeq) {
      const head = Math.max(floor.floorSeq, await lastSeq(this.db, connectionId, dataType));
      throw RequestValidationError.of(
        'cursor',
        `Changes of ${dataType} after this position are no longer all kept (pruned, or not recorded while history was off). ` +
          `List the records in full, then follow the feed from cursor ${encodeCursor(feedScope(connectionId, dataType), head)}.`,
        'History',
      );
    }
  }

  /** Changes of (connection, data type) after seq `after`, in commit order, each with the record as it is now. */
  async feed(connectionId: string, dataType: string, after: number, limit: number, until?: number): Promise<ChangeRow[]> {
    let q = this.db
      .selectFrom('record_changes as c')
      .innerJoin('records as r', (j) =>
        j.onRef('r.connection_id', '=', 'c.connection_id').onRef('r.data_type', '=', 'c.data_type').onRef('r.record_id', '=', 'c.record_id'),
      )
      .select(['c.seq', 'c.record_id', 'c.kind', 'c.dataset_id', 'c.committed_at', 'r.data', 'r.modified_date', 'r.source_modified_date', 'r.is_deleted'])
      .where('c.connection_id', '=', connectionId)
      .where('c.data_type', '=', dataType)
      .where('c.seq', '>', after);
    if (until !== undefined) q = q.where('c.seq', '<=', until);
    const rows = await q.orderBy('c.seq').limit(limit).execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  }

  /** The seq range a pull recorded (undefined: it changed nothing, or history was off). */
  pull(datasetId: string) {
    return this.db.selectFrom('history_pulls').selectAll().where('dataset_id', '=', datasetId).executeTakeFirst();
  }

  /** The versions of one record, newest first, each with the state it replaced. */
  async versions(connectionId: string, dataType: string, recordId: string, page: PageRequest): Promise<{ rows: VersionRow[]; total: number }> {
    const scoped = this.db
      .selectFrom('record_changes')
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .where('record_id', '=', recordId);
    const [changes, count, current] = await Promise.all([
      scoped.selectAll().orderBy('seq', 'desc').limit(page.pageSize).offset(offsetOf(page)).execute(),
      scoped.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      this.db
        .selectFrom('records')
        .select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'])
        .where('connection_id', '=', connectionId)
        .where('data_type', '=', dataType)
        .where('record_id', '=', recordId)
        .executeTakeFirst(),
    ]);
    if (!current || changes.length === 0) return { rows: [], total: Number(count.n) };
    // The state after the newest change of this page: the next change's previous state, or the current row.
    const newestSeq = Number(changes[0]!.seq);
    const next = await scoped.selectAll().where('seq', '>', newestSeq).orderBy('seq').limit(1).executeTakeFirst();
    let after: VersionRow['after'] = next ? prevState(next)! : current;
    const rows: VersionRow[] = [];
    for (const c of changes) {
      const before = prevState(c);
      rows.push({
        seq: Number(c.seq),
        kind: c.kind,
        dataset_id: c.dataset_id,
        committed_at: c.committed_at,
        content_hash: c.content_hash,
        source_modified_date: c.source_modified_date,
        after,
        before,
      });
      if (before) after = before;
    }
    return { rows, total: Number(count.n) };
  }

  /**
   * One bounded batch of pruning, in its own transaction: changes of companies that turned history off, then changes
   * committed before `cutoff` (retention), oldest seq first. Floors rise to what was removed, so reads that would need
   * it answer 400. Returns the number of changes removed (0: nothing left to do).
   */
  async pruneBatch(cutoff: string | undefined, batch: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let victims = await trx
        .selectFrom('record_changes as rc')
        .innerJoin('connections as c', 'c.id', 'rc.connection_id')
        .innerJoin('history_optouts as o', 'o.company_id', 'c.company_id')
        .select(['rc.seq', 'rc.connection_id', 'rc.data_type', 'rc.committed_at'])
        .orderBy('rc.seq')
        .limit(batch)
        .execute();
      if (victims.length === 0 && cutoff !== undefined) {
        // Oldest seq first: seq follows commit time closely (a merge takes its time just before its seqs), and a row a
        // few seconds out of order is simply pruned in a later batch. Only rows older than the cutoff are removed.
        const oldest = await trx.selectFrom('record_changes').select(['seq', 'connection_id', 'data_type', 'committed_at']).orderBy('seq').limit(batch).execute();
        victims = oldest.filter((v) => v.committed_at < cutoff);
      }
      if (victims.length === 0) return 0;
      const seqs = victims.map((v) => Number(v.seq));
      for (let i = 0; i < seqs.length; i += 500) await trx.deleteFrom('record_changes').where('seq', 'in', seqs.slice(i, i + 500)).execute();
      const floors = new Map<string, { conn: string; type: string; at: string; seq: number }>();
      for (const v of victims) {
        const key = `${v.connection_id}|${v.data_type}`;
        const f = floors.get(key) ?? { conn: v.connection_id, type: v.data_type, at: '', seq: 0 };
        if (v.committed_at > f.at) f.at = v.committed_at;
        if (Number(v.seq) > f.seq) f.seq = Number(v.seq);
        floors.set(key, f);
      }
      for (const f of floors.values()) {
        await raiseFloor(trx, this.dialect, f.conn, f.type, f.at, f.seq);
        // A pull whose first change is gone can no longer list its changes in full.
        await trx.deleteFrom('history_pulls').where('connection_id', '=', f.conn).where('data_type', '=', f.type).where('first_seq', '<=', f.seq).execute();
      }
      return victims.length;
    });
  }
}

function prevState(c: Omit<Database['record_changes'], 'seq'>): VersionRow['before'] {
  if (c.prev_modified_date === null) return undefined;
  return {
    record_id: c.record_id,
    data: c.prev_data,
    modified_date: c.prev_modified_date,
    source_modified_date: c.prev_source_modified_date,
    is_deleted: c.prev_is_deleted ?? 0,
  };
}
