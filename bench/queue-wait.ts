import { ConnectorRegistry } from '../src/connectors/connector.js';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { SecretBox } from '../src/lib/secrets.js';
import { newId } from '../src/lib/ids.js';
import { defaultSetting } from '../src/domain/sync-settings.js';
import type { Dialect } from '../src/store/db.js';
import { queueRead } from '../src/store/enqueue.js';
import { WorkerPool, DEFAULT_WORKER_OPTIONS } from '../src/sync/worker-pool.js';
import { Wakeup } from '../src/sync/wakeup.js';
import { benchDatabase } from './support/databases.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';
import { NoopConnector } from './support/noop-connector.js';

type Mode = 'notify' | 'listen' | 'poll';

/**
 * How long a queued dataset waits, on an idle system, before a worker claims it: requested → started.
 * SQLite: one process, the API wakes its own workers in-process. PostgreSQL: the enqueuer is treated as another process
 * (no in-process wake-up), so only LISTEN/NOTIFY wakes the worker; the baseline is the same PostgreSQL worker with
 * LISTEN off, relying on its 2 s poll.
 */
async function measure(ctx: BenchContext, dialect: Dialect, mode: Mode, samples: number): Promise<number[]> {
  const db = await benchDatabase(ctx, dialect);
  const log = createLogger('silent');
  const wakeup = new Wakeup(log, mode === 'listen' ? db.location : undefined);
  wakeup.start();
  const pool = new WorkerPool(
    { store: db.store, connectors: new ConnectorRegistry().register(new NoopConnector()), clock: systemClock, log, secretBox: new SecretBox('bench-secret-key-0123456789'), wakeup },
    { ...DEFAULT_WORKER_OPTIONS, concurrency: 1 },
  );
  try {
    const now = new Date().toISOString();
    const companyId = newId();
    const connId = newId();
    await db.store.db.insertInto('companies').values({ id: companyId, name: 'Bench', description: null, tags: '{}', created_at: now }).execute();
    await db.store.db
      .insertInto('connections')
      .values({ id: connId, company_id: companyId, integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null, linked_at: now })
      .execute();
    const connection = (await db.store.db.selectFrom('connections').selectAll().where('id', '=', connId).executeTakeFirstOrThrow()) as any;
    pool.start();
    await new Promise((r) => setTimeout(r, 300)); // LISTEN connected, workers idle
    const waits: number[] = [];
    for (let i = 0; i < samples; i++) {
      const read = await queueRead(
        db.store.db,
        db.store.dialect,
        { companyId, connection, settings: [defaultSetting('invoices')], trigger: 'refresh', now: new Date().toISOString(), supports: () => true, integrationEnabled: true },
        mode === 'notify' ? () => wakeup.notify() : undefined,
      );
      const id = read.created[0]!.id;
      for (;;) {
        const row = await db.store.db.selectFrom('datasets').select(['status', 'requested', 'started']).where('id', '=', id).executeTakeFirstOrThrow();
        if (row.status === 'Complete') {
          waits.push(Date.parse(row.started!) - Date.parse(row.requested));
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100)); // idle again, at a random phase of the poll
    }
    return waits;
  } finally {
    await pool.stop();
    await wakeup.stop();
    await db.drop();
  }
}

export const queueWait: Benchmark = {
  name: 'queue-wait',
  description: 'time a queued dataset waits before a worker claims it (idle system)',
  async run(ctx) {
    const n = ctx.size === 'smoke' ? 3 : 40;
    const sqlite = await measure(ctx, 'sqlite', 'notify', n);
    const listen = await measure(ctx, 'postgres', 'listen', n);
    const poll = await measure(ctx, 'postgres', 'poll', ctx.size === 'smoke' ? 2 : 15);
    const rows: BenchRow[] = [];
    for (const p of [50, 95]) {
      const base = { label: `PostgreSQL, polling every ${DEFAULT_WORKER_OPTIONS.pollMs} ms, p${p}`, value: percentile(poll, p) };
      rows.push({ metric: `wait p${p}, PostgreSQL LISTEN/NOTIFY (enqueued by another process)`, value: percentile(listen, p), unit: 'ms', baseline: base });
      rows.push({ metric: `wait p${p}, SQLite (in-process wake-up)`, value: percentile(sqlite, p), unit: 'ms', baseline: base });
    }
    return rows;
  },
};
