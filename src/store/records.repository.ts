import { sql, type CompiledQuery, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { contentHash } from '../lib/canonical-json.js';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { offsetOf, type ListSql, type Page, type PageRequest } from './paging.js';
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

type Db = Kysely<Database> | Transaction<Database>;

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

/** A filtered page over at most this many matching records is read filter-first on PostgreSQL (see list). */
const FILTER_FIRST_MAX = 10_000;
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
   * Filtered asOf counts (each half's), per (connection, type, instant, filter), with the pair's generation when
   * counted: valid while no merge has committed at or before the instant since (asOfStatements).
   */
  private readonly asOfCounted = new BoundedMap<string, { generation: number; current: number; past: number }>(2_000);
  /** Keys at page boundaries of lists in id order (see list). */
  private readonly boundaries = new PageBoundaries(500, 2_000);

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /** `rememberFrom`: the smallest offset whose page boundary is remembered (default REMEMBER_FROM; tests use 0). */
    private readonly opts: { rememberFrom?: number } = {},
  ) {}

  private jsonParam(value: unknown) {
    const text = JSON.stringify(value);
    return this.dialect === 'postgres' ? sql`${text}::jsonb` : sql`${text}`;
  }

  async clearStaging(datasetId: string, db: Db = this.db): Promise<void> {
    await db.deleteFrom('record_staging').where('dataset_id', '=', datasetId).execute();
  }

  /** Stages one page. A record id seen twice in one pull (pages shifting under edits) keeps its latest version. */
  async stage(datasetId: string, records: StagedRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += STAGE_BATCH) {
      const batch = records.slice(i, i + STAGE_BATCH);
      const byId = new Map(batch.map((r) => [r.id, r]));
      const rows = [...byId.values()].map((r) => {
        const sourceModifiedDate = normaliseSourceDate(r.sourceModifiedDate);
        // The document carries the platform's own timestamp, in the platform's form, when it has one.
        const data = r.sourceModifiedDate && !('sourceModifiedDate' in r.data) ? { ...r.data, sourceModifiedDate: r.sourceModifiedDate } : r.data;
        return {
          dataset_id: datasetId,
          record_id: r.id,
          data: this.jsonParam(data),
          // The hash covers every mapped field including the platform's timestamp (sync-behaviour.md §8.1).
          content_hash: contentHash(data),
          source_modified_date: sourceModifiedDate,
          deleted: r.deleted ? 1 : 0,
        };
      });
      await this.db
        .insertInto('record_staging')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['dataset_id', 'record_id']).doUpdateSet((eb) => ({
            data: eb.ref('excluded.data'),
            content_hash: eb.ref('excluded.content_hash'),
            source_modified_date: eb.ref('excluded.source_modified_date'),
            deleted: eb.ref('excluded.deleted'),
          })),
        )
        .execute();
    }
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
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended(${`${conn}/${type}`}, 0))`.execute(trx);
    const keep = await historyKept(trx, conn);
    // What the pull staged, and the pair's counts before it (record_counts, kept by this merge): they show when a
    // deletion pass has nothing to do, and then it is not run (each one reads every record of the pair or every
    // staged row; on a full pull of a million records the unlisted pass alone walked them all to change nothing).
    const stagedRow = await sql<{ n: number | string; d: number | string | null }>`select count(*) as n, sum(deleted) as d from record_staging where dataset_id = ${ds}`.execute(trx);
    const stagedDeleted = Number(stagedRow.rows[0]?.d ?? 0);
    const stagedLive = Number(stagedRow.rows[0]?.n ?? 0) - stagedDeleted;
    const countsBefore = await trx.selectFrom('record_counts').select(['total', 'deleted']).where('connection_id', '=', conn).where('data_type', '=', type).executeTakeFirst();
    const cols = sql`(connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                      prev_data, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted)`;
    const prev = sql`r.data, r.content_hash, r.modified_date, r.source_modified_date, r.is_deleted`;
    let before = 0;
    if (keep) {
      // The record's state before each change, written before the cache changes (same predicates as the updates below).
      before = await lastSeq(trx, conn, type);
      await sql`insert into record_changes ${cols}
                select ${conn}, ${type}, s.record_id, ${ds}, ${now}, case when r.is_deleted = 1 then 'undeleted' else 'updated' end,
                       s.content_hash, s.source_modified_date, ${prev}
                from record_staging s join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                where s.dataset_id = ${ds} and s.deleted = 0 and (r.content_hash <> s.content_hash or r.is_deleted = 1)
                order by s.record_id`.execute(trx);
      await sql`insert into record_changes ${cols}
                select ${conn}, ${type}, s.record_id, ${ds}, ${now}, 'added', s.content_hash, s.source_modified_date, null, null, null, null, null
                from record_staging s
                where s.dataset_id = ${ds} and s.deleted = 0
                  and not exists (select 1 from records r where r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id)
                order by s.record_id`.execute(trx);
      if (stagedDeleted > 0) {
        await sql`insert into record_changes ${cols}
                  select ${conn}, ${type}, s.record_id, ${ds}, ${now}, 'deleted', r.content_hash, r.source_modified_date, ${prev}
                  from record_staging s join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                  where s.dataset_id = ${ds} and s.deleted = 1 and r.is_deleted = 0
                  order by s.record_id`.execute(trx);
      }
    }

    // Restores (deleted → listed again) apart from content changes of live records: the deleted count moves with them.
    const restored = n(
      await sql`update records set data = s.data, content_hash = s.content_hash, source_modified_date = s.source_modified_date,
                  is_deleted = 0, modified_date = ${now}
                from record_staging s
                where s.dataset_id = ${ds} and s.deleted = 0
                  and records.connection_id = ${conn} and records.data_type = ${type} and records.record_id = s.record_id
                  and records.is_deleted = 1`.execute(trx),
    );
    const updated =
      restored +
      n(
        await sql`update records set data = s.data, content_hash = s.content_hash, source_modified_date = s.source_modified_date,
                    modified_date = ${now}
                  from record_staging s
                  where s.dataset_id = ${ds} and s.deleted = 0
                    and records.connection_id = ${conn} and records.data_type = ${type} and records.record_id = s.record_id
                    and records.is_deleted = 0 and records.content_hash <> s.content_hash`.execute(trx),
      );
    const added = n(
      await sql`insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
                select ${conn}, ${type}, s.record_id, s.data, s.content_hash, ${now}, s.source_modified_date, 0
                from record_staging s
                where s.dataset_id = ${ds} and s.deleted = 0
                  and not exists (select 1 from records r where r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id)`.execute(
        trx,
      ),
    );
    let deleted =
      stagedDeleted === 0
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
    const liveAfter = countsBefore ? Number(countsBefore.total) - Number(countsBefore.deleted) + added + restored - deleted : undefined;
    if (args.fullListing && liveAfter !== stagedLive) {
      if (keep) {
        // Unlisted records are untouched by the statements above: their state now is their state before this merge.
        await sql`insert into record_changes ${cols}
                  select ${conn}, ${type}, records.record_id, ${ds}, ${now}, 'deleted', records.content_hash, records.source_modified_date,
                         records.data, records.content_hash, records.modified_date, records.source_modified_date, records.is_deleted
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
    return { added, updated, deleted, history };
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
    const { total, generation } = await this.total(connectionId, dataType, list, filterKey);
    const offset = offsetOf(page);
    if (total === 0 || offset >= total) return { rows: [], total };
    const filtered = <Q extends { where: (e: Expression<SqlBool>) => Q }>(q: Q): Q => (where ? q.where(where) : q);
    const ordered = <Q extends { orderBy: (e: RawBuilder<unknown>) => Q }>(q: Q): Q => list.orderBy.reduce((acc, o) => acc.orderBy(o), q);

    const byId = list.order !== undefined && list.order.path === list.order.tiebreak && list.order.path === 'id';
    const cacheKey = byId && generation !== undefined ? `${connectionId}\u0000${dataType}\u0000${list.order!.descending ? 'd' : 'a'}\u0000${filterKey}` : undefined;
    let still: boolean | undefined;
    const remember = async (at: number, key: string, inclusive = false) => {
      // Shallow boundaries are not worth a statement: walking a few thousand keys from the start costs less.
      if (cacheKey === undefined || at < (this.opts.rememberFrom ?? REMEMBER_FROM)) return;
      // Only when no merge committed while the page was read: then the key is that generation's.
      still ??= (await this.generation(connectionId, dataType)) === generation;
      if (still) this.boundaries.remember(cacheKey, generation!, at, { key, inclusive });
    };
    const filterFirst = this.dialect === 'postgres' && where !== undefined && total <= FILTER_FIRST_MAX;
    if (offset === 0 && byId && !filterFirst) {
      // The first page in id order: read in index order (records_pk, records_deleted, and the filter indexes, which
      // end with record_id since migration 0021), the documents of this page only, in one statement.
      const rows = (await ordered(filtered(scoped.select(columns))).limit(page.pageSize).execute()) as RecordRow[];
      if (rows.length > 0) await remember(rows.length, rows[rows.length - 1]!.record_id);
      return { rows, total };
    }

    // Otherwise the page's keys first, then their rows. The keys come from the same filter and ORDER BY with the same
    // OFFSET (so the page is exactly offset paging's) but carry only `record_id`: skipped entries are an index-only
    // walk instead of fetched documents (page 5,000 of a million: 5.5 s on PostgreSQL), and a sort of the matches
    // sorts keys, not documents. In id order, page boundaries seen before for this filter and this state of the records
    // (generation) are remembered, so the walk starts from the nearest known key before the page (keyset paging)
    // instead of from the first record.
    let keys: string[];
    if (filterFirst) {
      // PostgreSQL, filtered, few matches: for ORDER BY id … LIMIT the planner walks the id order and filters,
      // assuming matches are spread evenly; they rarely are (modifiedDate follows insertion order), and a one-week
      // modifiedDate range of a million invoices was found after walking 900,000 rows (~0.5 s). The exact count says
      // the matches are few: read them through the filter's index first and sort them (OFFSET 0 keeps the planner
      // from flattening the subquery, which keeps the columns the ORDER BY may read).
      const matches = scoped.select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted']).where(where).offset(0).as('records');
      keys = (await ordered(this.db.selectFrom(matches).select('record_id')).limit(page.pageSize).offset(offset).execute()).map((r) => r.record_id);
    } else {
      const known = cacheKey !== undefined && offset > 0 ? this.boundaries.nearest(cacheKey, generation!, offset) : undefined;
      let keysQ = filtered(scoped.select('record_id'));
      if (known) keysQ = keysQ.where('record_id', `${list.order!.descending ? '<' : '>'}${known.inclusive ? '=' : ''}` as '<' | '<=' | '>' | '>=', known.key);
      const skip = known ? offset - known.offset : offset;
      keys = (await ordered(keysQ).limit(page.pageSize).offset(skip).execute()).map((r) => r.record_id);
    }
    if (keys.length === 0) return { rows: [], total };
    // Where this page starts (the same page asked again seeks to it) and where the next one starts.
    await remember(offset, keys[0]!, true);
    await remember(offset + keys.length, keys[keys.length - 1]!);
    const found = (await scoped.select(columns).where('record_id', 'in', keys).execute()) as RecordRow[];
    const at = new Map(found.map((r) => [r.record_id, r]));
    return { rows: keys.map((k) => at.get(k)).filter((r): r is RecordRow => r !== undefined), total };
  }

  /** A filter's identity: its SQL text and parameters. */
  private filterKey(where: Expression<SqlBool>): string {
    const c = this.db.selectFrom('records').select('record_id').where(where).compile();
    return `${c.sql}\u0000${JSON.stringify(c.parameters)}`;
  }

  private async countRow(connectionId: string, dataType: string) {
    return this.db
      .selectFrom('record_counts')
      .select(['total', 'deleted', 'generation'])
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .executeTakeFirst();
  }

  private async generation(connectionId: string, dataType: string): Promise<number | undefined> {
    const r = await this.countRow(connectionId, dataType);
    return r ? Number(r.generation) : undefined;
  }

  /**
   * The exact number of records a list matches. No filter and `metadata.isDeleted` filters: the counts the merge keeps
   * (record_counts, migration 0021). Other filters: counted through their index once per state of the records (the
   * pair's generation), then reused while no merge has changed a record of the pair — paging through a filtered list
   * counts once. A pair without a counts row (records written before it existed by something other than the merge)
   * is counted each time.
   */
  async total(connectionId: string, dataType: string, list: ListSql, filterKey?: string): Promise<{ total: number; generation: number | undefined }> {
    const c = await this.countRow(connectionId, dataType);
    const generation = c ? Number(c.generation) : undefined;
    if (c && !list.where) return { total: Number(c.total), generation };
    if (c && list.flag && list.flag.of === list.where && list.flag.path === 'metadata.isDeleted') {
      return { total: list.flag.value ? Number(c.deleted) : Number(c.total) - Number(c.deleted), generation };
    }
    const key = `${connectionId}\u0000${dataType}\u0000${filterKey ?? (list.where ? this.filterKey(list.where) : '')}`;
    if (generation !== undefined) {
      const hit = this.counted.get(key);
      if (hit && hit.generation === generation) return { total: hit.n, generation };
    }
    let count = this.source(connectionId, dataType, undefined).select((eb) => eb.fn.countAll<number>().as('n'));
    if (list.where) count = count.where(list.where);
    const n = Number((await count.executeTakeFirstOrThrow()).n);
    // Kept only when no merge committed while counting: then the count is that of this generation's records.
    if (generation !== undefined && (await this.generation(connectionId, dataType)) === generation) this.counted.set(key, { generation, n });
    return { total: n, generation };
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
        hit.generation = generation!;
        sizes = [hit.current, hit.past];
      } else {
        const c = await filtered.executeTakeFirstOrThrow();
        sizes = [Number(c.current), Number(c.past)];
        // Kept with the generation read before counting: a merge that commits at or before the instant after that
        // read (counted or not) has a later generation, so the next read recounts (asOfUnchangedSince).
        if (generation !== undefined) this.asOfCounted.set(key, { generation, current: sizes[0], past: sizes[1] });
      }
      total = sizes[0] + sizes[1];
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
   * 100k-invoice company holds one page of documents at a time, never the whole type.
   */
  async scan(connectionId: string, dataType: string, fn: (rows: RecordRow[]) => void, batch = 1000): Promise<void> {
    let after: string | undefined;
    for (;;) {
      let q = this.db
        .selectFrom('records')
        .select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'])
        .where('connection_id', '=', connectionId)
        .where('data_type', '=', dataType);
      if (after !== undefined) q = q.where('record_id', '>', after);
      const rows = await q.orderBy('record_id').limit(batch).execute();
      if (rows.length) fn(rows);
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.record_id;
    }
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
  set(k: K, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
  }
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
  nearest(list: string, generation: number, offset: number): ({ offset: number } & Boundary) | undefined {
    const l = this.lists.get(list);
    if (!l || l.generation !== generation) return undefined;
    let best: ({ offset: number } & Boundary) | undefined;
    for (const [o, b] of l.at) if (o <= offset && (!best || o > best.offset)) best = { offset: o, ...b };
    return best;
  }
  remember(list: string, generation: number, offset: number, key: Boundary): void {
    let l = this.lists.get(list);
    if (!l || l.generation !== generation) this.lists.set(list, (l = { generation, at: new Map<number, Boundary>() }));
    if (l.at.size >= this.maxPerList) l.at.clear();
    l.at.set(offset, key);
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
