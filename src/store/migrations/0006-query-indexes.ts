import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * The keys the query compiler (src/query, "Indexes" in its index.ts) emits for the common record filters, spelled
 * exactly as it spells them, so each filter is an index lookup instead of a scan of the company's records. The
 * `records.query-indexes` test checks with EXPLAIN on both databases that each one is used; a compiler change that
 * alters a key must come with a new migration.
 *
 * Already indexed before this migration (0003): `modifiedDate`, `sourceModifiedDate`, `metadata.isDeleted`.
 */
export const QUERY_INDEX_KEYS: Record<Dialect, Record<string, string>> = {
  postgres: {
    // id=… (strings compare ASCII-case-folded)
    records_id_folded: `lower((record_id) COLLATE "C")`,
    records_status: `lower(((CASE WHEN jsonb_typeof(data #> '{status}') = 'string' THEN data #>> '{status}' END)) COLLATE "C")`,
    records_customer_ref: `lower(((CASE WHEN jsonb_typeof(data #> '{customerRef,id}') = 'string' THEN data #>> '{customerRef,id}' END)) COLLATE "C")`,
    records_supplier_ref: `lower(((CASE WHEN jsonb_typeof(data #> '{supplierRef,id}') = 'string' THEN data #>> '{supplierRef,id}' END)) COLLATE "C")`,
  },
  sqlite: {
    records_id_folded: `lower(record_id)`,
    records_status: `lower((CASE WHEN json_type(data, '$.status') = 'text' THEN json_extract(data, '$.status') END))`,
    records_customer_ref: `lower((CASE WHEN json_type(data, '$.customerRef.id') = 'text' THEN json_extract(data, '$.customerRef.id') END))`,
    records_supplier_ref: `lower((CASE WHEN json_type(data, '$.supplierRef.id') = 'text' THEN json_extract(data, '$.supplierRef.id') END))`,
  },
};

export function m0006QueryIndexes(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect === 'postgres') {
        // Lists are ordered (and paged) by id in code-point order, `record_id COLLATE "C"`. With the column in that
        // collation the primary key serves ORDER BY id … LIMIT directly; in the database's default collation every
        // page sorted all the company's records of the type. Staging joins on record_id, so it follows.
        await sql`alter table records alter column record_id type text collate "C"`.execute(db);
        await sql`alter table record_staging alter column record_id type text collate "C"`.execute(db);
      }
      for (const [name, key] of Object.entries(QUERY_INDEX_KEYS[dialect])) {
        await sql.raw(`create index ${name} on records (connection_id, data_type, ${key})`).execute(db);
      }
    },
  };
}
