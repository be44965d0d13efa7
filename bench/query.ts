import { sql } from 'kysely';
import { recordEntity } from '../src/api/query-entities.js';
import { compileListQuery } from '../src/query/index.js';
import { RecordsRepository } from '../src/store/records.repository.js';
import type { Dialect } from '../src/store/db.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';
import { customerId, invoiceId, modifiedAt, recordIndexes, sharedInvoiceStore, type InvoiceStore } from './support/seed.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/** What a client typically asks of an invoice list; ids picked from the seeded data. */
export function typicalQueries(n: number): { label: string; query: string | undefined }[] {
  const from = modifiedAt(Math.floor(n * 0.9), n);
  const to = new Date(from.getTime() + 7 * 86_400_000);
  return [
    { label: 'no filter (first page)', query: undefined },
    { label: 'metadata.isDeleted!=true', query: 'metadata.isDeleted!=true' },
    { label: 'metadata.isDeleted=true', query: 'metadata.isDeleted=true' },
    { label: 'modifiedDate one-week range', query: `modifiedDate>=${from.toISOString()}&&modifiedDate<${to.toISOString()}` },
    { label: 'status=Submitted', query: 'status=Submitted' },
    { label: 'customerRef.id=…', query: `customerRef.id=${customerId(42)}` },
    { label: 'id=…', query: `id=${invoiceId(Math.floor(n / 3))}` },
  ];
}

/** One list request's database work, as the endpoint does it: the page of 100 and the total count. */
async function timeList(s: InvoiceStore, repo: RecordsRepository, query: string | undefined): Promise<number> {
  const list = compileListQuery(recordEntity('invoices'), { query }, s.dialect);
  const t = performance.now();
  await repo.list(s.connectionId, 'invoices', { page: 1, pageSize: 100 }, list);
  return performance.now() - t;
}

async function sample(s: InvoiceStore, repo: RecordsRepository, query: string | undefined, n: number): Promise<number[]> {
  const out: number[] = [];
  await timeList(s, repo, query); // warm the cache and the plan
  for (let i = 0; i < n; i++) out.push(await timeList(s, repo, query));
  return out;
}

export async function measureQueries(ctx: BenchContext, dialect: Dialect): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 5_000 : 1_000_000;
  const s = await sharedInvoiceStore(ctx, dialect, n);
  const store = s.db.store;
  const repo = new RecordsRepository(store.db, dialect);
  const cases = typicalQueries(n);
  const indexed = new Map<string, number[]>();
  for (const c of cases) indexed.set(c.label, await sample(s, repo, c.query, ctx.size === 'smoke' ? 3 : 40));

  // Baseline: the same statements with only the primary key (every query index of migrations 0003 and 0006 dropped).
  const indexes = await recordIndexes(store);
  for (const ix of indexes) await sql.raw(`drop index ${ix.name}`).execute(store.db);
  await sql.raw(dialect === 'postgres' ? 'vacuum analyze records' : 'analyze').execute(store.db);
  const bare = new Map<string, number[]>();
  try {
    for (const c of cases) bare.set(c.label, await sample(s, repo, c.query, ctx.size === 'smoke' ? 2 : 6));
  } finally {
    ctx.log(`${dialect}: rebuilding the record indexes`);
    await store.db.connection().execute(async (db) => {
      if (dialect === 'postgres') await sql`set maintenance_work_mem = '512MB'`.execute(db);
      for (const ix of indexes) await sql.raw(ix.sql).execute(db);
      await sql.raw(dialect === 'postgres' ? 'vacuum analyze records' : 'analyze').execute(db);
    });
  }
  const rows: BenchRow[] = [];
  for (const c of cases) {
    const a = indexed.get(c.label)!;
    const b = bare.get(c.label)!;
    for (const p of [50, 99]) {
      rows.push({
        metric: `${DB_NAME[dialect]}: ${c.label} p${p}`,
        value: percentile(a, p),
        unit: 'ms',
        baseline: { label: `primary key only, p${p}`, value: percentile(b, p) },
      });
    }
  }
  return rows;
}

export const query: Benchmark = {
  name: 'query',
  description: 'list query latency over 1,000,000 invoices of one company (page of 100 + totalResults count, as the endpoint runs them), with the query indexes vs the primary key only',
  async run(ctx) {
    return [...(await measureQueries(ctx, 'sqlite')), ...(await measureQueries(ctx, 'postgres'))];
  },
};
