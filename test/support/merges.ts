import { expect } from 'vitest';
import type { Dialect } from '../../src/store/db.js';
import { recordEntity } from '../../src/api/query-entities.js';
import { compileListQuery } from '../../src/query/index.js';
import type { MergeResult, RecordsRepository, StagedRecord } from '../../src/store/records.repository.js';
import type { TestStore } from './stores.js';

/**
 * Shared setup of the record-store tests that drive merges directly (record counts, record buckets, asOf counts): a
 * pull staged and merged in its own transaction, optionally failing after the merge, and the plain OFFSET / COUNT(*)
 * oracle of an invoice list.
 */

/** Staged invoices: `ids` listed live and `deleted` reported deleted, each document `doc(i, v)`. */
export function stagedOf(doc: (i: number, v: number) => { id: string }) {
  return (ids: number[], v = 0, deleted: number[] = []): StagedRecord[] => [
    ...ids.map((i) => ({ id: doc(i, v).id, data: doc(i, v), sourceModifiedDate: null, deleted: false })),
    ...deleted.map((i) => ({ id: doc(i, v).id, data: doc(i, v), sourceModifiedDate: null, deleted: true })),
  ];
}

/**
 * One invoice pull: stage `records` under `datasetId`, then merge them in a transaction at `now`. With `fail` the
 * transaction throws after the merge (so it rolls back, as a pull failing late does) and the staging is cleared;
 * the answer is then undefined.
 */
export async function mergedPull(
  store: TestStore,
  repo: RecordsRepository,
  pull: { datasetId: string; connectionId: string; now: string; records: StagedRecord[]; fullListing?: boolean | undefined; fail?: boolean | undefined },
): Promise<MergeResult | undefined> {
  await repo.stage(pull.datasetId, pull.records);
  const run = store.db.transaction().execute(async (trx) => {
    const r = await repo.merge(trx, { datasetId: pull.datasetId, connectionId: pull.connectionId, dataType: 'invoices', now: pull.now, fullListing: pull.fullListing ?? false });
    if (pull.fail) throw new Error('the pull failed after its merge');
    return r;
  });
  if (!pull.fail) return run;
  await expect(run).rejects.toThrow('the pull failed');
  await repo.clearStaging(pull.datasetId);
  return undefined;
}

/** An invoice list of `connectionId` as plain OFFSET and COUNT(*) statements over `records`: the oracle. */
export async function offsetOracle(
  store: TestStore,
  dialect: Dialect,
  connectionId: string,
  list: { query?: string | undefined; orderBy?: string | undefined; page: number; pageSize: number },
): Promise<{ total: number; ids: string[] }> {
  const compiled = compileListQuery(recordEntity('invoices'), { query: list.query, orderBy: list.orderBy }, dialect);
  let rows = store.db.selectFrom('records').select('record_id').where('connection_id', '=', connectionId).where('data_type', '=', 'invoices');
  let count = store.db.selectFrom('records').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', connectionId).where('data_type', '=', 'invoices');
  if (compiled.where) {
    rows = rows.where(compiled.where);
    count = count.where(compiled.where);
  }
  for (const o of compiled.orderBy) rows = rows.orderBy(o);
  const ids = (await rows.limit(list.pageSize).offset((list.page - 1) * list.pageSize).execute()).map((r) => r.record_id);
  return { total: Number((await count.executeTakeFirstOrThrow()).n), ids };
}
