import { Daemon } from '../lib/daemon.js';
import { metrics } from '../lib/metrics.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/db.js';
import { DatasetsRepository } from '../store/datasets.repository.js';
import { recentStorageFailure } from '../store/storage-errors.js';

export interface SweeperOptions {
  intervalMs: number;
  maxAttempts: number;
  maxRuntimeMs: number;
}

export const DEFAULT_SWEEPER_OPTIONS: SweeperOptions = { intervalMs: 5_000, maxAttempts: 3, maxRuntimeMs: 24 * 3_600_000 };

/**
 * Lease sweeper (invariant 5): a running dataset whose lease expired goes back to Queued for another worker, or ends
 * InternalError after `maxAttempts`; one past the maximum runtime ends InternalError. Any number may run.
 */
export function createSweeper(deps: { store: Store; clock: Clock; log: Logger; onRequeued?: () => void }, opts: SweeperOptions = DEFAULT_SWEEPER_OPTIONS): Daemon {
  const datasets = new DatasetsRepository(deps.store.db, deps.store.dialect);
  return new Daemon({
    name: 'lease-sweeper',
    intervalMs: opts.intervalMs,
    log: deps.log,
    tick: async () => {
      const now = deps.clock.now();
      const cutoff = new Date(now.getTime() - opts.maxRuntimeMs).toISOString();
      // A worker that could not write (disk full, read-only storage) looks like one that stopped: say what it was.
      const storage = recentStorageFailure(deps.store.db, 10 * 60_000);
      const stopped = storage ? `The pull could not be saved: the database cannot write: ${storage.cause}.` : undefined;
      const { requeued, failed } = await datasets.sweep(now.toISOString(), opts.maxAttempts, cutoff, stopped);
      if (requeued.length) metrics.leaseExpiries.inc({ outcome: 'requeued' }, requeued.length);
      if (failed.length) metrics.leaseExpiries.inc({ outcome: 'failed' }, failed.length);
      if (requeued.length) {
        deps.log.warn({ datasets: requeued.map((d) => d.id) }, 'requeued datasets whose worker stopped responding');
        deps.onRequeued?.();
      }
      if (failed.length) deps.log.error({ datasets: failed.map((d) => d.id) }, 'datasets failed after their workers kept dying');
    },
  });
}
