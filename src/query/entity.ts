/**
 * The field model: what each queryable entity exposes to `query`, `orderBy` and `tags`, and where each property
 * lives in SQL and in a plain object. See `index.ts` for how endpoints describe their resources.
 *
 * Every scalar field yields a **typed SQL value**: the property's value in the representation below, or NULL when
 * the property is null, absent or holds a value of another JSON type (such a record then matches only `!=`).
 *
 * | type            | SQLite                    | PostgreSQL                 |
 * |-----------------|---------------------------|----------------------------|
 * | string, enum    | TEXT                      | text                       |
 * | number          | INTEGER / REAL            | numeric (any numeric type) |
 * | boolean         | 0 / 1                     | boolean, or 0 / 1 with `booleanAsInteger` |
 * | date, `iso`     | TEXT in any ISO 8601 form of platform-api.md §1 (normalised to UTC by the compiler) |
 * | date, `canonical` | TEXT `YYYY-MM-DDTHH:MM:SS.sssZ` only (compared as text, so a plain index serves it) |
 */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { Service } from '../domain/errors.js';

export type SqlDialect = 'sqlite' | 'postgres';
export type ScalarType = 'string' | 'enum' | 'number' | 'boolean' | 'date';
export type DateFormat = 'iso' | 'canonical';

/** An SQL expression, or one that depends on the dialect. */
export type SqlSource = Expression<unknown> | ((dialect: SqlDialect) => Expression<unknown>);

export interface ScalarOptions {
  /** Enum members (informational: an unknown member is not an error, it matches nothing under `=`). */
  members?: readonly string[];
  /** Dates only; default `iso`. Use `canonical` only where every stored value is Syncline's own UTC form. */
  dateFormat?: DateFormat;
  /**
   * Strings only: every stored value is already lower-case ASCII (Syncline's UUIDs), so `=` compares the raw value
   * with the folded literal and a plain index serves it.
   */
  storedLowercase?: boolean;
  /**
   * Strings only: where it returns an expression, that expression holds exactly the folded value (`lower(v)` on
   * SQLite, `lower((v) COLLATE "C")` on PostgreSQL; NULL where `v` is NULL) — a stored generated column —, and `=`
   * and `~` compare it instead of folding `v`: a plain index on the column serves them, index-only. Ordering still
   * reads `v` (code-point order of the value, not of its folded form).
   */
  foldedKey?: (dialect: SqlDialect) => Expression<unknown> | undefined;
  /** Booleans only: the SQL value is 0/1 on PostgreSQL too (an `integer` column such as `records.is_deleted`). */
  booleanAsInteger?: boolean;
  /**
   * Booleans only: the SQL value is never NULL (a NOT NULL column holding only true/false, or 0/1 with
   * `booleanAsInteger`), so `!= v` is exactly `= not v` — an equality an index range serves, where the general
   * `(test) IS NOT TRUE` is not indexable.
   */
  notNull?: boolean;
}

/** A property with one value per row. */
export interface ScalarField extends ScalarOptions {
  readonly kind: 'scalar';
  /** The declared path, in its declared case. */
  readonly path: string;
  readonly type: ScalarType;
  /** The typed SQL value (table above). */
  sql(dialect: SqlDialect): Expression<unknown>;
  /** The raw value in a plain object, for the in-memory evaluator; the evaluator applies the same type checks. */
  get(row: unknown): unknown;
}

/**
 * A property of the elements of a related collection, such as `dataConnections.status` on companies (§6.1):
 * `=` matches when at least one element equals the literal, `!=` when none does. Only `=` and `!=` apply.
 */
export interface AnyOfField {
  readonly kind: 'anyOf';
  readonly path: string;
  readonly type: 'string' | 'enum';
  readonly members?: readonly string[];
  /** `EXISTS (… WHERE <predicate(element value)>)` over the row's elements. */
  exists(dialect: SqlDialect, predicate: (element: Expression<unknown>) => Expression<SqlBool>): Expression<SqlBool>;
  /** The element values in a plain object. */
  values(row: unknown): unknown[];
}

export type QueryableField = ScalarField | AnyOfField;

/** The JSON object of `tags` on companies (§10). */
export interface TagSource {
  /** An expression holding a JSON object of string values. */
  column: Expression<unknown>;
  /** How PostgreSQL stores it; default `text` (the companies table keeps tags as JSON text on both databases). */
  postgresType?: 'jsonb' | 'json' | 'text';
  /** The tags in a plain object; default `row.tags`. */
  get?: (row: unknown) => unknown;
}

/** `error` is the explanation of a failed resolution: `unknown property a.b`, and why when the path is declared. */
export type Resolution = { field: QueryableField } | { error: string };

export interface Entity {
  /** The entity name in error messages (`Invoice`, `Company`, …). */
  readonly name: string;
  readonly service: Service;
  resolve(path: string): Resolution;
  /** Ties are broken by this field, ascending (`id`; `key` for integrations). */
  readonly tiebreak: ScalarField;
  /** The order when `orderBy` is absent (platform-api.md §4). */
  readonly defaultOrder: { field: ScalarField; descending: boolean };
  readonly tags?: TagSource;
  /** Every declared queryable field (for documentation, tests and generators). */
  readonly fields: readonly QueryableField[];
}

// ---------------------------------------------------------------------------------------------------------------
// Describing properties
// ---------------------------------------------------------------------------------------------------------------

/** A property in a JSON document schema. */
export type PropertySchema =
  | ({ kind: 'scalar'; type: ScalarType } & ScalarOptions)
  | { kind: 'object'; properties: ObjectProperties }
  | { kind: 'array' }
  | { kind: 'map' };
export type ObjectProperties = Readonly<Record<string, PropertySchema>>;

/** Schema builders: `{ id: p.string, status: p.enumOf('Draft', 'Paid'), customerRef: p.object({ id: p.string }) }`. */
export const p = {
  string: { kind: 'scalar', type: 'string' } as PropertySchema,
  number: { kind: 'scalar', type: 'number' } as PropertySchema,
  boolean: { kind: 'scalar', type: 'boolean' } as PropertySchema,
  date: { kind: 'scalar', type: 'date' } as PropertySchema,
  /** Not queryable: a path through it gets "Could not resolve property". */
  array: { kind: 'array' } as PropertySchema,
  /** A free-form object (`supplementalData`, `sourceUrls`, `tags`): not queryable. */
  map: { kind: 'map' } as PropertySchema,
  enumOf: (...members: string[]): PropertySchema => ({ kind: 'scalar', type: 'enum', members }),
  object: (properties: ObjectProperties): PropertySchema => ({ kind: 'object', properties }),
  scalar: (type: ScalarType, opts: ScalarOptions = {}): PropertySchema => ({ kind: 'scalar', type, ...opts }),
};

/** A field served by an SQL expression (a column, a computed expression or a subquery). */
export interface ColumnFieldDef extends ScalarOptions {
  type: ScalarType;
  sql: SqlSource;
  /** Default: read the declared dotted path from the object. */
  get?: (row: unknown) => unknown;
}

export interface AnyOfFieldDef {
  type: 'string' | 'enum';
  members?: readonly string[];
  anyOf: (dialect: SqlDialect, predicate: (element: Expression<unknown>) => Expression<SqlBool>) => Expression<SqlBool>;
  /** Default: the first path segment is an array of objects; collect their values at the rest of the path. */
  values?: (row: unknown) => unknown[];
}

/** A declared path that is not queryable (rejected with "Could not resolve property", like an unknown one). */
export type OpaqueFieldDef = 'array' | 'object' | 'map' | 'hidden';

export type FieldDef = ColumnFieldDef | AnyOfFieldDef | OpaqueFieldDef;

/** A JSON document column (the accounting records). */
export interface DocumentDef {
  /** The column holding the document, e.g. `sql.ref('records.data')`. */
  column: Expression<unknown>;
  /** How PostgreSQL stores it (SQLite always stores JSON text); default `jsonb`. */
  postgresType?: 'jsonb' | 'json' | 'text';
  properties: ObjectProperties;
  /**
   * Open documents: an undeclared path (not under a declared array, map or scalar) resolves to the JSON value at
   * that exact, case-sensitive path, with this type. Off by default: the spec makes only the schema's scalar
   * properties queryable (query-language.md §6.2).
   */
  open?: { type: ScalarType };
  /**
   * Declared string paths whose folded value is also stored in a column of the row (ScalarOptions.foldedKey), by
   * dotted path as declared; a path a data type does not declare, or declares with another type, is ignored.
   */
  foldedKeys?: Readonly<Record<string, (dialect: SqlDialect) => Expression<unknown> | undefined>>;
  /** The document in a plain object; default: the row itself. */
  get?: (row: unknown) => unknown;
}

export interface EntityDef {
  name: string;
  service: Service;
  /** Fields served by SQL expressions, by dotted path. They take precedence over `document` properties. */
  fields?: Readonly<Record<string, FieldDef>>;
  document?: DocumentDef;
  /** Default `id`. Must resolve to a scalar field. */
  tiebreak?: string;
  /** Default: the tiebreak field, ascending. */
  defaultOrder?: { path: string; descending?: boolean };
  tags?: TagSource;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Builds an entity; throws (a programming error) on an invalid or ambiguous declaration. */
export function defineEntity(def: EntityDef): Entity {
  const explicit = new Map<string, QueryableField | OpaqueFieldDef>();
  for (const [path, fd] of Object.entries(def.fields ?? {})) {
    checkPath(path);
    const key = path.toLowerCase();
    if (explicit.has(key)) throw new Error(`${def.name}: field ${path} declared twice (paths are case-insensitive)`);
    explicit.set(key, typeof fd === 'string' ? fd : buildColumnField(path, fd));
  }
  const doc = def.document;
  const docFields = new Map<string, QueryableField | OpaqueFieldDef>();
  /** Declared object paths (lower-case → declared case), so an open path keeps the declared spelling of its prefix. */
  const objectPaths = new Map<string, string>();
  if (doc) collectDocument(doc, doc.properties, [], docFields, objectPaths, def.name);

  const lookup = (key: string) => explicit.get(key) ?? docFields.get(key);

  function resolve(path: string): Resolution {
    const segments = path.split('.');
    const key = path.toLowerCase();
    const hit = lookup(key);
    if (hit !== undefined) {
      if (typeof hit !== 'string') return { field: hit };
      return { error: `unknown property ${path} (${opaqueMessage(path, hit)})` };
    }
    // A prefix that is an array, a map or a scalar blocks everything below it.
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join('.');
      const above = lookup(prefix.toLowerCase());
      if (above === undefined) continue;
      if (typeof above === 'string') {
        if (above === 'object') continue;
        const what = above === 'array' ? 'an array' : above === 'map' ? 'a free-form map' : 'not queryable';
        return { error: `unknown property ${path} (${prefix} is ${what}; its properties cannot be queried)` };
      }
      if (above.kind === 'scalar') return { error: `unknown property ${path} (${prefix} is a ${above.type} property)` };
    }
    if (doc?.open && segments.every((s) => NAME.test(s))) {
      const declared = [...segments];
      for (let i = segments.length - 1; i > 0; i--) {
        const spelled = objectPaths.get(segments.slice(0, i).join('.').toLowerCase());
        if (spelled !== undefined) {
          declared.splice(0, i, ...spelled.split('.'));
          break;
        }
      }
      return { field: documentField(doc, declared, { type: doc.open.type }) };
    }
    return { error: `unknown property ${path}` };
  }

  const scalar = (path: string, what: string): ScalarField => {
    const r = resolve(path);
    if ('error' in r || r.field.kind !== 'scalar') throw new Error(`${def.name}: ${what} ${path} is not a scalar field`);
    return r.field;
  };
  const tiebreak = scalar(def.tiebreak ?? 'id', 'tiebreak');
  const defaultOrder = def.defaultOrder
    ? { field: scalar(def.defaultOrder.path, 'defaultOrder'), descending: def.defaultOrder.descending ?? false }
    : { field: tiebreak, descending: false };
  const fields = [...new Map([...docFields, ...explicit]).values()].filter((f): f is QueryableField => typeof f !== 'string');

  return { name: def.name, service: def.service, resolve, tiebreak, defaultOrder, tags: def.tags, fields };
}

function opaqueMessage(path: string, what: OpaqueFieldDef): string {
  switch (what) {
    case 'array':
      return `${path} is an array and cannot be queried`;
    case 'map':
      return `${path} is a free-form map and cannot be queried`;
    case 'object':
      return `${path} is an object; query one of its properties instead`;
    case 'hidden':
      return `${path} cannot be queried`;
  }
}

function checkPath(path: string): void {
  if (!path.split('.').every((s) => NAME.test(s))) throw new Error(`invalid property path ${JSON.stringify(path)}`);
}

function buildColumnField(path: string, fd: ColumnFieldDef | AnyOfFieldDef): QueryableField {
  if ('anyOf' in fd) {
    const [head, ...rest] = path.split('.');
    return {
      kind: 'anyOf',
      path,
      type: fd.type,
      members: fd.members,
      exists: fd.anyOf,
      values:
        fd.values ??
        ((row) => {
          const arr = readPath(row, [head!]);
          return Array.isArray(arr) ? arr.map((el) => readPath(el, rest)) : [];
        }),
    };
  }
  const segments = path.split('.');
  const { type, sql: source, get, ...opts } = fd;
  return {
    kind: 'scalar',
    path,
    type,
    ...opts,
    sql: typeof source === 'function' ? source : () => source,
    get: get ?? ((row) => readPath(row, segments)),
  };
}

function collectDocument(
  doc: DocumentDef,
  props: ObjectProperties,
  prefix: string[],
  out: Map<string, QueryableField | OpaqueFieldDef>,
  objectPaths: Map<string, string>,
  entity: string,
): void {
  for (const [name, schema] of Object.entries(props)) {
    if (!NAME.test(name)) throw new Error(`${entity}: invalid property name ${JSON.stringify(name)}`);
    const segments = [...prefix, name];
    const key = segments.join('.').toLowerCase();
    if (out.has(key)) throw new Error(`${entity}: property ${segments.join('.')} declared twice (paths are case-insensitive)`);
    if (schema.kind === 'scalar') out.set(key, documentField(doc, segments, schema));
    else if (schema.kind === 'object') {
      out.set(key, 'object');
      objectPaths.set(key, segments.join('.'));
      collectDocument(doc, schema.properties, segments, out, objectPaths, entity);
    } else out.set(key, schema.kind);
  }
}

function documentField(doc: DocumentDef, segments: string[], schema: { type: ScalarType } & ScalarOptions): ScalarField {
  const { type, ...opts } = schema;
  const pgType = doc.postgresType ?? 'jsonb';
  const getDoc = doc.get ?? ((row: unknown) => row);
  const foldedKey = type === 'string' || type === 'enum' ? doc.foldedKeys?.[segments.join('.')] : undefined;
  return {
    kind: 'scalar',
    path: segments.join('.'),
    type,
    ...opts,
    ...(foldedKey ? { foldedKey } : {}),
    sql: (dialect) => jsonValueSql(dialect, doc.column, pgType, segments, type),
    get: (row) => readPath(getDoc(row), segments),
  };
}

/** Reads a dotted path through plain objects only (never arrays, strings or inherited properties), as SQL does. */
export function readPath(value: unknown, segments: readonly string[]): unknown {
  let cur = value;
  for (const s of segments) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, s)) return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON access in SQL
// ---------------------------------------------------------------------------------------------------------------

/** The document as jsonb on PostgreSQL. */
export function jsonbOf(column: Expression<unknown>, pgType: 'jsonb' | 'json' | 'text'): RawBuilder<unknown> {
  return pgType === 'jsonb' ? sql`${column}` : sql`(${column})::jsonb`;
}

/**
 * The typed value at a path of a JSON document. Path segments are names of the declared schema (or, for open
 * documents, validated against the name grammar), written as SQL literals so expression indexes can match them:
 *
 *   SQLite:      CASE WHEN json_type(data, '$.a.b') = 'text' THEN json_extract(data, '$.a.b') END
 *   PostgreSQL:  CASE WHEN jsonb_typeof(data #> '{a,b}') = 'string' THEN data #>> '{a,b}' END
 */
export function jsonValueSql(
  dialect: SqlDialect,
  column: Expression<unknown>,
  pgType: 'jsonb' | 'json' | 'text',
  segments: readonly string[],
  type: ScalarType,
): RawBuilder<unknown> {
  for (const s of segments) if (!NAME.test(s)) throw new Error(`invalid JSON path segment ${JSON.stringify(s)}`);
  if (dialect === 'sqlite') {
    const path = sql.lit(`$.${segments.join('.')}`);
    switch (type) {
      case 'number':
        return sql`(CASE WHEN json_type(${column}, ${path}) IN ('integer', 'real') THEN json_extract(${column}, ${path}) END)`;
      case 'boolean':
        return sql`(CASE json_type(${column}, ${path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)`;
      default:
        return sql`(CASE WHEN json_type(${column}, ${path}) = 'text' THEN json_extract(${column}, ${path}) END)`;
    }
  }
  const doc = jsonbOf(column, pgType);
  const path = sql.lit(`{${segments.join(',')}}`);
  switch (type) {
    case 'number':
      return sql`(CASE WHEN jsonb_typeof(${doc} #> ${path}) = 'number' THEN (${doc} #>> ${path})::numeric END)`;
    case 'boolean':
      return sql`(CASE WHEN jsonb_typeof(${doc} #> ${path}) = 'boolean' THEN (${doc} #>> ${path})::boolean END)`;
    default:
      return sql`(CASE WHEN jsonb_typeof(${doc} #> ${path}) = 'string' THEN ${doc} #>> ${path} END)`;
  }
}
