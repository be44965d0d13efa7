import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Record buckets (issue 17, deep pages; migration 0031): the ids of each (connection, data type) cut into consecutive
 * ranges `[lo, hi)` of about BUCKET_SIZE records, each with its exact number of records and of deleted ones, kept by
 * the merge in the transaction that changes the records. A page at offset X of a list in id order — no filter, or the
 * `metadata.isDeleted` flag — is found by summing counts up to the bucket that holds X (one small window query over
 * ~n/1000 rows) and walking at most a bucket's keys from its `lo`: page 5,000 of a million is the same few
 * milliseconds as page 1, on the first request after a restart or a pull too (walking 499,900 keys from the start
 * took 230–700 ms). A counted B-tree of one level.
 *
 * The first bucket's `lo` is '' (every id sorts at or after it) and the last one's `hi` is NULL, so every id is in
 * exactly one bucket. Ids compare as the records primary key orders them (`COLLATE "C"` on PostgreSQL, BINARY on
 * SQLite).
 */
export const BUCKET_SIZE = 1_000;

/** Which records of the pair a list counts: all, live (`metadata.isDeleted` false) or deleted. */
export type BucketList = 'all' | 'live' | 'deleted';

/**
 * Cuts `[lo, hi)` of the pair's ids (the whole pair: lo '' and hi null) into buckets of BUCKET_SIZE from the primary
 * key alone (an index-only walk), then counts each new bucket's deleted records through records_deleted.
 */
export async function rebucket(db: Db, dialect: Dialect, conn: string, type: string, lo = '', hi: string | null = null, size = BUCKET_SIZE): Promise<void> {
  const upper = hi === null ? sql`` : sql`and record_id < ${hi}`;
  await sql`delete from record_buckets where connection_id = ${conn} and data_type = ${type} and lo >= ${lo} ${hi === null ? sql`` : sql`and lo < ${hi}`}`.execute(db);
  const text = dialect === 'postgres' ? sql`::text` : sql``;
  await sql`insert into record_buckets (connection_id, data_type, lo, hi, total, deleted)
            select ${conn}, ${type}, case when b = 0 then ${lo}${text} else first end, coalesce(lead(first) over (order by b), ${hi}${text}), n, 0
            from (select b, min(record_id) as first, count(*) as n
                  from (select record_id, (row_number() over (order by record_id) - 1) / ${sql.raw(String(Math.trunc(size)))} as b
                        from records where connection_id = ${conn} and data_type = ${type} and record_id >= ${lo} ${upper}) g
                  group by b) t`.execute(db);
  await recountDeleted(db, conn, type, sql`lo >= ${lo} ${hi === null ? sql`` : sql`and lo < ${hi}`}`);
}

/** Recounts the deleted records of the pair's buckets that `which` selects (each an index-only range of records_deleted). */
async function recountDeleted(db: Db, conn: string, type: string, which: ReturnType<typeof sql>): Promise<void> {
  const inRange = (flag: ReturnType<typeof sql>) => sql`(select count(*) from records r
      where r.connection_id = record_buckets.connection_id and r.data_type = record_buckets.data_type ${flag}
        and r.record_id >= record_buckets.lo and r.record_id < record_buckets.hi)`;
  const toEnd = (flag: ReturnType<typeof sql>) => sql`(select count(*) from records r
      where r.connection_id = record_buckets.connection_id and r.data_type = record_buckets.data_type ${flag}
        and r.record_id >= record_buckets.lo)`;
  const del = sql`and r.is_deleted = 1`;
  await sql`update record_buckets set deleted = ${inRange(del)} where connection_id = ${conn} and data_type = ${type} and hi is not null and ${which}`.execute(db);
  await sql`update record_buckets set deleted = ${toEnd(del)} where connection_id = ${conn} and data_type = ${type} and hi is null and ${which}`.execute(db);
}

/** Recounts records and deleted records of the pair's buckets that `which` selects. */
async function recount(db: Db, conn: string, type: string, which: ReturnType<typeof sql>): Promise<void> {
  const range = (flag: ReturnType<typeof sql>, bounded: boolean) => sql`(select count(*) from records r
      where r.connection_id = record_buckets.connection_id and r.data_type = record_buckets.data_type ${flag}
        and r.record_id >= record_buckets.lo ${bounded ? sql`and r.record_id < record_buckets.hi` : sql``})`;
  for (const bounded of [true, false]) {
    await sql`update record_buckets set total = ${range(sql``, bounded)}, deleted = ${range(sql`and r.is_deleted = 1`, bounded)}
              where connection_id = ${conn} and data_type = ${type} and hi is ${bounded ? sql`not null` : sql`null`} and ${which}`.execute(db);
  }
}

/**
 * Keeps the pair's buckets exact after a merge (same transaction) whose records changed membership: `changed` records
 * (`moved`) were added, flagged deleted or restored (0: nothing to do — content updates move no record between lists). Every
 * record the merge wrote (`written`) carries `modified_date = now` (records.repository merge; DESIGN invariant 4), so the buckets
 * to recount are those of the records at `now` (records_modified, index-only). Many of them, or none yet: the pair
 * is cut again from scratch (an index-only walk of its ids). A bucket grown past twice the size is cut again alone (`size`: BUCKET_SIZE; tests use small ones).
 */
export async function maintainBuckets(
  trx: Transaction<Database>,
  dialect: Dialect,
  conn: string,
  type: string,
  now: string,
  counts: { moved: number; written: number },
  size = BUCKET_SIZE,
): Promise<void> {
  if (counts.moved === 0) return;
  const buckets = await sql<{ n: number | string; total: number | string | null }>`select count(*) as n, sum(total) as total from record_buckets
            where connection_id = ${conn} and data_type = ${type}`.execute(trx);
  const n = Number(buckets.rows[0]?.n ?? 0);
  const total = Number(buckets.rows[0]?.total ?? 0);
  // A merge that changed a large part of the pair (an initial pull): one walk of the ids costs less than recounting
  // most buckets one by one.
  if (n === 0 || counts.written * 4 > total) return rebucket(trx, dialect, conn, type, '', null, size);
  const touched = sql`lo in (select (select max(b.lo) from record_buckets b where b.connection_id = ${conn} and b.data_type = ${type} and b.lo <= r.record_id)
                              from records r where r.connection_id = ${conn} and r.data_type = ${type} and r.modified_date = ${now})`;
  await recount(trx, conn, type, touched);
  const big = await sql<{ lo: string; hi: string | null }>`select lo, hi from record_buckets
            where connection_id = ${conn} and data_type = ${type} and total > ${2 * size}`.execute(trx);
  for (const b of big.rows) await rebucket(trx, dialect, conn, type, b.lo, b.hi, size);
}

/**
 * The bucket that holds offset `offset` of the pair's `list` in id order (`descending`: counted from the last id) as
 * one row `(lo, hi, before)`, `before` being how many of the list's records precede the bucket in that order; no row
 * when the pair has no buckets or the offset is past the end. A window sum over the pair's ~n/1,000 bucket rows.
 */
export function bucketPick(conn: string, type: string, list: BucketList, descending: boolean, offset: number): RawBuilder<unknown> {
  const n = list === 'all' ? sql`total` : list === 'live' ? sql`total - deleted` : sql`deleted`;
  const dir = descending ? sql`desc` : sql`asc`;
  return sql`select lo, hi, before from (
      select lo, hi, n, sum(n) over (order by lo ${dir} rows between unbounded preceding and current row) - n as before
      from (select lo, hi, ${n} as n from record_buckets where connection_id = ${conn} and data_type = ${type}) c
    ) w
    where before <= ${offset} and before + n > ${offset}
    order by lo ${dir} limit 1`;
}
