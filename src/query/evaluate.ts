/**
 * The in-memory evaluator: the same language over plain objects. It is the oracle of the property tests (SQL on
 * both databases must return exactly what it returns) and it serves resources listed from code (integrations).
 */
import type { OrderSpec, Predicate, ValueTest } from './bind.js';
import type { ScalarField, TagSource } from './entity.js';
import { compareCodePoints, foldCase, storedDateMs } from './literals.js';

export type TypedValue = string | number | boolean | null;

/**
 * A field's value in the representation the SQL uses: null when absent, null or of another JSON type; `iso` dates
 * as UTC epoch milliseconds (null when unreadable).
 */
export function typedValue(field: ScalarField, row: unknown): TypedValue {
  const raw = field.get(row);
  switch (field.type) {
    case 'string':
    case 'enum':
      return typeof raw === 'string' ? raw : null;
    case 'number':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
    case 'boolean':
      return typeof raw === 'boolean' ? raw : null;
    case 'date':
      if ((field.dateFormat ?? 'iso') === 'canonical') return typeof raw === 'string' ? raw : null;
      return storedDateMs(raw) ?? null;
  }
}

export function evaluate(pred: Predicate, row: unknown, tags?: TagSource): boolean {
  switch (pred.kind) {
    case 'and':
      return pred.operands.every((o) => evaluate(o, row, tags));
    case 'or':
      return pred.operands.some((o) => evaluate(o, row, tags));
    case 'test': {
      const v = typedValue(pred.field, row);
      const r = v !== null && runTest(pred.field, pred.test, v);
      return pred.negate ? !r : r;
    }
    case 'anyOf': {
      const hit = pred.field.values(row).some((v) => typeof v === 'string' && foldCase(v) === pred.value);
      return pred.negate ? !hit : hit;
    }
    case 'tag': {
      const obj = tags?.get ? tags.get(row) : (row as { tags?: unknown } | null)?.tags;
      const v = typeof obj === 'object' && obj !== null && !Array.isArray(obj) && Object.hasOwn(obj, pred.key) ? (obj as Record<string, unknown>)[pred.key] : undefined;
      const hit = typeof v === 'string' && (pred.op === 'eq' ? v === pred.value : v.includes(pred.value));
      return pred.negate ? !hit : hit;
    }
  }
}

function runTest(field: ScalarField, test: ValueTest, v: string | number | boolean): boolean {
  switch (test.on) {
    case 'string': {
      const s = field.storedLowercase ? (v as string) : foldCase(v as string);
      return test.op === 'eq' ? s === test.value : s.includes(test.value);
    }
    case 'number':
      return relate(compareNumbers(v as number, test.num.value), test.op);
    case 'boolean':
      return v === test.value;
    case 'instant':
      if (test.op === 'between') return (v as number) >= test.lo && (v as number) <= test.hi;
      return relate(compareNumbers(v as number, test.ms), test.op);
    case 'text':
      if (test.op === 'between') return compareCodePoints(v as string, test.lo) >= 0 && compareCodePoints(v as string, test.hi) <= 0;
      return relate(compareCodePoints(v as string, test.text), test.op);
  }
}

const compareNumbers = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);

function relate(cmp: number, op: 'eq' | 'gt' | 'ge' | 'lt' | 'le'): boolean {
  switch (op) {
    case 'eq':
      return cmp === 0;
    case 'gt':
      return cmp > 0;
    case 'ge':
      return cmp >= 0;
    case 'lt':
      return cmp < 0;
    case 'le':
      return cmp <= 0;
  }
}

/** Compares two typed values of one field: numbers, instants, booleans (false first), strings by code point. */
export function compareTyped(a: TypedValue, b: TypedValue): number {
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return compareNumbers(a as number, b as number);
}

/** The comparator of `orderBy` (§7): nulls last ascending and first descending, ties by the tiebreak ascending. */
export function rowComparator(order: OrderSpec): (a: unknown, b: unknown) => number {
  const byField = (field: ScalarField, descending: boolean) => (a: unknown, b: unknown) => {
    const x = typedValue(field, a);
    const y = typedValue(field, b);
    if (x === null || y === null) {
      if (x === y) return 0;
      // Nulls are "largest": last ascending, first descending.
      return (x === null ? 1 : -1) * (descending ? -1 : 1);
    }
    const c = compareTyped(x, y);
    return descending ? -c : c;
  };
  const primary = byField(order.field, order.descending);
  const tie = byField(order.tiebreak, false);
  return (a, b) => primary(a, b) || tie(a, b);
}
