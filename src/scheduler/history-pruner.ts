import { Daemon } from '../lib/daemon.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/db.js';
import { HistoryRepository } from '../store/history.repository.js';

export interface HistoryPrunerOptions {
  intervalMs: number;
  /** Changes removed per transaction: short transactions, so pruning never holds locks a merge waits on for long. */
  batchSize: number;
  /** Batches per tick at most; the next tick goes on where this one stopped. */
  maxBatchesPerTick: number;
  /** SYNCLINE_HISTORY_RETENTION_DAYS; undefined = keep forever (only opted-out companies' history is removed). */
  retentionDays: number | undefined;
}

export const DEFAULT_HISTORY_PRUNER_OPTIONS: HistoryPrunerOptions = { intervalMs: 60_000, batchSize: 5_000, maxBatchesPerTick: 20, retentionDays: undefined };

/**
 * Record-history pruning in the background (issue 16): changes older than the retention window, and all changes of
 * companies that turned history off, in bounded batches. Any number may run (each batch is one transaction that
 * deletes rows by seq; two pruners at once only delete less each).
 */
export function createHistoryPruner(deps: { store: Store; clock: Clock; log: Logger }, opts: HistoryPrunerOptions = DEFAULT_HISTORY_PRUNER_OPTIONS): Daemon {
  return new Daemon({
    name: 'history-pruner',
    intervalMs: opts.intervalMs,
    log: deps.log,
    tick: async (signal) => {
      const removed = await pruneHistory(deps, opts, signal);
      if (removed) deps.log.info({ removed }, 'pruned record history');
    },
  });
}

/** One tick's work; returns the number of changes removed. */
export async function pruneHistory(deps: { store: Store; clock: Clock }, opts: HistoryPrunerOptions, signal?: AbortSignal): Promise<number> {
  const history = new HistoryRepository(deps.store.db, deps.store.dialect);
  const cutoff = opts.retentionDays === undefined ? undefined : new Date(deps.clock.now().getTime() - opts.retentionDays * 86_400_000).toISOString();
  let total = 0;
  for (let i = 0; i < opts.maxBatchesPerTick && !signal?.aborted; i++) {
    const n = await history.pruneBatch(cutoff, opts.batchSize);
    total += n;
    if (n === 0) break;
  }
  return total;
}
