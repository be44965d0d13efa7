import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase } from '../../test/support/stores.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { openStore, type Store } from './db.js';
import { RecordsRepository, type StagedRecord } from './records.repository.js';

/**
 * PostgreSQL: a merge's statements are planned for the pull at hand, never with a cached generic plan. The pool names
 * a statement from its second execution (prepared-statements.ts) and PostgreSQL may then keep a generic plan after five
 * executions — a plan made without the dataset's own figures (5 staged rows or 50,000; a pair of 10 records or a
 * million), reused by every later merge on that connection. A merge is one transaction doing a handful of set-based
 * statements over thousands of rows, where planning is noise and a wrong plan is minutes (issue 16's end-to-end bench:
 * two merges of 5,000 changed invoices took 52 s and 122 s after the worker's sixth pull). On one pooled connection,
 * after merges of varied sizes, no prepared statement the merges ran has ever used a generic plan.
 */
describe('merge statements use custom plans [postgres]', () => {
  let store: Store;
  let drop: () => Promise<void>;
  const conns = ['c-small', 'c-large'];
  let pull = 0;
  const live = (i: number, v: number): StagedRecord => ({ id: `inv-${i}`, data: { id: `inv-${i}`, status: v % 2 ? 'Void' : 'Paid', amount: i + v }, sourceModifiedDate: null, deleted: false });
  const gone = (i: number): StagedRecord => ({ id: `inv-${i}`, data: { id: `inv-${i}` }, sourceModifiedDate: null, deleted: true });

  beforeAll(async () => {
    const db = await createTestDatabase('postgres');
    drop = db.drop;
    // One connection: every merge, and the check below, run in the same session, whose prepared statements it lists.
    store = openStore({ databaseUrl: db.location, poolSize: 1 });
    await seedLinkedConnections(store.db, { companyId: 'co-1', connectionIds: conns, at: '2026-01-01T00:00:00.000Z' });
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it('never runs a merge statement with a generic plan, however many merges a connection has run', async () => {
    const repo = new RecordsRepository(store.db, 'postgres');
    const range = (n: number) => Array.from({ length: n }, (_, k) => k);
    // Ten merges per pair, alternating a small and a large pair, each kind of pass with work to do: adds, changes,
    // deletions flagged by the platform, unlisted records deleted by a full listing.
    for (let round = 0; round < 10; round++) {
      for (const [conn, size] of [
        ['c-small', 3],
        ['c-large', 400],
      ] as const) {
        const ds = `ds-${++pull}`;
        const listed = range(size + round).filter((i) => i % 7 !== round % 7);
        const records = [...listed.map((i) => live(i, i % 3 === round % 3 ? round : 0)), ...(round % 2 ? [gone(0)] : [])];
        await repo.stage(ds, records);
        const now = new Date(Date.UTC(2026, 0, 1, 0, pull)).toISOString();
        await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: ds, connectionId: conn, dataType: 'invoices', now, fullListing: round % 3 === 0 }));
      }
    }
    const prepared = (
      await sql<{ statement: string; generic_plans: string; custom_plans: string }>`
        select statement, generic_plans::text, custom_plans::text from pg_prepared_statements`.execute(store.db)
    ).rows;
    // The merge's statements: every one touching records, staging, history or counts, except staging's own INSERT (run
    // by stage(), before the merge's transaction; a VALUES list plans the same for any page).
    const mergeStatements = prepared.filter((p) => /record_staging|record_changes|record_counts|\brecords\b/.test(p.statement) && !/^\s*insert into record_staging/i.test(p.statement));
    // The merge's statements were executed often enough to be prepared (and to be offered a generic plan).
    expect(mergeStatements.length).toBeGreaterThan(3);
    expect(mergeStatements.reduce((n, p) => n + Number(p.custom_plans), 0)).toBeGreaterThan(mergeStatements.length * 5);
    expect(mergeStatements.filter((p) => Number(p.generic_plans) > 0).map((p) => p.statement.replace(/\s+/g, ' ').slice(0, 120))).toEqual([]);
  });
});
