import { ConnectorRegistry } from '../../src/connectors/connector.js';
import { WorkerPool, DEFAULT_WORKER_OPTIONS, type WorkerPoolOptions } from '../../src/sync/worker-pool.js';
import { Wakeup } from '../../src/sync/wakeup.js';
import { createSweeper } from '../../src/scheduler/sweeper.js';
import type { TestApp } from './app.js';
import { TestConnector } from './test-connector.js';

export interface Engine {
  connector: TestConnector;
  pool: WorkerPool;
  wakeup: Wakeup;
  sweeper: ReturnType<typeof createSweeper>;
  stop(): Promise<void>;
}

/** A worker pool (and a sweeper, driven by hand) over the test app's store, clock and a TestConnector. */
export function startEngine(t: TestApp, opts: Partial<WorkerPoolOptions> = {}, connector = new TestConnector()): Engine {
  const connectors = new ConnectorRegistry().register(connector);
  const wakeup = new Wakeup(t.ctx.log);
  (t.ctx as { onQueued?: () => void }).onQueued = () => wakeup.notify();
  const pool = new WorkerPool(
    { store: t.store, connectors, clock: t.clock, log: t.ctx.log, secretBox: t.ctx.secretBox, wakeup },
    { ...DEFAULT_WORKER_OPTIONS, pollMs: 50, heartbeatMs: 60_000, ...opts },
  );
  pool.start();
  const sweeper = createSweeper({ store: t.store, clock: t.clock, log: t.ctx.log, onRequeued: () => wakeup.notify() });
  return {
    connector,
    pool,
    wakeup,
    sweeper,
    async stop() {
      await pool.stop();
    },
  };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
