import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'kysely';
import {
  accountingEntity,
  bindQuery,
  defineEntity,
  filterAndSort,
  matches,
  p,
  parseQuery,
  platformEntity,
  prepareListQuery,
  QueryParseError,
  type AccountingListType,
  type Entity,
  type ListParameters,
} from './index.js';
import { canonicalText, compareCodePoints, daysFromCivil, DAY_MS, foldCase, parseDateLiteral, parseNumberLiteral, storedDateMs } from './literals.js';

const Invoice = accountingEntity('invoices', { document: sql.ref('data') });

const Dataset = defineEntity({
  name: 'Dataset',
  service: 'PullApi',
  defaultOrder: { path: 'requested', descending: true },
  fields: {
    id: { type: 'string', sql: sql.ref('id'), storedLowercase: true },
    status: { type: 'enum', sql: sql.ref('status') },
    requested: { type: 'date', dateFormat: 'canonical', sql: sql.ref('requested') },
    progress: { type: 'number', sql: sql.ref('progress') },
    isErrored: { type: 'boolean', sql: sql`0` },
    isCompleted: 'hidden',
  },
});

const Company = defineEntity({
  name: 'Company',
  service: 'ClientsApi',
  defaultOrder: { path: 'created' },
  fields: {
    id: { type: 'string', sql: sql.ref('id') },
    name: { type: 'string', sql: sql.ref('name') },
    created: { type: 'date', sql: sql.ref('created_at') },
    tags: 'map',
    dataConnections: 'array',
    'dataConnections.status': { type: 'enum', anyOf: () => sql`true` },
  },
  tags: { column: sql.ref('tags') },
});

function failure(fn: () => unknown): QueryParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QueryParseError);
    return e as QueryParseError;
  }
  throw new Error('expected a QueryParseError');
}

const prep = (entity: Entity, params: ListParameters) => prepareListQuery(entity, params);
const err = (entity: Entity, params: ListParameters) => failure(() => prep(entity, params));

describe('property resolution', () => {
  it('resolves declared scalar paths, nested ones included, case-insensitively', () => {
    for (const q of ['customerRef.id=61', 'CUSTOMERREF.ID=61', 'metadata.isDeleted!=true', 'amountdue>0', 'Status=paid']) {
      expect(() => prep(Invoice, { query: q })).not.toThrow();
    }
    const f = prep(Invoice, { query: 'CUSTOMERREF.ID=61' }).filter;
    expect(f?.kind === 'test' && f.field.path).toBe('customerRef.id');
  });

  it.each<[string, string, number, RegExp]>([
    ['lineItems.unitAmount=700', 'lineItems.unitAmount', 1, /^unknown property lineItems.unitAmount \(lineItems is an array; its properties cannot be queried\)$/],
    ['LINEITEMS.unitAmount=700', 'LINEITEMS.unitAmount', 1, /^unknown property LINEITEMS.unitAmount \(LINEITEMS is an array/],
    ['lineItems=700', 'lineItems', 1, /^unknown property lineItems \(lineItems is an array and cannot be queried\)$/],
    ['supplementalData.content=x', 'supplementalData.content', 1, /\(supplementalData is a free-form map/],
    ['supplementalData=x', 'supplementalData', 1, /free-form map and cannot be queried/],
    ['customerRef=61', 'customerRef', 1, /^unknown property customerRef \(customerRef is an object; query one of its properties instead\)$/],
    ['currency.code=GBP', 'currency.code', 1, /^unknown property currency.code \(currency is a string property\)$/],
    ['nope=1', 'nope', 1, /^unknown property nope$/],
    ['customerRef.nope=1', 'customerRef.nope', 1, /^unknown property customerRef.nope$/],
    ['amountDue>0&&  paymentAllocations.payment.id=1', 'paymentAllocations.payment.id', 16, /\(paymentAllocations is an array/],
  ])('%s → could not resolve %s', (query, path, position, fragment) => {
    const e = err(Invoice, { query });
    expect(e.kind).toBe('unresolved');
    expect(e.message).toBe(`Error parsing query - Could not resolve property ${path} on Invoice`);
    expect(e.service).toBe('PublicApi');
    expect(e.position).toBe(position);
    expect(e.explanation).toMatch(fragment);
    expect(e.validation).toEqual([{ itemId: 'query', validatorName: 'QueryParser', message: `Position ${position}: ${e.explanation}` }]);
  });

  it('refuses isCompleted on datasets with the documented message', () => {
    const e = err(Dataset, { query: 'isCompleted=true' });
    expect(e.message).toBe('Error parsing query - Could not resolve property isCompleted on Dataset');
    expect(e.service).toBe('PullApi');
    expect(err(Dataset, { orderBy: '-isCompleted' }).message).toBe('Error parsing query - Could not resolve property isCompleted on Dataset');
  });

  it('supports dataConnections.status with = and != only', () => {
    expect(() => prep(Company, { query: 'dataConnections.status=Linked' })).not.toThrow();
    expect(() => prep(Company, { query: 'dataConnections.status!=linked' })).not.toThrow();
    const e = err(Company, { query: 'dataConnections.status~Link' });
    expect([e.kind, e.position, e.explanation]).toEqual(['malformed', 23, 'operator ~ cannot be used on dataConnections.status; use = or !=']);
    expect(err(Company, { query: 'dataConnections.id=1' }).message).toBe('Error parsing query - Could not resolve property dataConnections.id on Company');
    expect(err(Company, { query: 'tags=1' }).message).toBe('Error parsing query - Could not resolve property tags on Company');
    expect(err(Company, { orderBy: 'dataConnections.status' }).message).toBe(
      'Error parsing query - Could not resolve property dataConnections.status on Company',
    );
  });

  it('resolves orderBy with the same rules', () => {
    expect(prep(Invoice, { orderBy: '-ISSUEDATE' }).order).toMatchObject({ descending: true, field: { path: 'issueDate' } });
    const e = err(Invoice, { orderBy: 'lineItems.unitAmount' });
    expect(e.message).toBe('Error parsing query - Could not resolve property lineItems.unitAmount on Invoice');
    expect(e.validation?.[0]).toMatchObject({
      itemId: 'orderBy',
      message: 'Position 1: unknown property lineItems.unitAmount (lineItems is an array; its properties cannot be queried)',
    });
    expect(err(Invoice, { orderBy: '-customerRef' }).position).toBe(2);
  });

  it('uses the entity default order and the id tiebreak', () => {
    expect(prep(Invoice, {}).order).toMatchObject({ descending: false, field: { path: 'id' }, tiebreak: { path: 'id' } });
    expect(prep(Dataset, {}).order).toMatchObject({ descending: true, field: { path: 'requested' }, tiebreak: { path: 'id' } });
  });

  it('reports a syntax error before an unknown property, and query errors before orderBy errors', () => {
    expect(err(Invoice, { query: 'nope=1&&' }).kind).toBe('malformed');
    expect(err(Invoice, { query: 'nope=1', orderBy: 'a,b' }).kind).toBe('unresolved');
    expect(err(Invoice, { query: 'amountDue>x&&nope=1' }).kind).toBe('malformed');
    expect(err(Invoice, { query: 'nope=1&&amountDue>x' }).kind).toBe('unresolved');
  });

  it('ignores tags on an entity without a tag source, and combines them with query otherwise', () => {
    expect(prep(Invoice, { tags: '>>>' }).filter).toBeUndefined();
    expect(prep(Company, { query: 'name=a', tags: 'k=v' }).filter?.kind).toBe('and');
    expect(err(Company, { tags: 'k>v' }).validation?.[0]?.itemId).toBe('tags');
  });
});

describe('operators and literals by type', () => {
  it.each<[string, number, RegExp]>([
    ['currency>GBP', 9, /operator > cannot be used on string property currency/],
    ['totalAmount~10', 12, /operator ~ cannot be used on number property totalAmount/],
    ['status<Paid', 7, /operator < cannot be used on enum property status/],
    ['metadata.isDeleted>=true', 19, /operator >= cannot be used on boolean property metadata.isDeleted/],
    ['metadata.isDeleted~true', 19, /operator ~/],
    ['issueDate~2021', 10, /operator ~ cannot be used on date property issueDate/],
  ])('%s: operator not applicable', (query, position, fragment) => {
    const e = err(Invoice, { query });
    expect([e.kind, e.message, e.position]).toEqual(['malformed', 'Error parsing query - Malformed query.', position]);
    expect(e.explanation).toMatch(fragment);
  });

  it.each(['0', '-12.5', '1000.00', '+3', '"100"', '007', '-0'])('number literal %s', (v) => {
    expect(() => prep(Invoice, { query: `amountDue>${v}` })).not.toThrow();
  });

  it.each(['abc', '1e5', '1,000', '.5', '5.', '0x10', 'null', '" 100"', '1 000', 'Infinity', 'NaN', '--1'])('bad number literal %s', (v) => {
    const e = err(Invoice, { query: `amountDue>${v}` });
    expect([e.kind, e.position]).toEqual(['malformed', 11]);
    expect(e.explanation).toMatch(/^expected a number such as 12 or -12.5 for amountDue, found /);
  });

  it.each(['true', 'false', 'TRUE', 'False', '"true"'])('boolean literal %s', (v) => {
    expect(() => prep(Invoice, { query: `metadata.isDeleted=${v}` })).not.toThrow();
  });

  it.each(['maybe', '1', '0', 'yes', 'null', '"true "'])('bad boolean literal %s', (v) => {
    expect(err(Invoice, { query: `metadata.isDeleted!=${v}` }).explanation).toMatch(/expected true or false for metadata.isDeleted/);
  });

  it.each([
    '2021-01-28',
    '2022-08-23T10:00:00',
    '2022-08-23T10:00:00.123',
    '2022-08-23T10:00:00.1234567',
    '2022-08-23T10:00:00Z',
    '2022-08-23T10:00:00.000Z',
    '2022-08-23T10:00:00+01:00',
    '2022-08-23T10:00:00-05:30',
    '2024-02-29',
    '2000-02-29',
    '"2021-01-28"',
  ])('date literal %s', (v) => {
    expect(() => prep(Invoice, { query: `dueDate>=${v}` })).not.toThrow();
  });

  it.each([
    '23/08/2022',
    '2021-02-30',
    '2023-02-29',
    '1900-02-29',
    '2021-13-01',
    '2021-00-10',
    '2021-1-5',
    '2022-08-23T24:00:00',
    '2022-08-23T10:60:00',
    '2022-08-23T10:00',
    '2022-08-23 10:00:00',
    '2022-08-23T10:00:00+0100',
    '2022-08-23T10:00:00+24:00',
    '2022-08-23t10:00:00z',
    '2022-08-23T10:00:00.',
    '2022-08-23Z',
    'now',
  ])('bad date literal %s', (v) => {
    expect(err(Invoice, { query: `dueDate=${v}` }).explanation).toMatch(/expected a date \(YYYY-MM-DD\) or a date-time/);
  });

  it('reads null as a string on string properties only', () => {
    const f = prep(Invoice, { query: 'note=null' }).filter;
    expect(f).toMatchObject({ kind: 'test', test: { on: 'string', value: 'null' } });
    expect(err(Invoice, { query: 'amountDue=null' }).kind).toBe('malformed');
    expect(err(Invoice, { query: 'dueDate=null' }).kind).toBe('malformed');
  });

  it('accepts an unknown enum member (it matches nothing)', () => {
    const prepared = prep(Invoice, { query: 'status=Bogus' });
    expect(matches(prepared, { status: 'Paid' })).toBe(false);
  });
});

describe('literals', () => {
  it('folds ASCII letters only', () => {
    expect(foldCase('AbC-ÉÀ-ß-İ')).toBe('abc-ÉÀ-ß-İ');
  });

  it('orders strings by code point, like UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
    expect(compareCodePoints('\uffff', '😀')).toBeLessThan(0); // UTF-16 units would say the opposite
  });

  it('computes days from civil dates like Date.UTC', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }), (d) => {
        const days = daysFromCivil(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
        expect(days).toBe(Math.floor(d.getTime() / DAY_MS));
        expect(canonicalText(d.getTime())).toBe(d.toISOString());
      }),
    );
    expect(daysFromCivil(0, 1, 1)).toBe(-719528);
    expect(canonicalText(daysFromCivil(0, 3, 1) * DAY_MS)).toBe('0000-03-01T00:00:00.000Z');
  });

  it('reads stored date-times as UTC, unqualified ones by their wall clock', () => {
    const utc = Date.UTC(2021, 10, 15, 6, 0, 0);
    expect(storedDateMs('2021-11-15T06:00:00Z')).toBe(utc);
    expect(storedDateMs('2021-11-15T06:00:00')).toBe(utc);
    expect(storedDateMs('2021-11-15T01:00:00-05:00')).toBe(utc);
    expect(storedDateMs('2021-11-15T07:30:00+01:30')).toBe(utc);
    expect(storedDateMs('2021-11-15T06:00:00.1239Z')).toBe(utc + 123);
    expect(storedDateMs('2021-11-15T06:00:00.5')).toBe(utc + 500);
    expect(storedDateMs('2021-11-15')).toBe(Date.UTC(2021, 10, 15));
    expect(storedDateMs('2021-02-30')).toBe(Date.UTC(2021, 2, 2)); // rolls over, as SQL does
    for (const bad of ['2021-11-15T06:00', '2021-11-15 06:00:00', '2021-13-01', '2021-11-15T24:00:00', 'x', '', '2021-11-15T06:00:00+05', '2021-11-15Z']) {
      expect(storedDateMs(bad), bad).toBeUndefined();
    }
    expect(storedDateMs(20211115)).toBeUndefined();
  });

  it('parses literals strictly', () => {
    expect(parseNumberLiteral('1000.00')).toEqual({ text: '1000.00', value: 1000 });
    expect(parseNumberLiteral('1e3')).toBeUndefined();
    expect(parseDateLiteral('2021-01-28')).toEqual({ kind: 'day', startMs: Date.UTC(2021, 0, 28), endMs: Date.UTC(2021, 0, 29) });
    expect(parseDateLiteral('2022-08-23T10:00:00+01:00')).toEqual({ kind: 'instant', ms: Date.UTC(2022, 7, 23, 9) });
  });
});

describe('evaluator', () => {
  const run = (query: string, rows: unknown[]) => {
    const prepared = prep(Invoice, { query });
    return rows.filter((r) => matches(prepared, r)).map((r) => (r as { id: string }).id);
  };

  it('lets != match null, absent and wrongly typed values (§4.2), and nothing else match them', () => {
    const rows = [
      { id: 'false', metadata: { isDeleted: false } },
      { id: 'true', metadata: { isDeleted: true } },
      { id: 'null', metadata: { isDeleted: null } },
      { id: 'absent', metadata: {} },
      { id: 'nometa' },
      { id: 'string', metadata: { isDeleted: 'true' } },
    ];
    expect(run('metadata.isDeleted!=true', rows)).toEqual(['false', 'null', 'absent', 'nometa', 'string']);
    expect(run('metadata.isDeleted=false', rows)).toEqual(['false']);
    expect(run('metadata.isDeleted!=false', rows)).toEqual(['true', 'null', 'absent', 'nometa', 'string']);
  });

  it('compares strings case-insensitively and dates at day granularity', () => {
    const rows = [
      { id: 'a', currency: 'GBP', dueDate: '2021-01-28T23:59:59.999' },
      { id: 'b', currency: 'gbp', dueDate: '2021-01-29T00:30:00+01:00' },
      { id: 'c', currency: 'EUR', dueDate: '2021-01-29T00:00:00Z' },
    ];
    expect(run('currency=Gbp', rows)).toEqual(['a', 'b']);
    expect(run('currency!=GBP', rows)).toEqual(['c']);
    expect(run('currency~b', rows)).toEqual(['a', 'b']);
    expect(run('dueDate=2021-01-28', rows)).toEqual(['a', 'b']);
    expect(run('dueDate>2021-01-28', rows)).toEqual(['c']);
    expect(run('dueDate<=2021-01-28', rows)).toEqual(['a', 'b']);
    expect(run('dueDate>=2021-01-29', rows)).toEqual(['c']);
    expect(run('dueDate<2021-01-29T00:00:00', rows)).toEqual(['a', 'b']);
    expect(run('dueDate=2021-01-28T23:30:00Z', rows)).toEqual(['b']);
  });

  it('sorts nulls last ascending, first descending, ties by id', () => {
    const rows = [
      { id: 'c', amountDue: 1 },
      { id: 'a', amountDue: null },
      { id: 'b', amountDue: 1 },
      { id: 'd', amountDue: -1 },
      { id: 'e' },
    ];
    const ids = (orderBy: string) => filterAndSort(Invoice, rows, { orderBy }).map((r) => r.id);
    expect(ids('amountDue')).toEqual(['d', 'b', 'c', 'a', 'e']);
    expect(ids('-amountDue')).toEqual(['a', 'e', 'b', 'c', 'd']);
    expect(ids('')).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('filters and sorts resources listed from code', () => {
    const Integration = defineEntity({
      name: 'Integration',
      service: 'ClientsApi',
      tiebreak: 'key',
      fields: {
        key: { type: 'string', sql: sql.ref('key') },
        name: { type: 'string', sql: sql.ref('name') },
        enabled: { type: 'boolean', sql: sql.ref('enabled') },
        isBeta: { type: 'boolean', sql: sql.ref('is_beta') },
      },
    });
    const all = [
      { key: 'qhyg', name: 'QuickBooks Online', enabled: true, isBeta: false },
      { key: 'gbol', name: 'Xero', enabled: true, isBeta: false },
      { key: 'mqjo', name: 'Sandbox', enabled: false },
    ];
    expect(filterAndSort(Integration, all, {}).map((i) => i.key)).toEqual(['gbol', 'mqjo', 'qhyg']);
    expect(filterAndSort(Integration, all, { query: 'enabled=true', orderBy: '-name' }).map((i) => i.key)).toEqual(['gbol', 'qhyg']);
    expect(filterAndSort(Integration, all, { query: 'isBeta!=true&&name~o' }).map((i) => i.key)).toEqual(['gbol', 'mqjo', 'qhyg']);
    expect(filterAndSort(Integration, all, { orderBy: 'isBeta' }).map((i) => i.key)).toEqual(['gbol', 'qhyg', 'mqjo']);
  });

  it('matches dataConnections.status against any connection, and != against none', () => {
    const companies = [
      { id: '1', dataConnections: [{ status: 'Linked' }, { status: 'PendingAuth' }] },
      { id: '2', dataConnections: [{ status: 'Unlinked' }] },
      { id: '3', dataConnections: [] },
    ];
    const ids = (query: string) => filterAndSort(Company, companies, { query, orderBy: 'id' }).map((c) => c.id);
    expect(ids('dataConnections.status=pendingauth')).toEqual(['1']);
    expect(ids('dataConnections.status!=Linked')).toEqual(['2', '3']);
    expect(
      ids('dataConnections.status!=PendingAuth&&dataConnections.status!=Linked&&dataConnections.status!=Deauthorized&&dataConnections.status!=Unlinked'),
    ).toEqual(['3']);
  });

  it('evaluates tags case-sensitively, missing keys matching only !=', () => {
    const companies = [
      { id: '1', tags: { region: 'uk', owningTeam: 'invoice-finance' } },
      { id: '2', tags: { region: 'UK' } },
      { id: '3' },
    ];
    const ids = (tags: string) => filterAndSort(Company, companies, { tags, orderBy: 'id' }).map((c) => c.id);
    expect(ids('region=uk')).toEqual(['1']);
    expect(ids('region!=uk')).toEqual(['2', '3']);
    expect(ids('owningTeam~finance')).toEqual(['1']);
    expect(ids('owningTeam~Finance')).toEqual([]);
    expect(() => ids('region~')).toThrow(QueryParseError);
    expect(ids('{region=uk||region=UK}&&region~""')).toEqual(['1', '2']);
  });
});

describe('entity declarations', () => {
  it('refuses paths declared twice (case-insensitively) and bad tiebreaks', () => {
    expect(() =>
      defineEntity({ name: 'X', service: 'PublicApi', fields: { id: { type: 'string', sql: sql`id` }, ID: { type: 'string', sql: sql`id` } } }),
    ).toThrow(/declared twice/);
    expect(() => defineEntity({ name: 'X', service: 'PublicApi', fields: { key: { type: 'string', sql: sql`k` } } })).toThrow(/tiebreak id/);
    expect(() => defineEntity({ name: 'X', service: 'PublicApi', fields: { 'a..b': { type: 'string', sql: sql`k` } } })).toThrow(/invalid property path/);
  });

  it('lets column fields override document properties', () => {
    const e = accountingEntity('invoices', { document: sql.ref('data'), fields: { id: { type: 'string', sql: sql.ref('record_id') } } });
    const f = prep(e, { query: 'id=1' }).filter;
    expect(f?.kind === 'test' && f.field.get({ id: 'x' })).toBe('x');
  });

  it('open documents resolve undeclared paths, keeping declared spellings and blocking arrays', () => {
    const Open = defineEntity({
      name: 'Thing',
      service: 'PublicApi',
      document: { column: sql.ref('data'), properties: { id: p.string, ref: p.object({ id: p.string }), list: p.array }, open: { type: 'string' } },
    });
    const f = prep(Open, { query: 'REF.extra.deep=x' }).filter;
    expect(f?.kind === 'test' && f.field.path).toBe('ref.extra.deep');
    expect(matches(prep(Open, { query: 'REF.extra.deep=X' }), { ref: { extra: { deep: 'x' } } })).toBe(true);
    expect(err(Open, { query: 'list.x=1' }).kind).toBe('unresolved');
    expect(err(Open, { query: 'id.x=1' }).kind).toBe('unresolved');
    expect(err(Open, { query: 'ref=1' }).kind).toBe('unresolved');
    // Inherited properties never resolve to values.
    expect(matches(prep(Open, { query: 'constructor.name~Object' }), {})).toBe(false);
  });

  it('bindQuery works on a parsed tree directly', () => {
    const ast = parseQuery('amountDue>0', { service: 'PublicApi' })!;
    expect(bindQuery(ast, Invoice)).toMatchObject({ kind: 'test', test: { on: 'number', op: 'gt' } });
  });
});

describe('platform resources (§6.2)', () => {
  const ref = (c: string) => sql.ref(c);
  const companies = () =>
    platformEntity('Company', {
      id: ref('id'),
      name: ref('name'),
      description: ref('description'),
      created: ref('created_at'),
      lastSync: ref('last_sync'),
      redirect: ref('redirect'),
      'dataConnections.status': () => sql`true`,
    });
  const entities = {
    Company: companies(),
    Connection: platformEntity('Connection', {
      id: ref('id'),
      integrationId: ref('a'),
      integrationKey: ref('b'),
      sourceId: ref('c'),
      sourceType: ref('d'),
      platformName: ref('e'),
      status: ref('f'),
      created: ref('g'),
      lastSync: ref('h'),
    }),
    Integration: platformEntity('Integration', {
      key: ref('key'),
      name: ref('a'),
      enabled: ref('b'),
      sourceId: ref('c'),
      sourceType: ref('d'),
      integrationId: ref('e'),
      isOfflineConnector: ref('f'),
      isBeta: ref('g'),
      dataProvidedBy: ref('h'),
    }),
    Dataset: platformEntity('Dataset', {
      id: ref('id'),
      companyId: ref('a'),
      connectionId: ref('b'),
      dataType: ref('c'),
      status: ref('d'),
      statusDescription: ref('e'),
      errorMessage: ref('f'),
      requested: ref('g'),
      completed: ref('h'),
      progress: ref('i'),
      isErrored: ref('j'),
    }),
  };
  const SPEC: Record<keyof typeof entities, string> = {
    Company: 'id, name, description, created, lastSync, redirect, dataConnections.status',
    Connection: 'id, integrationId, integrationKey, sourceId, sourceType, platformName, status, created, lastSync',
    Integration: 'key, name, enabled, sourceId, sourceType, integrationId, isOfflineConnector, isBeta, dataProvidedBy',
    Dataset: 'id, companyId, connectionId, dataType, status, statusDescription, errorMessage, requested, completed, progress, isErrored',
  };

  it.each(Object.keys(SPEC) as (keyof typeof entities)[])('%s exposes exactly the documented properties', (name) => {
    const entity = entities[name];
    expect(entity.fields.map((f) => f.path).sort()).toEqual(SPEC[name].split(', ').sort());
    for (const path of SPEC[name].split(', ')) expect('field' in entity.resolve(path.toUpperCase()), path).toBe(true);
    expect(entity.name).toBe(name);
  });

  it('uses the documented services, default orders and tiebreaks', () => {
    expect([entities.Company.service, entities.Connection.service, entities.Integration.service, entities.Dataset.service]).toEqual([
      'ClientsApi',
      'ClientsApi',
      'ClientsApi',
      'PullApi',
    ]);
    expect(entities.Dataset.defaultOrder).toMatchObject({ field: { path: 'requested' }, descending: true });
    expect(entities.Integration.defaultOrder).toMatchObject({ field: { path: 'key' }, descending: false });
    expect(entities.Integration.tiebreak.path).toBe('key');
    expect(entities.Company.defaultOrder.field.path).toBe('created');
  });

  it('refuses isCompleted, connectionInfo and other undocumented properties', () => {
    expect(err(entities.Dataset, { query: 'isCompleted=true' }).message).toBe('Error parsing query - Could not resolve property isCompleted on Dataset');
    expect(err(entities.Connection, { query: 'connectionInfo.realmId=1' }).message).toBe(
      'Error parsing query - Could not resolve property connectionInfo.realmId on Connection',
    );
    expect(err(entities.Connection, { query: 'linkUrl~x' }).message).toBe('Error parsing query - Could not resolve property linkUrl on Connection');
    expect(err(entities.Integration, { orderBy: 'logoUrl' }).service).toBe('ClientsApi');
  });

  it('checks the SQL mapping is complete and has no extras', () => {
    const { lastSync: _omit, ...partial } = {
      id: ref('id'),
      name: ref('name'),
      description: ref('description'),
      created: ref('created_at'),
      lastSync: ref('last_sync'),
      redirect: ref('redirect'),
      'dataConnections.status': () => sql`true`,
    };
    expect(() => platformEntity('Company', partial as never)).toThrow('Company: no SQL for property lastSync');
    expect(() => platformEntity('Company', { ...partial, lastSync: ref('x'), bogus: ref('y') } as never)).toThrow('bogus is not a queryable property');
  });

  it('keeps canonical bounds ordered at the ends of the representable years', () => {
    const rows = [{ id: 'a', created: '0000-01-01T00:00:00.000Z' }, { id: 'b', created: '9999-12-31T23:59:59.999Z' }];
    const ids = (query: string) => filterAndSort(entities.Company, rows, { query, orderBy: 'id' }).map((r) => r.id);
    expect(ids('created>9999-12-31T23:00:00-05:00')).toEqual([]);
    expect(ids('created<=9999-12-31T23:00:00-05:00')).toEqual(['a', 'b']);
    expect(ids('created<0000-01-01T00:00:00+01:00')).toEqual([]);
    expect(ids('created>=0000-01-01T00:00:00+01:00')).toEqual(['a', 'b']);
    expect(ids('created!=0000-01-01T00:00:00+01:00')).toEqual(['a', 'b']);
  });
});

describe('accounting schemas', () => {
  it.each<[AccountingListType, string, string[], string[]]>([
    ['chartOfAccounts', 'Account', ['nominalCode', 'currentBalance', 'type', 'isBankAccount', 'metadata.isDeleted'], ['validDatatypeLinks.links', 'supplementalData']],
    ['taxRates', 'TaxRate', ['effectiveTaxRate', 'code', 'status'], ['components.rate']],
    ['customers', 'Customer', ['customerName', 'defaultCurrency', 'status', 'sourceModifiedDate'], ['addresses.city', 'contacts.email']],
    ['suppliers', 'Supplier', ['supplierName', 'defaultCurrency'], ['addresses.city']],
    ['invoices', 'Invoice', ['customerRef.companyName', 'paidOnDate', 'amountDue', 'status'], ['lineItems.unitAmount', 'salesOrderRefs.id', 'paymentAllocations.payment.id']],
    ['creditNotes', 'CreditNote', ['remainingCredit', 'allocatedOnDate', 'customerRef.id'], ['lineItems.description']],
    ['payments', 'Payment', ['paymentMethodRef.name', 'accountRef.id', 'date', 'reference'], ['lines.amount']],
    ['bills', 'Bill', ['supplierRef.supplierName', 'amountDue', 'status'], ['purchaseOrderRefs.id', 'lineItems.itemRef.id']],
    ['billPayments', 'BillPayment', ['supplierRef.id', 'date', 'paymentMethodRef.id'], ['lines.links.id']],
    ['bankAccounts', 'BankAccount', ['iBan', 'accountType', 'overdraftLimit'], ['supplementalData.content']],
    ['journalEntries', 'JournalEntry', ['postedOn', 'journalRef.name', 'recordRef.dataType'], ['journalLines.netAmount']],
    ['items', 'Item', ['itemStatus', 'isBillItem', 'billItem.unitPrice', 'invoiceItem.taxRateRef.effectiveTaxRate'], ['billItem']],
    ['trackingCategories', 'TrackingCategory', ['parentId', 'hasChildren', 'metadata.isDeleted'], ['supplementalData']],
  ])('%s → %s', (type, name, ok, refused) => {
    const entity = accountingEntity(type, { document: sql.ref('data') });
    expect(entity.name).toBe(name);
    expect(entity.service).toBe('PublicApi');
    for (const path of ['id', 'modifiedDate', ...ok]) expect('field' in entity.resolve(path), path).toBe(true);
    for (const path of refused) expect(err(entity, { query: `${path}=1` }).message).toBe(`Error parsing query - Could not resolve property ${path} on ${name}`);
  });
});
