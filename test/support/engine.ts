import { ConnectorRegistry, type Connector } from '../../src/connectors/connector.js';
import { WorkerPool, DEFAULT_WORKER_OPTIONS, type WorkerPoolOptions } from '../../src/sync/worker-pool.js';
import { Wakeup } from '../../src/sync/wakeup.js';
import { createSweeper } from '../../src/scheduler/sweeper.js';
import type { TestApp } from './app.js';
import { TestConnector } from './test-connector.js';

import { schedulerTick, DEFAULT_SCHEDULER_OPTIONS } from '../../src/scheduler/scheduler.js';
import { keepAliveTick, DEFAULT_KEEP_ALIVE_OPTIONS, type KeepAliveOptions } from '../../src/scheduler/keep-alive.js';
import { keepAliveRunner } from '../../src/sync/keep-alive.js';
import { KeyedMutex } from '../../src/lib/mutex.js';
import { liveFiles } from '../../src/sync/live-files.js';

export interface Engine<C extends Connector = TestConnector> {
  connector: C;
  pool: WorkerPool;
  wakeup: Wakeup;
  sweeper: ReturnType<typeof createSweeper>;
  connectors: ConnectorRegistry;
  /** One scheduler pass at the test clock's time. */
  tick(): ReturnType<typeof schedulerTick>;
  keepAlive(opts?: Partial<KeepAliveOptions>): Promise<number>;
  stop(): Promise<void>;
}

/** A worker pool (and a sweeper, driven by hand) over the test app's store, clock and a TestConnector. */
export function startEngine<C extends Connector = TestConnector>(t: TestApp, opts: Partial<WorkerPoolOptions> = {}, connector?: C): Engine<C> {
  const conn = (connector ?? new TestConnector()) as C;
  const connectors = new ConnectorRegistry().register(conn);
  // The integration registry reads what this connector supports (as src/cli/server.ts wires the real ones).
  t.connectors.register(conn);
  const wakeup = new Wakeup(t.ctx.log);
  const ctx = t.ctx as { onQueued?: () => void; authorizeConnection?: unknown; revokeConnection?: unknown; liveFiles?: unknown };
  ctx.onQueued = () => wakeup.notify();
  // The link flow asks the connector for credentials (the Sandbox creates its tenant there).
  ctx.authorizeConnection = conn.authorize
    ? async (c: { id: string; companyName: string }) => conn.authorize!({ connectionId: c.id, companyName: c.companyName, signal: AbortSignal.timeout(30_000) })
    : undefined;
  ctx.revokeConnection = conn.revoke
    ? async (c: { credentials: string | null }) => {
        if (c.credentials) await conn.revoke!(t.ctx.secretBox.openJson(c.credentials), AbortSignal.timeout(10_000)).catch(() => {});
      }
    : undefined;
  // Attachments and invoice PDFs, read live through the connector (as src/cli/server.ts wires them).
  ctx.liveFiles = liveFiles({ store: t.store, connectors, secretBox: t.ctx.secretBox, clock: t.clock });
  const pool = new WorkerPool(
    { store: t.store, connectors, clock: t.clock, log: t.ctx.log, secretBox: t.ctx.secretBox, wakeup },
    { ...DEFAULT_WORKER_OPTIONS, pollMs: 50, heartbeatMs: 60_000, ...opts },
  );
  pool.start();
  const sweeper = createSweeper({ store: t.store, clock: t.clock, log: t.ctx.log, onRequeued: () => wakeup.notify() });
  const registry = t.ctx.registry;
  return {
    connector: conn,
    pool,
    wakeup,
    sweeper,
    connectors,
    tick: () =>
      schedulerTick(
        {
          store: t.store,
          clock: t.clock,
          log: t.ctx.log,
          supports: (key, dt) => connectors.get(key)?.supports(dt) ?? false,
          integrationEnabled: (key) => registry.get(key) !== undefined,
          onQueued: () => wakeup.notify(),
        },
        DEFAULT_SCHEDULER_OPTIONS,
      ),
    keepAlive: (opts = {}) =>
      keepAliveTick(
        {
          store: t.store,
          clock: t.clock,
          log: t.ctx.log,
          keepAlive: keepAliveRunner({ store: t.store, connectors, clock: t.clock, secretBox: t.ctx.secretBox, mutex: new KeyedMutex(), onQueued: () => wakeup.notify() }),
        },
        { ...DEFAULT_KEEP_ALIVE_OPTIONS, ...opts },
      ),
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
