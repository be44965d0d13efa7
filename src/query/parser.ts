/**
 * Hand-written recursive-descent parsers for `query`, `tags` and `orderBy` (query-language.md §2, §3, §7, §10).
 *
 *   expression  = orExpr | andExpr | term ;
 *   orExpr      = term , "||" , term , { "||" , term } ;
 *   andExpr     = term , "&&" , term , { "&&" , term } ;
 *   term        = comparison | "{" , expression , "}" ;
 *   comparison  = path , operator , value ;          (tags: key , operator , value)
 *   path        = name , { "." , name } ;            name = [A-Za-z_][A-Za-z0-9_-]*
 *   operator    = "!=" | ">=" | "<=" | "=" | "~" | ">" | "<" ;   longest match first
 *   value       = quoted | bare ;
 *
 * Whitespace (what `String.prototype.trim` removes) is allowed around operators, connectives and braces. A failure
 * is a `QueryParseError` naming the 1-based position and what was expected there.
 */
import type { Service } from '../domain/errors.js';
import type { Comparison, Operator, OrderByAst, QueryNode } from './ast.js';
import { malformed, show, type ErrorContext } from './errors.js';

/** §2: the decoded expression must be shorter than 2048 characters. */
export const MAX_QUERY_LENGTH = 2047;

const OPERATOR_LIST = '=, !=, ~, >, <, >=, <=';
const TAG_OPERATORS: ReadonlySet<Operator> = new Set(['=', '!=', '~']);

const isWs = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const isNameStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isNameChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_-]/.test(c);
/** Characters a tag key cannot contain (§10): operator characters and braces. */
const isTagKeyStop = (c: string | undefined): boolean => c !== undefined && '=!~<>{}'.includes(c);

export interface ParseOptions {
  /** `service` of the error body (platform-api.md §3.1). */
  service: Service;
}

/** `undefined` when the parameter is absent or blank (§2: an empty `query=` is no query). */
export function parseQuery(text: string | undefined, opts: ParseOptions): QueryNode | undefined {
  return parseExpressionText(text, { service: opts.service, parameter: 'query' }, 'query');
}

/** The `tags` parameter of `GET /companies` (§10): comparisons are `key op value` with only `=`, `!=` and `~`. */
export function parseTags(text: string | undefined, opts: ParseOptions): QueryNode | undefined {
  return parseExpressionText(text, { service: opts.service, parameter: 'tags' }, 'tags');
}

function parseExpressionText(text: string | undefined, ctx: ErrorContext, mode: 'query' | 'tags'): QueryNode | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  checkText(text, ctx);
  const p = new Parser(text, ctx, mode);
  const node = p.expression();
  p.skipWs();
  if (!p.eof()) {
    if (p.peek() === '}') throw malformed(ctx, p.pos + 1, 'unexpected } without a matching {');
    throw malformed(ctx, p.pos + 1, `expected && or || or the end of the ${ctx.parameter}, found ${show(p.peek()!)}`);
  }
  return node;
}

/** `orderBy` (§7): one property path with an optional `-` prefix for descending. */
export function parseOrderBy(text: string | undefined, opts: ParseOptions): OrderByAst | undefined {
  const ctx: ErrorContext = { service: opts.service, parameter: 'orderBy' };
  if (text === undefined || text.trim() === '') return undefined;
  checkText(text, ctx);
  const p = new Parser(text, ctx, 'query');
  p.skipWs();
  let descending = false;
  if (p.peek() === '-') {
    descending = true;
    p.pos++;
    p.skipWs();
  }
  const pathPosition = p.pos + 1;
  const path = p.path();
  p.skipWs();
  if (!p.eof()) {
    if (p.peek() === ',') throw malformed(ctx, p.pos + 1, 'orderBy takes one property only, found ","');
    throw malformed(ctx, p.pos + 1, `expected the end of orderBy, found ${show(p.peek()!)}`);
  }
  return { path, pathPosition, descending };
}

/** The length limit, and characters no database can bind (NUL, unpaired surrogates). */
function checkText(text: string, ctx: ErrorContext): void {
  if (text.length > MAX_QUERY_LENGTH) {
    throw malformed(ctx, MAX_QUERY_LENGTH + 1, `the ${ctx.parameter} must be shorter than 2048 characters; it has ${text.length}`);
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) throw malformed(ctx, i + 1, 'invalid character U+0000');
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = text.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) throw malformed(ctx, i + 1, `invalid character U+${c.toString(16).toUpperCase()} (unpaired surrogate)`);
  }
}

class Parser {
  pos = 0;

  constructor(
    readonly text: string,
    readonly ctx: ErrorContext,
    readonly mode: 'query' | 'tags',
  ) {}

  eof(): boolean {
    return this.pos >= this.text.length;
  }

  peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }

  skipWs(): void {
    while (isWs(this.peek())) this.pos++;
  }

  private at(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  private connective(): '&&' | '||' | undefined {
    return this.at('&&') ? '&&' : this.at('||') ? '||' : undefined;
  }

  private found(): string {
    return this.eof() ? 'the end' : show(this.peek()!);
  }

  private fail(position: number, explanation: string): never {
    throw malformed(this.ctx, position, explanation);
  }

  /** expression: terms joined by one kind of connective; mixing them at one level needs braces. */
  expression(): QueryNode {
    const first = this.term();
    const operands: QueryNode[] = [first];
    let kind: '&&' | '||' | undefined;
    let position = 0;
    for (;;) {
      this.skipWs();
      const c = this.connective();
      if (!c) break;
      if (kind === undefined) {
        kind = c;
        position = this.pos + 1;
      } else if (c !== kind) {
        this.fail(this.pos + 1, '&& and || mixed without braces');
      }
      this.pos += 2;
      operands.push(this.term());
    }
    if (kind === undefined) return first;
    return { kind: kind === '&&' ? 'and' : 'or', operands, position };
  }

  private term(): QueryNode {
    this.skipWs();
    if (this.peek() === '{') {
      const open = this.pos + 1;
      this.pos++;
      const inner = this.expression();
      this.skipWs();
      if (this.peek() !== '}') {
        if (this.eof()) this.fail(this.pos + 1, `expected } to close the { at position ${open}`);
        this.fail(this.pos + 1, `expected && or || or }, found ${this.found()}`);
      }
      this.pos++;
      return inner;
    }
    return this.mode === 'tags' ? this.tagComparison() : this.comparison();
  }

  /** path: name { "." name }. */
  path(): string {
    const start = this.pos;
    if (!isNameStart(this.peek())) this.fail(this.pos + 1, `expected a property name, found ${this.found()}`);
    for (;;) {
      while (isNameChar(this.peek())) this.pos++;
      if (this.peek() !== '.') break;
      this.pos++;
      if (!isNameStart(this.peek())) this.fail(this.pos + 1, `expected a property name after ".", found ${this.found()}`);
    }
    return this.text.slice(start, this.pos);
  }

  private comparison(): Comparison {
    if (!isNameStart(this.peek())) this.fail(this.pos + 1, `expected a property name or {, found ${this.found()}`);
    const pathPosition = this.pos + 1;
    const path = this.path();
    this.skipWs();
    const operatorPosition = this.pos + 1;
    const operator = this.operator();
    if (!operator) this.fail(operatorPosition, `expected an operator (${OPERATOR_LIST}), found ${this.found()}`);
    return { kind: 'comparison', path, pathPosition, operator, operatorPosition, ...this.value() };
  }

  private tagComparison(): Comparison {
    const start = this.pos;
    while (!this.eof() && !isTagKeyStop(this.peek()) && !this.connective()) this.pos++;
    const raw = this.text.slice(start, this.pos);
    const path = raw.trimEnd();
    if (path === '') this.fail(start + 1, `expected a tag key or {, found ${this.found()}`);
    const operatorPosition = this.pos + 1;
    const operator = this.operator();
    if (!operator) this.fail(operatorPosition, `expected an operator (=, !=, ~), found ${this.found()}`);
    if (!TAG_OPERATORS.has(operator)) this.fail(operatorPosition, `operator ${operator} cannot be used in tags; use =, != or ~`);
    return { kind: 'comparison', path, pathPosition: start + 1, operator, operatorPosition, ...this.value() };
  }

  /** Longest match first, so `>=` is never `>` followed by a value starting with `=`. */
  private operator(): Operator | undefined {
    for (const op of ['!=', '>=', '<=', '=', '~', '>', '<'] as const) {
      if (this.at(op)) {
        this.pos += op.length;
        return op;
      }
    }
    return undefined;
  }

  private value(): Pick<Comparison, 'value' | 'quoted' | 'valuePosition'> {
    this.skipWs();
    const start = this.pos;
    if (this.peek() === '"') return { value: this.quoted(), quoted: true, valuePosition: start + 1 };
    // bare: everything up to `&&`, `||`, a brace or the end, trailing whitespace trimmed (leading was skipped).
    while (!this.eof() && !this.connective() && this.peek() !== '{' && this.peek() !== '}') this.pos++;
    const value = this.text.slice(start, this.pos).trimEnd();
    if (value === '') this.fail(start + 1, `expected a value, found ${this.found()}`);
    return { value, quoted: false, valuePosition: start + 1 };
  }

  /** quoted: `"…"` with `\"` and `\\` as the only escapes. */
  private quoted(): string {
    const open = this.pos + 1;
    this.pos++;
    let out = '';
    for (;;) {
      if (this.eof()) this.fail(open, 'unterminated quoted value: missing the closing "');
      const c = this.peek()!;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        const n = this.peek(1);
        if (n === '"' || n === '\\') {
          out += n;
          this.pos += 2;
          continue;
        }
        if (n === undefined) this.fail(open, 'unterminated quoted value: missing the closing "');
        this.fail(this.pos + 1, `invalid escape \\${n} in a quoted value; only \\" and \\\\ are allowed`);
      }
      out += c;
      this.pos++;
    }
  }
}
