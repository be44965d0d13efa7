import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { QueryError } from '../domain/errors.js';
import { formatQuery, quote, type Comparison, type Operator, type QueryNode } from './ast.js';
import { QueryParseError } from './errors.js';
import { MAX_QUERY_LENGTH, parseOrderBy, parseQuery, parseTags } from './parser.js';

const opts = { service: 'PublicApi' as const };
const parse = (t: string) => parseQuery(t, opts);

/** The tree without positions. */
function shape(n: QueryNode | undefined): unknown {
  if (!n) return n;
  if (n.kind === 'comparison') return [n.path, n.operator, n.value, ...(n.quoted ? ['quoted'] : [])];
  return { [n.kind]: n.operands.map(shape) };
}
const cmp = (t: string) => parse(t) as Comparison;

function failure(fn: () => unknown): QueryParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QueryParseError);
    return e as QueryParseError;
  }
  throw new Error('expected a QueryParseError');
}

function expectMalformed(text: string, position: number, fragment: string | RegExp, parser: (t: string) => unknown = parse) {
  const e = failure(() => parser(text));
  expect(e.kind).toBe('malformed');
  expect(e.message).toBe('Error parsing query - Malformed query.');
  expect(e.position, `position for ${JSON.stringify(text)}: ${e.explanation}`).toBe(position);
  expect(e.explanation).toMatch(fragment);
  return e;
}

describe('comparisons', () => {
  it.each<[string, Operator, string]>([
    ['amountDue=0', '=', '0'],
    ['status!=Paid', '!=', 'Paid'],
    ['name~acme', '~', 'acme'],
    ['amountDue>0', '>', '0'],
    ['amountDue<1000', '<', '1000'],
    ['modifiedDate>=2022-08-23T10:15:00.000Z', '>=', '2022-08-23T10:15:00.000Z'],
    ['issueDate<=2021-01-01', '<=', '2021-01-01'],
  ])('%s', (text, operator, value) => {
    const c = cmp(text);
    expect(c.operator).toBe(operator);
    expect(c.value).toBe(value);
    expect(c.quoted).toBe(false);
  });

  it('matches operators longest first, and the first operator splits path from value', () => {
    expect(shape(parse('a>=1'))).toEqual(['a', '>=', '1']);
    expect(shape(parse('a<=1'))).toEqual(['a', '<=', '1']);
    expect(shape(parse('a!=1'))).toEqual(['a', '!=', '1']);
    expect(shape(parse('a=>1'))).toEqual(['a', '=', '>1']);
    expect(shape(parse('a==1'))).toEqual(['a', '=', '=1']);
    expect(shape(parse('a~=1'))).toEqual(['a', '~', '=1']);
    expect(shape(parse('a>>=1'))).toEqual(['a', '>', '>=1']);
    expect(shape(parse('url=https://x.test/?a=b<c>d'))).toEqual(['url', '=', 'https://x.test/?a=b<c>d']);
  });

  it('records positions of path, operator and value (1-based)', () => {
    const c = cmp('  customerRef.id  !=  61 ');
    expect([c.pathPosition, c.operatorPosition, c.valuePosition]).toEqual([3, 19, 23]);
  });

  it('reads dotted paths of names [A-Za-z_][A-Za-z0-9_-]*', () => {
    expect(cmp('customerRef.id=61').path).toBe('customerRef.id');
    expect(cmp('metadata.isDeleted!=true').path).toBe('metadata.isDeleted');
    expect(cmp('_a-b_9.C_-1=x').path).toBe('_a-b_9.C_-1');
    expect(cmp('a.b.c.d=x').path).toBe('a.b.c.d');
  });

  it.each<[string, number, RegExp]>([
    ['1a=1', 1, /expected a property name or \{, found "1"/],
    ['.a=1', 1, /expected a property name/],
    ['-a=1', 1, /expected a property name/],
    ['=1', 1, /expected a property name or \{, found "="/],
    ['a.=1', 3, /expected a property name after "\."/],
    ['a..b=1', 3, /after "\."/],
    ['a.1=1', 3, /after "\."/],
    ['a.', 3, /after "\.", found the end/],
    ['a', 2, /expected an operator \(=, !=, ~, >, <, >=, <=\), found the end/],
    ['a!1', 2, /expected an operator .*found "!"/],
    ['a b=1', 3, /expected an operator .*found "b"/],
    ['customerRef .id=1', 13, /expected an operator .*found "\."/],
    ['a=', 3, /expected a value, found the end/],
    ['a=   ', 6, /expected a value, found the end/],
    ['a=&&b=1', 3, /expected a value, found "&"/],
    ['a={x}', 3, /expected a value, found "\{"/],
  ])('rejects %j at position %i', (text, position, fragment) => {
    expectMalformed(text, position, fragment);
  });
});

describe('values', () => {
  it('trims a bare value and keeps its inner whitespace', () => {
    expect(cmp('customerName=Acme Trading Ltd').value).toBe('Acme Trading Ltd');
    expect(cmp('customerName =   Acme  Ltd   ').value).toBe('Acme  Ltd');
    expect(cmp('a=\tx\n').value).toBe('x');
  });

  it('stops a bare value at &&, ||, { and } only', () => {
    expect(cmp('a=x&y|z').value).toBe('x&y|z');
    expect(cmp('a=1 b=2').value).toBe('1 b=2');
    expect(cmp('name=Acme "Ltd"').value).toBe('Acme "Ltd"');
    expect(cmp('name=Acme"').value).toBe('Acme"');
    expect(cmp("name=O'Brien; DROP TABLE x;--").value).toBe("O'Brien; DROP TABLE x;--");
  });

  it('reads quoted values literally, with \\" and \\\\ escapes', () => {
    expect(shape(parse('customerName=" Acme "'))).toEqual(['customerName', '=', ' Acme ', 'quoted']);
    expect(cmp('a="x&&y||{z} = ~ >"').value).toBe('x&&y||{z} = ~ >');
    expect(cmp('a="say \\"hi\\" \\\\ ok"').value).toBe('say "hi" \\ ok');
    expect(cmp('a=""').value).toBe('');
    expect(cmp('a = "x"   ').value).toBe('x');
    expect(shape(parse('a="x"  &&  b="y"'))).toEqual({ and: [['a', '=', 'x', 'quoted'], ['b', '=', 'y', 'quoted']] });
    expect(shape(parse('{a="}"}'))).toEqual(['a', '=', '}', 'quoted']);
  });

  it.each<[string, number, RegExp]>([
    ['a="x', 3, /unterminated quoted value/],
    ['a="x\\"', 3, /unterminated/],
    ['a="x\\', 3, /unterminated/],
    ['a="\\n"', 4, /invalid escape \\n/],
    ['a="x\\y"', 5, /invalid escape \\y/],
    ['a="x"y', 6, /expected && or \|\| or the end of the query, found "y"/],
    ['a="x" y', 7, /found "y"/],
    ['{a="x"y}', 7, /expected && or \|\| or \}, found "y"/],
    ['a="x"{b=1}', 6, /found "\{"/],
  ])('rejects %j at position %i', (text, position, fragment) => {
    expectMalformed(text, position, fragment);
  });
});

describe('connectives and braces', () => {
  it('joins with && and ||, flattening a chain of one kind', () => {
    expect(shape(parse('amountDue>0&&totalAmount<1000'))).toEqual({ and: [['amountDue', '>', '0'], ['totalAmount', '<', '1000']] });
    expect(shape(parse('status=Draft||status=Submitted||status=Paid'))).toEqual({
      or: [['status', '=', 'Draft'], ['status', '=', 'Submitted'], ['status', '=', 'Paid']],
    });
  });

  it('groups with braces, which may nest', () => {
    expect(shape(parse('{totalAmount>100||totalAmount<50}&&status!=Paid'))).toEqual({
      and: [{ or: [['totalAmount', '>', '100'], ['totalAmount', '<', '50']] }, ['status', '!=', 'Paid']],
    });
    expect(shape(parse('{a=1&&{b=2||b=3}}||c=4'))).toEqual({
      or: [{ and: [['a', '=', '1'], { or: [['b', '=', '2'], ['b', '=', '3']] }] }, ['c', '=', '4']],
    });
    expect(shape(parse('{{{a=1}}}'))).toEqual(['a', '=', '1']);
    expect(shape(parse('{a=1&&b=2}&&c=3'))).toEqual({ and: [{ and: [['a', '=', '1'], ['b', '=', '2']] }, ['c', '=', '3']] });
  });

  it('ignores whitespace around operators, connectives and braces', () => {
    expect(shape(parse('region = uk && owningTeam = invoice-finance'))).toEqual(shape(parse('region=uk&&owningTeam=invoice-finance')));
    expect(shape(parse(' {  a = 1 ||\tb = 2 }\n&& c=3 '))).toEqual(shape(parse('{a=1||b=2}&&c=3')));
  });

  it('records the position of a connective', () => {
    const n = parse('a=1 && b=2') as QueryNode & { position: number };
    expect(n.position).toBe(5);
  });

  it('refuses && and || mixed without braces, at the second kind of connective', () => {
    const text = 'totalAmount>100||totalAmount<50&&status!=Paid';
    expectMalformed(text, text.indexOf('&&') + 1, /^&& and \|\| mixed without braces$/);
    expectMalformed('a=1&&b=2||c=3', 9, /mixed without braces/);
    expectMalformed('{a=1||b=2&&c=3}', 10, /mixed without braces/);
  });

  it.each<[string, number, RegExp]>([
    ['{a=1', 5, /expected \} to close the \{ at position 1/],
    ['{a=1&&{b=2}', 12, /expected \} to close the \{ at position 1/],
    ['{}', 2, /expected a property name or \{, found "\}"/],
    ['a=1&&{}', 7, /found "\}"/],
    ['a=1&&', 6, /expected a property name or \{, found the end/],
    ['a=1||  ', 8, /found the end/],
    ['&&a=1', 1, /expected a property name or \{, found "&"/],
    ['||a=1', 1, /found "\|"/],
    ['a=1}', 4, /unexpected \} without a matching \{/],
    ['{a=1}}', 6, /unexpected \}/],
    ['{a=1}{b=2}', 6, /expected && or \|\| or the end of the query, found "\{"/],
    ['a=1&&&&b=2', 6, /found "&"/],
  ])('rejects %j at position %i', (text, position, fragment) => {
    expectMalformed(text, position, fragment);
  });

  it('ends a bare value at a closing brace', () => {
    expect(shape(parse('{a=1 b}'))).toEqual(['a', '=', '1 b']);
  });
});

describe('limits and characters', () => {
  it('treats an absent or blank parameter as no query', () => {
    expect(parse('')).toBeUndefined();
    expect(parseQuery(undefined, opts)).toBeUndefined();
    expect(parse('   \t')).toBeUndefined();
  });

  it('accepts 2047 characters and refuses 2048 (position 2048)', () => {
    const ok = `name=${'x'.repeat(MAX_QUERY_LENGTH - 5)}`;
    expect(ok.length).toBe(2047);
    expect(cmp(ok).value.length).toBe(2042);
    const long = `${ok}x`;
    expectMalformed(long, 2048, /must be shorter than 2048 characters; it has 2048/);
    // The limit applies before anything else is checked.
    expectMalformed('{'.repeat(5000), 2048, /shorter than 2048/);
  });

  it('parses deeply nested groups within the limit', () => {
    const depth = 1000;
    const text = `${'{'.repeat(depth)}a=1${'}'.repeat(depth)}`;
    expect(text.length).toBe(2003);
    expect(shape(parse(text))).toEqual(['a', '=', '1']);
  });

  it('refuses NUL and unpaired surrogates, which no database can bind', () => {
    expectMalformed('a=x\u0000y', 4, /U\+0000/);
    expectMalformed('a=x\ud800', 4, /U\+D800 \(unpaired surrogate\)/);
    expectMalformed('a=\udc00x', 3, /U\+DC00/);
    expect(cmp('a=😀é').value).toBe('😀é');
  });
});

describe('errors', () => {
  it('are QueryErrors carrying the documented body', () => {
    const e = failure(() => parseQuery('a=1&&b=2||c=3', { service: 'ClientsApi' }));
    expect(e).toBeInstanceOf(QueryError);
    expect(e.statusCode).toBe(400);
    expect(e.service).toBe('ClientsApi');
    expect(e.message).toBe('Error parsing query - Malformed query.');
    expect(e.validation).toEqual([{ itemId: 'query', validatorName: 'QueryParser', message: 'Position 9: && and || mixed without braces' }]);
  });

  it('shorten long echoed values', () => {
    const e = failure(() => parse(`a="${'x'.repeat(100)}"y`));
    expect(e.explanation.length).toBeLessThan(80);
  });
});

describe('tags', () => {
  const tags = (t: string) => parseTags(t, opts);

  it('reads the documented examples', () => {
    expect(shape(tags('uid=cust-0042'))).toEqual(['uid', '=', 'cust-0042']);
    expect(shape(tags('region!=uk'))).toEqual(['region', '!=', 'uk']);
    expect(shape(tags('region = uk && owningTeam = invoice-finance'))).toEqual({
      and: [['region', '=', 'uk'], ['owningTeam', '=', 'invoice-finance']],
    });
    expect(shape(tags('{region=uk||region=ie}&&owningTeam~finance'))).toEqual({
      and: [{ or: [['region', '=', 'uk'], ['region', '=', 'ie']] }, ['owningTeam', '~', 'finance']],
    });
  });

  it('takes any key characters except operator characters and braces, trimmed at the ends', () => {
    expect(shape(tags('a.b/c:d=1'))).toEqual(['a.b/c:d', '=', '1']);
    expect(shape(tags('  my key  = v'))).toEqual(['my key', '=', 'v']);
    expect(shape(tags('1st|x&y"=v'))).toEqual(['1st|x&y"', '=', 'v']);
    expect(shape(tags('k="a b"'))).toEqual(['k', '=', 'a b', 'quoted']);
  });

  it.each<[string, number, RegExp]>([
    ['region>uk', 7, /operator > cannot be used in tags; use =, != or ~/],
    ['region<uk', 7, /operator </],
    ['region>=uk', 7, /operator >=/],
    ['region<=uk', 7, /operator <=/],
    ['=uk', 1, /expected a tag key or \{, found "="/],
    ['   =uk', 4, /expected a tag key/],
    ['a&&b=1', 2, /expected an operator \(=, !=, ~\), found "&"/],
    ['region', 7, /expected an operator/],
    ['a!b=1', 2, /expected an operator/],
    ['a=1||b=2&&c=3', 9, /mixed without braces/],
  ])('rejects %j at position %i', (text, position, fragment) => {
    const e = expectMalformed(text, position, fragment, tags);
    expect(e.validation?.[0]?.itemId).toBe('tags');
  });

  it('has the same length limit', () => {
    expectMalformed(`k=${'v'.repeat(2046)}`, 2048, /shorter than 2048/, tags);
  });
});

describe('orderBy', () => {
  const ob = (t: string) => parseOrderBy(t, opts);

  it('reads one path with an optional - for descending', () => {
    expect(ob('issueDate')).toEqual({ path: 'issueDate', pathPosition: 1, descending: false });
    expect(ob('-modifiedDate')).toEqual({ path: 'modifiedDate', pathPosition: 2, descending: true });
    expect(ob(' - customerRef.id ')).toEqual({ path: 'customerRef.id', pathPosition: 4, descending: true });
    expect(ob('')).toBeUndefined();
    expect(ob('  ')).toBeUndefined();
    expect(parseOrderBy(undefined, opts)).toBeUndefined();
  });

  it.each<[string, number, RegExp]>([
    ['a,b', 2, /orderBy takes one property only, found ","/],
    ['-a, -b', 3, /one property only/],
    ['--a', 2, /expected a property name, found "-"/],
    ['+a', 1, /expected a property name, found "\+"/],
    ['-', 2, /expected a property name, found the end/],
    ['a b', 3, /expected the end of orderBy, found "b"/],
    ['a desc', 3, /expected the end of orderBy/],
    ['a.', 3, /after "\."/],
  ])('rejects %j at position %i', (text, position, fragment) => {
    const e = expectMalformed(text, position, fragment, ob);
    expect(e.validation?.[0]?.itemId).toBe('orderBy');
  });
});

describe('formatQuery', () => {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,6}$/);
  const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((s) => s.join('.'));
  const value = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '&', '|', '{', '}', '=', '~', '<', 'é', '😀'), maxLength: 8 });
  const op = fc.constantFrom<Operator>('=', '!=', '~', '>', '<', '>=', '<=');
  const comparison = fc.record({ path, op, value }).map(
    ({ path, op, value }): QueryNode => ({ kind: 'comparison', path, operator: op, value, quoted: true, pathPosition: 0, operatorPosition: 0, valuePosition: 0 }),
  );
  const tree = fc.letrec<{ node: QueryNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      comparison,
      fc.record({ kind: fc.constantFrom<'and' | 'or'>('and', 'or'), operands: fc.array(tie('node'), { minLength: 2, maxLength: 4 }) }).map(
        ({ kind, operands }): QueryNode => ({ kind, operands, position: 0 }),
      ),
    ),
  })).node;

  /** The parser never produces a connective directly under one of the same kind unless braced; compare shapes accordingly. */
  it('prints trees that parse back to the same tree', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const text = formatQuery(t);
        fc.pre(text.length <= MAX_QUERY_LENGTH);
        expect(shape(parse(text))).toEqual(shape(t));
      }),
      { numRuns: 300 },
    );
  });

  it('quote() escapes quotes and backslashes only', () => {
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});
