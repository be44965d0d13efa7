import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { QUERY_INDEX_KEYS } from './0006-query-indexes.js';

/**
 * Issue 17 (reads): PostgreSQL counts the document filters of migration 0006 (`status`, `customerRef.id`,
 * `supplierRef.id`) from their index alone.
 *
 * Their indexes were on expressions of `data` (the folded string at a JSON path). PostgreSQL reads an index
 * index-only only when every column the query uses can be returned by the index, and an expression index returns
 * none of the columns inside its expressions: each count of `status=Submitted` over a million invoices fetched the
 * 40,000 matches' rows (16,500 heap pages) to recheck the expression — 215 ms quiet, 890 ms loaded, on every first list
 * of the filter after a pull (docs/benchmarks.md, query). Here each key is a stored generated column holding exactly
 * that folded value (the same expression, so the same value on every row, of every data type), and the index is a
 * plain one on it, same name and same key order as migration 0028 left it: `(connection_id, data_type, key, record_id,
 * modified_date)`. The query compiler compares the column (`foldedKey` of the record entity's fields, PostgreSQL
 * only), so a count is an index-only scan and a page in id order is still an index range in page order.
 *
 * Numbered before 0028, which rebuilds these three indexes: on a new database this migration runs first and 0028
 * builds them on these columns (storedKeyColumns); on a database that ran 0028 already, this one rebuilds them.
 *
 * Cost: one rewrite of `records` (the columns are computed for every stored row) and the three indexes rebuilt, under
 * an exclusive lock, once; on every write the keys are computed once for the column instead of once for the index.
 *
 * SQLite: nothing. It reads an expression index without the table whenever the index holds the expression the query
 * uses (its plans already say COVERING INDEX records_status), and it cannot add a stored column to a table.
 */
export const RECORD_KEY_COLUMNS = {
  status_key: { index: 'records_status', path: 'status' },
  customer_ref_key: { index: 'records_customer_ref', path: 'customerRef.id' },
  supplier_ref_key: { index: 'records_supplier_ref', path: 'supplierRef.id' },
} as const;

/** The expression each key column is generated from (over `data`): the compiler's folded key of 0006. */
export function recordKeyExpression(column: keyof typeof RECORD_KEY_COLUMNS): string {
  return QUERY_INDEX_KEYS.postgres[RECORD_KEY_COLUMNS[column].index]!;
}

/**
 * The key columns this migration added, by the index each one keys (none before it ran, none on SQLite). Migration 0028
 * rebuilds these indexes and runs after this one on a new database: it keys them by these columns too.
 */
export async function storedKeyColumns(db: Kysely<any>, dialect: Dialect): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (dialect !== 'postgres') return out;
  const r = await sql<{ column_name: string }>`select column_name from information_schema.columns
            where table_schema = current_schema() and table_name = 'records' and column_name in (${sql.join(Object.keys(RECORD_KEY_COLUMNS))})`.execute(db);
  for (const { column_name } of r.rows) out.set(RECORD_KEY_COLUMNS[column_name as keyof typeof RECORD_KEY_COLUMNS].index, column_name);
  return out;
}

export function m0024RecordQueryKeys(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      const columns = Object.keys(RECORD_KEY_COLUMNS) as (keyof typeof RECORD_KEY_COLUMNS)[];
      // One ALTER: one rewrite of the table for the three columns.
      await sql.raw(`alter table records ${columns.map((c) => `add column ${c} text generated always as (${recordKeyExpression(c)}) stored`).join(', ')}`).execute(db);
      await sql`set local maintenance_work_mem = '256MB'`.execute(db);
      for (const c of columns) {
        const { index } = RECORD_KEY_COLUMNS[c];
        await sql.raw(`drop index ${index}`).execute(db);
        await sql.raw(`create index ${index} on records (connection_id, data_type, ${c}, record_id, modified_date)`).execute(db);
      }
      await sql`analyze records`.execute(db);
    },
  };
}
