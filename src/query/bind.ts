/**
 * Binding: resolves every path of a syntax tree against an entity and parses every literal for its property's
 * type (query-language.md §4, §6). The result, a `Predicate`, is what both the SQL compiler and the in-memory
 * evaluator consume, so they cannot disagree about what a query means.
 */
import type { Comparison, Operator, OrderByAst, QueryNode } from './ast.js';
import type { AnyOfField, Entity, ScalarField, ScalarType } from './entity.js';
import { malformed, show, unresolved, type ErrorContext, type QueryParameter } from './errors.js';
import {
  canonicalText,
  DAY_MS,
  daysFromCivil,
  foldCase,
  parseBooleanLiteral,
  parseDateLiteral,
  parseNumberLiteral,
  type DateLiteral,
  type NumberLiteral,
} from './literals.js';

export type Relation = 'eq' | 'gt' | 'ge' | 'lt' | 'le';

/** A test of one typed value. A null (absent, or of another type) value fails every test. */
export type ValueTest =
  | { on: 'string'; op: 'eq' | 'contains'; /** folded */ value: string }
  | { on: 'number'; op: Relation; num: NumberLiteral }
  | { on: 'boolean'; op: 'eq'; value: boolean }
  /** `iso` dates: UTC epoch milliseconds; `between` is inclusive (a whole day: start … start + 86 399 999). */
  | { on: 'instant'; op: Relation; ms: number }
  | { on: 'instant'; op: 'between'; lo: number; hi: number }
  /** `canonical` dates: the same bounds as canonical text. */
  | { on: 'text'; op: Relation; text: string }
  | { on: 'text'; op: 'between'; lo: string; hi: string };

export type Predicate =
  | { kind: 'and' | 'or'; operands: Predicate[] }
  /** `negate` is `!=`: the record matches when the test is not true, null values included (§4.2). */
  | { kind: 'test'; field: ScalarField; negate: boolean; test: ValueTest }
  | { kind: 'anyOf'; field: AnyOfField; negate: boolean; /** folded */ value: string }
  /** Tags compare case-sensitively (§10). */
  | { kind: 'tag'; key: string; negate: boolean; op: 'eq' | 'contains'; value: string };

export interface OrderSpec {
  field: ScalarField;
  descending: boolean;
  tiebreak: ScalarField;
}

const APPLICABLE: Record<ScalarType, ReadonlySet<Operator>> = {
  string: new Set(['=', '!=', '~']),
  enum: new Set(['=', '!=', '~']),
  number: new Set(['=', '!=', '>', '<', '>=', '<=']),
  date: new Set(['=', '!=', '>', '<', '>=', '<=']),
  boolean: new Set(['=', '!=']),
};

const RELATION: Partial<Record<Operator, Relation>> = { '=': 'eq', '!=': 'eq', '>': 'gt', '>=': 'ge', '<': 'lt', '<=': 'le' };

export function bindQuery(node: QueryNode, entity: Entity): Predicate {
  const ctx = { service: entity.service, parameter: 'query' as QueryParameter, entity: entity.name };
  const bind = (n: QueryNode): Predicate =>
    n.kind === 'comparison' ? bindComparison(n, entity, ctx) : { kind: n.kind, operands: n.operands.map(bind) };
  return bind(node);
}

/** Tag comparisons (already restricted to `=`, `!=`, `~` by the parser). */
export function bindTags(node: QueryNode): Predicate {
  const bind = (n: QueryNode): Predicate =>
    n.kind === 'comparison'
      ? { kind: 'tag', key: n.path, negate: n.operator === '!=', op: n.operator === '~' ? 'contains' : 'eq', value: n.value }
      : { kind: n.kind, operands: n.operands.map(bind) };
  return bind(node);
}

export function bindOrderBy(ast: OrderByAst | undefined, entity: Entity): OrderSpec {
  if (!ast) return { ...entity.defaultOrder, tiebreak: entity.tiebreak };
  const r = entity.resolve(ast.path);
  const ctx = { service: entity.service, parameter: 'orderBy' as QueryParameter, entity: entity.name };
  if ('error' in r) throw unresolved(ctx, ast.path, ast.pathPosition, r.error);
  if (r.field.kind !== 'scalar') throw unresolved(ctx, ast.path, ast.pathPosition, `unknown property ${ast.path} (a property of a collection cannot be ordered by)`);
  return { field: r.field, descending: ast.descending, tiebreak: entity.tiebreak };
}

function bindComparison(c: Comparison, entity: Entity, ctx: ErrorContext & { entity: string }): Predicate {
  const r = entity.resolve(c.path);
  if ('error' in r) throw unresolved(ctx, c.path, c.pathPosition, r.error);
  const field = r.field;
  const negate = c.operator === '!=';
  if (field.kind === 'anyOf') {
    if (c.operator !== '=' && c.operator !== '!=') {
      throw malformed(ctx, c.operatorPosition, `operator ${c.operator} cannot be used on ${c.path}; use = or !=`);
    }
    return { kind: 'anyOf', field, negate, value: foldCase(c.value) };
  }
  if (!APPLICABLE[field.type].has(c.operator)) {
    throw malformed(ctx, c.operatorPosition, `operator ${c.operator} cannot be used on ${field.type} property ${c.path}`);
  }
  const bad = (expected: string): never => {
    throw malformed(ctx, c.valuePosition, `expected ${expected} for ${c.path}, found ${show(c.value)}`);
  };
  const test = (t: ValueTest): Predicate => ({ kind: 'test', field, negate, test: t });
  switch (field.type) {
    case 'string':
    case 'enum':
      return test({ on: 'string', op: c.operator === '~' ? 'contains' : 'eq', value: foldCase(c.value) });
    case 'number': {
      const num = parseNumberLiteral(c.value) ?? bad('a number such as 12 or -12.5');
      return test({ on: 'number', op: RELATION[c.operator]!, num });
    }
    case 'boolean': {
      const value = parseBooleanLiteral(c.value) ?? bad('true or false');
      return test({ on: 'boolean', op: 'eq', value });
    }
    case 'date': {
      const lit = parseDateLiteral(c.value) ?? bad('a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM])');
      return test(dateTest(lit, c.operator, field.dateFormat ?? 'iso'));
    }
  }
}

/**
 * §5. A whole-day literal compares at day granularity: `> D` is "from D+1 on", `<= D` is "before D+1", `= D` is
 * "any time on D". The canonical form is used for `canonical` dates, epoch milliseconds for `iso` ones.
 */
function dateTest(lit: DateLiteral, op: Operator, format: 'iso' | 'canonical'): ValueTest {
  let rel: Relation | 'between';
  let a: number;
  let b = 0;
  if (lit.kind === 'instant') {
    rel = RELATION[op]!;
    a = lit.ms;
  } else {
    switch (op) {
      case '=':
      case '!=':
        [rel, a, b] = ['between', lit.startMs, lit.endMs - 1];
        break;
      case '>':
        [rel, a] = ['ge', lit.endMs];
        break;
      case '>=':
        [rel, a] = ['ge', lit.startMs];
        break;
      case '<':
        [rel, a] = ['lt', lit.startMs];
        break;
      default: // '<='
        [rel, a] = ['lt', lit.endMs];
    }
  }
  if (format === 'iso') return rel === 'between' ? { on: 'instant', op: rel, lo: a, hi: b } : { on: 'instant', op: rel, ms: a };
  return rel === 'between'
    ? { on: 'text', op: rel, lo: canonicalBound(a), hi: canonicalBound(b) }
    : { on: 'text', op: rel, text: canonicalBound(a) };
}

const MIN_CANONICAL_MS = daysFromCivil(0, 1, 1) * DAY_MS;
const END_CANONICAL_MS = daysFromCivil(10000, 1, 1) * DAY_MS;

/**
 * A literal's bound as canonical text. An offset can push a literal just outside years 0000–9999, where the text
 * would no longer sort chronologically; such a bound becomes a string that sorts before (after) every canonical
 * value and equals none.
 */
function canonicalBound(ms: number): string {
  if (ms < MIN_CANONICAL_MS) return '0000-00-00';
  if (ms >= END_CANONICAL_MS) return '9999-99-99';
  return canonicalText(ms);
}

