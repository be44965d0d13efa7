import { sql, type Kysely, type Transaction } from 'kysely';
import { contentHash } from '../lib/canonical-json.js';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { offsetOf, pageOf, type ListSql, type Page, type PageRequest } from './paging.js';
import { asOfRecords, freshSeq, historyKept, lastSeq, raiseFloor } from './history.repository.js';

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

/**
 * The record cache. Writes go through staging so a pull's changes become visible together, in one transaction,
 * when it completes (sync-behaviour.md §2.3; DESIGN invariants 3 and 4). Merge SQL is hand-written: it is the hot path.
 */
export class RecordsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
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
    let history: MergeResult['history'];
    if (keep) {
      // The record's state before each change, written before the cache changes (same predicates as the updates below).
      const before = await lastSeq(trx, conn, type);
      const cols = sql`(connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                        prev_data, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted)`;
      const prev = sql`r.data, r.content_hash, r.modified_date, r.source_modified_date, r.is_deleted`;
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
      await sql`insert into record_changes ${cols}
                select ${conn}, ${type}, s.record_id, ${ds}, ${now}, 'deleted', r.content_hash, r.source_modified_date, ${prev}
                from record_staging s join records r on r.connection_id = ${conn} and r.data_type = ${type} and r.record_id = s.record_id
                where s.dataset_id = ${ds} and s.deleted = 1 and r.is_deleted = 0
                order by s.record_id`.execute(trx);
      if (args.fullListing) {
        await sql`insert into record_changes ${cols}
                  select ${conn}, ${type}, records.record_id, ${ds}, ${now}, 'deleted', records.content_hash, records.source_modified_date,
                         records.data, records.content_hash, records.modified_date, records.source_modified_date, records.is_deleted
                  from records
                  where records.connection_id = ${conn} and records.data_type = ${type} and records.is_deleted = 0
                    ${window}
                    and not exists (select 1 from record_staging s where s.dataset_id = ${ds} and s.record_id = records.record_id)
                  order by records.record_id`.execute(trx);
      }
      const range = await sql<{ first: number | null; last: number | null }>`select min(seq) as first, max(seq) as last from record_changes
                where connection_id = ${conn} and data_type = ${type} and seq > ${before}`.execute(trx);
      const r = range.rows[0];
      if (r?.first != null && r.last != null) history = { firstSeq: Number(r.first), lastSeq: Number(r.last) };
    }

    const updated = n(
      await sql`update records set data = s.data, content_hash = s.content_hash, source_modified_date = s.source_modified_date,
                  is_deleted = 0, modified_date = ${now}
                from record_staging s
                where s.dataset_id = ${ds} and s.deleted = 0
                  and records.connection_id = ${conn} and records.data_type = ${type} and records.record_id = s.record_id
                  and (records.content_hash <> s.content_hash or records.is_deleted = 1)`.execute(trx),
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
    let deleted = n(
      await sql`update records set is_deleted = 1, modified_date = ${now}
                from record_staging s
                where s.dataset_id = ${ds} and s.deleted = 1
                  and records.connection_id = ${conn} and records.data_type = ${type} and records.record_id = s.record_id
                  and records.is_deleted = 0`.execute(trx),
    );
    if (args.fullListing) {
      deleted += n(
        await sql`update records set is_deleted = 1, modified_date = ${now}
                  where records.connection_id = ${conn} and records.data_type = ${type} and records.is_deleted = 0
                    ${window}
                    and not exists (select 1 from record_staging s where s.dataset_id = ${ds} and s.record_id = records.record_id)`.execute(trx),
      );
    }
    await trx.deleteFrom('record_staging').where('dataset_id', '=', ds).execute();
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
  private source(connectionId: string, dataType: string, asOf: string | undefined, filtered = false) {
    if (asOf !== undefined) return this.db.selectFrom(asOfRecords(this.db, connectionId, dataType, asOf, { filtered, dialect: this.dialect }));
    return this.db.selectFrom('records').where('connection_id', '=', connectionId).where('data_type', '=', dataType);
  }

  async list(
    connectionId: string,
    dataType: string,
    page: PageRequest,
    list: ListSql,
    dataAs: 'value' | 'text' = 'value',
    asOf?: string | undefined,
  ): Promise<Page<RecordRow>> {
    const scoped = this.source(connectionId, dataType, asOf, list.where !== undefined);
    const data = dataAs === 'text' && this.dialect === 'postgres' ? sql<string>`records.data::text`.as('data') : ('data' as const);
    const columns = ['record_id', data, 'modified_date', 'source_modified_date', 'is_deleted'] as const;
    const counted = scoped.select((eb) => eb.fn.countAll<number>().as('n'));
    if (asOf !== undefined) {
      // The page is taken inside and only its rows are turned into text outside: over the asOf view PostgreSQL may
      // sort the matches, and it computed data::text for every one of them before the top-N sort (6,000 documents,
      // 200 ms for a page of 100).
      const plain = ['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'] as const;
      let inner = scoped.select(plain);
      let count = counted;
      if (list.where) {
        inner = inner.where(list.where);
        count = count.where(list.where);
      }
      for (const o of list.orderBy) inner = inner.orderBy(o);
      let outer = this.db.selectFrom(inner.limit(page.pageSize).offset(offsetOf(page)).as('records')).select(columns);
      for (const o of list.orderBy) outer = outer.orderBy(o);
      const [rows, total] = await Promise.all([outer.execute(), count.executeTakeFirstOrThrow()]);
      return { rows: rows as RecordRow[], total: Number(total.n) };
    }
    if (this.dialect !== 'postgres' || !list.where) return pageOf(scoped.select(columns), counted, page, list) as Promise<Page<RecordRow>>;
    // PostgreSQL, filtered: the count first, then the page. For ORDER BY id … LIMIT the planner walks the id order
    // and filters, assuming matches are spread evenly; they rarely are (modifiedDate follows insertion order), and a
    // one-week modifiedDate range of a million invoices was found after walking 900,000 rows (~0.5 s). The count,
    // which the response needs anyway, gives the exact number of matches: when few, the page reads them through the
    // filter's index first and sorts them (OFFSET 0 keeps the planner from flattening the subquery).
    const total = Number((await counted.where(list.where).executeTakeFirstOrThrow()).n);
    if (total === 0 || offsetOf(page) >= total) return { rows: [], total };
    let q;
    if (total <= FILTER_FIRST_MAX) {
      // The subquery keeps the document as stored (the ORDER BY may read fields of it); the text form is taken outside.
      const matches = scoped.select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted']).where(list.where).offset(0).as('records');
      q = this.db.selectFrom(matches).select(['record_id', data, 'modified_date', 'source_modified_date', 'is_deleted']);
    } else q = scoped.select(columns).where(list.where);
    for (const o of list.orderBy) q = q.orderBy(o);
    const rows = await q.limit(page.pageSize).offset(offsetOf(page)).execute();
    return { rows: rows as RecordRow[], total };
  }

  get(connectionId: string, dataType: string, recordId: string, asOf?: string | undefined): Promise<RecordRow | undefined> {
    return this.source(connectionId, dataType, asOf)
      .select(['record_id', 'data', 'modified_date', 'source_modified_date', 'is_deleted'])
      .where('record_id', '=', recordId)
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
