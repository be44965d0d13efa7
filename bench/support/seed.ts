/**
 * Fast seeding for benchmarks: rows are generated inside the database (PostgreSQL generate_series, SQLite a recursive
 * CTE), so a million invoices take seconds, not the minutes a pull would. Documents have the shape and size (~1.7 KB)
 * of the Sandbox connector's mapped invoices: references, two line items with tracking, a payment allocation.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { newId } from '../../src/lib/ids.js';
import { defaultSetting } from '../../src/domain/sync-settings.js';
import type { Dialect, Store } from '../../src/store/db.js';
import { rebucket } from '../../src/store/record-buckets.js';
import { newDatasetRow } from '../../src/store/datasets.repository.js';
import { benchDatabase, type BenchDb } from './databases.js';
import type { BenchContext } from './harness.js';

export const CUSTOMERS = 5000;

/** Record id of invoice i (1-based), as the seed writes it. */
export const invoiceId = (i: number) => `28c2fbb1-8724-4b60-8ec1-${i.toString(16).padStart(12, '0')}`;
/** Customer id of customer c (0-based). */
export const customerId = (c: number) => `b18f7d51-c635-4864-87d9-${c.toString(16).padStart(12, '0')}`;

/** History of the seeded invoices: 3 years ending here; invoice i is issued at START + i/n of it. */
const START_S = Date.UTC(2023, 5, 1) / 1000;
const SPAN_S = 3 * 365 * 86_400;

/** modified_date of invoice i of n (issue + 7 days + i mod 1 day), as the seed computes it. */
export function modifiedAt(i: number, n: number): Date {
  return new Date((START_S + Math.floor((i * SPAN_S) / n) + 7 * 86_400 + (i % 86_400)) * 1000);
}

export async function insertCompany(store: Store, name: string, opts: { linked?: boolean } = {}): Promise<{ companyId: string; connectionId: string }> {
  const now = new Date().toISOString();
  const companyId = newId();
  const connectionId = newId();
  await store.db.insertInto('companies').values({ id: companyId, name, description: null, tags: '{}', created_at: now }).execute();
  await store.db
    .insertInto('connections')
    .values({
      id: connectionId,
      company_id: companyId,
      integration_key: 'mqjo',
      status: opts.linked === false ? 'PendingAuth' : 'Linked',
      credentials: null,
      connection_info: null,
      errors: null,
      created_at: now,
      updated_at: now,
      last_sync: null,
      linked_at: now,
    })
    .execute();
  return { companyId, connectionId };
}

/** A Complete dataset of the type, so reads of it answer 200 (a type never pulled answers 409). */
export async function insertCompleteDataset(store: Store, companyId: string, connectionId: string, dataType: string, records = 0): Promise<void> {
  const now = new Date().toISOString();
  await store.db
    .insertInto('datasets')
    .values(
      newDatasetRow({
        company_id: companyId,
        connection_id: connectionId,
        data_type: dataType,
        status: 'Complete',
        progress: 100,
        requested: now,
        started: now,
        completed: now,
        read_id: newId(),
        trigger: 'refresh',
        settings: JSON.stringify(defaultSetting(dataType as never)),
        attempts: 1,
        full_listing: 1,
        records_added: records,
      }),
    )
    .execute();
}

/**
 * Inserts invoices 1…n for a connection. Status mix as the Sandbox's: 85 % Paid, 9 % PartiallyPaid, 4 % Submitted,
 * 1 % Draft, 1 % Void; 1 % flagged deleted; customers round-robin over 5,000.
 */
export async function seedInvoices(store: Store, connectionId: string, n: number, log: (m: string) => void = () => {}): Promise<void> {
  // Secondary indexes are dropped and rebuilt from their own definitions: one sorted build is several times faster
  // than maintaining eight indexes row by row.
  const indexes = await recordIndexes(store);
  for (const ix of indexes) await sql.raw(`drop index ${ix.name}`).execute(store.db);
  // PostgreSQL spends its time storing (TOASTing) the ~2 KB documents: two connections keep both cores busy.
  const chunk = 50_000;
  const chunks: [number, number][] = [];
  for (let from = 1; from <= n; from += chunk) chunks.push([from, Math.min(n, from + chunk - 1)]);
  let done = 0;
  const lanes = store.dialect === 'postgres' ? 2 : 1;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let c = chunks.shift(); c; c = chunks.shift()) {
        const [from, to] = c;
        await sql.raw(store.dialect === 'postgres' ? pgInsert(connectionId, from, to, n) : sqliteInsert(connectionId, from, to, n)).execute(store.db);
        done += to - from + 1;
        if (done % 250_000 === 0 || done === n) log(`seeded ${done.toLocaleString('en')} invoices`);
      }
    }),
  );
  await store.db.connection().execute(async (db) => {
    if (store.dialect === 'postgres') await sql`set maintenance_work_mem = '512MB'`.execute(db);
    for (const ix of indexes) await sql.raw(ix.sql).execute(db);
    // As autovacuum leaves a table after a bulk load: statistics, and the visibility map index-only scans rely on.
    await sql.raw(store.dialect === 'postgres' ? 'vacuum analyze records' : 'analyze').execute(db);
  });
  // The counts a merge keeps (migration 0021), as that migration's backfill computes them.
  await sql`insert into record_counts (connection_id, data_type, total, deleted, generation)
            select connection_id, data_type, count(*), coalesce(sum(is_deleted), 0), 1 from records where connection_id = ${connectionId} group by connection_id, data_type
            on conflict (connection_id, data_type) do update set total = excluded.total, deleted = excluded.deleted, generation = record_counts.generation + 1`.execute(store.db);
  // And the pair's buckets (migration 0031), as the merge would have cut them.
  await rebucket(store.db, store.dialect, connectionId, 'invoices');
}

/** The records table's secondary indexes (not the primary key) and the statements that create them. */
export async function recordIndexes(store: Store): Promise<{ name: string; sql: string }[]> {
  if (store.dialect === 'postgres') {
    const r = await sql<{ name: string; sql: string }>`select indexname as name, indexdef as sql from pg_indexes where tablename = 'records' and indexname <> 'records_pk'`.execute(store.db);
    return r.rows;
  }
  const r = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and tbl_name = 'records' and sql is not null`.execute(store.db);
  return r.rows;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function pgInsert(conn: string, from: number, to: number, n: number): string {
  // Line items are the same on every row (built once); the fields the benchmarks filter and sort on vary per row.
  return `
with base as (
  select jsonb_build_object(
    'currency', 'GBP', 'currencyRate', 1, 'totalDiscount', 0,
    'lineItems', jsonb_build_array(
      jsonb_build_object('description', 'Training day (standard)', 'unitAmount', 19.84, 'quantity', 3, 'subTotal', 59.51, 'taxAmount', 11.9, 'totalAmount', 71.41,
        'accountRef', jsonb_build_object('id', '4d8b0046-f706-4ed0-8688-000000000003'), 'taxRateRef', jsonb_build_object('id', 'OUTPUT2'),
        'itemRef', jsonb_build_object('id', '401bbf29-ee4a-4366-97e0-000000000001', 'name', 'Training day'),
        'trackingCategoryRefs', jsonb_build_array(jsonb_build_object('id', '835d241b-a4d4-4aa6-9304-000000000001', 'name', 'South')),
        'tracking', jsonb_build_object('categoryRefs', jsonb_build_array(jsonb_build_object('id', '835d241b-a4d4-4aa6-9304-000000000001', 'name', 'South')), 'isBilledTo', 'NotApplicable', 'isRebilledTo', 'NotApplicable'),
        'isDirectIncome', false),
      jsonb_build_object('description', 'Design package (standard)', 'unitAmount', 5.67, 'quantity', 7, 'subTotal', 39.68, 'taxAmount', 7.94, 'totalAmount', 47.62,
        'accountRef', jsonb_build_object('id', '4d8b0046-f706-4ed0-8688-000000000003'), 'taxRateRef', jsonb_build_object('id', 'OUTPUT2'),
        'itemRef', jsonb_build_object('id', 'ebf60fb5-ee4a-4366-81fe-000000000001', 'name', 'Design package'),
        'trackingCategoryRefs', jsonb_build_array(jsonb_build_object('id', '5c9008dd-a4d4-4aa6-86ed-000000000002', 'name', 'East')),
        'tracking', jsonb_build_object('categoryRefs', jsonb_build_array(jsonb_build_object('id', '5c9008dd-a4d4-4aa6-86ed-000000000002', 'name', 'East')), 'isBilledTo', 'NotApplicable', 'isRebilledTo', 'NotApplicable'),
        'isDirectIncome', false)),
    'paymentAllocations', jsonb_build_array(jsonb_build_object(
      'payment', jsonb_build_object('id', '5b2cf222-579b-4055-bb76-000000000001', 'reference', 'BACS 197789', 'currency', 'GBP', 'currencyRate', 1, 'paidOnDate', '2023-06-04T00:00:00', 'totalAmount', 119.03),
      'allocation', jsonb_build_object('currency', 'GBP', 'currencyRate', 1, 'allocatedOnDate', '2023-06-04T00:00:00', 'totalAmount', 119.03)))
  ) as b
), g as (
  select i,
    '28c2fbb1-8724-4b60-8ec1-' || lpad(to_hex(i), 12, '0') as rid,
    to_timestamp(${START_S} + (i::bigint * ${SPAN_S}) / ${n}) at time zone 'UTC' as issued,
    case when i % 100 < 85 then 'Paid' when i % 100 < 94 then 'PartiallyPaid' when i % 100 < 98 then 'Submitted' when i % 100 < 99 then 'Draft' else 'Void' end as st,
    round(((i::bigint * 7919) % 400000) / 100.0 + 20, 2) as sub
  from generate_series(${from}, ${to}) as s(i)
), d as (
  select g.*, to_char(issued + interval '7 days' + make_interval(secs => i % 86400), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as smd from g
)
insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
select ${lit(conn)}, 'invoices', rid,
  base.b || jsonb_build_object(
    'id', rid, 'invoiceNumber', 'INV-' || lpad(i::text, 7, '0'),
    'customerRef', jsonb_build_object('id', 'b18f7d51-c635-4864-87d9-' || lpad(to_hex(i % ${CUSTOMERS}), 12, '0'), 'companyName', 'Customer ' || (i % ${CUSTOMERS}) || ' Ltd'),
    'issueDate', to_char(issued, 'YYYY-MM-DD"T"00:00:00'), 'dueDate', to_char(issued + interval '14 days', 'YYYY-MM-DD"T"00:00:00'),
    'subTotal', sub, 'totalTaxAmount', round(sub * 0.2, 2), 'totalAmount', round(sub * 1.2, 2),
    'amountDue', case when st = 'Paid' then 0 else round(sub * 1.2, 2) end, 'status', st, 'sourceModifiedDate', smd),
  md5(rid), smd, smd, case when i % 100 = 7 then 1 else 0 end
from d, base`;
}

function sqliteInsert(conn: string, from: number, to: number, n: number): string {
  return `
with recursive s(i) as (select ${from} union all select i + 1 from s where i < ${to}),
g as (
  select i,
    '28c2fbb1-8724-4b60-8ec1-' || printf('%012x', i) as rid,
    'b18f7d51-c635-4864-87d9-' || printf('%012x', i % ${CUSTOMERS}) as cust,
    ${START_S} + (i * ${SPAN_S}) / ${n} as issued,
    case when i % 100 < 85 then 'Paid' when i % 100 < 94 then 'PartiallyPaid' when i % 100 < 98 then 'Submitted' when i % 100 < 99 then 'Draft' else 'Void' end as st,
    ((i * 7919) % 400000) / 100.0 + 20 as sub
  from s
), d as (
  select g.*,
    strftime('%Y-%m-%dT%H:%M:%fZ', issued + 7 * 86400 + i % 86400, 'unixepoch') as smd,
    json_object(
      'id', rid, 'invoiceNumber', 'INV-' || printf('%07d', i),
      'customerRef', json_object('id', cust, 'companyName', 'Customer ' || (i % ${CUSTOMERS}) || ' Ltd'),
      'issueDate', strftime('%Y-%m-%dT00:00:00', issued, 'unixepoch'), 'dueDate', strftime('%Y-%m-%dT00:00:00', issued + 14 * 86400, 'unixepoch'),
      'currency', 'GBP', 'currencyRate', 1,
      'lineItems', json_array(
        json_object('description', 'Training day (standard)', 'unitAmount', round(sub * 0.6 / 3, 2), 'quantity', 3, 'subTotal', round(sub * 0.6, 2), 'taxAmount', round(sub * 0.12, 2), 'totalAmount', round(sub * 0.72, 2),
          'accountRef', json_object('id', '4d8b0046-f706-4ed0-8688-000000000003'), 'taxRateRef', json_object('id', 'OUTPUT2'),
          'itemRef', json_object('id', '401bbf29-ee4a-4366-97e0-' || printf('%012x', i % 60), 'name', 'Training day'),
          'trackingCategoryRefs', json_array(json_object('id', '835d241b-a4d4-4aa6-9304-000000000001', 'name', 'South')),
          'tracking', json_object('categoryRefs', json_array(json_object('id', '835d241b-a4d4-4aa6-9304-000000000001', 'name', 'South')), 'isBilledTo', 'NotApplicable', 'isRebilledTo', 'NotApplicable'),
          'isDirectIncome', json('false')),
        json_object('description', 'Design package (standard)', 'unitAmount', round(sub * 0.4 / 7, 2), 'quantity', 7, 'subTotal', round(sub * 0.4, 2), 'taxAmount', round(sub * 0.08, 2), 'totalAmount', round(sub * 0.48, 2),
          'accountRef', json_object('id', '4d8b0046-f706-4ed0-8688-000000000003'), 'taxRateRef', json_object('id', 'OUTPUT2'),
          'itemRef', json_object('id', 'ebf60fb5-ee4a-4366-81fe-' || printf('%012x', i % 40), 'name', 'Design package'),
          'trackingCategoryRefs', json_array(json_object('id', '5c9008dd-a4d4-4aa6-86ed-000000000002', 'name', 'East')),
          'tracking', json_object('categoryRefs', json_array(json_object('id', '5c9008dd-a4d4-4aa6-86ed-000000000002', 'name', 'East')), 'isBilledTo', 'NotApplicable', 'isRebilledTo', 'NotApplicable'),
          'isDirectIncome', json('false'))),
      'paymentAllocations', case when st in ('Paid', 'PartiallyPaid') then json_array(json_object(
          'payment', json_object('id', '5b2cf222-579b-4055-bb76-' || printf('%012x', i), 'reference', 'BACS ' || (100000 + i % 900000), 'currency', 'GBP', 'currencyRate', 1, 'paidOnDate', strftime('%Y-%m-%dT00:00:00', issued + 7 * 86400, 'unixepoch'), 'totalAmount', round(sub * 1.2, 2)),
          'allocation', json_object('currency', 'GBP', 'currencyRate', 1, 'allocatedOnDate', strftime('%Y-%m-%dT00:00:00', issued + 7 * 86400, 'unixepoch'), 'totalAmount', round(sub * 1.2, 2))))
        else json_array() end,
      'totalDiscount', 0, 'subTotal', round(sub, 2), 'totalTaxAmount', round(sub * 0.2, 2), 'totalAmount', round(sub * 1.2, 2),
      'amountDue', case when st = 'Paid' then 0 else round(sub * 1.2, 2) end, 'status', st
    ) as doc
  from g
)
insert into records (connection_id, data_type, record_id, data, content_hash, modified_date, source_modified_date, is_deleted)
select ${lit(conn)}, 'invoices', rid, json_set(doc, '$.sourceModifiedDate', smd), printf('%016x', i * 2654435761 % 4294967296), smd, smd, case when i % 100 = 7 then 1 else 0 end
from d`;
}

/** Seeds `companies` more companies, each with one linked connection (company lists have something to page). */
export async function seedCompanies(store: Store, companies: number, dialect: Dialect): Promise<void> {
  const now = new Date().toISOString();
  if (dialect === 'postgres') {
    await sql.raw(`
      insert into companies (id, name, description, tags, created_at)
      select 'c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'Company ' || i, null, '{}', ${lit(now)} from generate_series(1, ${companies}) s(i);
      insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync, linked_at)
      select 'd0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'c0000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), 'mqjo', 'Linked', null, null, null, ${lit(now)}, ${lit(now)}, null, ${lit(now)}
      from generate_series(1, ${companies}) s(i);`).execute(store.db);
    return;
  }
  await sql.raw(`
    with recursive s(i) as (select 1 union all select i + 1 from s where i < ${companies})
    insert into companies (id, name, description, tags, created_at)
    select 'c0000000-0000-4000-8000-' || printf('%012x', i), 'Company ' || i, null, '{}', ${lit(now)} from s`).execute(store.db);
  await sql.raw(`
    with recursive s(i) as (select 1 union all select i + 1 from s where i < ${companies})
    insert into connections (id, company_id, integration_key, status, credentials, connection_info, errors, created_at, updated_at, last_sync, linked_at)
    select 'd0000000-0000-4000-8000-' || printf('%012x', i), 'c0000000-0000-4000-8000-' || printf('%012x', i), 'mqjo', 'Linked', null, null, null, ${lit(now)}, ${lit(now)}, null, ${lit(now)} from s`).execute(store.db);
}

export interface InvoiceStore {
  db: BenchDb;
  dialect: Dialect;
  companyId: string;
  connectionId: string;
  n: number;
}

const shared = new Map<string, Promise<InvoiceStore>>();

/**
 * One database per dialect holding one company with `n` invoices (and 1,000 other companies), shared by the query and
 * API benchmarks of a run so the million rows are seeded once. Benchmarks that change it must put it back.
 */
export function sharedInvoiceStore(ctx: BenchContext, dialect: Dialect, n: number): Promise<InvoiceStore> {
  const key = `${dialect}:${n}`;
  let p = shared.get(key);
  if (!p) {
    p = (async () => {
      const db = await benchDatabase(ctx, dialect);
      if (dialect === 'sqlite') process.once('exit', () => rmSync(path.dirname(db.location), { recursive: true, force: true }));
      const { companyId, connectionId } = await insertCompany(db.store, 'Million Invoices Ltd');
      const started = Date.now();
      await seedInvoices(db.store, connectionId, n, (m) => ctx.log(`${dialect}: ${m}`));
      await insertCompleteDataset(db.store, companyId, connectionId, 'invoices', n);
      await seedCompanies(db.store, 1000, dialect);
      ctx.log(`${dialect}: ${n.toLocaleString('en')} invoices seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      await settle(db.store);
      return { db, dialect, companyId, connectionId, n };
    })();
    shared.set(key, p);
  }
  return p;
}

/**
 * After a bulk seed, the state a deployment's tables reach on their own before anyone measures: every table vacuumed
 * and analysed (autovacuum would otherwise start on the seeded tables — the small ones included — in the middle of a
 * measurement) and the seed's writes checkpointed (PostgreSQL: a CHECKPOINT, so the background writer is not flushing
 * the seed's dirty buffers during the measurements; SQLite: the WAL, which held the whole seed, copied into the database
 * and truncated, so reads stop looking pages up in a WAL index of a million rows' pages).
 */
export async function settle(store: Store): Promise<void> {
  if (store.dialect === 'postgres') {
    await sql`vacuum analyze`.execute(store.db);
    await sql`checkpoint`.execute(store.db);
  } else {
    await sql`analyze`.execute(store.db);
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(store.db);
  }
}
