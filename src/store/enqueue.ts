import { sql, type Kysely, type Transaction } from 'kysely';
import { newId } from '../lib/ids.js';
import type { DataType } from '../domain/data-types.js';
import type { DatasetStatus } from '../domain/statuses.js';
import { bySyncOrder, type SyncSetting } from '../domain/sync-settings.js';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { DatasetsRepository, newDatasetRow, type DatasetRow, type NewDataset } from './datasets.repository.js';
import type { ConnectionRow } from './connections.repository.js';
import { datasetsEnded, openReads } from './webhook-outbox.js';

export const DATASETS_CHANNEL = 'syncline_datasets';

export type Trigger = 'refresh' | 'all' | 'schedule' | 'first-link' | 'keep-alive';

export interface ReadRequest {
  companyId: string;
  connection: ConnectionRow;
  /** Effective settings of the types to queue; queued in syncOrder. */
  settings: SyncSetting[];
  trigger: Trigger;
  now: string;
  /** Can this connection's integration read the type? */
  supports: (dataType: DataType) => boolean;
  /** Is the integration enabled and configured on this instance? */
  integrationEnabled: boolean;
  /** false: the caller NOTIFYs workers itself, once for a batch of reads (the scheduler). */
  notify?: boolean;
}

export interface ReadResult {
  readId: string;
  /** Datasets created by this request (queued, or already terminal when decided at queue time). */
  created: DatasetRow[];
  /** Types skipped because a dataset was already in progress: data type → that dataset. */
  busy: Map<DataType, DatasetRow>;
}

/**
 * Queues one read: a dataset per data type for one connection, in syncOrder, in one transaction. Outcomes decided at
 * queue time (sync-behaviour.md §2.2) end the dataset at once. Busy pairs are left alone. Idle workers are woken
 * (PostgreSQL NOTIFY is delivered at commit; in-process listeners via `onQueued`).
 */
export async function queueRead(db: Kysely<Database>, dialect: Dialect, req: ReadRequest, onQueued?: () => void): Promise<ReadResult> {
  const result = await db.transaction().execute((trx) => queueReadIn(trx, dialect, req));
  if (result.created.some((d) => d.status === 'Queued')) onQueued?.();
  return result;
}

/** queueRead inside the caller's transaction (the scheduler queues a batch and moves its slots atomically). */
export async function queueReadIn(trx: Transaction<Database>, dialect: Dialect, req: ReadRequest): Promise<ReadResult> {
  return (await queueReadsIn(trx, dialect, [req]))[0]!;
}

/**
 * Several reads in the caller's transaction with a constant number of statements (issue 17: the scheduler queued each
 * read on its own, ~4,000 round trips for 10,000 due pulls): every read's datasets in one INSERT, every read row in
 * one more, the outcomes decided at queue time in one datasetsEnded. Each read keeps its own id, syncOrder and busy
 * pairs, exactly as queued one by one. `notify` is taken from the first request.
 */
export async function queueReadsIn(trx: Transaction<Database>, dialect: Dialect, reqs: readonly ReadRequest[]): Promise<ReadResult[]> {
  const datasets = new DatasetsRepository(trx, dialect);
  const reads = reqs.map((req) => ({ req, readId: newId(), rows: [] as NewDataset[] }));
  for (const { req, readId, rows } of reads) {
    for (const setting of [...req.settings].sort(bySyncOrder)) {
      let status: DatasetStatus = 'Queued';
      let errorMessage: string | null = null;
      if (!req.supports(setting.dataType)) {
        status = 'NotSupported';
      } else if (req.connection.status !== 'Linked') {
        status = 'AuthError';
        errorMessage = `Connection ${req.connection.id} is ${req.connection.status}; it must be Linked before data can be read.`;
      } else if (!req.integrationEnabled) {
        status = 'PrerequisiteNotMet';
        errorMessage = 'The integration is not enabled or not configured on this instance.';
      }
      const terminal = status !== 'Queued';
      rows.push(
        newDatasetRow({
          company_id: req.companyId,
          connection_id: req.connection.id,
          data_type: setting.dataType,
          status,
          error_message: errorMessage,
          progress: terminal ? 100 : 0,
          requested: req.now,
          completed: terminal ? req.now : null,
          read_id: readId,
          trigger: req.trigger,
          sync_order: setting.syncOrder,
          settings: JSON.stringify(setting),
        }),
      );
    }
  }
  // One statement per 500 datasets on SQLite (its parameter limit), per 10,000 on PostgreSQL (one jsonb parameter); a
  // pair already in progress is skipped by the partial unique index, row by row. Returned in insertion (seq) order, so
  // each read's datasets keep syncOrder.
  const all = reads.flatMap((r) => r.rows);
  const created: DatasetRow[] = [];
  const chunk = dialect === 'postgres' ? 10_000 : 500;
  for (let i = 0; i < all.length; i += chunk) created.push(...(await datasets.insertAllUnlessBusy(all.slice(i, i + chunk), trx)));
  const createdIds = new Set(created.map((d) => d.id));
  const results: ReadResult[] = [];
  for (const { req, readId, rows } of reads) {
    const busy = new Map<DataType, DatasetRow>();
    for (const row of rows) {
      if (createdIds.has(row.id)) continue;
      const existing = await datasets.inProgress(req.connection.id, row.data_type, trx);
      if (existing) busy.set(row.data_type as DataType, existing);
    }
    results.push({ readId, created: created.filter((d) => d.read_id === readId), busy });
  }
  // The reads' webhook bookkeeping commits with their datasets; those decided at queue time count as ended now.
  await openReads(
    trx,
    reads.map(({ req, readId }, i) => ({ readId, companyId: req.companyId, connectionId: req.connection.id, trigger: req.trigger, datasets: results[i]!.created.length, at: req.now })),
  );
  // Outcomes decided at queue time end at their read's `now` (one call per distinct instant: one for a scheduler batch).
  const ended = created.filter((d) => d.status !== 'Queued');
  for (const now of new Set(ended.map((d) => d.requested))) await datasetsEnded(trx, ended.filter((d) => d.requested === now), now);
  if (dialect === 'postgres' && reqs[0]?.notify !== false && created.some((d) => d.status === 'Queued')) {
    await sql`select pg_notify(${DATASETS_CHANNEL}, '')`.execute(trx);
  }
  return results;
}
