/**
 * The compiler against real databases: every query runs on SQLite and on PostgreSQL, and its result must equal
 * both the expected ids and the in-memory evaluator's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import {
  accountingEntity,
  compileListQuery,
  defineEntity,
  p,
  platformEntity,
  epochMsSql,
  filterAndSort,
  MAX_QUERY_LENGTH,
  QueryParseError,
  type Entity,
  type ListParameters,
} from './index.js';
import { storedDateMs } from './literals.js';

type Doc = Record<string, unknown> & { id: string };

const DOCS: Doc[] = [
  {
    id: 'i01',
    invoiceNumber: 'INV-001',
    currency: 'GBP',
    amountDue: 0,
    totalAmount: 100.5,
    status: 'Paid',
    issueDate: '2021-01-28T00:00:00',
    dueDate: '2021-02-27T00:00:00',
    customerRef: { id: '61', companyName: 'Acme Trading Ltd' },
    metadata: { isDeleted: false },
    note: 'paid in full',
    modifiedDate: '2022-08-23T10:15:00.000Z',
    lineItems: [{ unitAmount: 700 }],
  },
  {
    id: 'i02',
    currency: 'gbp',
    amountDue: 50,
    totalAmount: 50,
    status: 'PartiallyPaid',
    issueDate: '2021-01-28T23:30:00-01:00',
    customerRef: { id: '62', companyName: 'ACME trading' },
    metadata: { isDeleted: true },
    note: '100% discount_code \\ path',
    modifiedDate: '2022-08-23T10:14:59.999Z',
  },
  {
    id: 'i03',
    currency: 'EUR',
    amountDue: -12.5,
    totalAmount: 1000,
    status: 'draft',
    issueDate: '2021-01-29T00:00:00Z',
    customerRef: null,
    metadata: { isDeleted: null },
    note: 'O\'Brien "quoted"',
  },
  { id: 'i04', currency: 'É€', amountDue: '5', totalAmount: null, status: 'Submitted', issueDate: '2021-01-27', customerRef: '61', metadata: {}, note: 'ÉCOLE' },
  { id: 'i05', currency: 'GBP', amountDue: true, totalAmount: 99.99, issueDate: 'not a date', customerRef: { id: 61 }, note: 'école' },
  {
    id: 'i06',
    amountDue: 0.1,
    totalAmount: 1000.0,
    issueDate: '2021-01-28T12:00:00.123456+05:30',
    customerRef: { id: '61', companyName: null },
    metadata: { isDeleted: 'true' },
    status: 'PAID',
    note: '😀 emoji',
  },
  { id: 'i07' },
  {
    id: 'i08',
    issueDate: '2021-02-30T00:00:00',
    dueDate: '2021-13-01',
    amountDue: 1000000,
    currency: 'gBp',
    metadata: { isDeleted: false },
    customerRef: [{ id: '61' }],
    note: '',
  },
  { id: 'I09', currency: 'USD', amountDue: 7, totalAmount: 7, status: 'Void', metadata: { isDeleted: false }, issueDate: '2020-12-31T23:00:00-02:00' },
];

const CASES: [string, string[]][] = [
  ['amountDue>0', ['I09', 'i02', 'i06', 'i08']],
  ['amountDue=0', ['i01']],
  ['amountDue!=0', ['I09', 'i02', 'i03', 'i04', 'i05', 'i06', 'i07', 'i08']],
  ['amountDue<0', ['i03']],
  ['amountDue>=-12.5', ['I09', 'i01', 'i02', 'i03', 'i06', 'i08']],
  ['amountDue=0.1', ['i06']],
  ['amountDue>"100"', ['i08']],
  ['totalAmount=1000', ['i03', 'i06']],
  ['totalAmount<=99.99', ['I09', 'i02', 'i05']],
  ['currency=gbp', ['i01', 'i02', 'i05', 'i08']],
  ['currency!=GBP', ['I09', 'i03', 'i04', 'i06', 'i07']],
  ['currency~b', ['i01', 'i02', 'i05', 'i08']],
  ['currency=é€', []],
  ['currency=É€', ['i04']],
  ['note~%', ['i02']],
  ['note~_', ['i02']],
  ['note~\\', ['i02']],
  ["note~'", ['i03']],
  ['note~"\\""', ['i03']],
  ['note~é', ['i05']],
  ['note~ÉCOLE', ['i04']],
  ['note~😀', ['i06']],
  ['note=""', ['i08']],
  ['note~""', ['i01', 'i02', 'i03', 'i04', 'i05', 'i06', 'i08']],
  ['note=PAID IN FULL', ['i01']],
  ['status=paid', ['i01', 'i06']],
  ['status!=paid', ['I09', 'i02', 'i03', 'i04', 'i05', 'i07', 'i08']],
  ['status~PAID', ['i01', 'i02', 'i06']],
  ['status=Bogus', []],
  ['customerRef.id=61', ['i01', 'i06']],
  ['customerRef.id!=61', ['I09', 'i02', 'i03', 'i04', 'i05', 'i07', 'i08']],
  ['customerRef.companyName~acme', ['i01', 'i02']],
  ['metadata.isDeleted!=true', ['I09', 'i01', 'i03', 'i04', 'i05', 'i06', 'i07', 'i08']],
  ['metadata.isDeleted=false', ['I09', 'i01', 'i08']],
  ['metadata.isDeleted=TRUE', ['i02']],
  ['issueDate=2021-01-28', ['i01', 'i06']],
  ['issueDate>2021-01-28', ['i02', 'i03', 'i08']],
  ['issueDate<2021-01-28', ['I09', 'i04']],
  ['issueDate<=2021-01-28', ['I09', 'i01', 'i04', 'i06']],
  ['issueDate>=2021-01-28', ['i01', 'i02', 'i03', 'i06', 'i08']],
  ['issueDate!=2021-01-28', ['I09', 'i02', 'i03', 'i04', 'i05', 'i07', 'i08']],
  ['issueDate>=2021-01-29T00:00:00Z', ['i02', 'i03', 'i08']],
  ['issueDate=2021-01-29T00:30:00', ['i02']],
  ['issueDate=2021-01-29T01:30:00+01:00', ['i02']],
  ['issueDate=2021-01-28T06:30:00.123Z', ['i06']],
  ['issueDate=2021-01-28T06:30:00.1239Z', ['i06']],
  ['issueDate>2021-03-01T23:59:59.999Z', ['i08']],
  ['issueDate=2021-01-01', ['I09']],
  ['dueDate!=2021-02-27', ['I09', 'i02', 'i03', 'i04', 'i05', 'i06', 'i07', 'i08']],
  ['modifiedDate>=2022-08-23T10:15:00.000Z', ['i01']],
  ['modifiedDate<2022-08-23T10:15:00', ['i02']],
  ['{totalAmount>100||totalAmount<50}&&status!=Paid', ['I09', 'i03']],
  ['amountDue>0&&totalAmount<1000', ['I09', 'i02']],
  ['status=Draft||status=Submitted', ['i03', 'i04']],
  ['{a=1&&{b=2||b=3}}||c=4'.replace(/a|b|c/g, 'amountDue'), []],
  ['{currency=gbp&&{amountDue=0||amountDue=50}}||id=I09', ['I09', 'i01', 'i02']],
  ['id=i01', ['i01']],
  ['id=I01', ['i01']],
  ['id~0', ['I09', 'i01', 'i02', 'i03', 'i04', 'i05', 'i06', 'i07', 'i08']],
];

const ORDERABLE = ['id', 'amountDue', 'totalAmount', 'currency', 'status', 'issueDate', 'dueDate', 'modifiedDate', 'metadata.isDeleted', 'customerRef.id', 'note'];

async function createDocTable(db: Kysely<any>, dialect: string, table: string, docs: Doc[]): Promise<void> {
  await sql`create table ${sql.table(table)} (id text primary key, data ${sql.raw(dialect === 'postgres' ? 'jsonb' : 'text')} not null)`.execute(db);
  if (docs.length) await db.insertInto(table).values(docs.map((d) => ({ id: d.id, data: JSON.stringify(d) }))).execute();
}

for (const dialect of DIALECTS) {
  describe(`${dialect}`, () => {
    let store: TestStore;
    let db: Kysely<any>;
    const Invoice = accountingEntity('invoices', { document: sql.ref('q_docs.data'), fields: { id: { type: 'string', sql: sql.ref('q_docs.id') } } });

    async function sqlIds(entity: Entity, params: ListParameters, table = 'q_docs'): Promise<string[]> {
      const c = compileListQuery(entity, params, dialect);
      let q = db.selectFrom(table).select('id');
      if (c.where) q = q.where(c.where);
      for (const o of c.orderBy) q = q.orderBy(o);
      return (await q.execute()).map((r: { id: string }) => r.id);
    }
    const oracleIds = (entity: Entity, params: ListParameters, docs: Doc[] = DOCS) => filterAndSort(entity, docs, params).map((d) => d.id);

    beforeAll(async () => {
      store = await openTestStore(dialect);
      db = store.db as unknown as Kysely<any>;
      await createDocTable(db, dialect, 'q_docs', DOCS);
    });
    afterAll(async () => store?.cleanup());

    it.each(CASES)('%s', async (query, expected) => {
      const params = { query, orderBy: 'id' };
      expect(oracleIds(Invoice, params), 'evaluator').toEqual(expected);
      expect(await sqlIds(Invoice, params), 'SQL').toEqual(expected);
    });

    it('orders by every scalar type both ways like the evaluator: nulls last ascending, code points, id tiebreak', async () => {
      for (const f of ORDERABLE) {
        for (const orderBy of [f, `-${f}`]) {
          expect(await sqlIds(Invoice, { orderBy }), orderBy).toEqual(oracleIds(Invoice, { orderBy }));
        }
      }
      expect(await sqlIds(Invoice, {})).toEqual(['I09', 'i01', 'i02', 'i03', 'i04', 'i05', 'i06', 'i07', 'i08']);
      expect(await sqlIds(Invoice, { orderBy: 'amountDue' })).toEqual(['i03', 'i01', 'i06', 'I09', 'i02', 'i08', 'i04', 'i05', 'i07']);
      expect(await sqlIds(Invoice, { orderBy: '-issueDate' })).toEqual(['i05', 'i07', 'i08', 'i02', 'i03', 'i06', 'i01', 'i04', 'I09']);
      expect(await sqlIds(Invoice, { orderBy: 'metadata.isDeleted' })).toEqual(['I09', 'i01', 'i08', 'i02', 'i03', 'i04', 'i05', 'i06', 'i07']);
      expect(await sqlIds(Invoice, { orderBy: 'note', query: 'note~e' })).toEqual(['i02', 'i03', 'i04', 'i05', 'i06']);
    });

    it('reads stored date-times exactly like the evaluator', async () => {
      const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
      const anyOf = <T>(...a: fc.Arbitrary<T>[]) => fc.oneof(...a);
      /** Mostly in range, sometimes just outside it. */
      const field = (min: number, max: number, over: number) => fc.oneof({ weight: 9, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: over }) });
      const tz = anyOf(
        fc.constant(''),
        fc.constant('Z'),
        fc.tuple(fc.constantFrom('+', '-'), field(0, 23, 99), field(0, 59, 99)).map(([s, h, m]) => `${s}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
      );
      const frac = anyOf(fc.constant(''), digits(1).map((d) => `.${d}`), fc.stringMatching(/^\.[0-9]{1,9}$/));
      const dateish = anyOf(
        fc.tuple(digits(4), digits(2), digits(2)).map(([y, m, d]) => `${y}-${m}-${d}`),
        fc
          .tuple(fc.integer({ min: 0, max: 9999 }), field(1, 12, 13), field(1, 31, 32), field(0, 23, 25), field(0, 59, 61), field(0, 59, 61), frac, tz)
          .map(([y, mo, d, h, mi, s, f, z]) => {
            const p = (n: number, w = 2) => String(n).padStart(w, '0');
            return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}${f}${z}`;
          }),
        fc.string({ unit: fc.constantFrom('0', '1', '2', '9', '-', ':', 'T', 'Z', '.', '+', ' '), maxLength: 30 }),
      );
      const samples = [
        ...fc.sample(dateish, 1500),
        '2021-11-15T06:00:00Z',
        '2021-11-15T01:00:00',
        '2021-11-15T01:00:00-05:00',
        '0000-01-01T00:00:00+23:59',
        '9999-12-31T23:59:59.9999999-23:59',
        '2021-02-30',
        '2021-11-15T06:00:00.Z',
        '2021-11-15T06:00:00+5:00',
        '2021-11-15T06:00:00.12+05:00x',
        '',
        'now',
        '2021-11-15\n',
      ];
      await sql`create table q_dates (n integer primary key, v text)`.execute(db);
      await db.insertInto('q_dates').values(samples.map((v, n) => ({ n, v }))).execute();
      const rows = await db
        .selectFrom('q_dates')
        .select(['n', sql<string | number | null>`${epochMsSql(sql.ref('v'), dialect)}`.as('ms')])
        .orderBy('n')
        .execute();
      const got = rows.map((r: { ms: string | number | null }) => (r.ms === null ? null : Number(r.ms)));
      const want = samples.map((s) => storedDateMs(s) ?? null);
      const diffs = samples.map((s, i) => [s, got[i], want[i]]).filter(([, g, w]) => g !== w);
      expect(diffs).toEqual([]);
      expect(want.filter((w) => w !== null).length).toBeGreaterThan(300);
    });

    it('binds every value: injection attempts return correct rows or a 400, never others', async () => {
      const attempts = [
        "id=' OR '1'='1",
        "id=i01' OR '1'='1",
        'id=i01" OR "1"="1',
        "note=O'Brien \"quoted\"",
        'note="O\'Brien \\"quoted\\""',
        "id=i01'; DROP TABLE q_docs; --",
        'id=i01); DELETE FROM q_docs; --',
        'id=$1',
        'id=?',
        'id=:id',
        "note~%' OR 1=1 --",
        'note~%%',
        'note~_',
        "customerRef.id=61' || '",
        "currency=GBP') OR ('a'='a",
        'id=\\',
        'id=i01\\',
        'note~\\%',
        "amountDue>0 OR 1=1",
        "amountDue>0; DROP TABLE q_docs",
        "issueDate>2021-01-01' OR '1'='1",
        "metadata.isDeleted=true' OR '1'='1",
        "id=' UNION SELECT id FROM q_docs --",
        'id=i01/*',
        "id=E'\\x27",
        'id=$$ OR 1=1 $$',
      ];
      for (const query of attempts) {
        let got: string[] | undefined;
        try {
          got = await sqlIds(Invoice, { query, orderBy: 'id' });
        } catch (e) {
          expect(e, query).toBeInstanceOf(QueryParseError);
          expect((e as QueryParseError).statusCode).toBe(400);
          continue;
        }
        expect(got, query).toEqual(oracleIds(Invoice, { query, orderBy: 'id' }));
      }
      for (const orderBy of ['id; DROP TABLE q_docs', 'id desc', "id'", 'id)--', 'data']) {
        await expect(sqlIds(Invoice, { orderBy }), orderBy).rejects.toBeInstanceOf(QueryParseError);
      }
      const count = await db.selectFrom('q_docs').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(DOCS.length);
    });

    it('resolves undeclared paths of open documents to the JSON value at that path', async () => {
      const Open = defineEntity({
        name: 'Doc',
        service: 'PublicApi',
        fields: { id: { type: 'string', sql: sql.ref('q_docs.id') } },
        document: { column: sql.ref('q_docs.data'), properties: { customerRef: p.object({ id: p.string }) }, open: { type: 'string' } },
      });
      for (const [query, expected] of [
        ['currency=gbp', ['i01', 'i02', 'i05', 'i08']],
        ['CUSTOMERREF.companyName~acme', ['i01', 'i02']],
        ['customerRef.id=61', ['i01', 'i06']],
        ['lineItems.unitAmount=700', []],
        ['amountDue=0', []],
        ['note!=""', ['I09', 'i01', 'i02', 'i03', 'i04', 'i05', 'i06', 'i07']],
      ] as const) {
        expect(oracleIds(Open, { query, orderBy: 'id' }), query).toEqual(expected);
        expect(await sqlIds(Open, { query, orderBy: 'id' }), query).toEqual(expected);
      }
    });

    it('runs the largest queries the length limit allows', async () => {
      const fill = (unit: string, sep: string) => {
        const parts: string[] = [];
        while ((parts.length + 1) * (unit.length + sep.length) - sep.length <= MAX_QUERY_LENGTH) parts.push(unit);
        return parts.join(sep);
      };
      const wideAnd = fill('id~i', '&&');
      const wideOr = fill('id=x', '||');
      const dates = fill('issueDate>=2021-01-01', '&&');
      const orOfDates = fill('{issueDate=2021-01-28||issueDate<2021-01-01T00:00:00+01:00}', '&&');
      let nested = 'id=i01';
      for (let i = 0; ; i++) {
        const next = i % 2 ? `{id=i0${i % 9}&&${nested}}` : `{id=i0${i % 9}||${nested}}`;
        if (next.length > MAX_QUERY_LENGTH) break;
        nested = next;
      }
      for (const query of [wideAnd, wideOr, dates, orOfDates, nested]) {
        expect(query.length).toBeGreaterThan(1900);
        expect(query.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
        expect(await sqlIds(Invoice, { query, orderBy: '-issueDate' }), query.slice(0, 40)).toEqual(oracleIds(Invoice, { query, orderBy: '-issueDate' }));
      }
    });

    it('serves companies from real columns: dataConnections.status, tags, created, code-point names', async () => {
      const t = (d: number) => `2026-01-0${d}T00:00:00.000Z`;
      const companies = [
        { id: 'c0000000-0000-4000-8000-000000000001', name: 'alpha', description: null, tags: JSON.stringify({ region: 'uk', owningTeam: 'invoice-finance', 'a.b "c"': 'x' }), created_at: t(1) },
        { id: 'c0000000-0000-4000-8000-000000000002', name: 'Beta', description: 'second', tags: JSON.stringify({ region: 'UK' }), created_at: t(2) },
        { id: 'c0000000-0000-4000-8000-000000000003', name: 'Émile', description: null, tags: '{}', created_at: t(3) },
        { id: 'c0000000-0000-4000-8000-000000000004', name: 'zeta', description: 'fourth', tags: JSON.stringify({ region: 'ie', uid: 'cust-0042' }), created_at: t(3) },
      ];
      await db.insertInto('companies').values(companies).execute();
      const conns = [
        ['c0000000-0000-4000-8000-000000000001', 'Linked'],
        ['c0000000-0000-4000-8000-000000000001', 'PendingAuth'],
        ['c0000000-0000-4000-8000-000000000002', 'Unlinked'],
      ].map(([company_id, status], i) => ({ id: `d000000${i}`, company_id, integration_key: 'mqjo', status, created_at: t(1), updated_at: t(1) }));
      await db.insertInto('connections').values(conns).execute();

      await db
        .insertInto('datasets')
        .values({ id: 'e1', company_id: companies[1]!.id, connection_id: 'd0000002', data_type: 'invoices', status: 'Complete', requested: t(4), completed: t(5), read_id: 'r', trigger: 'refresh', sync_order: 1, settings: '{}' })
        .execute();
      const base = 'http://localhost:8080';
      const Company = platformEntity(
        'Company',
        {
          id: sql.ref('companies.id'),
          name: sql.ref('companies.name'),
          description: sql.ref('companies.description'),
          created: sql.ref('companies.created_at'),
          lastSync: sql`(SELECT max(d.completed) FROM datasets d WHERE d.company_id = companies.id)`,
          redirect: sql`(CAST(${base} AS text) || '/link/companies/' || companies.id)`,
          'dataConnections.status': (_d, pred) => sql`EXISTS (SELECT 1 FROM connections c WHERE c.company_id = companies.id AND ${pred(sql.ref('c.status'))})`,
        },
        { tags: { column: sql.ref('companies.tags') } },
      );
      const apiShaped = companies.map((c) => ({
        id: c.id,
        name: c.name,
        ...(c.description ? { description: c.description } : {}),
        created: c.created_at,
        redirect: `${base}/link/companies/${c.id}`,
        ...(c.id === companies[1]!.id ? { lastSync: t(5) } : {}),
        tags: JSON.parse(c.tags),
        dataConnections: conns.filter((x) => x.company_id === c.id).map((x) => ({ id: x.id, status: x.status })),
      }));
      const check = async (params: ListParameters, expected: number[]) => {
        const want = expected.map((n) => companies[n - 1]!.id);
        expect(filterAndSort(Company, apiShaped, params).map((c) => c.id), `evaluator ${JSON.stringify(params)}`).toEqual(want);
        expect(await sqlIds(Company, params, 'companies'), `SQL ${JSON.stringify(params)}`).toEqual(want);
      };
      await check({}, [1, 2, 3, 4]);
      await check({ orderBy: '-created' }, [3, 4, 2, 1]);
      await check({ orderBy: 'name' }, [2, 1, 4, 3]);
      await check({ orderBy: '-description' }, [1, 3, 2, 4]);
      await check({ query: 'dataConnections.status=pendingauth' }, [1]);
      await check({ query: 'dataConnections.status!=Linked' }, [2, 3, 4]);
      await check(
        { query: 'dataConnections.status!=PendingAuth&&dataConnections.status!=Linked&&dataConnections.status!=Deauthorized&&dataConnections.status!=Unlinked' },
        [3, 4],
      );
      await check({ query: 'id=C0000000-0000-4000-8000-000000000002' }, [2]);
      await check({ query: 'created>2026-01-02' }, [3, 4]);
      await check({ query: 'created=2026-01-03T00:00:00Z' }, [3, 4]);
      await check({ query: 'description!=second' }, [1, 3, 4]);
      await check({ tags: 'uid=cust-0042' }, [4]);
      await check({ tags: 'region!=uk' }, [2, 3, 4]);
      await check({ tags: 'region = uk && owningTeam = invoice-finance' }, [1]);
      await check({ tags: '{region=uk||region=ie}&&owningTeam~finance' }, [1]);
      await check({ tags: 'region~K' }, [2]);
      await check({ tags: 'a.b "c"=x' }, [1]);
      await check({ tags: "region=uk' OR '1'='1" }, []);
      await check({ tags: "region' OR 1=1 --=uk" }, []);
      await check({ tags: "region!=uk' OR 1=1 --" }, [1, 2, 3, 4]);
      await check({ tags: 'region=uk||region=ie', query: 'name~a' }, [1, 4]);
      await check({ query: 'lastSync>=2026-01-05' }, [2]);
      await check({ orderBy: '-lastSync' }, [1, 3, 4, 2]);
      await check({ query: 'redirect~/LINK/companies/c0000000-0000-4000-8000-000000000003' }, [3]);
      await expect(sqlIds(Company, { query: 'connections.status=Linked' }, 'companies')).rejects.toThrow('Could not resolve property connections.status on Company');
    });

    it('serves records from the records table, with Syncline fields from columns', async () => {
      await db.insertInto('companies').values({ id: 'c9', name: 'rec', tags: '{}', created_at: '2026-01-01T00:00:00.000Z' }).execute();
      await db.insertInto('connections').values({ id: 'k9', company_id: 'c9', integration_key: 'mqjo', status: 'Linked', created_at: 'x', updated_at: 'x' }).execute();
      const rows = [
        { record_id: 'r1', data: { id: 'r1', amountDue: 5, issueDate: '2021-01-01T00:00:00' }, modified_date: '2026-02-01T00:00:00.000Z', source_modified_date: '2021-01-01T10:00:00+02:00', is_deleted: 0 },
        { record_id: 'r2', data: { id: 'r2', amountDue: 0 }, modified_date: '2026-02-02T00:00:00.000Z', source_modified_date: null, is_deleted: 1 },
        { record_id: 'r3', data: { id: 'r3', amountDue: 9 }, modified_date: '2026-02-03T00:00:00.000Z', source_modified_date: '2021-01-01T09:00:00Z', is_deleted: 0 },
      ];
      await db
        .insertInto('records')
        .values(rows.map((r) => ({ ...r, connection_id: 'k9', data_type: 'invoices', data: JSON.stringify(r.data), content_hash: 'h' })))
        .execute();
      const Records = accountingEntity('invoices', {
        document: sql.ref('records.data'),
        fields: {
          id: { type: 'string', sql: sql.ref('records.record_id') },
          modifiedDate: { type: 'date', dateFormat: 'canonical', sql: sql.ref('records.modified_date') },
          sourceModifiedDate: { type: 'date', sql: sql.ref('records.source_modified_date') },
          'metadata.isDeleted': { type: 'boolean', booleanAsInteger: true, sql: sql.ref('records.is_deleted') },
        },
      });
      const api = rows.map((r) => ({
        ...r.data,
        modifiedDate: r.modified_date,
        ...(r.source_modified_date ? { sourceModifiedDate: r.source_modified_date } : {}),
        metadata: { isDeleted: r.is_deleted === 1 },
      }));
      const check = async (params: ListParameters, expected: string[]) => {
        const c = compileListQuery(Records, params, dialect);
        let q = db.selectFrom('records').select('record_id').where('connection_id', '=', 'k9').where('data_type', '=', 'invoices');
        if (c.where) q = q.where(c.where);
        for (const o of c.orderBy) q = q.orderBy(o);
        expect((await q.execute()).map((r: { record_id: string }) => r.record_id), JSON.stringify(params)).toEqual(expected);
        expect(filterAndSort(Records, api, params).map((d) => d.id)).toEqual(expected);
      };
      await check({ query: 'metadata.isDeleted!=true' }, ['r1', 'r3']);
      await check({ query: 'metadata.isDeleted=true' }, ['r2']);
      await check({ query: 'modifiedDate>=2026-02-02T00:00:00.000Z', orderBy: '-modifiedDate' }, ['r3', 'r2']);
      await check({ query: 'sourceModifiedDate>=2021-01-01T08:30:00Z' }, ['r3']);
      await check({ orderBy: 'sourceModifiedDate' }, ['r1', 'r3', 'r2']);
      await check({ query: 'id=R2||amountDue>6' }, ['r2', 'r3']);
    });
  });
}
