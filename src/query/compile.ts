/**
 * Predicate → Kysely SQL for SQLite and PostgreSQL. Every literal from the client is a bound parameter; the only
 * text spliced into SQL comes from entity declarations (column references, JSON paths of declared or
 * grammar-checked names) and the constant SQL below.
 *
 * Semantics shared with `evaluate.ts` (the oracle the property tests compare against):
 * - strings and enums: ASCII case folding on both sides (`lower(x)` on SQLite, `lower(x COLLATE "C")` on
 *   PostgreSQL — both fold A–Z only, whatever the database locale), or the field's `foldedKey` column, which holds
 *   exactly that; `~` is `LIKE '%…%'` with `\`, `%` and `_` escaped;
 * - `!=` is `(test) IS NOT TRUE`, so a null or absent value matches it (§4.2); on a boolean declared `notNull` (a
 *   column that holds only true/false or 0/1) it is the equality with the other value, which an index range serves;
 * - `iso` dates are converted to UTC epoch milliseconds by `epochMsSql`, integer arithmetic only (immutable, so it
 *   can back an expression index);
 * - ORDER BY: strings by code point (`COLLATE "C"` on PostgreSQL, BINARY on SQLite), NULLS LAST ascending and
 *   NULLS FIRST descending, then the tiebreak ascending.
 */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { OrderSpec, Predicate, Relation, ValueTest } from './bind.js';
import { jsonbOf, type ScalarField, type SqlDialect, type TagSource } from './entity.js';
import { DAYS_FROM_CIVIL_OFFSET } from './literals.js';

const REL_SQL: Record<Relation, string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

export function predicateSql(pred: Predicate, dialect: SqlDialect, tags?: TagSource): Expression<SqlBool> {
  switch (pred.kind) {
    case 'and':
    case 'or':
      return balanced(
        pred.operands.map((o) => predicateSql(o, dialect, tags)),
        pred.kind === 'and' ? sql` AND ` : sql` OR `,
      );
    case 'test': {
      // A NOT NULL boolean has no third value: `!= v` is `= not v`, which an index on the column serves.
      if (pred.negate && pred.test.on === 'boolean' && pred.field.notNull) return testSql(pred.field, { on: 'boolean', op: 'eq', value: !pred.test.value }, dialect);
      const t = testSql(pred.field, pred.test, dialect);
      return pred.negate ? sql<SqlBool>`((${t}) IS NOT TRUE)` : t;
    }
    case 'anyOf': {
      const e = pred.field.exists(dialect, (el) => sql<SqlBool>`${fold(el, dialect)} = ${pred.value}`);
      return pred.negate ? sql<SqlBool>`((${e}) IS NOT TRUE)` : e;
    }
    case 'tag': {
      if (!tags) throw new Error('tags predicate without a tag source');
      const t = tagSql(tags, pred.key, pred.op, pred.value, dialect);
      return pred.negate ? sql<SqlBool>`((${t}) IS NOT TRUE)` : t;
    }
  }
}

/** `a AND b AND c AND d` as `((a AND b) AND (c AND d))`: SQLite limits expression depth, and a query may hold ~400 terms. */
function balanced(parts: Expression<SqlBool>[], sep: RawBuilder<unknown>): Expression<SqlBool> {
  if (parts.length === 1) return parts[0]!;
  const mid = parts.length >> 1;
  return sql<SqlBool>`(${balanced(parts.slice(0, mid), sep)}${sep}${balanced(parts.slice(mid), sep)})`;
}

function fold(x: Expression<unknown>, dialect: SqlDialect): RawBuilder<unknown> {
  return dialect === 'sqlite' ? sql`lower(${x})` : sql`lower((${x}) COLLATE "C")`;
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function testSql(field: ScalarField, test: ValueTest, dialect: SqlDialect): RawBuilder<SqlBool> {
  const v = field.sql(dialect);
  const pg = dialect === 'postgres';
  switch (test.on) {
    case 'string': {
      const key = field.storedLowercase ? undefined : field.foldedKey?.(dialect);
      const x = field.storedLowercase ? sql`${v}` : key !== undefined ? sql`${key}` : fold(v, dialect);
      if (test.op === 'eq') return sql<SqlBool>`(${x} = ${test.value})`;
      return sql<SqlBool>`(${x} LIKE ${`%${escapeLike(test.value)}%`} ESCAPE '\\')`;
    }
    case 'number': {
      const lit = pg ? sql`CAST(${test.num.text} AS numeric)` : sql`${test.num.value}`;
      return sql<SqlBool>`(${v} ${sql.raw(REL_SQL[test.op])} ${lit})`;
    }
    case 'boolean': {
      const lit = pg && !field.booleanAsInteger ? sql`CAST(${test.value} AS boolean)` : sql`${test.value ? 1 : 0}`;
      return sql<SqlBool>`(${v} = ${lit})`;
    }
    case 'instant': {
      const e = epochMsSql(v, dialect);
      const p = (ms: number) => (pg ? sql`CAST(${ms} AS bigint)` : sql`${ms}`);
      if (test.op === 'between') return sql<SqlBool>`(${e} BETWEEN ${p(test.lo)} AND ${p(test.hi)})`;
      return sql<SqlBool>`(${e} ${sql.raw(REL_SQL[test.op])} ${p(test.ms)})`;
    }
    case 'text': {
      if (test.op === 'between') return sql<SqlBool>`(${v} BETWEEN ${test.lo} AND ${test.hi})`;
      return sql<SqlBool>`(${v} ${sql.raw(REL_SQL[test.op])} ${test.text})`;
    }
  }
}

/**
 * Tags (§10): exact, case-sensitive keys and values; the key is a bound parameter like the value.
 * SQLite walks the object with json_each because a JSON path cannot quote every possible key.
 */
function tagSql(tags: TagSource, key: string, op: 'eq' | 'contains', value: string, dialect: SqlDialect): RawBuilder<SqlBool> {
  if (dialect === 'sqlite') {
    const cond = op === 'eq' ? sql`t.value = ${value}` : sql`instr(t.value, ${value}) > 0`;
    return sql<SqlBool>`EXISTS (SELECT 1 FROM json_each(${tags.column}) AS t WHERE t.key = ${key} AND t.type = 'text' AND ${cond})`;
  }
  const doc = jsonbOf(tags.column, tags.postgresType ?? 'text');
  if (op === 'eq') return sql<SqlBool>`((${doc} -> CAST(${key} AS text)) = to_jsonb(CAST(${value} AS text)))`;
  return sql<SqlBool>`(strpos(CASE WHEN jsonb_typeof(${doc} -> CAST(${key} AS text)) = 'string' THEN ${doc} ->> CAST(${key} AS text) END, ${value}) > 0)`;
}

/** The value an ORDER BY sorts on: code-point order for strings, the UTC instant for `iso` dates. */
export function sortKeySql(field: ScalarField, dialect: SqlDialect): RawBuilder<unknown> {
  const v = field.sql(dialect);
  if (field.type === 'date' && (field.dateFormat ?? 'iso') === 'iso') return epochMsSql(v, dialect);
  if ((field.type === 'string' || field.type === 'enum') && dialect === 'postgres') return sql`(${v}) COLLATE "C"`;
  return sql`${v}`;
}

/** ORDER BY items: the field (nulls last ascending, first descending), then the tiebreak ascending. */
export function orderBySql(order: OrderSpec, dialect: SqlDialect): RawBuilder<unknown>[] {
  const dir = order.descending ? sql`DESC NULLS FIRST` : sql`ASC NULLS LAST`;
  const items = [sql`${sortKeySql(order.field, dialect)} ${dir}`];
  if (order.field !== order.tiebreak) items.push(sql`${sortKeySql(order.tiebreak, dialect)} ASC NULLS LAST`);
  return items;
}

/**
 * UTC epoch milliseconds of an ISO 8601 text, NULL unless it is one of the forms `storedDateMs` (literals.ts)
 * accepts. Same arithmetic as `daysFromCivil`; PostgreSQL validates with a regular expression before casting (a CASE
 * branch is only evaluated when its condition holds), SQLite with GLOB patterns (its casts never fail).
 */
export function epochMsSql(t: Expression<unknown>, dialect: SqlDialect): RawBuilder<unknown> {
  const pg = dialect === 'postgres';
  const int = (from: number | RawBuilder<unknown>, len: number) => sql`CAST(substr(${t}, ${typeof from === 'number' ? sql.raw(String(from)) : from}, ${sql.raw(String(len))}) AS INTEGER)`;
  const L = sql`length(${t})`;
  const tzLen = pg
    ? sql`(CASE WHEN substr(${t}, ${L}, 1) = 'Z' THEN 1 WHEN ${L} >= 25 AND substr(${t}, ${L} - 5, 1) IN ('+', '-') THEN 6 ELSE 0 END)`
    : sql`(CASE WHEN substr(${t}, ${L}, 1) = 'Z' THEN 1 WHEN ${L} >= 25 AND substr(${t}, ${L} - 5, 1) IN ('+', '-') AND substr(${t}, ${L} - 4, 5) GLOB '[0-9][0-9]:[0-9][0-9]' THEN 6 ELSE 0 END)`;
  const mo = int(6, 2);
  const ys = sql`(${int(1, 4)} + 400 - (CASE WHEN ${mo} <= 2 THEN 1 ELSE 0 END))`;
  const mp = sql`((${mo} + 9) % 12)`;
  const days = sql`(365 * ${ys} + ${ys} / 4 - ${ys} / 100 + ${ys} / 400 + (153 * ${mp} + 2) / 5 + ${int(9, 2)} - ${sql.raw(String(DAYS_FROM_CIVIL_OFFSET))})`;
  const frac = sql`(CASE WHEN substr(${t}, 20, 1) = '.' THEN CAST(substr(substr(${t}, 21, ${L} - 20 - ${tzLen}) || '00', 1, 3) AS INTEGER) ELSE 0 END)`;
  const offset = sql`(CASE WHEN ${tzLen} = 6 THEN (CASE substr(${t}, ${L} - 5, 1) WHEN '-' THEN -1 ELSE 1 END) * (${int(sql`${L} - 4`, 2)} * 60 + ${int(sql`${L} - 1`, 2)}) * 60000 ELSE 0 END)`;
  const time = sql`(${int(12, 2)} * 3600000 + ${int(15, 2)} * 60000 + ${int(18, 2)} * 1000 + ${frac} - ${offset})`;
  const ms = sql`(CAST(${days} AS BIGINT) * 86400000 + (CASE WHEN ${L} = 10 THEN 0 ELSE ${time} END))`;
  if (pg) {
    const re =
      '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$';
    return sql`(CASE WHEN (${t}) ~ ${sql.lit(re)} THEN ${ms} END)`;
  }
  const D = '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]';
  const bodyLen = sql`(${L} - 19 - ${tzLen})`;
  const valid = sql`(
    (${t} GLOB ${sql.lit(D)}
      OR (${t} GLOB ${sql.lit(`${D}T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*`)}
        AND (${bodyLen} = 0 OR (${bodyLen} >= 2 AND substr(${t}, 20, 1) = '.' AND rtrim(substr(${t}, 21, ${bodyLen} - 1), '0123456789') = ''))
        AND ${int(12, 2)} <= 23 AND ${int(15, 2)} <= 59 AND ${int(18, 2)} <= 59
        AND (${tzLen} < 6 OR (${int(sql`${L} - 4`, 2)} <= 23 AND ${int(sql`${L} - 1`, 2)} <= 59))))
    AND ${mo} BETWEEN 1 AND 12 AND ${int(9, 2)} BETWEEN 1 AND 31)`;
  return sql`(CASE WHEN ${valid} THEN ${ms} END)`;
}
