/**
 * src/query — the query language of list endpoints (`query`, `orderBy`, `tags`; spec: query-language.md).
 * Imports only src/domain and kysely.
 *
 * ## Pipeline
 *
 *   text ──parseQuery/parseTags/parseOrderBy──▶ syntax tree ──bind (entity)──▶ Predicate / OrderSpec
 *        ──predicateSql/orderBySql (dialect)──▶ Kysely expressions        ──evaluate/rowComparator──▶ plain objects
 *
 * Every failure is a `QueryParseError` (a `QueryError`, so the API's error mapper renders it): HTTP 400 with
 * `Error parsing query - Malformed query.` or `Error parsing query - Could not resolve property {path} on {Entity}`,
 * and one validation item `{ itemId: 'query' | 'orderBy' | 'tags', validatorName: 'QueryParser',
 * message: 'Position 14: expected an operator (=, !=, ~, >, <, >=, <=), found "x"' }`.
 *
 * ## Endpoint usage (SQL-backed list)
 *
 *   const q = compileListQuery(InvoiceEntity, { query: req.query.query, orderBy: req.query.orderBy }, store.dialect);
 *   let rows = db.selectFrom('records').selectAll().where('connection_id', '=', conn).where('data_type', '=', 'invoices');
 *   if (q.where) rows = rows.where(q.where);                    // also apply to the COUNT for totalResults
 *   for (const o of q.orderBy) rows = rows.orderBy(o);           // field, then tiebreak: stable pages
 *   rows.limit(pageSize).offset((page - 1) * pageSize)
 *
 * `compileListQuery` does no I/O; call it before looking anything up, since platform-api.md §3.2 ranks request
 * validation (400) above missing resources (404). Blank parameters mean "absent": no filter, and the entity's default
 * order. The API decodes the parameters (percent-decoding once, `+` as space) and accepts `orderBy` under any case
 * of its name. For resources listed from code (integrations), use `filterAndSort(entity, rows, params)`.
 *
 * ## Describing an entity
 *
 * Records stored as a JSON document (the accounting model is built in, by data type key):
 *
 *   const InvoiceEntity = accountingEntity('invoices', {
 *     document: sql.ref('records.data'),                 // jsonb on PostgreSQL, JSON text on SQLite
 *     fields: {                                          // optional: properties served by real (indexable) columns
 *       id: { type: 'string', sql: sql.ref('records.record_id') },
 *       modifiedDate: { type: 'date', dateFormat: 'canonical', sql: sql.ref('records.modified_date') },
 *       sourceModifiedDate: { type: 'date', sql: sql.ref('records.source_modified_date') },
 *       'metadata.isDeleted': { type: 'boolean', booleanAsInteger: true, sql: sql.ref('records.is_deleted') },
 *     },
 *   });
 *
 * Any other JSON-backed resource: `defineEntity({ name, service, document: { column, properties }, fields })` with
 * properties built from `p` (`p.string`, `p.number`, `p.boolean`, `p.date`, `p.enumOf(…)`, `p.object({…})`,
 * `p.array`, `p.map`). `document.open: { type }` lets undeclared paths resolve to the JSON value at that exact path.
 *
 * Platform resources (companies, connections, integrations, datasets) have their properties, types, default order
 * and tiebreak built in (platform-resources.ts); the API maps each property to SQL:
 *
 *   const DatasetEntity = platformEntity('Dataset', {
 *     id: sql.ref('datasets.id'), companyId: sql.ref('datasets.company_id'), connectionId: sql.ref('datasets.connection_id'),
 *     dataType: sql.ref('datasets.data_type'), status: sql.ref('datasets.status'),
 *     statusDescription: sql.ref('datasets.status_description'), errorMessage: sql.ref('datasets.error_message'),
 *     requested: sql.ref('datasets.requested'), completed: sql.ref('datasets.completed'), progress: sql.ref('datasets.progress'),
 *     isErrored: sql`(datasets.status IN ('FetchError', 'MapError', …))`,   // boolean on PostgreSQL, 0/1 on SQLite
 *   });                                                     // isCompleted → Could not resolve property isCompleted on Dataset
 *
 * Any other column-based resource: `defineEntity({ name, service, fields: { path: { type, sql, … } }, tiebreak,
 * defaultOrder })`; `'array' | 'object' | 'map' | 'hidden'` declare non-queryable paths.
 *
 * Each field's `sql` yields the typed value described in entity.ts (text; number; boolean, or 0/1 with
 * `booleanAsInteger`; ISO text for dates), NULL when absent. `get` (default: the same dotted path) reads the value
 * from the API-shaped object for the evaluator. A collection property such as `dataConnections.status` is an
 * `anyOf` field: `{ type: 'enum', anyOf: (dialect, pred) => sql`EXISTS (SELECT 1 FROM connections c WHERE
 * c.company_id = companies.id AND ${pred(sql.ref('c.status'))})` }`. The `tags` parameter needs `tags: { column }`.
 *
 * ## Indexes
 *
 * A comparison is `<key> <op> <parameter>` where the key is a fixed expression of the field (no parameters), so an
 * expression index on exactly that key serves `=`, `>`, `<`… (checked with EXPLAIN on both databases):
 * - numbers, booleans, `canonical` dates: the field's typed value, `field.sql(dialect)`;
 * - `iso` dates: `epochMsSql(field.sql(dialect), dialect)`, which is also `sortKeySql(field, dialect)`;
 * - strings and enums: `lower(v)` on SQLite, `lower((v) COLLATE "C")` on PostgreSQL; with `storedLowercase`, `v`
 *   itself (so a primary key serves `id=…`); with a `foldedKey` column (the record entity's `status`, `customerRef.id`,
 *   `supplierRef.id` on PostgreSQL, migration 0024), that column, so a plain index serves it index-only.
 * ORDER BY uses `sortKeySql` (strings with `COLLATE "C"` on PostgreSQL), NULLS LAST ascending / FIRST descending,
 * then the tiebreak. Render an expression's SQL with `sortKeySql(f, d).compile(db).sql` to write the index.
 */
import type { Expression, RawBuilder, SqlBool } from 'kysely';
import { ACCOUNTING_SCHEMAS, type AccountingListType } from './accounting-schemas.js';
import { bindOrderBy, bindQuery, bindTags, type OrderSpec, type Predicate } from './bind.js';
import { orderBySql, predicateSql } from './compile.js';
import { defineEntity, type DocumentDef, type Entity, type FieldDef, type SqlDialect } from './entity.js';
import { evaluate, rowComparator } from './evaluate.js';
import { parseOrderBy, parseQuery, parseTags } from './parser.js';

export * from './ast.js';
export * from './accounting-schemas.js';
export { bindOrderBy, bindQuery, bindTags, type OrderSpec, type Predicate, type ValueTest } from './bind.js';
export { epochMsSql, orderBySql, predicateSql, sortKeySql } from './compile.js';
export * from './entity.js';
export * from './platform-resources.js';
export { MALFORMED, QueryParseError, couldNotResolve, type QueryParameter } from './errors.js';
export { evaluate, rowComparator, typedValue } from './evaluate.js';
export { foldCase, parseDateLiteral, storedDateMs } from './literals.js';
export { MAX_QUERY_LENGTH, parseOrderBy, parseQuery, parseTags } from './parser.js';

/** The raw (percent-decoded) list parameters; `undefined` or blank means absent. */
export interface ListParameters {
  query?: string | undefined;
  orderBy?: string | undefined;
  /** Only for entities with a tag source (companies); ignored otherwise, like any unknown parameter. */
  tags?: string | undefined;
}

/** Parsed and bound parameters: dialect-independent, reusable for SQL and for the evaluator. */
export interface PreparedListQuery {
  entity: Entity;
  /** `query` and `tags` combined with AND; undefined when neither is given. */
  filter: Predicate | undefined;
  order: OrderSpec;
}

export interface CompiledListQuery {
  /** Pass to `.where(...)` of both the page query and the count; undefined = no filter. */
  where: Expression<SqlBool> | undefined;
  /** Pass each to `.orderBy(...)`, in order. Always ends with the tiebreak. */
  orderBy: RawBuilder<unknown>[];
  /**
   * Set when the whole filter is one test of a NOT NULL boolean (`metadata.isDeleted=true`, `…!=true`…): the property
   * and the value it must have, so a caller that keeps counts per value can answer the count without reading rows.
   * `of` is the `where` it describes (a caller that combines `where` with more conditions no longer matches it).
   */
  flag?: { of: Expression<SqlBool>; path: string; value: boolean } | undefined;
  /** The ordering property and direction (the tiebreak follows it when they differ), for keyset paging. */
  order: { path: string; descending: boolean; tiebreak: string };
}

/** Parses and binds `query`, `tags` and `orderBy`, in that order (the first error wins). */
export function prepareListQuery(entity: Entity, params: ListParameters): PreparedListQuery {
  const opts = { service: entity.service };
  const parts: Predicate[] = [];
  const q = parseQuery(params.query, opts);
  if (q) parts.push(bindQuery(q, entity));
  if (entity.tags) {
    const t = parseTags(params.tags, opts);
    if (t) parts.push(bindTags(t));
  }
  const order = bindOrderBy(parseOrderBy(params.orderBy, opts), entity);
  const filter = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { kind: 'and' as const, operands: parts };
  return { entity, filter, order };
}

export function toSql(prepared: PreparedListQuery, dialect: SqlDialect): CompiledListQuery {
  const f = prepared.filter;
  const where = f ? predicateSql(f, dialect, prepared.entity.tags) : undefined;
  const o = prepared.order;
  const order = { path: o.field.path, descending: o.descending, tiebreak: o.tiebreak.path };
  const flag =
    where && f?.kind === 'test' && f.test.on === 'boolean' && f.field.notNull ? { of: where, path: f.field.path, value: f.negate ? !f.test.value : f.test.value } : undefined;
  return { where, orderBy: orderBySql(o, dialect), flag, order };
}

/** One call per request for SQL-backed lists. Throws `QueryParseError`. */
export function compileListQuery(entity: Entity, params: ListParameters, dialect: SqlDialect): CompiledListQuery {
  return toSql(prepareListQuery(entity, params), dialect);
}

/** Does a plain (API-shaped) object pass the filter? */
export function matches(prepared: PreparedListQuery, row: unknown): boolean {
  return prepared.filter === undefined || evaluate(prepared.filter, row, prepared.entity.tags);
}

/** Filters and sorts plain objects (resources listed from code); paging is the caller's. Throws `QueryParseError`. */
export function filterAndSort<T>(entity: Entity, rows: readonly T[], params: ListParameters): T[] {
  const prepared = prepareListQuery(entity, params);
  return rows.filter((r) => matches(prepared, r)).sort(rowComparator(prepared.order));
}

/** An accounting record entity (`PublicApi`, ordered by `id` by default), from the built-in schema of its data type. */
export function accountingEntity(
  dataType: AccountingListType,
  opts: {
    /** The JSON document column. */
    document: Expression<unknown>;
    postgresType?: 'jsonb' | 'json' | 'text';
    /** Properties served by columns instead of the document (id, modifiedDate, metadata.isDeleted…). */
    fields?: Readonly<Record<string, FieldDef>>;
    /** Document string properties whose folded value a column also holds (DocumentDef.foldedKeys). */
    foldedKeys?: DocumentDef['foldedKeys'];
    /** Evaluator only: the document inside a row; default the row itself. */
    get?: (row: unknown) => unknown;
  },
): Entity {
  const schema = ACCOUNTING_SCHEMAS[dataType];
  return defineEntity({
    name: schema.entity,
    service: 'PublicApi',
    fields: opts.fields,
    document: { column: opts.document, postgresType: opts.postgresType, properties: schema.properties, get: opts.get, foldedKeys: opts.foldedKeys },
  });
}
