import os from 'node:os';
import { noteStorageFailure } from '../store/storage-errors.js';
import { randomBytes } from 'node:crypto';
import type { ConnectorRegistry } from '../connectors/connector.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { KeyedMutex } from '../lib/mutex.js';
import { metrics } from '../lib/metrics.js';
import type { SecretBox } from '../lib/secrets.js';
import type { Store } from '../store/db.js';
import { DatasetsRepository, type ClaimedDataset, type DatasetRow } from '../store/datasets.repository.js';
import { runDataset, type RunDeps } from './run-dataset.js';
import type { Wakeup } from './wakeup.js';

export interface WorkerPoolOptions {
  /** Datasets this process runs at once. */
  concurrency: number;
  /** Lease length; a worker that stops renewing it loses the dataset to the sweeper. */
  leaseMs: number;
  heartbeatMs: number;
  /** Idle poll interval (PostgreSQL also wakes on NOTIFY; this is the safety net). */
  pollMs: number;
  fullEveryPulls: number;
  fullEveryMs: number;
}

export const DEFAULT_WORKER_OPTIONS: WorkerPoolOptions = {
  concurrency: 4,
  leaseMs: 60_000,
  heartbeatMs: 15_000,
  pollMs: 2_000,
  fullEveryPulls: 7,
  fullEveryMs: 7 * 86_400_000,
};

export interface WorkerPoolDeps {
  store: Store;
  connectors: ConnectorRegistry;
  clock: Clock;
  log: Logger;
  secretBox: SecretBox;
  wakeup: Wakeup;
}

interface Running {
  dataset: DatasetRow;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Claims queued datasets and runs them, `concurrency` at a time. Each running dataset holds a lease renewed by a
 * heartbeat; when the heartbeat finds the dataset is no longer ours (swept, cancelled, deleted) the connector is
 * aborted. `stop()` aborts the connectors and hands the datasets back to the queue without counting an attempt.
 */
export class WorkerPool {
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly datasets: DatasetsRepository;
  private readonly running = new Map<string, Running>();
  /** Datasets whose lease renewal is in flight (heartbeat). */
  private readonly renewing = new Set<string>();
  private readonly mutex = new KeyedMutex();
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly progress = new Map<string, { value: number }>();

  constructor(
    private readonly deps: WorkerPoolDeps,
    private readonly opts: WorkerPoolOptions = DEFAULT_WORKER_OPTIONS,
  ) {
    this.datasets = new DatasetsRepository(deps.store.db, deps.store.dialect);
  }

  /** Per integration: pulls of one connection that may run at once (read at each claim: tests change connectors). */
  private get maxPerConnection(): Record<string, number> {
    return Object.fromEntries(this.deps.connectors.list().map((c) => [c.key, c.maxConcurrentPullsPerConnection]));
  }

  get activeCount(): number {
    return this.running.size;
  }

  start(): void {
    if (this.loop) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs);
    this.loop = this.claimLoop();
  }

  private leaseExpiry(): string {
    return new Date(this.deps.clock.now().getTime() + this.opts.leaseMs).toISOString();
  }

  /**
   * Claims as many datasets as there are free slots, in one round trip (PostgreSQL: one statement whatever the number),
   * and launches them; waits for a wake-up (a dataset queued anywhere — NOTIFY —, or one of ours finishing) only when
   * the claim found fewer than it asked for or no slot is free.
   */
  private async claimLoop(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      let claimed: ClaimedDataset[] = [];
      const free = this.opts.concurrency - this.running.size;
      if (free > 0) {
        try {
          claimed = await this.datasets.claimMany({
            workerId: this.workerId,
            now: this.deps.clock.now().toISOString(),
            leaseExpires: this.leaseExpiry(),
            maxPerConnection: this.maxPerConnection,
            n: free,
          });
        } catch (err) {
          if (signal.aborted) break;
          const storage = noteStorageFailure(this.deps.store.db, err);
          this.deps.log.error(storage ? { err, storage } : { err }, storage ? `claiming a dataset failed: ${storage}` : 'claiming a dataset failed');
        }
      }
      if (signal.aborted) {
        // Stopped between claim and start: give them straight back.
        if (claimed.length) await this.datasets.handBack(this.workerId, claimed.map((c) => c.id)).catch(() => {});
        break;
      }
      for (const ds of claimed) this.launch(ds);
      // All asked for were claimed: there may be more, and slots may free up meanwhile; look again at once.
      if (free > 0 && claimed.length === free) continue;
      await this.deps.wakeup.wait(this.opts.pollMs, signal);
    }
  }

  private launch(ds: ClaimedDataset): void {
    const controller = new AbortController();
    const platform = ds.integration_key || 'unknown';
    if (ds.attempts === 1) metrics.queueWait.observe({ platform }, Math.max(0, this.deps.clock.now().getTime() - Date.parse(ds.requested)) / 1000);
    const startedAt = performance.now();
    const progress = { value: ds.progress };
    this.progress.set(ds.id, progress);
    const runDeps: RunDeps = {
      store: this.deps.store,
      connectors: this.deps.connectors,
      clock: this.deps.clock,
      log: this.deps.log,
      secretBox: this.deps.secretBox,
      mutex: this.mutex,
      workerId: this.workerId,
      fullEveryPulls: this.opts.fullEveryPulls,
      fullEveryMs: this.opts.fullEveryMs,
    };
    const done = runDataset(runDeps, ds, controller.signal, progress)
      .then((ended) => {
        if (!ended) return;
        const labels = { platform, data_type: ds.data_type, status: ended.status };
        metrics.pullDuration.observe(labels, (performance.now() - startedAt) / 1000);
        metrics.datasetsFinished.inc(labels);
        if (ended.records_added) metrics.recordsWritten.inc({ platform, data_type: ds.data_type, change: 'added' }, ended.records_added);
        if (ended.records_updated) metrics.recordsWritten.inc({ platform, data_type: ds.data_type, change: 'updated' }, ended.records_updated);
        if (ended.records_deleted) metrics.recordsWritten.inc({ platform, data_type: ds.data_type, change: 'deleted' }, ended.records_deleted);
      })
      .catch((err) => {
        const storage = noteStorageFailure(this.deps.store.db, err);
        this.deps.log.error({ err, datasetId: ds.id, storage }, storage ? `dataset run failed: ${storage}` : 'dataset run crashed');
      })
      .finally(() => {
        this.running.delete(ds.id);
        this.progress.delete(ds.id);
        // A finished dataset may free its connection's slot for the next one.
        this.deps.wakeup.notify();
      });
    this.running.set(ds.id, { dataset: ds, controller, done });
  }

  /**
   * Renews every lease we hold; a dataset we no longer hold is aborted. The renewals run side by side, and a dataset
   * whose previous renewal has not returned is skipped: during a merge the dataset's row is locked by the merge's own
   * transaction (PostgreSQL), so its renewal waits for the commit. Renewed one after another, that wait held back
   * every other dataset's renewal, whose leases could then run out mid-pull; and each tick queued one more waiting
   * renewal on a pooled connection (the history bench's 149 s merge had eight). src/sync/pull-engine.test.ts
   */
  async heartbeat(): Promise<void> {
    await Promise.all(
      [...this.running].map(async ([id, r]) => {
        if (this.renewing.has(id)) return;
        this.renewing.add(id);
        try {
          const ok = await this.datasets.heartbeat(id, this.workerId, this.leaseExpiry(), this.progress.get(id)?.value);
          if (!ok) r.controller.abort(new Error('lease lost'));
        } catch (err) {
          noteStorageFailure(this.deps.store.db, err);
          this.deps.log.warn({ err: (err as Error).message, datasetId: id }, 'heartbeat failed');
        } finally {
          this.renewing.delete(id);
        }
      }),
    );
  }

  /** Waits until no dataset is in progress anywhere in the database (tests and benchmarks). */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.running.size === 0 && (await this.datasets.countInProgress()) === 0) return;
      await Promise.race([...[...this.running.values()].map((r) => r.done), new Promise((r) => setTimeout(r, 20))]);
    }
    throw new Error(`worker pool did not drain within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    this.deps.wakeup.notify();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.loop;
    const ids = [...this.running.keys()];
    for (const r of this.running.values()) r.controller.abort(new Error('worker stopping'));
    await Promise.all([...this.running.values()].map((r) => r.done));
    if (ids.length) {
      const n = await this.datasets.handBack(this.workerId, ids);
      if (n) this.deps.log.info({ handedBack: n }, 'handed running datasets back to the queue');
    }
  }
}
