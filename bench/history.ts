/**
 * Record history (issue 16) cost, on both databases:
 * - ingest: a pull's store work (stage the mapped documents page by page, then the one-transaction merge), history on
 *   vs off (a company that opted out) — an initial load (every record added) and an update pull (10 % changed);
 * - pull: the same cases end to end — a `syncline worker` pulling from a `syncline sim` process (./history-pull.ts);
 * - storage: bytes of record_changes (table + indexes) per recorded change, by kind;
 * - asOf list latency over 1,000,000 invoices of which 10 % have 10 versions (page of 100 + totalResults, as the
 *   endpoint runs them), next to the same list of the current store.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/store/schema.js';
import { newId } from '../src/lib/ids.js';
import { recordEntity } from '../src/api/query-entities.js';
import { compileListQuery } from '../src/query/index.js';
import { RecordsRepository, type StagedRecord } from '../src/store/records.repository.js';
import { migrateToLatest, openStore, type Dialect, type Store } from '../src/store/db.js';
import { backfillCountsAt } from '../src/store/migrations/0028-history-counts.js';
import { benchDatabase } from './support/databases.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';
import { insertCompany, seedInvoices } from './support/seed.js';
import { historyPull } from './history-pull.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const PAGE = 1000;

/** A mapped invoice of the Sandbox connector's shape and size (~1.7 KB). */
export function invoice(i: number, edit: number): Record<string, unknown> {
  const sub = Math.round((((i * 7919) % 400000) / 100 + 20 + edit) * 100) / 100;
  const line = (n: number) => ({
    description: `Line ${n} (standard)`,
    unitAmount: 19.84,
    quantity: 3,
    subTotal: 59.51,
    taxAmount: 11.9,
    totalAmount: 71.41,
    accountRef: { id: '4d8b0046-f706-4ed0-8688-000000000003' },
    taxRateRef: { id: 'OUTPUT2' },
    itemRef: { id: `401bbf29-ee4a-4366-97e0-00000000000${n}`, name: 'Training day' },
    trackingCategoryRefs: [{ id: '835d241b-a4d4-4aa6-9304-000000000001', name: 'South' }],
    tracking: { categoryRefs: [{ id: '835d241b-a4d4-4aa6-9304-000000000001', name: 'South' }], isBilledTo: 'NotApplicable', isRebilledTo: 'NotApplicable' },
    isDirectIncome: false,
  });
  return {
    id: `inv-${String(i).padStart(8, '0')}`,
    invoiceNumber: `INV-${String(i).padStart(7, '0')}`,
    customerRef: { id: `b18f7d51-c635-4864-87d9-${(i % 5000).toString(16).padStart(12, '0')}`, companyName: `Customer ${i % 5000} Ltd` },
    issueDate: '2026-01-05T00:00:00',
    dueDate: '2026-01-19T00:00:00',
    currency: 'GBP',
    currencyRate: 1,
    lineItems: [line(1), line(2)],
    paymentAllocations: [
      {
        payment: { id: `5b2cf222-579b-4055-bb76-${i.toString(16).padStart(12, '0')}`, reference: `BACS ${100000 + i}`, currency: 'GBP', currencyRate: 1, paidOnDate: '2026-01-12T00:00:00', totalAmount: sub * 1.2 },
        allocation: { currency: 'GBP', currencyRate: 1, allocatedOnDate: '2026-01-12T00:00:00', totalAmount: sub * 1.2 },
      },
    ],
    totalDiscount: 0,
    subTotal: sub,
    totalTaxAmount: Math.round(sub * 20) / 100,
    totalAmount: Math.round(sub * 120) / 100,
    amountDue: edit ? Math.round(sub * 120) / 100 : 0,
    status: edit ? 'Submitted' : 'Paid',
  };
}

/**
 * BENCH_HISTORY_PROFILE=1: each pull's merge also runs through a Kysely that logs every statement's duration, and the
 * ingest part prints where each merge's time went (statement → ms), history on next to history off.
 */
const PROFILE = process.env.BENCH_HISTORY_PROFILE === '1';

function profiledStore(dialect: Dialect, location: string, sink: Map<string, number>): Store & { close(): Promise<void> } {
  const log = (e: LogEvent) => {
    if (e.level !== 'query') return;
    const text = e.query.sql.replace(/\s+/g, ' ');
    const where = text.indexOf(' where ');
    const label = where > 60 ? `${text.slice(0, 60)} …${text.slice(where, where + 90)}` : text.slice(0, 150);
    sink.set(label, (sink.get(label) ?? 0) + e.queryDurationMillis);
  };
  const db =
    dialect === 'sqlite'
      ? new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(location) }), log })
      : new Kysely<Database>({ dialect: new PostgresDialect({ pool: profilingPool(location) }), log });
  return { db, dialect, pool: undefined, close: () => db.destroy() };
}

/** A pool whose dropped connections do not crash the benchmark (as the store's own pool, src/store/db.ts). */
function profilingPool(location: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: location, max: 2 });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** One pull's store work: stage `n` documents page by page, then merge in one transaction. Returns milliseconds. */
async function pullStoreWork(store: Store, connectionId: string, n: number, editOf: (i: number) => number, at: string, profile?: { location: string; log: (m: string) => void; label: string }): Promise<number> {
  const sink = new Map<string, number>();
  const prof = profile ? profiledStore(store.dialect, profile.location, sink) : undefined;
  try {
    return await pullStoreWorkOn(prof ?? store, connectionId, n, editOf, at);
  } finally {
    if (prof && profile) {
      await prof.close();
      const merge = [...sink].filter(([k]) => !k.startsWith('insert into "record_staging"'));
      const total = merge.reduce((a, [, v]) => a + v, 0);
      profile.log(`${profile.label}: merge statements ${total.toFixed(0)} ms`);
      for (const [k, v] of merge.sort((a, b) => b[1] - a[1]).slice(0, 12)) profile.log(`  ${v.toFixed(0).padStart(6)} ms  ${k}`);
    }
  }
}

/**
 * The platform's modified date of record `i`: `at` for a record this pull edits, else the date of the initial load it
 * kept since (March pulls edit, February ones load). It is part of the stored document and of its hash, so a date that
 * moved for every record made every record "changed" (until 2026-12-07 the "10 % changed" update pull changed all).
 */
export const sourceDateOf = (edit: number, at: string) => (edit ? at : at.replace('-03-', '-02-'));

async function pullStoreWorkOn(store: Store, connectionId: string, n: number, editOf: (i: number) => number, at: string): Promise<number> {
  const repo = new RecordsRepository(store.db, store.dialect);
  const ds = newId();
  const started = performance.now();
  for (let from = 0; from < n; from += PAGE) {
    const page: StagedRecord[] = [];
    for (let i = from; i < Math.min(n, from + PAGE); i++) {
      const edit = editOf(i);
      const doc = invoice(i, edit);
      page.push({ id: doc.id as string, data: doc, sourceModifiedDate: sourceDateOf(edit, at), deleted: false });
    }
    await repo.stage(ds, page);
  }
  await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId, dataType: 'invoices', now: at, fullListing: false }));
  return performance.now() - started;
}

async function ingest(ctx: BenchContext, dialect: Dialect): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 2_000 : Number(process.env.BENCH_HISTORY_INGEST ?? 20_000);
  const rounds = ctx.size === 'smoke' ? 1 : Number(process.env.BENCH_HISTORY_ROUNDS ?? 2);
  const db = await benchDatabase(ctx, dialect);
  const rows: BenchRow[] = [];
  try {
    const times = { initialOn: [] as number[], initialOff: [] as number[], updateOn: [] as number[], updateOff: [] as number[], allOn: [] as number[], allOff: [] as number[] };
    let changes = { added: 0, updated: 0 };
    for (let r = 0; r < rounds; r++) {
      const on = await insertCompany(db.store, `History on ${r}`);
      const off = await insertCompany(db.store, `History off ${r}`);
      await db.store.db.insertInto('history_optouts').values({ company_id: off.companyId, since: new Date().toISOString() }).execute();
      // Alternate which goes first, so neither always meets a colder or a fuller database.
      const order = r % 2 === 0 ? [on, off] : [off, on];
      for (const c of order) {
        const profile = PROFILE ? { location: db.location, log: ctx.log, label: `${dialect} round ${r} initial load, history ${c === on ? 'on' : 'off'}` } : undefined;
        const ms = await pullStoreWork(db.store, c.connectionId, n, () => 0, `2026-02-0${r + 1}T00:00:00.000Z`, profile);
        (c === on ? times.initialOn : times.initialOff).push(ms);
        ctx.log(`${dialect}: initial load of ${n} (${c === on ? 'history on' : 'history off'}): ${ms.toFixed(0)} ms`);
      }
      for (const c of order) {
        const profile = PROFILE ? { location: db.location, log: ctx.log, label: `${dialect} round ${r} update pull, history ${c === on ? 'on' : 'off'}` } : undefined;
        const ms = await pullStoreWork(db.store, c.connectionId, n, (i) => (i % 10 === r ? r + 1 : 0), `2026-03-0${r + 1}T00:00:00.000Z`, profile);
        (c === on ? times.updateOn : times.updateOff).push(ms);
        ctx.log(`${dialect}: update pull, 10 % of ${n} changed (${c === on ? 'history on' : 'history off'}): ${ms.toFixed(0)} ms`);
      }
      if (r === 0) {
        const k = await db.store.db
          .selectFrom('record_changes')
          .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
          .where('connection_id', '=', on.connectionId)
          .groupBy('kind')
          .execute();
        changes = { added: Number(k.find((x) => x.kind === 'added')?.n ?? 0), updated: Number(k.find((x) => x.kind === 'updated')?.n ?? 0) };
        // The update pull must have changed what its name says (10 %), not every record.
        if (changes.updated !== Math.ceil(n / 10)) throw new Error(`the update pull recorded ${changes.updated} updates, not ${Math.ceil(n / 10)}`);
      }
      // Every record changed (a full re-map, a platform touching everything): history copies every previous document.
      for (const c of order) {
        const profile = PROFILE ? { location: db.location, log: ctx.log, label: `${dialect} round ${r} update of every record, history ${c === on ? 'on' : 'off'}` } : undefined;
        const ms = await pullStoreWork(db.store, c.connectionId, n, () => r + 3, `2026-04-0${r + 1}T00:00:00.000Z`, profile);
        (c === on ? times.allOn : times.allOff).push(ms);
        ctx.log(`${dialect}: update pull, every one of ${n} changed (${c === on ? 'history on' : 'history off'}): ${ms.toFixed(0)} ms`);
      }
    }
    const med = (a: number[]) => percentile(a, 50);
    const rate = (ms: number) => (n / ms) * 1000;
    rows.push({
      metric: `${DB_NAME[dialect]}: initial load of ${n.toLocaleString('en')} invoices (stage + merge), history on`,
      value: rate(med(times.initialOn)),
      unit: 'records/s',
      baseline: { label: 'history off', value: rate(med(times.initialOff)) },
    });
    rows.push({
      metric: `${DB_NAME[dialect]}: update pull of ${n.toLocaleString('en')} invoices, 10 % changed, history on`,
      value: rate(med(times.updateOn)),
      unit: 'records/s',
      baseline: { label: 'history off', value: rate(med(times.updateOff)) },
    });
    rows.push({
      metric: `${DB_NAME[dialect]}: update pull of ${n.toLocaleString('en')} invoices, every one changed, history on`,
      value: rate(med(times.allOn)),
      unit: 'records/s',
      baseline: { label: 'history off', value: rate(med(times.allOff)) },
    });
    // Storage: everything record_changes holds after round 0's two pulls of the "on" company and later rounds.
    const bytes = await historyBytes(db.store);
    const total = Number((await db.store.db.selectFrom('record_changes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const recordBytes = await tableBytes(db.store, 'records');
    const records = Number((await db.store.db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    rows.push({
      metric: `${DB_NAME[dialect]}: history storage per recorded change (table + indexes; ${total.toLocaleString('en')} changes, ${Math.round((changes.updated / Math.max(1, changes.added + changes.updated)) * 100)} % updates)`,
      value: bytes / total,
      unit: 'bytes',
      baseline: { label: 'records table + indexes per stored record', value: recordBytes / records },
    });
    const updatedOnly = await updatedChangeBytes(db.store);
    if (updatedOnly !== undefined) {
      rows.push({
        metric: `${DB_NAME[dialect]}: history storage per updated-record change (its previous document included)`,
        value: updatedOnly,
        unit: 'bytes',
        baseline: { label: 'records table + indexes per stored record', value: recordBytes / records },
      });
    }
  } finally {
    await db.drop();
  }
  return rows;
}

/** record_changes with all its indexes (migrations 0014 and 0020). */
async function historyBytes(store: Store): Promise<number> {
  if (store.dialect === 'postgres') await sql`vacuum analyze record_changes`.execute(store.db);
  return tableBytes(store, 'record_changes');
}

async function tableBytes(store: Store, table: string): Promise<number> {
  if (store.dialect === 'postgres') {
    const r = await sql<{ b: number }>`select pg_total_relation_size(${table}) as b`.execute(store.db);
    return Number(r.rows[0]!.b);
  }
  const r = await sql<{ b: number }>`select sum(pgsize) as b from dbstat where name in (select name from sqlite_master where tbl_name = ${table})`.execute(store.db);
  return Number(r.rows[0]!.b);
}

/** Average stored size of an `updated` change row's columns (the previous document dominates), plus index entries. */
async function updatedChangeBytes(store: Store): Promise<number | undefined> {
  const r =
    store.dialect === 'postgres'
      ? await sql<{ b: number }>`select avg(pg_column_size(c.*)) as b from record_changes c where kind = 'updated'`.execute(store.db)
      : await sql<{ b: number }>`select avg(length(prev_data) + length(record_id) + length(connection_id) + 120) as b from record_changes where kind = 'updated'`.execute(store.db);
  const v = r.rows[0]?.b;
  return v == null ? undefined : Number(v);
}

// ---- asOf over a million invoices -----------------------------------------------------------------------------

const BASE_S = Date.UTC(2025, 5, 1) / 1000;
const MONTH_S = 30 * 86_400;

/**
 * Writes the history a million invoices would have after their pulls: an `added` change for every invoice, and for
 * every tenth one nine later `updated` changes a month apart (10 versions), the records' modified dates following.
 * Generated inside the database, indexes built afterwards (as the seed does).
 */
export async function seedHistory(store: Store, connectionId: string, log: (m: string) => void): Promise<void> {
  const pg = store.dialect === 'postgres';
  const lit = `'${connectionId}'`;
  const at = (k: string) =>
    pg
      ? `to_char(to_timestamp(${BASE_S} + (${k}) * ${MONTH_S} + (n % 86400)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
      : `strftime('%Y-%m-%dT%H:%M:%fZ', ${BASE_S} + (${k}) * ${MONTH_S} + (n % 86400), 'unixepoch')`;
  const defs = pg
    ? (await sql<{ name: string; sql: string }>`select indexname as name, indexdef as sql from pg_indexes where tablename = 'record_changes' and indexname <> 'record_changes_pkey'`.execute(store.db)).rows
    : (await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and tbl_name = 'record_changes' and sql is not null`.execute(store.db)).rows;
  for (const ix of defs) await sql.raw(`drop index ${ix.name}`).execute(store.db);
  const numbered = `select record_id, data, content_hash, modified_date, source_modified_date, is_deleted${pg ? ', status_key, customer_ref_key, supplier_ref_key' : ''}, row_number() over (order by record_id) as n
                    from records where connection_id = ${lit} and data_type = 'invoices'`;
  // PostgreSQL: a previous state's keys, as the merge writes them (migration 0033: records' key columns).
  const keyCols = pg ? ', prev_status_key, prev_customer_ref_key, prev_supplier_ref_key' : '';
  const cols = `(connection_id, data_type, record_id, dataset_id, committed_at, kind, content_hash, source_modified_date, prev_data, prev_content_hash, prev_modified_date, prev_source_modified_date, prev_is_deleted${keyCols})`;
  // Invoices without versions: one `added` change at their modified date (`deleted` for those stored deleted: a record
  // first seen deleted is never added by a merge, so this is the form migration 0014's baseline gives them).
  await sql
    .raw(
      `insert into record_changes ${cols}
       select ${lit}, 'invoices', record_id, null, modified_date, case when is_deleted = 1 then 'deleted' else 'added' end, content_hash, source_modified_date, null, null, null, null, null${pg ? ', null, null, null' : ''}
       from (${numbered}) r where n % 10 <> 0 order by record_id`,
    )
    .execute(store.db);
  log('history: an added change per invoice written');
  // Every tenth: version 1 added, versions 2…10 updated (each replacing the one before).
  await sql
    .raw(
      `insert into record_changes ${cols}
       select ${lit}, 'invoices', record_id, null, ${at('k')}, case when k = 1 then 'added' else 'updated' end, content_hash, source_modified_date,
              case when k = 1 then null else data end, case when k = 1 then null else content_hash end,
              case when k = 1 then null else ${at('k - 1')} end, case when k = 1 then null else source_modified_date end, case when k = 1 then null else 0 end
              ${pg ? ', case when k = 1 then null else status_key end, case when k = 1 then null else customer_ref_key end, case when k = 1 then null else supplier_ref_key end' : ''}
       from (${numbered}) r, (${pg ? 'select generate_series(1, 10) as k' : 'with recursive s(k) as (select 1 union all select k + 1 from s where k < 10) select k from s'}) v
       where n % 10 = 0 order by record_id, k`,
    )
    .execute(store.db);
  await sql
    .raw(
      `update records set modified_date = v.at from (select record_id, ${at('10')} as at from (${numbered}) r where n % 10 = 0) v
       where records.connection_id = ${lit} and records.data_type = 'invoices' and records.record_id = v.record_id`,
    )
    .execute(store.db);
  log('history: 10 versions of every tenth invoice written');
  await store.db.connection().execute(async (db) => {
    if (pg) await sql`set maintenance_work_mem = '512MB'`.execute(db);
    for (const ix of defs) await sql.raw(ix.sql).execute(db);
  });
  // The counts as of each instant the merges would have kept (migration 0028), from this history.
  await backfillCountsAt(store.db, { connectionId, dataType: 'invoices' });
  await sql.raw(pg ? 'vacuum analyze' : 'analyze').execute(store.db);
  log('history: counts as of each instant written');
}

async function asOfLatency(ctx: BenchContext, dialect: Dialect): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 5_000 : Number(process.env.BENCH_HISTORY_INVOICES ?? 1_000_000);
  const samples = ctx.size === 'smoke' ? 5 : Number(process.env.BENCH_HISTORY_SAMPLES ?? 40);
  // BENCH_HISTORY_SQLITE_FILE / BENCH_HISTORY_PG_URL: a database kept between runs (seeded by the first, which takes
  // 10–25 minutes on 2 loaded cores; later runs migrate it to the latest schema and only measure).
  const kept = dialect === 'sqlite' ? process.env.BENCH_HISTORY_SQLITE_FILE : process.env.BENCH_HISTORY_PG_URL;
  const db = kept ? keptDatabase(dialect, kept) : await benchDatabase(ctx, dialect);
  try {
    if (kept) {
      const t = performance.now();
      await migrateToLatest(db.store);
      ctx.log(`${dialect}: migrated to the latest schema in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const name = `Versioned Invoices Ltd (${n})`;
    const found = await db.store.db.selectFrom('companies as co').innerJoin('connections as c', 'c.company_id', 'co.id').select('c.id').where('co.name', '=', name).executeTakeFirst();
    let connectionId = found?.id;
    if (!connectionId) {
      connectionId = (await insertCompany(db.store, name)).connectionId;
      await seedInvoices(db.store, connectionId, n, (m) => ctx.log(`${dialect}: ${m}`));
      await seedHistory(db.store, connectionId, (m) => ctx.log(`${dialect}: ${m}`));
    } else ctx.log(`${dialect}: reusing the seeded ${kept}`);
    const repo = new RecordsRepository(db.store.db, dialect);
    // Between versions 5 and 6 of the versioned invoices: half their history lies after it.
    const asOf = new Date((BASE_S + 5.5 * MONTH_S) * 1000).toISOString();
    const cases: { label: string; query: string | undefined }[] = [
      { label: 'no filter (first page)', query: undefined },
      { label: 'status=Submitted', query: 'status=Submitted' },
      { label: 'metadata.isDeleted!=true', query: 'metadata.isDeleted!=true' },
    ];
    const time = async (query: string | undefined, at: string | undefined) => {
      const list = compileListQuery(recordEntity('invoices'), { query }, dialect);
      const t = performance.now();
      const page = await repo.list(connectionId, 'invoices', { page: 1, pageSize: 100 }, list, 'text', at);
      if (page.rows.length === 0) throw new Error(`empty asOf page for ${query ?? 'no filter'}`);
      return performance.now() - t;
    };
    const rows: BenchRow[] = [];
    for (const c of cases) {
      // A filtered count is computed once per (filter, instant) and reused while no merge commits at or before the
      // instant (migration 0028): the first read at an instant, each at a new instant in the same interval of versions.
      if (c.query !== undefined && !c.query.startsWith('metadata.isDeleted')) {
        const fresh: number[] = [];
        const current: number[] = [];
        for (let i = 0; i < samples; i++) {
          fresh.push(await time(c.query, new Date((BASE_S + 5.5 * MONTH_S) * 1000 + 1 + i).toISOString()));
          current.push(await time(c.query, undefined));
        }
        for (const p of [50, 99]) {
          rows.push({
            metric: `${DB_NAME[dialect]}: asOf list, ${c.label}, first read at an instant (count not cached) p${p}`,
            value: percentile(fresh, p),
            unit: 'ms',
            baseline: { label: `same list of the current store, p${p}`, value: percentile(current, p) },
          });
        }
      }
      await time(c.query, asOf);
      await time(c.query, undefined);
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < samples; i++) {
        a.push(await time(c.query, asOf));
        b.push(await time(c.query, undefined));
      }
      for (const p of [50, 99]) {
        rows.push({
          metric: `${DB_NAME[dialect]}: asOf list, ${c.label} p${p}`,
          value: percentile(a, p),
          unit: 'ms',
          baseline: { label: `same list of the current store, p${p}`, value: percentile(b, p) },
        });
      }
    }
    return rows;
  } finally {
    await db.drop();
  }
}

function keptDatabase(dialect: Dialect, location: string): { store: Store; drop(): Promise<void> } {
  const store = dialect === 'sqlite' ? openStore({ sqliteFile: location }) : openStore({ databaseUrl: location, poolSize: 10 });
  return { store, drop: () => store.close() };
}

export const history: Benchmark = {
  name: 'history',
  description:
    'record history: pull store work and end-to-end pulls with history on vs off, storage per recorded change, and asOf list latency over 1,000,000 invoices with 10 versions of 10 % of them',
  async run(ctx) {
    // BENCH_HISTORY_PARTS=ingest, =pull or =asof runs one part only (or a comma-separated list of them).
    const parts = (process.env.BENCH_HISTORY_PARTS ?? 'ingest,pull,asof').split(',');
    const unknown = parts.filter((p) => !['ingest', 'pull', 'asof'].includes(p));
    if (unknown.length) throw new Error(`BENCH_HISTORY_PARTS: unknown part(s) ${unknown.join(', ')}; known: ingest, pull, asof`);
    const rows: BenchRow[] = [];
    // BENCH_HISTORY_DIALECTS=sqlite or =postgres runs either part on one database only.
    const dialects = (process.env.BENCH_HISTORY_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
    if (parts.includes('ingest')) for (const d of dialects) rows.push(...(await ingest(ctx, d)));
    if (parts.includes('pull')) rows.push(...(await historyPull(ctx, dialects)));
    if (parts.includes('asof')) for (const d of dialects) rows.push(...(await asOfLatency(ctx, d)));
    return rows;
  },
};
