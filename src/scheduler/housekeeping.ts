import { Daemon } from '../lib/daemon.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/db.js';
import { pruneOrphanStaging } from '../store/staging.js';
import { pruneWebhookEvents } from '../store/webhook-retention.js';

export interface HousekeepingOptions {
  intervalMs: number;
  /** Datasets whose orphaned staged rows one statement removes. */
  stagingBatch: number;
  /** Batches per tick at most: a tick never holds the database for long, the next one continues. */
  maxBatches: number;
  /** Webhook events older than this many days go once nothing about them is open (SYNCLINE_WEBHOOK_RETENTION_DAYS). */
  webhookRetentionDays: number;
  /** Webhook events one statement removes (with their deliveries and attempts). */
  webhookBatch: number;
}

export const DEFAULT_HOUSEKEEPING_OPTIONS: HousekeepingOptions = { intervalMs: 10 * 60_000, stagingBatch: 100, maxBatches: 20, webhookRetentionDays: 30, webhookBatch: 500 };

export interface HousekeepingResult {
  stagingRows: number;
  webhookEvents: number;
}

/**
 * One housekeeping pass: staged rows whose dataset is terminal or gone (a worker that lost its dataset with a page in
 * flight), then webhook events past their retention. Bounded: at most `maxBatches` statements of each kind.
 */
export async function housekeepingTick(deps: { store: Store; clock: Clock; log: Logger }, opts: HousekeepingOptions = DEFAULT_HOUSEKEEPING_OPTIONS, signal?: AbortSignal): Promise<HousekeepingResult> {
  const result: HousekeepingResult = { stagingRows: 0, webhookEvents: 0 };
  for (let i = 0; i < opts.maxBatches && !signal?.aborted; i++) {
    const n = await pruneOrphanStaging(deps.store.db, opts.stagingBatch);
    result.stagingRows += n;
    if (n === 0) break;
  }
  if (result.stagingRows) deps.log.info({ stagingRows: result.stagingRows }, 'removed staged rows of ended or deleted pulls');
  const cutoff = new Date(deps.clock.now().getTime() - opts.webhookRetentionDays * 86_400_000).toISOString();
  for (let i = 0; i < opts.maxBatches && !signal?.aborted; i++) {
    const n = await pruneWebhookEvents(deps.store.db, cutoff, opts.webhookBatch);
    result.webhookEvents += n;
    if (n < opts.webhookBatch) break;
  }
  if (result.webhookEvents) deps.log.info({ webhookEvents: result.webhookEvents, olderThan: cutoff }, 'pruned webhook events past their retention');
  return result;
}

/** The housekeeping daemon (scheduler and worker roles; any number may run: every statement is idempotent). */
export function createHousekeeping(deps: { store: Store; clock: Clock; log: Logger }, opts: HousekeepingOptions = DEFAULT_HOUSEKEEPING_OPTIONS): Daemon {
  return new Daemon({ name: 'housekeeping', intervalMs: opts.intervalMs, log: deps.log, tick: async (signal) => void (await housekeepingTick(deps, opts, signal)) });
}
