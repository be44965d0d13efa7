/**
 * Issue 17, migration 0024: what the stored key columns cost a pull's merge on PostgreSQL, same run, interleaved.
 * Two databases on one server, both at the latest schema; in one, 0024 is undone (the three key columns dropped —
 * with their indexes — and the expression indexes put back as migration 0028 left them). Each round merges into each
 * database, alternately, a first pull of N invoices (every record added) and an update pull (a full listing of the N,
 * 10 % of them changed: status and customer move, which moves the keys), timing RecordsRepository.merge in its
 * transaction (staging is the same on both and not timed).
 *
 *   node --import tsx bench/query-keys-merge.ts [N] [rounds]     # a throwaway PostgreSQL, or TEST_DATABASE_URL's server
 *   BENCH_BASE_REPOSITORY=/path/to/main/src/store/records.repository.ts node --import tsx bench/query-keys-merge.ts …
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { startTempPostgres } from '../test/support/postgres.js';
import type { Store } from '../src/store/db.js';
import { QUERY_INDEX_KEYS } from '../src/store/migrations/0006-query-indexes.js';
import { RECORD_KEY_COLUMNS } from '../src/store/migrations/0024-record-query-keys.js';
import { RecordsRepository, type StagedRecord } from '../src/store/records.repository.js';
import { insertCompany } from './support/seed.js';
import { percentile } from './support/harness.js';
import { pgBenchDatabase } from './support/databases.js';

/**
 * BENCH_BASE_REPOSITORY: the records.repository.ts whose merge runs on the database without the key columns (e.g. the
 * main branch's, /work/main/src/store/records.repository.ts): the comparison is then the code before against after.
 */
const BaseRepository: typeof RecordsRepository = process.env.BENCH_BASE_REPOSITORY ? (await import(process.env.BENCH_BASE_REPOSITORY)).RecordsRepository : RecordsRepository;
const N = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const STATUSES = ['Paid', 'PartiallyPaid', 'Submitted', 'Draft', 'Void'];

function invoice(i: number, v: number): Record<string, unknown> {
  const sub = ((i * 7919) % 400000) / 100 + 20;
  const line = (d: string, q: number, share: number) => ({
    description: d,
    unitAmount: Math.round((sub * share * 100) / q) / 100,
    quantity: q,
    subTotal: Math.round(sub * share * 100) / 100,
    taxAmount: Math.round(sub * share * 20) / 100,
    totalAmount: Math.round(sub * share * 120) / 100,
    accountRef: { id: '4d8b0046-f706-4ed0-8688-000000000003' },
    taxRateRef: { id: 'OUTPUT2' },
    itemRef: { id: `401bbf29-ee4a-4366-97e0-${(i % 60).toString(16).padStart(12, '0')}`, name: d },
    tracking: { categoryRefs: [{ id: '835d241b-a4d4-4aa6-9304-000000000001', name: 'South' }], isBilledTo: 'NotApplicable', isRebilledTo: 'NotApplicable' },
    isDirectIncome: false,
  });
  return {
    id: `28c2fbb1-8724-4b60-8ec1-${i.toString(16).padStart(12, '0')}`,
    invoiceNumber: `INV-${String(i).padStart(7, '0')}`,
    customerRef: { id: `b18f7d51-c635-4864-87d9-${((i + v * 17) % 5000).toString(16).padStart(12, '0')}`, companyName: `Customer ${(i + v * 17) % 5000} Ltd` },
    issueDate: '2025-03-04T00:00:00',
    dueDate: '2025-03-18T00:00:00',
    currency: 'GBP',
    currencyRate: 1,
    lineItems: [line('Training day', 3, 0.6), line('Design package', 7, 0.4)],
    subTotal: sub,
    totalAmount: Math.round(sub * 120) / 100,
    status: STATUSES[(i + v) % STATUSES.length],
    v,
  };
}

/** Undoes 0024 in `store`: records as migrations up to 0031 without it left them. */
async function withoutKeyColumns(store: Store): Promise<void> {
  for (const [column, { index }] of Object.entries(RECORD_KEY_COLUMNS)) {
    await sql.raw(`alter table records drop column ${column}`).execute(store.db);
    await sql.raw(`create index ${index} on records (connection_id, data_type, ${QUERY_INDEX_KEYS.postgres[index]!}, record_id, modified_date)`).execute(store.db);
  }
  // 0024 ends with ANALYZE: without it the empty table's size is unknown to the planner and the update merge took
  // other plans (4 s instead of 0.2 s at 2,000 invoices) — a difference of statistics, not of the columns.
  await sql`analyze records`.execute(store.db);
}

async function pull(store: Store, repo: RecordsRepository, connectionId: string, v: number, at: string): Promise<number> {
  const ds = `ds-${randomBytes(6).toString('hex')}`;
  const records: StagedRecord[] = [];
  for (let i = 1; i <= N; i++) records.push({ id: invoice(i, 0).id as string, data: invoice(i, v > 0 && i % 10 === 0 ? v : 0), sourceModifiedDate: null, deleted: false });
  for (let i = 0; i < records.length; i += 5_000) await repo.stage(ds, records.slice(i, i + 5_000));
  // Statistics as autovacuum would have them: with those of an empty staging table, the merge's first statement (staging
  // joined with records) took a nested plan that ran for minutes in either database, whatever the key columns.
  await sql`analyze records, record_staging`.execute(store.db);
  const t = performance.now();
  await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId, dataType: 'invoices', now: at, fullListing: true }));
  return performance.now() - t;
}

async function main() {
  const temp = process.env.TEST_DATABASE_URL ? undefined : await startTempPostgres();
  const admin = process.env.TEST_DATABASE_URL ?? temp!.url;
  const before = await pgBenchDatabase(admin, 3);
  const after = await pgBenchDatabase(admin, 3);
  await withoutKeyColumns(before.store);
  const times: Record<'before' | 'after', { first: number[]; update: number[] }> = { before: { first: [], update: [] }, after: { first: [], update: [] } };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of round % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const)) {
        const store = (which === 'before' ? before : after).store;
        const repo = new (which === 'before' ? BaseRepository : RecordsRepository)(store.db, 'postgres');
        const { connectionId } = await insertCompany(store, `Co ${round}`);
        const first = await pull(store, repo, connectionId, 0, new Date(Date.UTC(2026, 0, 1, round)).toISOString());
        const update = await pull(store, repo, connectionId, round + 1, new Date(Date.UTC(2026, 0, 1, round, 30)).toISOString());
        times[which].first.push(first);
        times[which].update.push(update);
        process.stderr.write(`round ${round} ${which}: first pull merge ${first.toFixed(0)} ms, update pull merge ${update.toFixed(0)} ms (load ${os.loadavg()[0]!.toFixed(1)})\n`);
      }
    }
    for (const part of ['first', 'update'] as const) {
      const b = percentile(times.before[part], 50);
      const a = percentile(times.after[part], 50);
      process.stdout.write(`${part} pull of ${N} invoices, merge median: without key columns ${b.toFixed(0)} ms, with ${a.toFixed(0)} ms: ${(a / b).toFixed(3)}×\n`);
    }
  } finally {
    await before.drop();
    await after.drop();
    temp?.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
