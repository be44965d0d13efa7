import { CompiledQuery, sql, type AliasedRawBuilder, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { canonicalJson, hashText } from '../lib/canonical-json.js';
import { RequestValidationError } from '../domain/errors.js';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { offsetOf, type ListSql, type Page, type PageRequest } from './paging.js';
import { heldDataset } from './datasets.repository.js';
import { BUCKET_SIZE, bucketPick, maintainBuckets, type BucketList } from './record-buckets.js';
import {
  asOfCount,
  asOfFilteredCounts,
  asOfHalves,
  asOfKeptCounts,
  asOfPastCountUpTo,
  asOfRecords,
  asOfUnchangedSince,
  freshSeq,
  historyKept,
  keptCountsOf,
  lastSeq,
  raiseFloor,
} from './history.repository.js';

/** `stage` for a worker that no longer holds the dataset (lease run out, pull cancelled): nothing was written. */
export class NotHeldError extends Error {
  constructor(datasetId: string) {
    super(`dataset ${datasetId} is no longer held by this worker`);
    this.name = 'NotHeldError';
  }
}

export interface StagedRecord {
  id: string;
  data: Record<string, unknown>;
  sourceModifiedDate: string | null;
  deleted: boolean;
}

export interface MergeCounts {
  added: number;
  updated: number;
  deleted: number;
}

export interface MergeResult extends MergeCounts {
  /** The seq range of the changes this merge recorded; undefined when it recorded none (nothing changed, or history off). */
  history: { firstSeq: number; lastSeq: number } | undefined;
  /** The pair's live records before this merge (what refreshRecordStats weighs the adds against). */
  liveBefore: number;
}

export interface RecordRow {
  record_id: string;
  data: unknown;
  modified_date: string;
  source_modified_date: string | null;
  is_deleted: number;
}

/** Dates from platforms come in three ISO forms; the column holds a sortable UTC form (unqualified → as UTC). */
export function normaliseSourceDate(d: string | null): string | null {
  if (!d) return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(d);
  const t = Date.parse(hasZone ? d : `${d}Z`);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

const STAGE_BATCH = 500;

/** The SQLite staging INSERT of `rows` records (six parameters each): one text per size, so prepared once and reused. */
const sqliteStageSqls = new Map<number, string>();
function sqliteStageSql(rows: number): string {
  let text = sqliteStageSqls.get(rows);
  if (text === undefined) {
    text = `insert into record_staging (dataset_id, record_id, data, content_hash, source_modified_date, deleted) values ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}
            on conflict (dataset_id, record_id) do update set data = excluded.data, content_hash = excluded.content_hash,
              source_modified_date = excluded.source_modified_date, deleted = excluded.deleted`;
    sqliteStageSqls.set(rows, text);
  }
  return text;
}

/** A filtered page over at most this many matching records is read filter-first on PostgreSQL (see list). */
const FILTER_FIRST_MAX = 10_000;
/** A list in an order no index serves is answered only when it matches at most this many records (see list). */
export const UNINDEXED_ORDER_MAX = 10_000;
/**
 * The orders an index serves: `id` (records_pk), `modifiedDate` (records_modified, which ends with record_id since
 * migration 0021) and `sourceModifiedDate` (records_source_modified); descending, the index is read backwards and ids
 * are sorted within each equal date. Checked with EXPLAIN in query-indexes.test.ts. (`metadata.isDeleted` has an index
 * too, but two values: descending, ids would be sorted within a group of nearly every record.)
 */
export const INDEXED_ORDERS: ReadonlySet<string> = new Set(['id', 'modifiedDate', 'sourceModifiedDate']);

function unindexedOrder(order: { path: string; descending: boolean }, total: number): RequestValidationError {
  return RequestValidationError.of(
    'orderBy',
    `Ordering by ${order.path} sorts every matching record and no index serves it: ${total} records match, more than the ${UNINDEXED_ORDER_MAX} such an order is served for. ` +
      `Order by ${[...INDEXED_ORDERS].join(', ')}, or narrow the query to at most ${UNINDEXED_ORDER_MAX} records.`,
    'OrderBy',
  );
}

/** Page boundaries below this offset are not remembered (see list). */
const REMEMBER_FROM = 2_000;

/**
 * The record cache. Writes go through staging so a pull's changes become visible together, in one transaction,
 * when it completes (sync-behaviour.md §2.3; DESIGN invariants 3 and 4). Merge SQL is hand-written: it is the hot path.
 */
export class RecordsRepository {
  /** Counts of filtered lists, per (connection, type, filter), valid for one generation of the pair (see total). */
  private readonly counted = new BoundedMap<string, { generation: number; n: number }>(2_000);
  /**
   * Filtered asOf counts (the total and each half's), per (connection, type, instant, filter), with the pair's
   * generation when counted: the total is valid while no merge has committed at or before the instant since; the
   * halves' counts are exact for that generation and bounds after it (asOfStatements).
   */
  private readonly asOfCounted = new BoundedMap<string, { generation: number; current: number; past: number; total: number }>(2_000);
  /** Keys at page boundaries of lists in id order (see list). */
  private readonly boundaries = new PageBoundaries(500, 2_000);

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /**
     * `rememberFrom`: the smallest offset whose page boundary is remembered (default REMEMBER_FROM; tests use 0);
     * `bucketSize`: records per bucket (default BUCKET_SIZE; tests use small ones to cut a few records into many).
     */
    private readonly opts: { rememberFrom?: number; bucketSize?: number } = {},
  ) {}

  /**
   * Drops a pull's staged pages — only while `heldBy` still holds the dataset: once its lease is lost, the pages may
   * already be the next owner's (its claim cleared the old ones), and deleting them would make that owner's full
   * listing miss records and flag them deleted. Without `heldBy`, unconditionally (tests and tools).
   */
  async clearStaging(datasetId: string, heldBy?: string): Promise<void> {
    const q = this.db.deleteFrom('record_staging').where('dataset_id', '=', datasetId);
    if (heldBy === undefined) {
      await q.execute();
      return;
    }
    await q.where((eb) => eb.exists(heldDataset(this.db, datasetId, heldBy))).execute();
  }

  /** Whether `heldBy` holds the dataset, read in `trx` (on PostgreSQL row-locked FOR SHARE until `trx` ends). */
  private async held(trx: Transaction<Database>, datasetId: string, heldBy: string): Promise<boolean> {
    const q = heldDataset(trx, datasetId, heldBy);
    return (await (this.dialect === 'postgres' ? q.forShare() : q).executeTakeFirst()) !== undefined;
  }

  /**
   * Stages one page. A record id seen twice in one pull (pages shifting under edits) keeps its latest version.
   *
   * Each document is serialised once, in canonical form (keys sorted): that text is both what is stored and what is
   * hashed (the hash is the one contentHash always gave, so stored hashes stay comparable). Serialising it a second
   * time for the column and building a 3,000-value INSERT through the query builder per 500 records were most of a
   * pull's staging CPU (issue 17: 330 µs a record on PostgreSQL, worker and server together). PostgreSQL: the page is
   * one statement of six parameters — the documents as one JSON array text, the other columns as arrays, zipped by
   * ROWS FROM. SQLite: fixed-shape multi-row INSERTs (reused prepared statements) in one transaction.
   */
  async stage(datasetId: string, records: StagedRecord[], heldBy?: string): Promise<void> {
    if (records.length === 0) return;
    const byId = new Map<string, StagedRecord>();
    for (const r of records) byId.set(r.id, r);
    const n = byId.size;
    const ids = new Array<string>(n);
    const docs = new Array<string>(n);
    const hashes = new Array<string>(n);
    const dates = new Array<string | null>(n);
    const deleted = new Array<number>(n);
    let i = 0;
    for (const r of byId.values()) {
      // The document carries the platform's own timestamp, in the platform's form, when it has one.
      const data = r.sourceModifiedDate && !('sourceModifiedDate' in r.data) ? { ...r.data, sourceModifiedDate: r.sourceModifiedDate } : r.data;
      // The hash covers every mapped field including the platform's timestamp (sync-behaviour.md §8.1).
      let text = canonicalJson(data);
      // A NUL character (escaped \u0000 in the text) cannot be stored by PostgreSQL in text or jsonb: one such string
      // in a platform's record failed the whole page, so every pull of the type. It is stored as U+FFFD (the
      // replacement character) on both databases, so both keep and hash the same document.
      if (text.includes('\\u0000')) text = canonicalJson(withoutNul(data) as Record<string, unknown>);
      ids[i] = r.id.includes('\u0000') ? r.id.replaceAll('\u0000', '\uFFFD') : r.id;
      docs[i] = text;
      hashes[i] = hashText(text);
      dates[i] = normaliseSourceDate(r.sourceModifiedDate);
      deleted[i] = r.deleted ? 1 : 0;
      i++;
    }
    if (this.dialect === 'postgres') {
      const insert = CompiledQuery.raw(
        `insert into record_staging (dataset_id, record_id, data, content_hash, source_modified_date, deleted)
         select $1, k.id, k.doc, k.hash, k.smd, k.del
         from rows from (unnest($2::text[]), jsonb_array_elements($3::jsonb), unnest($4::text[]), unnest($5::text[]), unnest($6::int[])) as k(id, doc, hash, smd, del)
         on conflict (dataset_id, record_id) do update set data = excluded.data, content_hash = excluded.content_hash,
           source_modified_date = excluded.source_modified_date, deleted = excluded.deleted`,
        [datasetId, ids, `[${docs.join(',')}]`, hashes, dates, deleted],
      );
      if (heldBy === undefined) {
        await this.db.executeQuery(insert);
        return;
      }
      // Fenced by the lease: the dataset's row is share-locked while the page is written, so a claim of it by another
      // worker (after this one's lease ran out) waits for this transaction, and a page is never written once the
      // dataset is someone else's. In a transaction, a worker killed mid-statement commits nothing (a lone INSERT
      // finishes and commits on the server after its client is gone: the kill drill found such a page, written after
      // the next owner had merged, left in staging).
      await this.db.transaction().execute(async (trx) => {
        if (!(await this.held(trx, datasetId, heldBy))) throw new NotHeldError(datasetId);
        await trx.executeQuery(insert);
      });
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      for (let from = 0; from < n; from += STAGE_BATCH) {
        const to = Math.min(n, from + STAGE_BATCH);
        const params: unknown[] = [];
        for (let j = from; j < to; j++) params.push(datasetId, ids[j], docs[j], hashes[j], dates[j], deleted[j]);
        await trx.executeQuery(CompiledQuery.raw(sqliteStageSql(to - from), params));
      }
      // SQLite: checked after the first write, which took the database's write lock: nobody can claim the dataset
      // between this check and the commit.
      if (heldBy !== undefined && !(await this.held(trx, datasetId, heldBy))) throw new NotHeldError(datasetId);
    });
  }

  /**
   * Applies a staged pull to the cache inside the caller's transaction. Records the platform reports deleted and,
   * after a complete full listing, stored records it did not list (within the window) are flagged deleted — never
   * removed. Records seen for the first time already deleted are skipped. `modifiedDate` moves only on a content
   * change, a deletion or a restore.
   */
  async merge(
    trx: Transaction<Database>,
    args: { datasetId: string; connectionId: string; dataType: string; now: string; fullListing: boolean; syncFrom?: string | undefined },
  ): Promise<MergeResult> {
    const { datasetId: ds, connectionId: conn, dataType: type, now } = args;
    const n = (r: { numAffectedRows?: bigint }) => Number(r.numAffectedRows ?? 0n);
    const window = args.fullListing && args.syncFrom ? sql`and (records.source_modified_date is null or records.source_modified_date >= ${args.syncFrom})` : sql``;

    // Merges of one (connection, data type) are serialised, so the feed's seq order is its commit order. At most one
    // pull of a pair is in progress (invariant 1), but a pull whose lease was lost can still be inside its merge when
    // the same dataset, requeued, merges on another worker; without this lock the two could interleave their seq
    // values and a feed reader could see a later seq commit before an earlier one and skip it. Taken under the lock,
    // every seq of this merge is above every committed seq of the pair, and no other merge of the pair commits
    // between (the feed therefore needs no read watermark). Advisory (hash of the pair) on PostgreSQL: a collision
    // only serialises two unrelated merges. SQLite has one writer at a time.
    // The same statement makes PostgreSQL plan the rest of the transaction's statements for their parameters (SET
    // LOCAL plan_cache_mode): the pool prepares a statement from its second execution (prepared-statements.ts), and
    // after five PostgreSQL may keep a generic plan, made without this pull's figures (5 staged rows or 50,000, a pair
    // of 10 records or a million) and reused by every later merge on that connection. A merge's few set-based
    // statements over thousands of rows do not notice their planning; a wrong plan costs minutes (an end-to-end bench
    // saw merges of 5,000 changes take 52 s and 122 s after a worker's sixth pull). src/store/merge-custom-plans.test.ts
    // And JIT off for the transaction (SET LOCAL jit): PostgreSQL compiles a statement whose estimated cost passes
    // jit_above_cost, and a merge's estimates are those of pairs and staging the statistics may not know (off by
    // 10,000×); the history insert below, one index probe per id, is estimated far above the threshold and compiled
    // for 256 ms to run in 1.8 s (docs/benchmarks.md, history).
    if (this.dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(hashtextextended(${`${conn}/${type}`}, 0)), set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)`.execute(trx);
    const keep = await historyKept(trx, conn);
    // What the pull staged against what is stored, in one pass over staging (each staged row probes the records
    // primary key once), and the pair's counts before it (record_counts, kept by this merge). They say which of the
    // passes below have anything to do, and a pass with nothing to do is not run: a first pull has no updates or
    // restores, a pull that changed nothing writes nothing, and the unlisted-deletion pass (which reads every record
    // of the pair or every staged row) runs only when live records were not listed. Each skipped pass was a full join
    // of staging and records (issue 17).
    // With history kept, the same pass also collects the ids of the records the upsert will rewrite (content changed,
    // or deleted and listed again), so the history insert of their previous states probes just those records instead
    // of joining all of staging with records a second time (the join was about a third of that insert: a full read of
    // the pair's records on PostgreSQL, docs/benchmarks.md "history"). PostgreSQL: a text array; SQLite: a JSON array
    // text, handed back as it came (json_each reads it).
    const countsBefore = await trx.selectFrom('record_counts').select(['total', 'deleted']).where('connection_id', '=', conn).where('data_type', '=', type).executeTakeFirst();
    const liveBefore = countsBefore ? Number(countsBefore.total) - Number(countsBefore.deleted) : undefined;
    // A pair without a counts row had no merge yet; when it has no records either, its live records after this merge
    // are exactly the adds (and the unlisted pass has nothing to do).
    const pairWasEmpty = !countsBefore && !(await trx.selectFrom('records').select('record_id').where('connection_id', '=', conn).where('data_type', '=', type).limit(1).executeTakeFirst());
    const rewritten = sql`s.deleted = 0 and (r.is_deleted = 1 or r.content_hash <> s.content_hash)`;
    const idsOf = !keep
      ? sql``
      : this.dialect === 'postgres'
        ? sql`, array_agg(s.record_id order by s.record_id) filter (where ${rewritten}) as rewritten_ids`
        : sql`, json_group_array(s.record_id order by s.record_id) filter (where ${rewritten}) as rewritten_ids`;
    // PostgreSQL, a pair that held records: also the ids of the staged rows the upsert writes (added or rewritten), so
    // that when some listed records are unchanged the upsert reads just those rows of staging (below). Not collected for
    // a pair's first pull (every staged row is an add).
    const writeIdsOf =
      this.dialect === 'postgres' && !pairWasEmpty
        ? sql`, array_agg(s.record_id) filter (where s.deleted = 0 and (r.record_id is null or r.is_deleted = 1 or r.content_hash <> s.content_hash)) as write_ids`
        : sql``;
    const statsRow = await sql<Record<'staged' | 'staged_deleted' | 'added' | 'restored' | 'changed' | 'flagged', number | string | null> & { rewritten_ids?: string[] | string | null; write_ids?: string[] | null }>`
      select count(*) as staged, sum(s.deleted) as staged_deleted,
             sum(case when s.deleted = 0 and r.record_id is null then 1 else 0 end) as added,
             sum(case when s.deleted = 0 and r.is_deleted = 1 then 1 else 0 end) as restored,
             sum(case when s.deleted = 0 and r.is_deleted = 0 and r.content_hash <> s.content_hash then 1 else 0 end) as changed,
             sum(case when s.deleted = 1 and r.is_deleted = 0 then 1 else 0 end) as flagged
             ${idsOf} ${writeIdsOf}
      from record_staging s left join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
      where s.dataset_id = ${ds}`.execute(trx);
    const stat = (k: 'staged' | 'staged_deleted' | 'added' | 'restored' | 'changed' | 'flagged') => Number(statsRow.rows[0]?.[k] ?? 0);
    const stagedDeleted = stat('staged_deleted');
    const stagedLive = stat('staged') - stagedDeleted;
    const toAdd = stat('added');
    const toRestore = stat('restored');
    const toChange = stat('changed');
    const toFlag = stat('flagged');
    // PostgreSQL: a previous state's keys are copied from the records row's stored key columns (migration 0033), never
    // computed again from the copied document.
    const pg = this.dialect === 'postgres';
    const cols = sql`(connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                      prev_data, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted
                      ${pg ? sql`, prev_status_key, prev_customer_ref_key, prev_supplier_ref_key` : sql``})`;
    const prevOf = (t: string) =>
      sql.raw(`${t}.data, ${t}.content_hash, ${t}.modified_date, ${t}.source_modified_date, ${t}.is_deleted${pg ? `, ${t}.status_key, ${t}.customer_ref_key, ${t}.supplier_ref_key` : ''}`);
    const prev = prevOf('r');
    const noPrev = sql.raw(`null, null, null, null, null${pg ? ', null, null, null' : ''}`);
    // In record id order (the aggregate's ORDER BY: a sort of the ids alone), the order the history rows take their seq in.
    const ids = statsRow.rows[0]?.rewritten_ids ?? (this.dialect === 'postgres' ? [] : '[]');
    const rewrittenIds = sql`unnest(${ids}::text[]) as k(id)`;
    let before = 0;
    if (keep) {
      // The record's state before each change, written before the cache changes (same predicates as the upsert below).
      before = await lastSeq(trx, conn, type);
      if (toRestore + toChange > 0) {
        // Only the records the statistics pass found rewritten, each id probing staging and records once, whatever the
        // planner knows of the pair, and the rows taking their seq in the ids' order (record id order) without a sort
        // of the rows themselves, each carrying its previous document.
        // - SQLite: CROSS JOIN fixes the join order (the ids outermost; left to its planner, it read staging first and
        //   then every record of the pair per staged row), and json_each yields the ids in rowid order, which SQLite
        //   knows (json_each consumes an ORDER BY rowid): no temporary B-tree (ordering by s.record_id sorted the
        //   joined rows: about a fifth of this statement's CPU for an update of 50,000 invoices).
        // - PostgreSQL, when the rewritten records are a small part of the pair (at most a quarter): the ids'
        //   ordinality drives a LATERAL subquery (OFFSET 0 keeps it a per-id subquery the planner cannot flatten and
        //   reorder), a nested loop whose output is already in ordinality order. Left to its planner, a pair the
        //   statistics do not know was read whole — every record of the pair probing staging, 50,000 probes for 5,000
        //   changes: 380–610 ms against 195–290 ms (docs/benchmarks.md, history). When most of the pair is rewritten,
        //   the planner's join is kept: with statistics it merge-joins records in id order (sorting only the ids with
        //   staging's narrow columns), 15–20 % faster than 50,000 probes.
        const fewOfThePair = liveBefore !== undefined && 4 * (toRestore + toChange) <= liveBefore;
        if (this.dialect === 'postgres' && fewOfThePair) {
          await sql`insert into record_changes ${cols}
                    select ${conn}, ${type}, x.record_id, ${ds}, ${now}, x.kind, x.content_hash, x.source_modified_date,
                           x.data, x.prev_content_hash, x.modified_date, x.prev_source_modified_date, x.is_deleted,
                           x.status_key, x.customer_ref_key, x.supplier_ref_key
                    from unnest(${ids}::text[]) with ordinality as k(id, ord)
                    cross join lateral (
                      select s.record_id, case when r.is_deleted = 1 then 'undeleted' else 'updated' end as kind, s.content_hash, s.source_modified_date,
                             r.data, r.content_hash as prev_content_hash, r.modified_date, r.source_modified_date as prev_source_modified_date, r.is_deleted,
                             r.status_key, r.customer_ref_key, r.supplier_ref_key
                      from record_staging s join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                      where s.dataset_id = ${ds} and s.record_id = k.id
                        and s.deleted = 0 and (r.content_hash <> s.content_hash or r.is_deleted = 1)
                      offset 0) x
                    order by k.ord`.execute(trx);
        } else {
          await sql`insert into record_changes ${cols}
                    select ${conn}, ${type}, s.record_id, ${ds}, ${now}, case when r.is_deleted = 1 then 'undeleted' else 'updated' end,
                           s.content_hash, s.source_modified_date, ${prev}
                    from ${this.dialect === 'postgres' ? sql`${rewrittenIds} join record_staging s on true join records r on true` : sql`json_each(${ids}) as k cross join record_staging s cross join records r`}
                    where s.dataset_id = ${ds} and s.record_id = ${this.dialect === 'postgres' ? sql`k.id` : sql`k.value`}
                      and r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                      and s.deleted = 0 and (r.content_hash <> s.content_hash or r.is_deleted = 1)
                    order by ${this.dialect === 'postgres' ? sql`s.record_id` : sql`k.rowid`}`.execute(trx);
        }
      }
      if (toAdd > 0 && this.dialect === 'sqlite') {
        await sql`insert into record_changes ${cols}
                  select ${conn}, ${type}, s.record_id, ${ds}, ${now}, 'added', s.content_hash, s.source_modified_date, ${noPrev}
                  from record_staging s
                  where s.dataset_id = ${ds} and s.deleted = 0
                    and not exists (select 1 from records r where r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id)
                  order by s.record_id`.execute(trx);
      }
    }

    // Adds, content changes of live records and restores (deleted → listed again) in one set-based upsert: one pass
    // over staging instead of three. A listed record whose content is unchanged and that is not deleted is not
    // written (its modifiedDate stays, invariant 4). The counts are those of the statistics above: merges of a pair
    // are serialised (the lock above on PostgreSQL; one writer on SQLite), so nothing changed them since.
    //
    // PostgreSQL, when some listed records are unchanged (a full listing, an update pull): the upsert reads staging by
    // the ids the statistics pass collected (one primary-key probe each) instead of all of it. PostgreSQL computes a
    // proposed row's stored key columns (migration 0024) before its ON CONFLICT check and locks the conflicting row even
    // when the DO UPDATE's WHERE is false, so every unchanged record cost its keys and a row lock (0024 made
    // full-listing update merges 1.3–1.5× slower: docs/benchmarks.md, query). The join holds no `records` (the
    // conflict check probes its primary key per row whatever the plan), so no plan of it reads the pair's records.
    if (toAdd + toRestore + toChange > 0) {
      const writeIds = statsRow.rows[0]?.write_ids;
      const someUnchanged = stagedLive > toAdd + toRestore + toChange;
      const source =
        this.dialect === 'postgres' && someUnchanged && writeIds
          ? sql`unnest(${writeIds}::text[]) as w(id) join record_staging s on s.dataset_id = ${ds} and s.record_id = w.id`
          : sql`record_staging s`;
      const upsert = sql`insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
                select ${conn}, ${type}, s.record_id, s.data, s.content_hash, ${now}, s.source_modified_date, 0
                from ${source}
                where s.dataset_id = ${ds} and s.deleted = 0
                on conflict (connection_id, data_type, record_id) do update set
                  data = excluded.data, content_hash = excluded.content_hash, source_modified_date = excluded.source_modified_date,
                  is_deleted = 0, modified_date = excluded.modified_date
                where records.content_hash <> excluded.content_hash or records.is_deleted = 1`;
      if (keep && toAdd > 0 && this.dialect === 'postgres') {
        // PostgreSQL records the adds from the rows the upsert returns (inserted and rewritten; the rewritten ones are
        // the ids above) instead of reading all of staging again and probing records for each row before the upsert.
        // An anti-join (hashed, or spilled to disk for a huge pull), never NOT IN's per-row list scan.
        const notRewritten = toRestore + toChange > 0 ? sql`where not exists (select 1 from ${rewrittenIds} where k.id = up.record_id)` : sql``;
        await sql`with up as (${upsert} returning record_id, content_hash, source_modified_date)
                  insert into record_changes ${cols}
                  select ${conn}, ${type}, up.record_id, ${ds}, ${now}, 'added', up.content_hash, up.source_modified_date, ${noPrev}
                  from up ${notRewritten}
                  order by up.record_id`.execute(trx);
      } else await upsert.execute(trx);
    }
    // Flagged deleted by the platform: untouched by the upsert (staged deleted), so their state is still the previous one.
    if (keep && toFlag > 0) {
      await sql`insert into record_changes ${cols}
                select ${conn}, ${type}, s.record_id, ${ds}, ${now}, 'deleted', r.content_hash, r.source_modified_date, ${prev}
                from record_staging s join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                where s.dataset_id = ${ds} and s.deleted = 1 and r.is_deleted = 0
                order by s.record_id`.execute(trx);
    }
    const added = toAdd;
    const restored = toRestore;
    const updated = toRestore + toChange;
    let deleted =
      toFlag === 0
        ? 0
        : n(
            await sql`update records set is_deleted = 1, modified_date = ${now}
                      from record_staging s
                      where s.dataset_id = ${ds} and s.deleted = 1
                        and records.connection_id = ${conn} and records.data_type = ${type} and records.record_id = s.record_id
                        and records.is_deleted = 0`.execute(trx),
          );
    // Every staged live row is now a live record; the live records beyond them are exactly those the full listing did
    // not list. None (the counts say so) → the unlisted pass would change nothing.
    const liveAfter = liveBefore !== undefined ? liveBefore + added + restored - deleted : pairWasEmpty ? added - deleted : undefined;
    if (args.fullListing && liveAfter !== stagedLive) {
      if (keep) {
        // Unlisted records are untouched by the statements above: their state now is their state before this merge.
        await sql`insert into record_changes ${cols}
                  select ${conn}, ${type}, records.record_id, ${ds}, ${now}, 'deleted', records.content_hash, records.source_modified_date, ${prevOf('records')}
                  from records
                  where records.connection_id = ${conn} and records.data_type = ${type} and records.is_deleted = 0
                    ${window}
                    and not exists (select 1 from record_staging s where s.dataset_id = ${ds} and s.record_id = records.record_id)
                  order by records.record_id`.execute(trx);
      }
      deleted += n(
        await sql`update records set is_deleted = 1, modified_date = ${now}
                  where records.connection_id = ${conn} and records.data_type = ${type} and records.is_deleted = 0
                    ${window}
                    and not exists (select 1 from record_staging s where s.dataset_id = ${ds} and s.record_id = records.record_id)`.execute(trx),
      );
    }
    let history: MergeResult['history'];
    if (keep) {
      const range = await sql<{ first: number | null; last: number | null }>`select min(seq) as first, max(seq) as last from record_changes
                where connection_id = ${conn} and data_type = ${type} and seq > ${before}`.execute(trx);
      const r = range.rows[0];
      if (r?.first != null && r.last != null) history = { firstSeq: Number(r.first), lastSeq: Number(r.last) };
    }
    await trx.deleteFrom('record_staging').where('dataset_id', '=', ds).execute();
    if (added + updated + deleted > 0) await bumpCounts(trx, conn, type, added, deleted - restored, now);
    await maintainBuckets(trx, this.dialect, conn, type, now, { moved: added + deleted + restored, written: added + updated + deleted }, this.opts.bucketSize);
    if (history) {
      await trx
        .insertInto('history_pulls')
        .values({ dataset_id: ds, connection_id: conn, data_type: type, first_seq: history.firstSeq, last_seq: history.lastSeq, committed_at: now, added, updated, deleted })
        .execute();
    } else if (!keep && added + updated + deleted > 0) {
      // History is off for this company: these changes are not recorded, so nothing before now can be answered from
      // history any more (asOf, and feed cursors from before this merge).
      await raiseFloor(trx, this.dialect, conn, type, now, await freshSeq(trx, this.dialect));
    }
    return { added, updated, deleted, history, liveBefore: liveBefore ?? 0 };
  }

  /**
   * A page of records. `dataAs: 'text'` returns each document as its JSON text (PostgreSQL: `data::text`), for a
   * response built without parsing and re-serialising documents that are JSON already (recordJson).
   */
  /** The records table, or its state at `asOf` (canonical UTC instant; history.repository asOfRecords), as `records`. */
  private source(connectionId: string, dataType: string, asOf: string | undefined, where?: Expression<SqlBool>) {
    if (asOf !== undefined) return this.db.selectFrom(asOfRecords(this.db, connectionId, dataType, asOf, where));
    const scoped = this.db.selectFrom('records').where('connection_id', '=', connectionId).where('data_type', '=', dataType);
    return where ? scoped.where(where as never) : scoped;
  }

  async list(
    connectionId: string,
    dataType: string,
    page: PageRequest,
    list: ListSql,
    dataAs: 'value' | 'text' = 'value',
    asOf?: string | undefined,
  ): Promise<Page<RecordRow>> {
    if (asOf !== undefined) return this.listAsOf(connectionId, dataType, page, list, dataAs, asOf);
    const scoped = this.source(connectionId, dataType, undefined);
    const data = dataAs === 'text' && this.dialect === 'postgres' ? sql<string>`records.data::text`.as('data') : ('data' as const);
    const columns = ['record_id', data, 'modified_date', 'source_modified_date', 'is_deleted'] as const;
    const where = list.where;
    const filterKey = where ? this.filterKey(where) : '';
    const offset = offsetOf(page);
    const filtered = <Q extends { where: (e: Expression<SqlBool>) => Q }>(q: Q): Q => (where ? q.where(where) : q);
    const ordered = <Q extends { orderBy: (e: RawBuilder<unknown>) => Q }>(q: Q): Q => list.orderBy.reduce((acc, o) => acc.orderBy(o), q);
    // No filter and the deleted flag are counted by record_counts (and the buckets); other filters through their index.
    const flag = list.flag !== undefined && list.flag.of === where && list.flag.path === 'metadata.isDeleted' ? list.flag.value : undefined;
    const kept = where === undefined || flag !== undefined;
    const countKey = `${connectionId}\u0000${dataType}\u0000${filterKey}`;
    const byId = list.order !== undefined && list.order.path === list.order.tiebreak && list.order.path === 'id';
    const descending = list.order?.descending ?? false;

    // A deep page in id order of a list the buckets count: summed to the bucket holding the offset (record-buckets.ts).
    if (byId && kept && offset >= (this.opts.bucketSize ?? BUCKET_SIZE)) {
      const deep = await this.bucketPage(connectionId, dataType, page, flag === undefined ? 'all' : flag ? 'deleted' : 'live', descending, columns, filtered, ordered);
      if (deep) return deep;
    }

    const counts = this.countsSql(connectionId, dataType);
    const countOf = filtered(this.source(connectionId, dataType, undefined).select((eb) => eb.fn.countAll<number>().as('n')));
    /**
     * The total from a row carrying the counts row (c_*) and, when asked, the filter's count in the same snapshot (c_n);
     * undefined when it needs a count that was not asked for. A filter's count is kept for the generation it was read
     * with (one statement: exact for that state of the records) and reused while no merge changed the pair.
     */
    const totalOf = (r: CountsColumns): { total: number; generation: number | undefined } | undefined => {
      const generation = r.c_generation === null || r.c_generation === undefined ? undefined : Number(r.c_generation);
      if (generation !== undefined && where === undefined) return { total: Number(r.c_total), generation };
      if (generation !== undefined && flag !== undefined) return { total: flag ? Number(r.c_deleted) : Number(r.c_total) - Number(r.c_deleted), generation };
      if (r.c_n !== undefined && r.c_n !== null) {
        const n = Number(r.c_n);
        if (generation !== undefined) this.counted.set(countKey, { generation, n });
        return { total: n, generation };
      }
      const hit = generation === undefined ? undefined : this.counted.get(countKey);
      return hit && hit.generation === generation ? { total: hit.n, generation } : undefined;
    };
    /** The total now (`withN`: the filter counted in the same statement; otherwise a count of this generation is reused). */
    const countNow = async (withN = !kept) => {
      const c = (await this.db.selectNoFrom([...counts, ...(withN ? [countOf.as('c_n')] : [])]).executeTakeFirstOrThrow()) as CountsColumns;
      // A pair without a counts row (records stored by something other than the merge) is counted each time.
      return totalOf(c) ?? totalOf({ ...c, c_n: (await countOf.executeTakeFirstOrThrow()).n })!;
    };

    // What this process last counted for the filter (any generation): its size, to choose a plan before counting again.
    const hint = kept ? undefined : this.counted.get(countKey);
    // PostgreSQL reads a filter of few matches filter-first, which needs the count: a filter not seen before is counted
    // first (one statement with the counts row: consistent).
    let known: { total: number; generation: number | undefined } | undefined;
    if (this.dialect === 'postgres' && !kept && hint === undefined) {
      known = await countNow();
      if (known.total === 0 || offset >= known.total) return { rows: [], total: known.total };
    }
    // An order no index serves sorts every match before the first row comes out (by totalAmount over a million invoices:
    // 28 s, and on SQLite the whole process waits): served only when the matches are few, which the count says first.
    const indexedOrder = list.order === undefined || INDEXED_ORDERS.has(list.order.path);
    if (!indexedOrder) {
      known ??= await countNow(hint === undefined);
      if (known.total > UNINDEXED_ORDER_MAX) throw unindexedOrder(list.order!, known.total);
    }
    const size = known?.total ?? hint?.n;
    const filterFirst = this.dialect === 'postgres' && !kept && size !== undefined && size <= FILTER_FIRST_MAX;
    const withCount = !kept && known === undefined && hint === undefined;

    const cacheKey = byId ? `${countKey}\u0000${descending ? 'd' : 'a'}` : undefined;
    const from = cacheKey !== undefined && offset > 0 && !filterFirst ? this.boundaries.nearest(cacheKey, offset) : undefined;
    let rowsQ;
    if (offset === 0 && byId && !filterFirst) {
      // The first page in id order: read in index order (records_pk, records_deleted, and the filter indexes, which end
      // with record_id since migration 0021), the documents of this page only.
      rowsQ = ordered(filtered(scoped.select(columns))).limit(page.pageSize);
    } else {
      // Otherwise the page's keys, then their rows, in one statement. The keys come from the same filter and ORDER BY
      // with the same OFFSET (so the page is exactly offset paging's) but carry only `record_id`: skipped entries are
      // an index-only walk instead of fetched documents, and a sort of the matches sorts keys, not documents. In id
      // order, a page boundary seen before for this filter and this state of the records (generation) lets the walk
      // start from the nearest known key before the page (keyset paging).
      let keys;
      if (filterFirst) {
        // PostgreSQL, filtered, few matches: for ORDER BY id … LIMIT the planner walks the id order and filters,
        // assuming matches are spread evenly; they rarely are (modifiedDate follows insertion order), and a one-week
        // modifiedDate range of a million invoices was found after walking 900,000 rows (~0.5 s). The count says the
        // matches are few: read them through the filter's index first and sort them (OFFSET 0 keeps the planner from
        // flattening the subquery, which keeps the columns the ORDER BY may read).
        const matches = scoped.select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted']).where(where!).offset(0).as('records');
        keys = ordered(this.db.selectFrom(matches).select('record_id')).limit(page.pageSize).offset(offset);
      } else {
        let k = filtered(scoped.select('record_id'));
        if (from) k = k.where('record_id', `${descending ? '<' : '>'}${from.inclusive ? '=' : ''}` as '<' | '<=' | '>' | '>=', from.key);
        keys = ordered(k).limit(page.pageSize).offset(from ? offset - from.offset : offset);
      }
      rowsQ = ordered(scoped.select(columns).where('record_id', 'in', keys));
    }
    const found = (await rowsQ.select([...counts, ...(withCount ? [countOf.as('c_n')] : [])]).execute()) as (RecordRow & CountsColumns)[];
    const first = found[0];
    if (from && first && from.generation !== (first.c_generation === null ? undefined : Number(first.c_generation))) {
      // The boundary was of another state of the records: read again from the start.
      this.boundaries.forget(cacheKey!);
      return this.list(connectionId, dataType, page, list, dataAs);
    }
    const counted = known ?? (first ? totalOf(first) : undefined) ?? (await countNow());
    const total = counted.total;
    if (found.length === 0 || offset >= total) return { rows: [], total };
    if (cacheKey !== undefined && counted.generation !== undefined && Number(first!.c_generation) === counted.generation && offset + found.length >= (this.opts.rememberFrom ?? REMEMBER_FROM)) {
      // Where this page starts (the same page asked again seeks to it) and where the next one starts; the generation
      // was read in the same statement as the keys.
      this.boundaries.remember(cacheKey, counted.generation, offset, { key: found[0]!.record_id, inclusive: true });
      this.boundaries.remember(cacheKey, counted.generation, offset + found.length, { key: found[found.length - 1]!.record_id, inclusive: false });
    }
    // The rows keep the counts columns (unused by callers): copying 5,000 rows without them would only make garbage.
    return { rows: found, total };
  }

  /** The pair's record_counts row as columns of a statement (uncorrelated subqueries: read once, in its snapshot). */
  private countsSql(connectionId: string, dataType: string) {
    const of = (column: 'total' | 'deleted' | 'generation') =>
      sql<number | string | null>`(select ${sql.ref(column)} from record_counts where connection_id = ${connectionId} and data_type = ${dataType})`.as(`c_${column}`);
    return [of('total'), of('deleted'), of('generation')];
  }

  /**
   * Page `page` of the pair's records in id order (`list`: all, live or deleted ones) from the buckets: the counts row
   * and the bucket holding the offset in one statement, then the page's first key walked from the bucket's first id (at
   * most a bucket's keys skipped) and the page's documents from that key on in another, which also reads the
   * generation: a merge committed between the two is seen and the page read again. Undefined when the pair has no buckets or no counts row.
   */
  private async bucketPage(
    connectionId: string,
    dataType: string,
    page: PageRequest,
    list: BucketList,
    descending: boolean,
    columns: readonly (string | AliasedRawBuilder<string, 'data'>)[],
    filtered: <Q extends { where: (e: Expression<SqlBool>) => Q }>(q: Q) => Q,
    ordered: <Q extends { orderBy: (e: RawBuilder<unknown>) => Q }>(q: Q) => Q,
  ): Promise<Page<RecordRow> | undefined> {
    const offset = offsetOf(page);
    for (let attempt = 0; attempt < 3; attempt++) {
      const pick = bucketPick(connectionId, dataType, list, descending, offset);
      const r = await sql<{ total: number | string; deleted: number | string; generation: number | string; lo: string | null; hi: string | null; before: number | string | null }>`
        select c.total, c.deleted, c.generation, w.lo, w.hi, w.before
        from record_counts c left join (${pick}) w on 1 = 1
        where c.connection_id = ${connectionId} and c.data_type = ${dataType}`.execute(this.db);
      const c = r.rows[0];
      if (!c) return undefined;
      const total = list === 'all' ? Number(c.total) : list === 'deleted' ? Number(c.deleted) : Number(c.total) - Number(c.deleted);
      if (offset >= total) return { rows: [], total };
      if (c.lo === null || c.before === null) return undefined;
      // The page's first key: at most a bucket's keys walked from the bucket's bound (index-only).
      let first = filtered(this.source(connectionId, dataType, undefined).select('record_id'));
      if (!descending) first = first.where('record_id', '>=', c.lo);
      else if (c.hi !== null) first = first.where('record_id', '<', c.hi);
      first = ordered(first).limit(1).offset(offset - Number(c.before));
      // The page: the list's next `pageSize` records from that key on, read in the order of the index that walks them —
      // the same rows as offset paging's. Not `record_id in (the page's keys) order by record_id`: SQLite sorted each
      // page's documents in a temporary B-tree (5,000 documents: ~10 MB of C heap per read, kept by the allocator).
      const found = (await ordered(filtered(this.source(connectionId, dataType, undefined).select(columns as never)).where('record_id', descending ? '<=' : '>=', first))
        .limit(page.pageSize)
        .select(this.countsSql(connectionId, dataType)[2]!)
        .execute()) as (RecordRow & CountsColumns)[];
      if (found.length > 0 && Number(found[0]!.c_generation) !== Number(c.generation)) continue;
      return { rows: found, total };
    }
    return undefined;
  }

  /** A filter's identity: its SQL text and parameters. */
  private filterKey(where: Expression<SqlBool>): string {
    const c = this.db.selectFrom('records').select('record_id').where(where).compile();
    return `${c.sql}\u0000${JSON.stringify(c.parameters)}`;
  }

  /**
   * A page of the store as it was at `asOf`: history.repository asOfRecords, the current rows not changed since plus
   * the states replaced after it, the filter applied inside each half. See asOfStatements.
   */
  private async listAsOf(connectionId: string, dataType: string, page: PageRequest, list: ListSql, dataAs: 'value' | 'text', asOf: string): Promise<Page<RecordRow>> {
    const q = await this.asOfStatements(connectionId, dataType, page, list, dataAs, asOf);
    if (!q.page) return { rows: [], total: q.total };
    return { rows: (await q.page.execute()) as RecordRow[], total: q.total };
  }

  /**
   * The statements of an asOf list, after its counts (public for the plan checks of query-indexes.test.ts).
   *
   * Counts (`totalResults`), exact: no filter and `metadata.isDeleted` filters, the counts the merges kept as of the
   * instant (record_counts_at, migration 0028: one primary-key probe); other filters, each half's matches through its
   * own indexes (asOfFilteredCounts), once per (pair, filter, instant) while no merge commits at or before the instant
   * (asOfCounted); a pair whose kept counts cannot tell (records stored before any merge) is counted as before
   * (asOfCount: the records now minus those added since). The replaced half is also counted up to FILTER_FIRST_MAX
   * (index-only), to choose how to read it.
   *
   * Page: each half takes its own first offset + pageSize rows in the list's order and the page is taken from those (a
   * record is in exactly one half and the order is total — the compiler ends it with the id —, so the page is the
   * union's). Taken separately each half is planned as a plain query: a large half walks its index in the list's order
   * and stops early (on the union itself PostgreSQL sorted every row of both halves for a first page); a half of at
   * most FILTER_FIRST_MAX matches is read through its filter's index first and sorted (OFFSET 0 keeps the planner from
   * flattening it into an order walk that may read most of the type to find a few matches, as the plain list does on
   * PostgreSQL); an empty half is left out.
   */
  async asOfStatements(connectionId: string, dataType: string, page: PageRequest, list: ListSql, dataAs: 'value' | 'text', asOf: string, filterFirstMax = FILTER_FIRST_MAX) {
    const columns = ['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'] as const;
    const ordered = <Q extends { orderBy(o: never): Q }>(q: Q): Q => list.orderBy.reduce((acc, o) => acc.orderBy(o as never), q);
    const flag = list.flag && list.flag.of === list.where && list.flag.path === 'metadata.isDeleted' ? list.flag : undefined;
    const byKept = !list.where || flag !== undefined;
    const keptQ = asOfKeptCounts(this.db, connectionId, dataType, asOf);
    const pastQ = asOfPastCountUpTo(this.db, connectionId, dataType, asOf, filterFirstMax + 1, list.where);
    // One statement: the kept counts, and (when they give the total) the capped count of the replaced half.
    const kept = byKept
      ? this.db.selectFrom([keptQ.as('k'), pastQ.as('p')]).select(['k.total', 'k.deleted', 'k.before_first', 'k.generation', 'p.n as past'])
      : keptQ.select(sql<null>`null`.as('past'));
    const k = (await kept.executeTakeFirstOrThrow()) as { total: number | null; deleted: number | null; before_first: number | null; generation: number | null; past: number | null };
    const counts = keptCountsOf(k);
    const generation = k.generation === null ? undefined : Number(k.generation);
    let sizes: [number, number];
    let total: number;
    let count: { compile(): CompiledQuery } = kept;
    if (byKept && counts) {
      total = !flag ? counts.total : flag.value ? counts.deleted : counts.total - counts.deleted;
      const past = Number(k.past);
      // The current half is walked in the list's order (its primary key or records_deleted are in id order), never read
      // filter-first however few it holds; left out only when empty (the capped count is exact below the cap).
      sizes = [past <= filterFirstMax && total === past ? 0 : Infinity, past];
    } else if (!list.where) {
      // No kept counts: the records now minus the adds since (record_changes_added).
      const counted = this.db.selectFrom([asOfCount(this.db, connectionId, dataType, asOf).as('t'), pastQ.as('p')]).select(['t.n as total', 'p.n as past']);
      count = counted;
      const c = await counted.executeTakeFirstOrThrow();
      total = Number(c.total);
      sizes = [Infinity, Number(c.past)];
    } else {
      const filtered = asOfFilteredCounts(this.db, connectionId, dataType, asOf, list.where);
      count = filtered;
      const key = `${connectionId}\u0000${dataType}\u0000${asOf}\u0000${this.filterKey(list.where)}`;
      const hit = generation !== undefined ? this.asOfCounted.get(key) : undefined;
      if (hit && (hit.generation === generation || (await asOfUnchangedSince(this.db, connectionId, dataType, asOf, hit.generation)))) {
        if (hit.generation !== generation) {
          // The merges since all committed after the instant: the matches as of it are the same records, but each
          // merge moved those it changed from the current half (changed since) to the replaced half. The current
          // half only shrinks and the replaced one only grows, so what is kept becomes bounds: the current count
          // stays an upper bound, the replaced half's is now the total. Bounds choose how each half is read and leave
          // a half out only when it is surely empty (a replaced half taken as still empty lost its records' states).
          hit.generation = generation!;
          hit.past = hit.total;
        }
        sizes = [hit.current, hit.past];
        total = hit.total;
      } else {
        const c = await filtered.executeTakeFirstOrThrow();
        sizes = [Number(c.current), Number(c.past)];
        total = sizes[0] + sizes[1];
        // Kept with the generation read before counting: a merge that commits at or before the instant after that
        // read (counted or not) has a later generation, so the next read recounts (asOfUnchangedSince).
        if (generation !== undefined) this.asOfCounted.set(key, { generation, current: sizes[0], past: sizes[1], total });
      }
    }
    const offset = offsetOf(page);
    if (total === 0 || offset >= total) return { count, kept, total, page: undefined };
    const top = offset + page.pageSize;
    const halves = asOfHalves(this.db, connectionId, dataType, asOf, list.where);
    const parts = halves
      .map((half, i) => {
        if (sizes[i] === 0) return undefined;
        const source = sizes[i]! <= filterFirstMax ? this.db.selectFrom((this.dialect === 'sqlite' ? half.limit(-1) : half).offset(0).as('records')).select(columns) : half;
        return this.db.selectFrom(ordered(source).limit(top).as('records')).select(columns);
      })
      .filter((p) => p !== undefined);
    const candidates = parts.length === 1 ? parts[0]!.as('records') : parts[0]!.unionAll(parts[1]!).as('records');
    // The page is taken inside and only its rows are turned into text outside (PostgreSQL computed data::text for every
    // candidate before the top-N sort).
    const inner = ordered(this.db.selectFrom(candidates).select(columns)).limit(page.pageSize).offset(offset);
    const data = dataAs === 'text' && this.dialect === 'postgres' ? sql<string>`records.data::text`.as('data') : ('data' as const);
    return { count, kept, total, page: ordered(this.db.selectFrom(inner.as('records')).select(['record_id', data, 'modified_date', 'source_modified_date', 'is_deleted'])) };
  }

  get(connectionId: string, dataType: string, recordId: string, asOf?: string | undefined): Promise<RecordRow | undefined> {
    return this.source(connectionId, dataType, asOf, sql<SqlBool>`records.record_id = ${recordId}`)
      .select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'])
      .executeTakeFirst() as Promise<RecordRow | undefined>;
  }

  /** Which of `ids` are stored, not deleted, for the connection and type (pull validation's reference check). */
  async existingIds(connectionId: string, dataType: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += STAGE_BATCH) {
      const rows = await this.db
        .selectFrom('records')
        .select('record_id')
        .where('connection_id', '=', connectionId)
        .where('data_type', '=', dataType)
        .where('record_id', 'in', ids.slice(i, i + STAGE_BATCH))
        .where('is_deleted', '=', 0)
        .execute();
      for (const r of rows) found.add(r.record_id);
    }
    return found;
  }

  /**
   * Every stored record of a type, in keyset pages of `batch` (id order), handed to `fn` page by page: a report over a
   * 100k-invoice company holds one page of documents at a time, never the whole type. With `asOf`, the records as they
   * were stored at that instant, in the same id order (the two halves of the asOf view merged: below).
   */
  async scan(connectionId: string, dataType: string, fn: (rows: RecordRow[]) => void, opts: { asOf?: string | undefined; batch?: number } = {}): Promise<void> {
    const batch = opts.batch ?? 1000;
    const columns = ['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'] as const;
    const bound = (after: string | undefined) => (after === undefined ? undefined : sql<SqlBool>`records.record_id > ${after}`);
    if (opts.asOf === undefined) {
      let after: string | undefined;
      for (;;) {
        const rows = (await this.source(connectionId, dataType, undefined, bound(after)).select(columns).orderBy('record_id').limit(batch).execute()) as RecordRow[];
        if (rows.length) fn(rows);
        if (rows.length < batch) return;
        after = rows[rows.length - 1]!.record_id;
      }
    }
    // As of an instant: each half of the asOf view (current rows, replaced states) is read by its own keyset in id
    // order, and the two are merged here in the databases' id order (bytes). Paging the union as one re-read the
    // sparser half to its end on every page — every record of the pair once per page of 1,000 (3.6 s for 50,000
    // invoices on PostgreSQL, 2.4–4.6 s on SQLite, against 0.2–1.3 s for the current store); each half read once is
    // linear.
    const asOf = opts.asOf;
    const halves = [0, 1].map((i) => ({ i, rows: [] as RecordRow[], at: 0, after: undefined as string | undefined, done: false }));
    const next = async (h: (typeof halves)[number]) => {
      if (h.at < h.rows.length || h.done) return;
      const half = asOfHalves(this.db, connectionId, dataType, asOf, bound(h.after))[h.i]!;
      h.rows = (await half.orderBy('record_id').limit(batch).execute()) as RecordRow[];
      h.at = 0;
      h.done = h.rows.length < batch;
      if (h.rows.length) h.after = h.rows[h.rows.length - 1]!.record_id;
    };
    let page: RecordRow[] = [];
    for (;;) {
      await next(halves[0]!);
      await next(halves[1]!);
      const [a, b] = halves as [(typeof halves)[number], (typeof halves)[number]];
      const hasA = a.at < a.rows.length;
      const hasB = b.at < b.rows.length;
      if (!hasA && !hasB) break;
      const from = !hasB || (hasA && idBefore(a.rows[a.at]!.record_id, b.rows[b.at]!.record_id)) ? a : b;
      page.push(from.rows[from.at++]!);
      if (page.length === batch) {
        fn(page);
        page = [];
      }
    }
    if (page.length) fn(page);
  }

  /** Every stored record of a type, in id order (statements are small: monthly periods). */
  all(connectionId: string, dataType: string, asOf?: string | undefined): Promise<RecordRow[]> {
    return this.source(connectionId, dataType, asOf)
      .select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'])
      .orderBy('record_id')
      .execute() as Promise<RecordRow[]>;
  }
}

/**
 * Moves a pair's counts after a merge that changed records (same transaction): `added` live records more, the deleted
 * count by `deletedDelta` (flagged deleted minus restored), and the generation. The pair's first merge creates the row
 * by counting its records (so records stored before counts were kept are included).
 */
async function bumpCounts(trx: Transaction<Database>, conn: string, type: string, added: number, deletedDelta: number, now: string): Promise<void> {
  const r = await sql`update record_counts set total = total + ${added}, deleted = deleted + ${deletedDelta}, generation = generation + 1
                      where connection_id = ${conn} and data_type = ${type}`.execute(trx);
  if (Number(r.numAffectedRows ?? 0n) === 0) {
    await sql`insert into record_counts (connection_id, data_type, total, deleted, generation)
              select ${conn}, ${type}, count(*), coalesce(sum(is_deleted), 0), 1 from records where connection_id = ${conn} and data_type = ${type}`.execute(trx);
  }
  await logCountsAt(trx, conn, type, now, added, deletedDelta);
}

/**
 * The counts as of `now` (record_counts_at, migration 0028), after record_counts moved: the counts now, less the moves
 * logged at later instants (none, unless clocks disagree), and this merge's moves added to those later rows. Two
 * statements, each a primary-key range that is empty in the usual case; a second merge at the same instant updates the
 * row (the counts at that instant include both).
 */
async function logCountsAt(trx: Transaction<Database>, conn: string, type: string, now: string, added: number, deletedDelta: number): Promise<void> {
  await sql`update record_counts_at set total = total + ${added}, deleted = deleted + ${deletedDelta}
            where connection_id = ${conn} and data_type = ${type} and committed_at > ${now}`.execute(trx);
  await sql`insert into record_counts_at (connection_id, data_type, committed_at, total, deleted, added, deleted_delta, generation)
            select rc.connection_id, rc.data_type, ${now}, rc.total - coalesce(l.a, 0), rc.deleted - coalesce(l.d, 0), ${added}, ${deletedDelta}, rc.generation
            from record_counts rc,
                 (select sum(added) as a, sum(deleted_delta) as d from record_counts_at where connection_id = ${conn} and data_type = ${type} and committed_at > ${now}) l
            where rc.connection_id = ${conn} and rc.data_type = ${type}
            on conflict (connection_id, data_type, committed_at) do update set
              total = excluded.total, deleted = excluded.deleted, generation = excluded.generation,
              added = record_counts_at.added + excluded.added, deleted_delta = record_counts_at.deleted_delta + excluded.deleted_delta`.execute(trx);
}

/** A Map that forgets its oldest entries beyond `max` (insertion order; a hit is re-inserted). */
class BoundedMap<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  delete(k: K): void {
    this.m.delete(k);
  }
  set(k: K, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
  }
}

/** The record_counts columns a list statement carries (countsSql), and the filter's count when asked (c_n). */
interface CountsColumns {
  c_total?: number | string | null;
  c_deleted?: number | string | null;
  c_generation?: number | string | null;
  c_n?: number | string | null;
}

/** The id of the record at a known offset (`inclusive`: seek `id >= key`), or of the one just before it (`id > key`). */
interface Boundary {
  key: string;
  inclusive: boolean;
}

/**
 * For each list (connection, type, filter, direction) in id order: ids at known offsets, for one generation of the
 * pair. Seeking from the nearest known offset at or below a page's offset and skipping the difference gives the rows
 * OFFSET would, as long as the records are those of that generation.
 */
class PageBoundaries {
  private readonly lists: BoundedMap<string, { generation: number; at: Map<number, Boundary> }>;
  constructor(
    maxLists: number,
    private readonly maxPerList: number,
  ) {
    this.lists = new BoundedMap(maxLists);
  }
  /** The nearest known boundary at or below `offset`, with the generation it belongs to (the caller checks it). */
  nearest(list: string, offset: number): ({ offset: number; generation: number } & Boundary) | undefined {
    const l = this.lists.get(list);
    if (!l) return undefined;
    let best: ({ offset: number; generation: number } & Boundary) | undefined;
    for (const [o, b] of l.at) if (o <= offset && (!best || o > best.offset)) best = { offset: o, generation: l.generation, ...b };
    return best;
  }
  remember(list: string, generation: number, offset: number, key: Boundary): void {
    let l = this.lists.get(list);
    if (!l || l.generation !== generation) this.lists.set(list, (l = { generation, at: new Map<number, Boundary>() }));
    if (l.at.size >= this.maxPerList) l.at.clear();
    l.at.set(offset, key);
  }
  forget(list: string): void {
    this.lists.delete(list);
  }
}

/**
 * recordDocument as JSON text, from a row whose `data` is the stored JSON text (list(…, 'text')): Syncline's fields
 * are appended to the document's text instead of parsing and re-serialising it. Parsing and serialising the same
 * documents was 38% of an invoice list request's CPU (--cpu-prof under autocannon). The stored document never
 * carries Syncline's own fields (the store adds them), so nothing is duplicated.
 */
export function recordJson(row: RecordRow, opts: { withModifiedDate: boolean }): string {
  const text = typeof row.data === 'string' ? row.data.trimEnd() : JSON.stringify(row.data);
  const own = `${opts.withModifiedDate ? `"modifiedDate":${JSON.stringify(row.modified_date)},` : ''}"metadata":{"isDeleted":${row.is_deleted === 1}}`;
  if (!text.endsWith('}')) return JSON.stringify(recordDocument(row, opts));
  const body = text.slice(0, -1).trimEnd();
  return body.endsWith('{') ? `${body}${own}}` : `${body},${own}}`;
}

/** Row → API document: the mapped fields plus Syncline's modifiedDate, sourceModifiedDate and metadata. */
export function recordDocument(row: RecordRow, opts: { withModifiedDate: boolean }): Record<string, unknown> {
  const data = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as Record<string, unknown>;
  const doc: Record<string, unknown> = { ...data };
  if (opts.withModifiedDate) doc.modifiedDate = row.modified_date;
  doc.metadata = { isDeleted: row.is_deleted === 1 };
  return doc;
}

/** Record id order as both databases keep it (PostgreSQL `COLLATE "C"`, SQLite BINARY): the bytes of the UTF-8 text. */
function idBefore(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) < 0;
}

/** A data type read as one document (company info), as its get endpoint serves it: no id, modifiedDate or metadata. */
export function singleDocument(row: RecordRow): Record<string, unknown> {
  const doc = recordDocument(row, { withModifiedDate: false });
  delete doc.metadata;
  delete doc.id;
  return doc;
}

/** A copy of a JSON value with every NUL character in its strings and keys replaced by U+FFFD. */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.replaceAll('\u0000', '\uFFFD')] = withoutNul(v);
  return out;
}
