/**
 * Design probe for issue 16's cost goal (history on ≤ 15 % slower than off), SQLite and PostgreSQL: is "a changed
 * record's document written once" worth building, and what would it cost reads? Not the product's code: two small schemas side by side,
 * each with the product's indexes, run through the same pull (stage N invoices, merge; then stage an update of every
 * EVERY-th invoice, merge), with history on and off.
 *
 * - `copy` (what the product does, migrations 0003/0006/0014/0020): `records.data` holds the document; a change copies
 *   the record's previous document into `record_changes.prev_data` before the upsert overwrites it.
 * - `once`: documents live in `docs` (integer id), written once when staged; staging, `records` and `record_changes`
 *   hold a document id (`records.doc_id`, `record_changes.prev_doc_id`) and the three query keys as plain columns. A
 *   change records the previous document's id; the upsert repoints the record. History off deletes the replaced
 *   documents instead; either way the documents of staged rows that were not written (unchanged) are deleted.
 *
 * Figures: stage time, merge + commit wall and CPU (SQLite: this process, where it runs; PostgreSQL: this process plus
 * the server backend, from /proc/<pid>/stat), database size; then reads of the
 * current store, p50/p99 over R repetitions: a page of 100 in id order at a random offset (keyset), a page filtered on
 * an indexed key (status), and a page filtered on a field no index covers (amountDue, a scan).
 *
 *   DIALECT=sqlite|postgres N=50000 EVERY=1|10 R=200 ROUNDS=2 node --import tsx bench/history-write-once-probe.ts
 *
 * PostgreSQL: a throwaway server (or PGBASE=<admin url>), a database per design and setting. DESIGNS=copy|once runs
 * one design only. Results and what they say: docs/benchmarks.md, history ("documents written once").
 */
import { rmSync, mkdirSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { invoice } from './history.js';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startTempPostgres } from '../test/support/postgres.js';
import { processCpuMs } from './support/proc.js';
import { recordKeyExpression, RECORD_KEY_COLUMNS } from '../src/store/migrations/0024-record-query-keys.js';

const N = Number(process.env.N ?? 50000);
const EVERY = Number(process.env.EVERY ?? 1);
const R = Number(process.env.R ?? 200);
const DIR = process.env.DIR ?? '/tmp/histprobe';
const CONN = 'conn-1';
const TYPE = 'invoices';

type Design = 'copy' | 'once' | 'merge';
const past = 'where prev_modified_date is not null';
const key = (doc: string, path: string) => `lower((CASE WHEN json_type(${doc}, '${path}') = 'text' THEN json_extract(${doc}, '${path}') END))`;

function schema(db: Database, d: Design) {
  const hist = (prevDoc: string, keys: string) => `create table record_changes (
      seq integer primary key autoincrement, connection_id text not null, data_type text not null, record_id text not null,
      dataset_id text, committed_at text not null, kind text not null, content_hash text not null, source_modified_date text,
      ${prevDoc}, prev_content_hash text, prev_modified_date text, prev_source_modified_date text, prev_is_deleted integer${keys})`;
  const histIndexes = (keys: Record<string, string>) => [
    `create index record_changes_feed on record_changes (connection_id, data_type, seq)`,
    `create index record_changes_record on record_changes (connection_id, data_type, record_id, seq)`,
    `create index record_changes_window on record_changes (connection_id, data_type, committed_at, prev_modified_date, prev_is_deleted) ${past}`,
    `create index record_changes_past on record_changes (connection_id, data_type, record_id, committed_at, prev_modified_date) ${past}`,
    `create index record_changes_added on record_changes (connection_id, data_type, committed_at) where kind = 'added'`,
    ...Object.entries(keys).map(([n, k]) => `create index record_changes_past_${n} on record_changes (connection_id, data_type, ${k}, committed_at, prev_modified_date) ${past}`),
  ];
  const recIndexes = [
    `create index records_modified on records (connection_id, data_type, modified_date)`,
    `create index records_source_modified on records (connection_id, data_type, source_modified_date)`,
    `create index records_deleted on records (connection_id, data_type, is_deleted, record_id)`,
    `create index records_id_folded on records (connection_id, data_type, lower(record_id))`,
  ];
  const stmts =
    d === 'copy'
      ? [
          `create table records (connection_id text not null, data_type text not null, record_id text not null, data text not null,
             content_hash text not null, modified_date text not null, source_modified_date text, is_deleted integer not null default 0,
             primary key (connection_id, data_type, record_id))`,
          ...recIndexes,
          `create index records_status on records (connection_id, data_type, ${key('data', '$.status')})`,
          `create index records_customer_ref on records (connection_id, data_type, ${key('data', '$.customerRef.id')})`,
          `create index records_supplier_ref on records (connection_id, data_type, ${key('data', '$.supplierRef.id')})`,
          `create table record_staging (dataset_id text not null, record_id text not null, data text not null, content_hash text not null,
             source_modified_date text, deleted integer not null, primary key (dataset_id, record_id))`,
          hist('prev_data text', ''),
          ...histIndexes({
            id_folded: 'lower(record_id)',
            status: key('prev_data', '$.status'),
            customer_ref: key('prev_data', '$.customerRef.id'),
            supplier_ref: key('prev_data', '$.supplierRef.id'),
          }),
        ]
      : [
          `create table docs (id integer primary key, data text not null)`,
          `create table records (connection_id text not null, data_type text not null, record_id text not null, doc_id integer not null,
             content_hash text not null, modified_date text not null, source_modified_date text, is_deleted integer not null default 0,
             status_key text, customer_ref_key text, supplier_ref_key text,
             primary key (connection_id, data_type, record_id))`,
          ...recIndexes,
          `create index records_status on records (connection_id, data_type, status_key)`,
          `create index records_customer_ref on records (connection_id, data_type, customer_ref_key)`,
          `create index records_supplier_ref on records (connection_id, data_type, supplier_ref_key)`,
          d === 'once'
            ? `create table record_staging (dataset_id text not null, record_id text not null, doc_id integer not null, content_hash text not null,
             source_modified_date text, deleted integer not null, status_key text, customer_ref_key text, supplier_ref_key text,
             primary key (dataset_id, record_id))`
            : `create table record_staging (dataset_id text not null, record_id text not null, data text not null, content_hash text not null,
             source_modified_date text, deleted integer not null, primary key (dataset_id, record_id))`,
          hist('prev_doc_id integer', ', prev_status_key text, prev_customer_ref_key text, prev_supplier_ref_key text'),
          ...histIndexes({ id_folded: 'lower(record_id)', status: 'prev_status_key', customer_ref: 'prev_customer_ref_key', supplier_ref: 'prev_supplier_ref_key' }),
        ];
  for (const s of stmts) db.exec(s);
}

function open(file: string): Database {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** Stages a pull: one transaction per page of 1,000, as the worker does. */
function stage(db: Database, d: Design, ds: string, edit: number, every: number) {
  const hash = (t: string) => createHash('sha256').update(t).digest('hex');
  const stCopy = d !== 'once' ? db.prepare(`insert into record_staging values (?, ?, ?, ?, ?, 0)`) : undefined;
  const doc = d === 'once' ? db.prepare(`insert into docs (data) values (?)`) : undefined;
  const stOnce =
    d === 'once'
      ? db.prepare(`insert into record_staging select ?, ?, ?, ?, ?, 0, ${key('d.data', '$.status')}, ${key('d.data', '$.customerRef.id')}, ${key('d.data', '$.supplierRef.id')} from docs d where d.id = ?`)
      : undefined;
  for (let from = 0; from < N; from += 1000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(N, from + 1000); i += every) {
        const inv = invoice(i, edit);
        const text = JSON.stringify(inv);
        const smd = `2026-0${edit === 0 ? 2 : 4}-01T00:00:00Z`;
        if (stCopy) stCopy.run(ds, inv.id, text, hash(text), smd);
        else {
          const id = Number(doc!.run(text).lastInsertRowid);
          stOnce!.run(ds, inv.id, id, hash(text), smd, id);
        }
      }
    })();
  }
}

/** The merge of one pull, in one transaction (the product's statements for `copy`, their document-id form for `once`). */
function merge(db: Database, d: Design, ds: string, now: string, keep: boolean) {
  if (d === 'merge') return mergeAtMerge(db, ds, now, keep);
  db.transaction(() => {
    const ids = keep
      ? (db.prepare(`select json_group_array(s.record_id order by s.record_id) filter (where r.content_hash <> s.content_hash) as ids
                     from record_staging s join records r on r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id
                     where s.dataset_id = ?`).get(CONN, TYPE, ds) as { ids: string }).ids
      : '[]';
    const old = d === 'once' && !keep
      ? (db.prepare(`select json_group_array(r.doc_id) filter (where r.content_hash <> s.content_hash) as ids
                     from record_staging s join records r on r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id
                     where s.dataset_id = ?`).get(CONN, TYPE, ds) as { ids: string }).ids
      : '[]';
    if (keep) {
      const prev = d === 'copy' ? 'r.data' : 'r.doc_id';
      const prevKeys = d === 'copy' ? '' : ', r.status_key, r.customer_ref_key, r.supplier_ref_key';
      db.prepare(`insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                    ${d === 'copy' ? 'prev_data' : 'prev_doc_id'}, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted
                    ${d === 'copy' ? '' : ', prev_status_key, prev_customer_ref_key, prev_supplier_ref_key'})
                  select ?, ?, s.record_id, ?, ?, 'updated', s.content_hash, s.source_modified_date, ${prev}, r.content_hash, r.modified_date,
                         r.source_modified_date, r.is_deleted ${prevKeys}
                  from json_each(?) as k cross join record_staging s cross join records r
                  where s.dataset_id = ? and s.record_id = k.value and r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id
                  order by k.rowid`).run(CONN, TYPE, ds, now, ids, ds, CONN, TYPE);
      db.prepare(`insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date)
                  select ?, ?, s.record_id, ?, ?, 'added', s.content_hash, s.source_modified_date from record_staging s
                  where s.dataset_id = ? and not exists (select 1 from records r where r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id)
                  order by s.record_id`).run(CONN, TYPE, ds, now, ds, CONN, TYPE);
    }
    if (d === 'copy') {
      db.prepare(`insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
                  select ?, ?, s.record_id, s.data, s.content_hash, ?, s.source_modified_date, 0 from record_staging s where s.dataset_id = ?
                  on conflict (connection_id, data_type, record_id) do update set data = excluded.data, content_hash = excluded.content_hash,
                    source_modified_date = excluded.source_modified_date, is_deleted = 0, modified_date = excluded.modified_date
                  where records.content_hash <> excluded.content_hash or records.is_deleted = 1`).run(CONN, TYPE, now, ds);
    } else {
      // Documents of staged rows the upsert will not write (unchanged): not kept.
      db.prepare(`delete from docs where id in (select s.doc_id from record_staging s join records r on r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id
                  where s.dataset_id = ? and r.content_hash = s.content_hash and r.is_deleted = 0)`).run(CONN, TYPE, ds);
      db.prepare(`insert into records (connection_id, data_type, record_id, doc_id, content_hash, modified_date, source_modified_date, is_deleted,
                    status_key, customer_ref_key, supplier_ref_key)
                  select ?, ?, s.record_id, s.doc_id, s.content_hash, ?, s.source_modified_date, 0, s.status_key, s.customer_ref_key, s.supplier_ref_key
                  from record_staging s where s.dataset_id = ?
                  on conflict (connection_id, data_type, record_id) do update set doc_id = excluded.doc_id, content_hash = excluded.content_hash,
                    source_modified_date = excluded.source_modified_date, is_deleted = 0, modified_date = excluded.modified_date,
                    status_key = excluded.status_key, customer_ref_key = excluded.customer_ref_key, supplier_ref_key = excluded.supplier_ref_key
                  where records.content_hash <> excluded.content_hash or records.is_deleted = 1`).run(CONN, TYPE, now, ds);
      if (!keep) db.prepare(`delete from docs where id in (select value from json_each(?))`).run(old);
    }
    db.prepare(`delete from record_staging where dataset_id = ?`).run(ds);
  })();
}

/**
 * `merge`: staging as `copy` (the document in the staging row); the merge writes each added or changed record's document
 * into `docs` once (ids drawn in record id order from the ids the statistics pass collected), points `records` at it,
 * and a change records the previous document's id. History off deletes the replaced documents.
 */
function mergeAtMerge(db: Database, ds: string, now: string, keep: boolean) {
  db.transaction(() => {
    const st = db
      .prepare(`select json_group_array(s.record_id order by s.record_id) filter (where r.content_hash <> s.content_hash or r.is_deleted = 1) as ids,
                       json_group_array(r.doc_id) filter (where r.content_hash <> s.content_hash or r.is_deleted = 1) as old,
                       json_group_array(s.record_id order by s.record_id) filter (where r.record_id is null or r.content_hash <> s.content_hash or r.is_deleted = 1) as w
                from record_staging s left join records r on r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id
                where s.dataset_id = ?`)
      .get(CONN, TYPE, ds) as { ids: string; old: string; w: string };
    if (keep) {
      db.prepare(`insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                    prev_doc_id, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted, prev_status_key, prev_customer_ref_key, prev_supplier_ref_key)
                  select ?, ?, s.record_id, ?, ?, 'updated', s.content_hash, s.source_modified_date, r.doc_id, r.content_hash, r.modified_date,
                         r.source_modified_date, r.is_deleted, r.status_key, r.customer_ref_key, r.supplier_ref_key
                  from json_each(?) as k cross join record_staging s cross join records r
                  where s.dataset_id = ? and s.record_id = k.value and r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id
                  order by k.rowid`).run(CONN, TYPE, ds, now, st.ids, ds, CONN, TYPE);
      db.prepare(`insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date)
                  select ?, ?, s.record_id, ?, ?, 'added', s.content_hash, s.source_modified_date from record_staging s
                  where s.dataset_id = ? and not exists (select 1 from records r where r.connection_id = ? and r.data_type = ? and r.record_id = s.record_id)
                  order by s.record_id`).run(CONN, TYPE, ds, now, ds, CONN, TYPE);
    }
    const base = (db.prepare(`select coalesce(max(id), 0) as b from docs`).get() as { b: number }).b + 1;
    db.prepare(`insert into docs (id, data) select ? + k.key, s.data from json_each(?) as k cross join record_staging s
                where s.dataset_id = ? and s.record_id = k.value order by k.rowid`).run(base, st.w, ds);
    db.prepare(`insert into records (connection_id, data_type, record_id, doc_id, content_hash, modified_date, source_modified_date, is_deleted,
                  status_key, customer_ref_key, supplier_ref_key)
                select ?, ?, s.record_id, ? + k.key, s.content_hash, ?, s.source_modified_date, 0,
                       ${key('s.data', '$.status')}, ${key('s.data', '$.customerRef.id')}, ${key('s.data', '$.supplierRef.id')}
                from json_each(?) as k cross join record_staging s where s.dataset_id = ? and s.record_id = k.value
                on conflict (connection_id, data_type, record_id) do update set doc_id = excluded.doc_id, content_hash = excluded.content_hash,
                  source_modified_date = excluded.source_modified_date, is_deleted = 0, modified_date = excluded.modified_date,
                  status_key = excluded.status_key, customer_ref_key = excluded.customer_ref_key, supplier_ref_key = excluded.supplier_ref_key
                where records.content_hash <> excluded.content_hash or records.is_deleted = 1`).run(CONN, TYPE, base, now, st.w, ds);
    if (!keep) db.prepare(`delete from docs where id in (select value from json_each(?))`).run(st.old);
    db.prepare(`delete from record_staging where dataset_id = ?`).run(ds);
  })();
}

function timed<T>(f: () => T): { ms: number; cpu: number; v: T } {
  const c = process.cpuUsage();
  const t = performance.now();
  const v = f();
  const u = process.cpuUsage(c);
  return { ms: performance.now() - t, cpu: (u.user + u.system) / 1000, v };
}

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function reads(db: Database, d: Design) {
  const from = d === 'copy' ? 'records r' : 'records r join docs d on d.id = r.doc_id';
  const data = d === 'copy' ? 'r.data' : 'd.data';
  const status = d === 'copy' ? key('r.data', '$.status') : 'r.status_key';
  const qs = {
    page: db.prepare(`select r.record_id, ${data} as data, r.modified_date from ${from} where r.connection_id = ? and r.data_type = ? and r.record_id > ? order by r.record_id limit 100`),
    status: db.prepare(`select r.record_id, ${data} as data from ${from} where r.connection_id = ? and r.data_type = ? and ${status} = 'submitted' and r.record_id > ? order by r.record_id limit 100`),
    scan: db.prepare(`select r.record_id, ${data} as data from ${from} where r.connection_id = ? and r.data_type = ? and json_extract(${data}, '$.amountDue') > 3990 and r.record_id > ? order by r.record_id limit 100`),
  };
  const out: Record<string, string> = {};
  for (const [name, q] of Object.entries(qs)) {
    const ts: number[] = [];
    for (let i = 0; i < R; i++) {
      const after = `inv-${String(Math.floor(((i * 7919) % 1000) / 1000 * N)).padStart(8, '0')}`;
      const t = performance.now();
      const rows = q.all(CONN, TYPE, after);
      ts.push(performance.now() - t);
      if (i === 0 && name !== 'scan' && rows.length === 0) throw new Error(`${d} ${name}: no rows`);
    }
    out[name] = `p50 ${pct(ts, 50).toFixed(2)} ms, p99 ${pct(ts, 99).toFixed(2)} ms`;
  }
  return out;
}

function run(d: Design, keep: boolean) {
  const file = `${DIR}/${d}-${keep ? 'on' : 'off'}.db`;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const db = open(file);
  schema(db, d);
  const s0 = timed(() => stage(db, d, 'ds0', 0, 1));
  const m0 = timed(() => merge(db, d, 'ds0', '2026-02-01T00:00:00.000Z', keep));
  db.pragma('wal_checkpoint(truncate)');
  const s1 = timed(() => stage(db, d, 'ds1', 3, EVERY));
  const m1 = timed(() => merge(db, d, 'ds1', '2026-04-01T00:00:00.000Z', keep));
  db.pragma('wal_checkpoint(truncate)');
  const changes = (db.prepare(`select count(*) as n from record_changes`).get() as { n: number }).n;
  const docs = d !== 'copy' ? (db.prepare(`select count(*) as n from docs`).get() as { n: number }).n : N;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const rd = reads(db, d);
  db.close();
  return { d, keep, s0, m0, s1, m1, changes, docs, mb: (pages * 4096) / 2 ** 20, rd };
}


const f = (t: { ms: number; cpu: number }) => `${t.ms.toFixed(0)} ms (cpu ${t.cpu.toFixed(0)})`;
const line = (round: number, r: { d: Design; keep: boolean; s0: any; m0: any; s1: any; m1: any; changes: number; docs: number; mb: number; rd: Record<string, string> }) => {
  console.log(
    `round ${round} ${r.d.padEnd(4)} history ${r.keep ? 'on ' : 'off'}: initial stage ${f(r.s0)}, merge ${f(r.m0)}; update (every ${EVERY}) stage ${f(r.s1)}, merge ${f(r.m1)}; ` +
      `changes ${r.changes}, docs ${r.docs}, size ${r.mb.toFixed(1)} MiB`,
  );
  console.log(`    reads: page ${r.rd.page}; status ${r.rd.status}; scan ${r.rd.scan}`);
};

// ---- PostgreSQL: the same two designs (the product's PostgreSQL schema: key columns generated from `data` on records,
// copied into record_changes; staging unlogged; `docs` logged, written when staged).
const pgKey = (col: keyof typeof RECORD_KEY_COLUMNS, doc: string) => recordKeyExpression(col).replace(/\bdata\b/g, doc);
const KEYS = Object.keys(RECORD_KEY_COLUMNS) as (keyof typeof RECORD_KEY_COLUMNS)[];

async function pgSchema(c: pg.Client, d: Design) {
  const hist = (prevDoc: string) => `create table record_changes (
      seq bigint generated always as identity primary key, connection_id text not null, data_type text not null, record_id text collate "C" not null,
      dataset_id text, committed_at text not null, kind text not null, content_hash text not null, source_modified_date text,
      ${prevDoc}, prev_content_hash text, prev_modified_date text, prev_source_modified_date text, prev_is_deleted integer,
      prev_status_key text, prev_customer_ref_key text, prev_supplier_ref_key text)`;
  const stmts = [
    d === 'copy'
      ? `create table records (connection_id text not null, data_type text not null, record_id text collate "C" not null, data jsonb not null,
           content_hash text not null, modified_date text not null, source_modified_date text, is_deleted integer not null default 0,
           ${KEYS.map((k) => `${k} text generated always as (${pgKey(k, 'data')}) stored`).join(', ')},
           constraint records_pk primary key (connection_id, data_type, record_id))`
      : `create table records (connection_id text not null, data_type text not null, record_id text collate "C" not null, doc_id bigint not null,
           content_hash text not null, modified_date text not null, source_modified_date text, is_deleted integer not null default 0,
           ${KEYS.map((k) => `${k} text`).join(', ')},
           constraint records_pk primary key (connection_id, data_type, record_id))`,
    `create index records_modified on records (connection_id, data_type, modified_date)`,
    `create index records_source_modified on records (connection_id, data_type, source_modified_date)`,
    `create index records_deleted on records (connection_id, data_type, is_deleted, record_id)`,
    `create index records_id_folded on records (connection_id, data_type, lower((record_id) collate "C"))`,
    ...KEYS.map((k) => `create index records_${k} on records (connection_id, data_type, ${k}, record_id, modified_date)`),
    d !== 'once'
      ? `create unlogged table record_staging (dataset_id text not null, record_id text collate "C" not null, data jsonb not null, content_hash text not null,
           source_modified_date text, deleted integer not null, primary key (dataset_id, record_id))`
      : `create unlogged table record_staging (dataset_id text not null, record_id text collate "C" not null, doc_id bigint not null, content_hash text not null,
           source_modified_date text, deleted integer not null, ${KEYS.map((k) => `${k} text`).join(', ')}, primary key (dataset_id, record_id))`,
    ...(d === 'once' ? [`create table docs (id bigint primary key, data jsonb not null)`, `create sequence docs_block increment by 1000`] : []),
    ...(d === 'merge' ? [`create table docs (id bigint primary key, data jsonb not null)`, `create sequence docs_id`] : []),
    hist(d === 'copy' ? 'prev_data jsonb' : 'prev_doc_id bigint'),
    `create index record_changes_feed on record_changes (connection_id, data_type, seq)`,
    `create index record_changes_record on record_changes (connection_id, data_type, record_id, seq)`,
    `create index record_changes_window on record_changes (connection_id, data_type, committed_at, prev_modified_date, prev_is_deleted) ${past}`,
    `create index record_changes_past on record_changes (connection_id, data_type, record_id, committed_at, prev_modified_date) ${past}`,
    `create index record_changes_added on record_changes (connection_id, data_type, committed_at) where kind = 'added'`,
    `create index record_changes_past_id_folded on record_changes (connection_id, data_type, lower((record_id) collate "C"), committed_at, prev_modified_date) ${past}`,
    ...KEYS.map((k) => `create index record_changes_past_${k} on record_changes (connection_id, data_type, prev_${k}, committed_at, prev_modified_date) ${past}`),
  ];
  for (const st of stmts) await c.query(st);
}

async function pgStage(c: pg.Client, d: Design, ds: string, edit: number, every: number) {
  const hash = (t: string) => createHash('sha256').update(t).digest('hex');
  for (let from = 0; from < N; from += 1000) {
    const ids: string[] = [], docs: string[] = [], hashes: string[] = [], smds: string[] = [];
    for (let i = from; i < Math.min(N, from + 1000); i += every) {
      const inv = invoice(i, edit);
      const text = JSON.stringify(inv);
      ids.push(inv.id as string); docs.push(text); hashes.push(hash(text)); smds.push(`2026-0${edit === 0 ? 2 : 4}-01T00:00:00Z`);
    }
    const rows = `rows from (unnest($2::text[]), jsonb_array_elements($3::jsonb), unnest($4::text[]), unnest($5::text[])) as k(id, doc, hash, smd)`;
    const args = [ds, ids, `[${docs.join(',')}]`, hashes, smds];
    if (d !== 'once') await c.query(`insert into record_staging select $1, k.id, k.doc, k.hash, k.smd, 0 from ${rows}`, args);
    else {
      // Document ids drawn as a block (one sequence call a page), the documents read once: written to `docs`, whose
      // RETURNING gives each one's keys, and joined to the staging rows by id.
      const base = Number((await c.query(`select nextval('docs_block') as b`)).rows[0].b);
      await c.query(
        `with x as (insert into docs (id, data) select $6::bigint + k.ord, k.doc from jsonb_array_elements($3::jsonb) with ordinality as k(doc, ord)
                    returning id, ${KEYS.map((k) => `${pgKey(k, 'data')} as ${k}`).join(', ')})
         insert into record_staging select $1, k.id, x.id, k.hash, k.smd, 0, ${KEYS.map((k) => `x.${k}`).join(', ')}
         from rows from (unnest($2::text[]), unnest($4::text[]), unnest($5::text[])) with ordinality as k(id, hash, smd, ord) join x on x.id = $6::bigint + k.ord`,
        [...args, base],
      );
    }
  }
}

async function pgMerge(c: pg.Client, d: Design, ds: string, now: string, keep: boolean) {
  await c.query('begin');
  await c.query(`select set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)`);
  // `merge` also collects the ids of the rows the upsert writes (added or changed), in the same pass (a left join).
  const st = await c.query(
    `select array_agg(s.record_id order by s.record_id) filter (where r.content_hash <> s.content_hash) as ids,
            ${d === 'copy' ? 'array_agg(null::bigint)' : 'array_agg(r.doc_id)'} filter (where r.content_hash <> s.content_hash) as old
            ${d === 'merge' ? ', array_agg(s.record_id order by s.record_id) filter (where r.record_id is null or r.content_hash <> s.content_hash or r.is_deleted = 1) as w' : ''}
     from record_staging s ${d === 'merge' ? 'left ' : ''}join records r on r.connection_id = $1 and r.data_type = $2 and r.record_id = s.record_id where s.dataset_id = $3`,
    [CONN, TYPE, ds],
  );
  const ids: string[] = st.rows[0]?.ids ?? [];
  const w: string[] = st.rows[0]?.w ?? [];
  const old: string[] = st.rows[0]?.old ?? [];
  const cols = `(connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date,
                 ${d === 'copy' ? 'prev_data' : 'prev_doc_id'}, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted,
                 prev_status_key, prev_customer_ref_key, prev_supplier_ref_key)`;
  if (keep && ids.length) {
    await c.query(
      `insert into record_changes ${cols}
       select $1, $2, s.record_id, $3, $4, 'updated', s.content_hash, s.source_modified_date, ${d === 'copy' ? 'r.data' : 'r.doc_id'}, r.content_hash,
              r.modified_date, r.source_modified_date, r.is_deleted, r.status_key, r.customer_ref_key, r.supplier_ref_key
       from unnest($5::text[]) as k(id) join record_staging s on s.dataset_id = $3 and s.record_id = k.id
            join records r on r.connection_id = $1 and r.data_type = $2 and r.record_id = s.record_id
       order by s.record_id`,
      [CONN, TYPE, ds, now, ids],
    );
  }
  const up =
    d === 'copy'
      ? `insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
         select $1, $2, s.record_id, s.data, s.content_hash, $3, s.source_modified_date, 0 from record_staging s where s.dataset_id = $4
         on conflict (connection_id, data_type, record_id) do update set data = excluded.data, content_hash = excluded.content_hash,
           source_modified_date = excluded.source_modified_date, is_deleted = 0, modified_date = excluded.modified_date
         where records.content_hash <> excluded.content_hash or records.is_deleted = 1`
      : `insert into records (connection_id, data_type, record_id, doc_id, content_hash, modified_date, source_modified_date, is_deleted, ${KEYS.join(', ')})
         select $1, $2, s.record_id, s.doc_id, s.content_hash, $3, s.source_modified_date, 0, ${KEYS.map((k) => `s.${k}`).join(', ')}
         from record_staging s where s.dataset_id = $4
         on conflict (connection_id, data_type, record_id) do update set doc_id = excluded.doc_id, content_hash = excluded.content_hash,
           source_modified_date = excluded.source_modified_date, is_deleted = 0, modified_date = excluded.modified_date,
           ${KEYS.map((k) => `${k} = excluded.${k}`).join(', ')}
         where records.content_hash <> excluded.content_hash or records.is_deleted = 1`;
  const upsert = `with up as (${up} returning record_id, content_hash, source_modified_date, (xmax = 0) as inserted)
                  insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date)
                  select $1, $2, up.record_id, $4, $3, 'added', up.content_hash, up.source_modified_date from up where up.inserted and $5::boolean
                  order by up.record_id`;
  if (d === 'merge') {
    // Documents written once, here: ids drawn per written row (in record id order), the documents copied from staging
    // into `docs`, the records pointed at them with their keys computed from the staged document.
    await c.query(
      `with w as materialized (select k.id, nextval('docs_id') as doc_id from unnest($5::text[]) with ordinality as k(id, ord) order by k.ord),
            dd as (insert into docs (id, data) select w.doc_id, s.data from w join record_staging s on s.dataset_id = $4 and s.record_id = w.id),
            up as (insert into records (connection_id, data_type, record_id, doc_id, content_hash, modified_date, source_modified_date, is_deleted, ${KEYS.join(', ')})
                   select $1, $2, s.record_id, w.doc_id, s.content_hash, $3, s.source_modified_date, 0, ${KEYS.map((k) => pgKey(k, 's.data')).join(', ')}
                   from w join record_staging s on s.dataset_id = $4 and s.record_id = w.id
                   on conflict (connection_id, data_type, record_id) do update set doc_id = excluded.doc_id, content_hash = excluded.content_hash,
                     source_modified_date = excluded.source_modified_date, is_deleted = 0, modified_date = excluded.modified_date,
                     ${KEYS.map((k) => `${k} = excluded.${k}`).join(', ')}
                   where records.content_hash <> excluded.content_hash or records.is_deleted = 1
                   returning record_id, content_hash, source_modified_date, (xmax = 0) as inserted)
       insert into record_changes (connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date)
       select $1, $2, up.record_id, $4, $3, 'added', up.content_hash, up.source_modified_date from up where up.inserted and $6::boolean
       order by up.record_id`,
      [CONN, TYPE, now, ds, w, keep],
    );
  } else await c.query(upsert, [CONN, TYPE, now, ds, keep]);
  if (d !== 'copy' && !keep && old.length) await c.query(`delete from docs where id = any($1::bigint[])`, [old]);
  await c.query(`delete from record_staging where dataset_id = $1`, [ds]);
  await c.query('commit');
}

async function pgRun(admin: string, d: Design, keep: boolean, round: number) {
  const name = `probe_${d}_${keep ? 'on' : 'off'}`;
  const a = new pg.Client({ connectionString: admin });
  await a.connect();
  await a.query(`drop database if exists ${name} with (force)`);
  await a.query(`create database ${name}`);
  await a.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  const backend = Number((await c.query('select pg_backend_pid() as p')).rows[0].p);
  const ticks = () => processCpuMs(backend);
  const t = async (fn: () => Promise<void>) => {
    const c0 = process.cpuUsage(), b0 = ticks(), t0 = performance.now();
    await fn();
    const u0 = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpu: (u0.user + u0.system) / 1000 + ticks() - b0 };
  };
  await pgSchema(c, d);
  const s0 = await t(() => pgStage(c, d, 'ds0', 0, 1));
  const m0 = await t(() => pgMerge(c, d, 'ds0', '2026-02-01T00:00:00.000Z', keep));
  await c.query('vacuum analyze');
  await c.query('checkpoint');
  const s1 = await t(() => pgStage(c, d, 'ds1', 3, EVERY));
  const m1 = await t(() => pgMerge(c, d, 'ds1', '2026-04-01T00:00:00.000Z', keep));
  await c.query('checkpoint');
  await c.query('vacuum analyze');
  const changes = Number((await c.query('select count(*) as n from record_changes')).rows[0].n);
  const docs = d !== 'copy' ? Number((await c.query('select count(*) as n from docs')).rows[0].n) : N;
  const mb = Number((await c.query('select pg_database_size(current_database()) as b')).rows[0].b) / 2 ** 20;
  const from = d === 'copy' ? 'records r' : 'records r join docs d on d.id = r.doc_id';
  const data = d === 'copy' ? 'r.data' : 'd.data';
  const qs: Record<string, string> = {
    page: `select r.record_id, ${data} as data, r.modified_date from ${from} where r.connection_id = $1 and r.data_type = $2 and r.record_id > $3 order by r.record_id limit 100`,
    status: `select r.record_id, ${data} as data from ${from} where r.connection_id = $1 and r.data_type = $2 and r.status_key = 'submitted' and r.record_id > $3 order by r.record_id limit 100`,
    scan: `select r.record_id, ${data} as data from ${from} where r.connection_id = $1 and r.data_type = $2 and (${data} ->> 'amountDue')::numeric > 3990 and r.record_id > $3 order by r.record_id limit 100`,
  };
  const rd: Record<string, string> = {};
  for (const [n, q] of Object.entries(qs)) {
    const ts: number[] = [];
    for (let i = 0; i < R; i++) {
      const after = `inv-${String(Math.floor((((i * 7919) % 1000) / 1000) * N)).padStart(8, '0')}`;
      const t0 = performance.now();
      const res = await c.query({ text: q, values: [CONN, TYPE, after], rowMode: 'array' });
      ts.push(performance.now() - t0);
      if (i === 0 && n === 'page' && res.rowCount === 0) throw new Error(`${d} ${n}: no rows`);
    }
    rd[n] = `p50 ${pct(ts, 50).toFixed(2)} ms, p99 ${pct(ts, 99).toFixed(2)} ms`;
  }
  await c.end();
  line(round, { d, keep, s0, m0, s1, m1, changes, docs, mb, rd });
}

async function main() {
  const rounds = Number(process.env.ROUNDS ?? 2);
  if ((process.env.DIALECT ?? 'sqlite') === 'sqlite') {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    for (let round = 1; round <= rounds; round++)
      for (const d of (process.env.DESIGNS ?? 'copy,once,merge').split(',') as Design[]) for (const keep of [false, true]) line(round, run(d, keep));
    return;
  }
  const tmp = process.env.PGBASE ? undefined : await startTempPostgres();
  try {
    for (let round = 1; round <= rounds; round++)
      for (const d of (process.env.DESIGNS ?? 'copy,once,merge').split(',') as Design[]) for (const keep of [false, true]) await pgRun(process.env.PGBASE ?? tmp!.url, d, keep, round);
  } finally {
    tmp?.stop();
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
