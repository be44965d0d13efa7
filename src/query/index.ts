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
 * `compileListQuery` validates everything before any SQL runs, so call it first (a 400 beats a 404 of a missing
 * record set only if the route wants that order; it has no I/O). Blank parameters mean "absent": no filter, and the
 * entity's default order. For resources listed from code (integrations), use `filterAndSort(entity, rows, params)`.
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
 *     get: (row) => row,                                 // evaluator only: the API-shaped document
 *   });
 *
 * Any other JSON-backed resource: `defineEntity({ name, service, document: { column, properties }, fields })` with
 * properties built from `p` (`p.string`, `p.number`, `p.boolean`, `p.date`, `p.enumOf(…)`, `p.object({…})`,
 * `p.array`, `p.map`). `document.open: { type }` lets undeclared paths resolve to the JSON value at that exact path.
 *
 * Column-based resources (companies, connections, datasets):
 *
 *   const DatasetEntity = defineEntity({
 *     name: 'Dataset', service: 'PullApi',
 *     defaultOrder: { path: 'requested', descending: true },
 *     fields: {
 *       id: { type: 'string', sql: sql.ref('datasets.id'), storedLowercase: true },
 *       status: { type: 'enum', sql: sql.ref('datasets.status') },
 *       requested: { type: 'date', dateFormat: 'canonical', sql: sql.ref('datasets.requested') },
 *       progress: { type: 'number', sql: sql.ref('datasets.progress') },
 *       isErrored: { type: 'boolean', sql: (d) => d === 'postgres' ? sql`(datasets.status IN (…))` : sql`(datasets.status IN (…))` },
 *       isCompleted: 'hidden',                           // → Could not resolve property isCompleted on Dataset
 *     },
 *   });
 *
 * Each field's `sql` yields the typed value described in entity.ts (text; number; boolean, or 0/1 with
 * `booleanAsInteger`; ISO text for dates), NULL when absent. `get` (default: the same dotted path) reads the value
 * from the API-shaped object for the evaluator. A collection property such as `dataConnections.status` is an
 * `anyOf` field: `{ type: 'enum', anyOf: (dialect, pred) => sql`EXISTS (SELECT 1 FROM connections c WHERE
 * c.company_id = companies.id AND ${pred(sql.ref('c.status'))})` }`. The `tags` parameter needs `tags: { column }`.
 *
 * ## Indexes
 *
 * The SQL of a comparison is `<typed value> <op> <parameter>` around the field's expression, so an expression index
 * on exactly `fieldSql`/`sortKeySql` output serves it (`iso` dates compare on `epochMsSql(...)`; `canonical` dates,
 * numbers and booleans on the raw expression; strings on `lower(expr)` / `lower((expr) COLLATE "C")`, or the raw
 * expression with `storedLowercase`).
 */
import type { Expression, RawBuilder, SqlBool } from 'kysely';
import { ACCOUNTING_SCHEMAS, type AccountingListType } from './accounting-schemas.js';
import { bindOrderBy, bindQuery, bindTags, type OrderSpec, type Predicate } from './bind.js';
import { orderBySql, predicateSql } from './compile.js';
import { defineEntity, type Entity, type FieldDef, type SqlDialect } from './entity.js';
import { evaluate, rowComparator } from './evaluate.js';
import { parseOrderBy, parseQuery, parseTags } from './parser.js';

export * from './ast.js';
export * from './accounting-schemas.js';
export { bindOrderBy, bindQuery, bindTags, type OrderSpec, type Predicate, type ValueTest } from './bind.js';
export { epochMsSql, orderBySql, predicateSql, sortKeySql } from './compile.js';
export * from './entity.js';
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
  return {
    where: prepared.filter ? predicateSql(prepared.filter, dialect, prepared.entity.tags) : undefined,
    orderBy: orderBySql(prepared.order, dialect),
  };
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
    /** Evaluator only: the document inside a row; default the row itself. */
    get?: (row: unknown) => unknown;
  },
): Entity {
  const schema = ACCOUNTING_SCHEMAS[dataType];
  return defineEntity({
    name: schema.entity,
    service: 'PublicApi',
    fields: opts.fields,
    document: { column: opts.document, postgresType: opts.postgresType, properties: schema.properties, get: opts.get },
  });
}
