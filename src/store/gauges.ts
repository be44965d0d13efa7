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

export interface HourlyPulls {
  /** Start of the hour, ISO 8601 UTC. */
  hour: string;
  /** Pulls that ended Complete in that hour. */
  complete: number;
  /** Pulls that ended in any other terminal status (errors, NotSupported, Cancelled). */
  other: number;
}

/**
 * Pulls that ended in each of the `hours` whole hours up to `nowMs` (oldest first, every hour present). Reads the
 * partial index datasets_completed (migration 0013): the rows of the window only, never the whole history.
 */
export async function readPullsPerHour(db: Kysely<Database>, nowMs: number, hours = 24): Promise<HourlyPulls[]> {
  const endHour = Math.floor(nowMs / 3_600_000) * 3_600_000;
  const since = new Date(endHour - (hours - 1) * 3_600_000).toISOString();
  const rows = await sql<{ hour: string; complete: number; n: number }>`
    select substr(completed, 1, 13) as hour, case when status = 'Complete' then 1 else 0 end as complete, count(*) as n
    from datasets where completed is not null and completed >= ${since}
    group by substr(completed, 1, 13), case when status = 'Complete' then 1 else 0 end`.execute(db);
  const out: HourlyPulls[] = [];
  const byHour = new Map<string, HourlyPulls>();
  for (let i = hours - 1; i >= 0; i--) {
    const hour = new Date(endHour - i * 3_600_000).toISOString();
    const h = { hour, complete: 0, other: 0 };
    out.push(h);
    byHour.set(hour.slice(0, 13), h);
  }
  for (const r of rows.rows) {
    const h = byHour.get(r.hour);
    if (!h) continue;
    if (Number(r.complete) === 1) h.complete += Number(r.n);
    else h.other += Number(r.n);
  }
  return out;
}
