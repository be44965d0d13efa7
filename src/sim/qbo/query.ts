/**
 * QuickBooks Online's query language, as its query endpoint accepts it:
 *
 *   SELECT * | count(*) FROM <Entity> [WHERE <cond> [AND <cond>]…] [ORDERBY <field> [ASC|DESC][, …]]
 *     [STARTPOSITION n] [MAXRESULTS m]
 *   <cond> := <field> (= | < | > | <= | >= | !=) <value> | <field> IN (<value>, …) | <field> LIKE '<pattern>'
 *
 * Keywords are case-insensitive, strings are single-quoted (a quote inside is escaped with a backslash), there is no
 * OR, no parentheses around conditions, no joins. A malformed query is a QueryParserError (Fault 4000), worded as
 * QuickBooks words it ("Encountered … at line 1, column n").
 */

export type QValue = string | number | boolean;

export interface QCondition {
  field: string;
  op: '=' | '<' | '>' | '<=' | '>=' | '!=' | 'IN' | 'LIKE';
  values: QValue[];
}

export interface QOrder {
  field: string;
  desc: boolean;
}

export interface QQuery {
  count: boolean;
  entity: string;
  where: QCondition[];
  orderBy: QOrder[];
  /** 1-based. */
  startPosition: number;
  maxResults: number | undefined;
}

export class QueryParserError extends Error {}

type Tok = { kind: 'word' | 'string' | 'number' | 'op' | 'punct' | 'eof'; text: string; col: number; value?: string };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    if (c === "'") {
      let j = i + 1;
      let v = '';
      for (;;) {
        if (j >= q.length) throw new QueryParserError(`QueryParserError: Lexical error at line 1, column ${q.length + 1}.  Encountered: <EOF> after : "${q.slice(i)}"`);
        const d = q[j]!;
        if (d === '\\' && j + 1 < q.length) {
          v += q[j + 1];
          j += 2;
          continue;
        }
        if (d === "'") break;
        v += d;
        j++;
      }
      out.push({ kind: 'string', text: q.slice(i, j + 1), value: v, col });
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(q[i + 1] ?? ''))) {
      const m = /^-?\d+(\.\d+)?/.exec(q.slice(i))!;
      out.push({ kind: 'number', text: m[0], col });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(q.slice(i))!;
      out.push({ kind: 'word', text: m[0], col });
      i += m[0].length;
      continue;
    }
    const two = q.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
      out.push({ kind: 'op', text: two === '<>' ? '!=' : two, col });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      out.push({ kind: 'op', text: c, col });
      i++;
      continue;
    }
    if (c === '*' || c === '(' || c === ')' || c === ',') {
      out.push({ kind: 'punct', text: c, col });
      i++;
      continue;
    }
    throw new QueryParserError(`QueryParserError: Invalid content. Lexical error at line 1, column ${col}.  Encountered: "${c}" (${c.charCodeAt(0)}), after : ""`);
  }
  out.push({ kind: 'eof', text: '<EOF>', col: q.length + 1 });
  return out;
}

export function parseQuery(q: string): QQuery {
  if (!q.trim()) throw new QueryParserError('QueryParserError: The query provided was empty');
  const toks = tokenize(q);
  let p = 0;
  const peek = () => toks[p]!;
  const fail = (expecting: string): never => {
    const t = peek();
    throw new QueryParserError(`QueryParserError: Encountered " ${t.kind === 'eof' ? '<EOF>' : `"${t.text}"`} " at line 1, column ${t.col}.\nWas expecting:\n    ${expecting} ...`);
  };
  const isKw = (kw: string) => peek().kind === 'word' && peek().text.toUpperCase() === kw;
  const kw = (k: string) => {
    if (!isKw(k)) fail(`"${k.toLowerCase()}"`);
    p++;
  };
  const punct = (c: string) => {
    if (peek().kind !== 'punct' || peek().text !== c) fail(`"${c}"`);
    p++;
  };
  const value = (): QValue => {
    const t = peek();
    if (t.kind === 'string') return p++, t.value!;
    if (t.kind === 'number') return p++, Number(t.text);
    if (t.kind === 'word' && /^(true|false)$/i.test(t.text)) return p++, t.text.toLowerCase() === 'true';
    return fail('<STRING> | <NUMBER> | "true" | "false"');
  };
  const field = (): string => {
    const t = peek();
    if (t.kind !== 'word') fail('<IDENTIFIER>');
    p++;
    return t.text;
  };
  const int = (what: string): number => {
    const t = peek();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) fail(`<INTEGER> (${what})`);
    p++;
    return Number(t.text);
  };

  kw('SELECT');
  let count = false;
  if (peek().kind === 'punct' && peek().text === '*') p++;
  else if (isKw('COUNT')) {
    p++;
    punct('(');
    punct('*');
    punct(')');
    count = true;
  } else fail('"*" | "count"');
  kw('FROM');
  const entity = field();
  if (entity.includes('.')) throw new QueryParserError(`QueryParserError: Encountered " "${entity}" " at line 1, column ${toks[p - 1]!.col}.`);
  const where: QCondition[] = [];
  if (isKw('WHERE')) {
    p++;
    for (;;) {
      const f = field();
      let cond: QCondition;
      if (isKw('IN')) {
        p++;
        punct('(');
        const values = [value()];
        while (peek().kind === 'punct' && peek().text === ',') p++, values.push(value());
        punct(')');
        cond = { field: f, op: 'IN', values };
      } else if (isKw('LIKE')) {
        p++;
        const v = value();
        if (typeof v !== 'string') fail('<STRING>');
        cond = { field: f, op: 'LIKE', values: [v] };
      } else if (peek().kind === 'op') {
        const op = peek().text as QCondition['op'];
        p++;
        cond = { field: f, op, values: [value()] };
      } else cond = fail('"=" | "<" | ">" | "<=" | ">=" | "in" | "like"');
      where.push(cond);
      if (isKw('AND')) {
        p++;
        continue;
      }
      if (isKw('OR')) fail('"orderby" | "startposition" | "maxresults" | "and" | <EOF>');
      break;
    }
  }
  const orderBy: QOrder[] = [];
  if (isKw('ORDERBY') || isKw('ORDER')) {
    if (isKw('ORDER')) {
      p++;
      kw('BY');
    } else p++;
    for (;;) {
      const f = field();
      let desc = false;
      if (isKw('DESC')) (desc = true), p++;
      else if (isKw('ASC')) p++;
      orderBy.push({ field: f, desc });
      if (peek().kind === 'punct' && peek().text === ',') {
        p++;
        continue;
      }
      break;
    }
  }
  let startPosition = 1;
  let maxResults: number | undefined;
  for (let k = 0; k < 2; k++) {
    if (isKw('STARTPOSITION')) {
      p++;
      startPosition = int('startposition');
    } else if (isKw('MAXRESULTS')) {
      p++;
      maxResults = int('maxresults');
    }
  }
  if (peek().kind !== 'eof') fail('<EOF>');
  return { count, entity, where, orderBy, startPosition: Math.max(1, startPosition), maxResults };
}

/** A SQL LIKE pattern with `%` wildcards → a case-insensitive RegExp. */
export function likeToRegExp(pattern: string): RegExp {
  const esc = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*');
  return new RegExp(`^${esc}$`, 'i');
}
