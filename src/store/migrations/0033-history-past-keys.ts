import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { RECORD_KEY_COLUMNS, recordKeyExpression } from './0024-record-query-keys.js';

/**
 * Record history's write path, PostgreSQL (issue 16, cost goal: ingest with history on ≤ 15 % slower than off).
 *
 * The replaced half of the asOf view filters `status`, `customerRef.id` and `supplierRef.id` through indexes on the
 * folded key of `prev_data` (migration 0020: `record_changes_past_status` …, expressions over the previous document).
 * Every change with a previous state (an update, a deletion, a restore) evaluated those three expressions over its
 * previous document while being inserted — and a stored jsonb document of invoice size is compressed, so each of the
 * six jsonb accesses decompressed it. Profiled on a 50,000-invoice update that changes every record
 * (bench/history-merge-profile.ts): the three indexes were 0.9 s of the 2.5 s of server CPU of the insert of the
 * previous states (docs/benchmarks.md, history). Yet the values are already computed: they are the previous row's stored
 * key columns of `records` (migration 0024: the same expressions over `data`, the document the change copies).
 *
 * So `record_changes` gets the three keys of its previous state as plain columns (`prev_status_key`, …), written by the
 * merge from the `records` row it copies (`r.status_key`, …: same values as the expressions over `prev_data` gave), and
 * the three indexes are rebuilt on them, same names and key order; the asOf view's replaced half exposes them as the
 * records' key columns the query compiler compares. Existing changes with a previous state get theirs computed here,
 * once (backfillPastKeys: the same expressions); an `added` change has no previous state and keeps them null, as its
 * `prev_data` is null.
 *
 * SQLite: nothing (records has no key columns there; its indexes are on the expressions, 0006/0020).
 */
export const PAST_KEY_COLUMNS = {
  prev_status_key: 'status_key',
  prev_customer_ref_key: 'customer_ref_key',
  prev_supplier_ref_key: 'supplier_ref_key',
} as const satisfies Record<string, keyof typeof RECORD_KEY_COLUMNS>;

/** The record_changes index of each past key column (the names migration 0020 gave the expression indexes). */
const PAST_KEY_INDEXES: Record<keyof typeof PAST_KEY_COLUMNS, string> = {
  prev_status_key: 'record_changes_past_status',
  prev_customer_ref_key: 'record_changes_past_customer_ref',
  prev_supplier_ref_key: 'record_changes_past_supplier_ref',
};

/**
 * Fills the past key columns of the changes that have a previous state but no keys written (rows written before this
 * migration, or by hand — a test or a benchmark seeding history with SQL), from their `prev_data`: the expressions of
 * migration 0024 over the previous document. PostgreSQL only; `connectionId` narrows it to one connection.
 */
export async function backfillPastKeys(db: Kysely<any>, connectionId?: string): Promise<void> {
  const set = Object.entries(PAST_KEY_COLUMNS).map(([column, key]) => `${column} = ${recordKeyExpression(key).replace(/\bdata\b/g, 'prev_data')}`);
  await sql`update record_changes set ${sql.raw(set.join(', '))}
            where prev_modified_date is not null and prev_data is not null
              and prev_status_key is null and prev_customer_ref_key is null and prev_supplier_ref_key is null
              ${connectionId === undefined ? sql`` : sql`and connection_id = ${connectionId}`}`.execute(db);
}

export function m0033HistoryPastKeys(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      const columns = Object.keys(PAST_KEY_COLUMNS) as (keyof typeof PAST_KEY_COLUMNS)[];
      await sql.raw(`alter table record_changes ${columns.map((c) => `add column ${c} text`).join(', ')}`).execute(db);
      // Dropped before the backfill, so it does not maintain them row by row; built once afterwards.
      for (const c of columns) await sql.raw(`drop index ${PAST_KEY_INDEXES[c]}`).execute(db);
      await sql`set local maintenance_work_mem = '256MB'`.execute(db);
      await backfillPastKeys(db);
      for (const c of columns) {
        await sql.raw(`create index ${PAST_KEY_INDEXES[c]} on record_changes (connection_id, data_type, ${c}, committed_at, prev_modified_date) where prev_modified_date is not null`).execute(db);
      }
      await sql`analyze record_changes`.execute(db);
    },
  };
}
