/**
 * Property-based tests: random documents and random queries; the SQL result (rows and their order) on SQLite and on
 * PostgreSQL must equal the in-memory evaluator's. Documents deliberately hold nulls, missing properties, values of
 * the wrong JSON type, every stored date form and unreadable dates; strings mix case, LIKE wildcards, quotes,
 * backslashes and non-ASCII letters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { quote, type Operator } from './ast.js';
import { compileListQuery, defineEntity, filterAndSort, MAX_QUERY_LENGTH, p, parseQuery, parseTags, parseOrderBy, prepareListQuery, QueryParseError, type ListParameters } from './index.js';

const RUNS = Number(process.env.QUERY_PROPERTY_RUNS ?? 200);

// ---------------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------------

const ALPHABET = ['a', 'A', 'b', 'B', 'é', 'É', '%', '_', '\\', "'", '"', ' ', '😀', 'ß', '&', '{'];
const str = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 4 });
const ENUM = ['Draft', 'draft', 'PAID', 'Paid', 'PartiallyPaid', 'Void', 'Unknown'];
const NUMBERS = [-12.5, -1, 0, 0.1, 1, 2.5, 7, 100.25, 1000];
const INSTANTS = [
  '2021-01-28T00:00:00.000Z',
  '2021-01-28T23:59:59.999Z',
  '2021-01-29T00:00:00.000Z',
  '2021-01-27T12:00:00.500Z',
  '2020-02-29T10:00:00.000Z',
  '1999-12-31T23:00:00.000Z',
].map((s) => Date.parse(s));
const OFFSETS = [-300, -90, 0, 60, 330, 840];

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
function wallClock(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
const extraDigits = fc.stringMatching(/^[0-9]{1,4}$/);
/** One instant written in any of the stored forms of platform-api.md §1. */
const renderInstantOf = (ms: number) =>
  fc.oneof(
    fc.constant(new Date(ms).toISOString()),
    fc.constant(`${wallClock(ms)}Z`),
    fc.constant(wallClock(ms)),
    fc.constant(`${wallClock(ms)}.${pad(ms % 1000, 3)}`),
    extraDigits.map((extra) => `${new Date(ms).toISOString().slice(0, 23)}${extra}Z`),
    fc.constantFrom(...OFFSETS).map((off) => {
      const local = wallClock(ms + off * 60_000);
      const frac = ms % 1000 ? `.${pad(ms % 1000, 3)}` : '';
      return `${local}${frac}${off < 0 ? '-' : '+'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
    }),
  );
// Built once per instant, not once per value drawn: building these arbitraries (a regex parsed by stringMatching, the
// oneof) for every date of every document was most of this file's time (~5 s per 200 document sets), for the same
// distribution.
const RENDERED = new Map(INSTANTS.map((ms) => [ms, renderInstantOf(ms)]));
const renderInstant = (ms: number) => RENDERED.get(ms) ?? renderInstantOf(ms);
const instant = fc.constantFrom(...INSTANTS);
const isoDate = fc.oneof(
  { weight: 6, arbitrary: instant.chain(renderInstant) },
  { weight: 1, arbitrary: instant.map((ms) => new Date(ms).toISOString().slice(0, 10)) },
  { weight: 1, arbitrary: fc.constantFrom('not a date', '2021-02-30T00:00:00', '2021-13-01', '2021-01-28T24:00:00', '28/01/2021', '') },
);
const canonical = instant.map((ms) => new Date(ms).toISOString());

/** A property value: mostly of its type, sometimes null, absent or of another JSON type. */
function loosely<T>(typed: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: typed },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('7', 7, true, 'true', [1], { a: 1 }) },
  );
}

const IDS = ['d01', 'd02', 'D03', 'd04', 'é05', 'd06', 'Z07', 'd08', 'd09', 'd10', '😀11', 'd12', 'a13', 'A14', 'd15', 'd16', 'd17', 'd18', 'd19', 'd20'];

interface Doc {
  id: string;
  [k: string]: unknown;
}

/** A document's properties; one arbitrary for every document (docArb adds the id), built once. */
const docBody = fc.record({
  name: loosely(str),
  kind: loosely(fc.constantFrom(...ENUM)),
  amount: loosely(fc.constantFrom(...NUMBERS)),
  flag: loosely(fc.boolean()),
  when: loosely(isoDate),
  stamp: loosely(canonical),
  ref: fc.oneof(
    { weight: 6, arbitrary: fc.record({ id: loosely(str), n: loosely(fc.constantFrom(...NUMBERS)), at: loosely(isoDate), ok: loosely(fc.boolean()) }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 'ref', [{ id: 'a' }]) },
  ),
  lines: fc.array(fc.record({ x: fc.integer() }), { maxLength: 2 }),
  tags: fc.dictionary(fc.constantFrom('region', 'team', 'Region', 'a.b', 'k"q'), loosely(str), { maxKeys: 3 }),
  children: fc.array(fc.constantFrom('Linked', 'PendingAuth', 'Unlinked', 'linked'), { maxLength: 3 }),
});
const docArb = (id: string): fc.Arbitrary<Doc> =>
  docBody.map((r) => {
    const doc: Doc = { id };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) doc[k] = stripUndefined(v);
    return doc;
  });

function stripUndefined(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
}

const docsArb = fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 5, maxLength: 14 }).chain((ids) => (ids.length ? fc.tuple(...ids.map(docArb)) : fc.constant([] as Doc[])));

// ---------------------------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------------------------

type FieldKind = 'string' | 'enum' | 'number' | 'boolean' | 'date' | 'canonical' | 'anyOf';
const FIELDS: [string, FieldKind][] = [
  ['id', 'string'],
  ['name', 'string'],
  ['kind', 'enum'],
  ['amount', 'number'],
  ['flag', 'boolean'],
  ['when', 'date'],
  ['stamp', 'canonical'],
  ['ref.id', 'string'],
  ['ref.n', 'number'],
  ['ref.at', 'date'],
  ['ref.ok', 'boolean'],
  ['children.status', 'anyOf'],
];
const OPS: Record<FieldKind, Operator[]> = {
  string: ['=', '!=', '~'],
  enum: ['=', '!=', '~'],
  number: ['=', '!=', '>', '<', '>=', '<='],
  date: ['=', '!=', '>', '<', '>=', '<='],
  canonical: ['=', '!=', '>', '<', '>=', '<='],
  boolean: ['=', '!='],
  anyOf: ['=', '!='],
};

const dayLiteral = instant.chain((ms) => fc.constantFrom(-1, 0, 1).map((d) => new Date(ms + d * 86_400_000).toISOString().slice(0, 10)));
const dateLiteral = fc.oneof(dayLiteral, instant.chain(renderInstant));
const numberLiteral = fc.constantFrom(...NUMBERS).chain((n) => fc.constantFrom(String(n), n === Math.trunc(n) ? `${n}.00` : `${n}0`, n >= 0 ? `+${n}` : String(n)));
const LITERALS: Record<FieldKind, fc.Arbitrary<string>> = {
  string: fc.oneof(str, fc.constantFrom('d01', 'D0', 'é', 'É', 'null', '%', '_', '\\')),
  enum: fc.constantFrom('paid', 'DRAFT', 'Void', 'Bogus', 'partially', 'a', ''),
  number: numberLiteral,
  boolean: fc.constantFrom('true', 'false', 'TRUE', 'False'),
  date: dateLiteral,
  canonical: dateLiteral,
  anyOf: fc.constantFrom('linked', 'PendingAuth', 'UNLINKED', 'Deauthorized'),
};

const randomCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const ws = fc.constantFrom('', '', ' ', '  ', '\t');

/** A bare value is only safe when the parser would read it back unchanged (`x&` before `&&` would read `x`). */
const bareSafe = (v: string) => v !== '' && v.trim() === v && !/&&|\|\||[{}]|[&|]$/.test(v) && !v.startsWith('"');

const comparisonText = fc.constantFrom(...FIELDS).chain(([path, kind]) =>
  fc
    .tuple(randomCase(path), fc.constantFrom(...OPS[kind]), LITERALS[kind], fc.boolean(), ws, ws)
    .map(([p, op, v, bare, w1, w2]) => `${p}${w1}${op}${w2}${bare && bareSafe(v) ? v : quote(v)}`),
);

const queryText: fc.Arbitrary<string> = fc.letrec<{ q: string; group: string }>((tie) => ({
  q: fc.oneof({ depthSize: 'small', withCrossShrink: true }, { weight: 3, arbitrary: comparisonText }, { weight: 1, arbitrary: tie('group') }),
  group: fc
    .tuple(fc.constantFrom('&&', '||'), fc.array(tie('q'), { minLength: 2, maxLength: 4 }), ws)
    .map(([sep, parts, w]) => parts.map((x) => (/&&|\|\|/.test(x) ? `{${w}${x}${w}}` : x)).join(`${w}${sep}${w}`)),
})).q;

const orderByText = fc.option(
  fc.tuple(fc.constantFrom(...FIELDS.filter(([, k]) => k !== 'anyOf').map(([f]) => f)), fc.boolean()).map(([f, desc]) => `${desc ? '-' : ''}${f}`),
  { nil: undefined },
);

const tagsText: fc.Arbitrary<string> = fc.letrec<{ t: string }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small' },
    fc.tuple(fc.constantFrom('region', 'team', 'Region', 'a.b', 'k"q', 'none'), fc.constantFrom('=', '!=', '~'), fc.oneof(str, fc.constantFrom('uk', 'a', 'A'))).map(([k, op, v]) => `${k}${op}${quote(v)}`),
    fc.tuple(fc.constantFrom('&&', '||'), fc.array(tie('t'), { minLength: 2, maxLength: 3 })).map(([sep, parts]) => parts.map((x) => `{${x}}`).join(sep)),
  ),
})).t;

const paramsArb: fc.Arbitrary<ListParameters> = fc.record({
  query: fc.option(queryText, { nil: undefined, freq: 8 }),
  orderBy: orderByText,
  tags: fc.option(tagsText, { nil: undefined, freq: 2 }),
});

// ---------------------------------------------------------------------------------------------------------------
// The entity under test: a JSON document, a child table (anyOf) and a tags column
// ---------------------------------------------------------------------------------------------------------------

const Thing = defineEntity({
  name: 'Thing',
  service: 'PublicApi',
  fields: {
    id: { type: 'string', sql: sql.ref('q_things.id') },
    children: 'array',
    'children.status': {
      type: 'enum',
      anyOf: (_d, pred) => sql`EXISTS (SELECT 1 FROM q_children c WHERE c.run = q_things.run AND c.parent_id = q_things.id AND ${pred(sql.ref('c.status'))})`,
      values: (row) => ((row as Doc).children as string[] | undefined) ?? [],
    },
  },
  document: {
    column: sql.ref('q_things.data'),
    properties: {
      name: p.string,
      kind: p.enumOf(...ENUM),
      amount: p.number,
      flag: p.boolean,
      when: p.date,
      stamp: p.scalar('date', { dateFormat: 'canonical' }),
      ref: p.object({ id: p.string, n: p.number, at: p.date, ok: p.boolean }),
      lines: p.array,
    },
  },
  tags: { column: sql.ref('q_things.tags') },
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let store: TestStore;
    let db: Kysely<any>;
    let run = 0;

    beforeAll(async () => {
      store = await openTestStore(dialect);
      db = store.db as unknown as Kysely<any>;
      const json = sql.raw(dialect === 'postgres' ? 'jsonb' : 'text');
      await sql`create table q_things (run integer not null, id text not null, data ${json} not null, tags text not null, primary key (run, id))`.execute(db);
      await sql`create table q_children (run integer not null, parent_id text not null, n integer not null, status text not null)`.execute(db);
    });
    afterAll(async () => store?.cleanup());

    async function load(docs: Doc[]): Promise<number> {
      const r = ++run;
      if (docs.length === 0) return r;
      await db
        .insertInto('q_things')
        .values(docs.map((d) => ({ run: r, id: d.id, data: JSON.stringify(d), tags: JSON.stringify(d.tags ?? {}) })))
        .execute();
      const children = docs.flatMap((d) => ((d.children as string[] | undefined) ?? []).map((status, n) => ({ run: r, parent_id: d.id, n, status })));
      if (children.length) await db.insertInto('q_children').values(children).execute();
      return r;
    }

    async function sqlIds(r: number, params: ListParameters): Promise<string[]> {
      const c = compileListQuery(Thing, params, dialect);
      let q = db.selectFrom('q_things').select('id').where('run', '=', r);
      if (c.where) q = q.where(c.where);
      for (const o of c.orderBy) q = q.orderBy(o);
      return (await q.execute()).map((row: { id: string }) => row.id);
    }

    it('SQL returns exactly what the evaluator returns, in the same order', async () => {
      let nonEmpty = 0;
      let total = 0;
      await fc.assert(
        fc.asyncProperty(docsArb, fc.array(paramsArb, { minLength: 1, maxLength: 8 }), async (docs, paramsList) => {
          const r = await load(docs);
          for (const params of paramsList) {
            fc.pre((params.query ?? '').length <= MAX_QUERY_LENGTH);
            const expected = filterAndSort(Thing, docs, params).map((d) => d.id);
            const got = await sqlIds(r, params);
            expect(got, JSON.stringify(params)).toEqual(expected);
            total++;
            if (expected.length > 0 && expected.length < docs.length) nonEmpty++;
          }
        }),
        { numRuns: RUNS },
      );
      // The generators must produce discriminating queries, not only all-or-nothing ones.
      console.log(`${dialect}: ${total} queries, ${nonEmpty} selected some but not all rows`);
      expect(nonEmpty / total).toBeGreaterThan(0.2);
      // A fixed number of runs whatever the machine's speed; the bound only stops a hang (it ran past the 60 s default at
      // load 14–20 before the arbitraries were built once).
    }, 240_000);

    it('random text either parses or fails with a 400 QueryParseError, never anything else', async () => {
      const r = await load([{ id: 'd01', name: 'x', amount: 1 }]);
      const unit = fc.constantFrom('a', 'id', 'name', 'amount', 'ref', '.', '=', '!', '~', '<', '>', '&', '|', '{', '}', '"', '\\', ' ', '1', '-', ',', "'", ';', 'é', '\u0000', '\ud800');
      await fc.assert(
        fc.asyncProperty(fc.string({ unit, maxLength: 40 }), fc.constantFrom<'query' | 'orderBy' | 'tags'>('query', 'orderBy', 'tags'), async (text, param) => {
          let compiled = false;
          try {
            prepareListQuery(Thing, { [param]: text });
            compiled = true;
          } catch (e) {
            expect(e).toBeInstanceOf(QueryParseError);
            const qe = e as QueryParseError;
            expect(qe.statusCode).toBe(400);
            expect(qe.message).toMatch(/^Error parsing query - (Malformed query\.|Could not resolve property .+ on Thing)$/);
            expect(qe.validation?.[0]?.message).toMatch(/^Position \d+: /);
            expect(qe.validation?.[0]?.itemId).toBe(param);
            expect(qe.position).toBeGreaterThanOrEqual(1);
            expect(qe.position).toBeLessThanOrEqual(text.length + 1);
          }
          if (compiled) await sqlIds(r, { [param]: text });
        }),
        { numRuns: RUNS * 3 },
      );
    }, 120_000);
  });
}

describe('generators', () => {
  it('produce parseable text', () => {
    fc.assert(
      fc.property(paramsArb, (params) => {
        if (params.query && params.query.length <= MAX_QUERY_LENGTH) expect(parseQuery(params.query, { service: 'PublicApi' })).toBeDefined();
        if (params.tags) expect(parseTags(params.tags, { service: 'PublicApi' })).toBeDefined();
        if (params.orderBy) expect(parseOrderBy(params.orderBy, { service: 'PublicApi' })).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});
