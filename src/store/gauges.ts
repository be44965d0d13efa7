import { sql, type Kysely } from 'kysely';
import { IN_PROGRESS_STATUSES } from '../domain/statuses.js';
import type { Database } from './schema.js';

export interface StoreGauges {
  /** In-progress datasets by status (every in-progress status present, 0 when none). */
  inProgress: Record<string, number>;
  /** Age in ms of the oldest Queued dataset at `nowMs`; 0 when the queue is empty. */
  oldestQueuedMs: number;
  /** Webhook deliveries waiting to be sent (due now or retrying later). */
  webhookPending: number;
}

/**
 * Queue depth for /metrics, read at scrape time. Every query runs through a partial index (datasets_one_in_progress,
 * datasets_claim_order, webhook_deliveries_due), so a scrape costs what is in flight, never the size of the history.
 */
export async function readStoreGauges(db: Kysely<Database>, nowMs: number): Promise<StoreGauges> {
  const inProgressList = sql.join(IN_PROGRESS_STATUSES.map((s) => sql.lit(s)));
  const [byStatus, oldest, pending] = await Promise.all([
    sql<{ status: string; n: number }>`select status, count(*) as n from datasets where status in (${inProgressList}) group by status`.execute(db),
    sql<{ requested: string | null }>`select min(requested) as requested from datasets where status = 'Queued'`.execute(db),
    sql<{ n: number }>`select count(*) as n from webhook_deliveries where status = 'pending'`.execute(db),
  ]);
  const inProgress: Record<string, number> = Object.fromEntries(IN_PROGRESS_STATUSES.map((s) => [s, 0]));
  for (const r of byStatus.rows) inProgress[r.status] = Number(r.n);
  const requested = oldest.rows[0]?.requested;
  return {
    inProgress,
    oldestQueuedMs: requested ? Math.max(0, nowMs - Date.parse(requested)) : 0,
    webhookPending: Number(pending.rows[0]?.n ?? 0),
  };
}
