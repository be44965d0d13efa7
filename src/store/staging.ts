/**
 * Housekeeping of `record_staging` (issue 12 item 5). Staged rows carry no foreign key to their dataset — the table is
 * the hot write path of every pull (and UNLOGGED on PostgreSQL) — so everything that ends or removes datasets other
 * than the worker's own merge must remove their staged rows itself, in the same transaction: the lease sweeper when it
 * fails a dataset, unlink/deauthorization when they end one, company and connection deletion. A worker that loses its
 * dataset while a page is in flight can still write that page after the fact; `pruneOrphanStaging`, run by the
 * housekeeping daemon, removes such rows (staging whose dataset is terminal or gone) in bounded batches.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { IN_PROGRESS_STATUSES } from '../domain/statuses.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export async function clearStagingOfDatasets(db: Db, datasetIds: readonly string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < datasetIds.length; i += 500) {
    const r = await db.deleteFrom('record_staging').where('dataset_id', 'in', datasetIds.slice(i, i + 500)).executeTakeFirst();
    n += Number(r.numDeletedRows);
  }
  return n;
}

/** Every staged row of every dataset of a connection, or of a company (before deleting it). */
export async function clearStagingOf(db: Db, owner: { connectionId: string } | { companyId: string }): Promise<number> {
  const ids = db.selectFrom('datasets').select('id');
  const of = 'connectionId' in owner ? ids.where('connection_id', '=', owner.connectionId) : ids.where('company_id', '=', owner.companyId);
  const r = await db.deleteFrom('record_staging').where('dataset_id', 'in', of).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Removes the staged rows of at most `maxDatasets` datasets that are terminal or no longer exist. A dataset in
 * progress keeps its rows (a Queued one may be a requeued pull: its next worker clears them when it starts).
 * Returns the number of rows removed.
 */
export async function pruneOrphanStaging(db: Kysely<Database>, maxDatasets = 100): Promise<number> {
  const orphans = await db
    .selectFrom('record_staging as s')
    .select('s.dataset_id')
    .distinct()
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('datasets as d')
            .select(sql.lit(1).as('one'))
            .whereRef('d.id', '=', 's.dataset_id')
            .where('d.status', 'in', IN_PROGRESS_STATUSES),
        ),
      ),
    )
    .limit(maxDatasets)
    .execute();
  if (orphans.length === 0) return 0;
  // The check is repeated in the DELETE: a dataset claimed again between the two statements keeps its rows.
  const r = await db
    .deleteFrom('record_staging')
    .where(
      'dataset_id',
      'in',
      orphans.map((o) => o.dataset_id),
    )
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('datasets as d').select(sql.lit(1).as('one')).whereRef('d.id', '=', 'record_staging.dataset_id').where('d.status', 'in', IN_PROGRESS_STATUSES))),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
