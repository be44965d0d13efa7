/**
 * Syntax trees of the `query`, `tags` and `orderBy` parameters (query-language.md §3, §7, §10), before any property
 * is resolved. Positions are 1-based indexes into the decoded text (UTF-16 code units, as `String.length` counts).
 */

export const OPERATORS = ['!=', '>=', '<=', '=', '~', '>', '<'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Comparison {
  kind: 'comparison';
  /** The dotted path (or, in `tags`, the tag key) exactly as written. */
  path: string;
  pathPosition: number;
  operator: Operator;
  operatorPosition: number;
  /** The value with quotes removed and escapes resolved (quoted), or trimmed (bare). */
  value: string;
  quoted: boolean;
  valuePosition: number;
}

export interface Connective {
  kind: 'and' | 'or';
  /** Two or more operands. A braced group is not a node of its own: `{a=1}` parses to the comparison. */
  operands: QueryNode[];
  position: number;
}

export type QueryNode = Comparison | Connective;

export interface OrderByAst {
  path: string;
  pathPosition: number;
  descending: boolean;
}

/**
 * Prints a tree back as a query string that parses to the same tree (values are always quoted, so any value
 * round-trips). Used by tests and handy in logs.
 */
export function formatQuery(node: QueryNode): string {
  if (node.kind === 'comparison') return `${node.path}${node.operator}${quote(node.value)}`;
  const sep = node.kind === 'and' ? '&&' : '||';
  return node.operands.map((o) => (o.kind === 'comparison' ? formatQuery(o) : `{${formatQuery(o)}}`)).join(sep);
}

export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
