import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectorRegistry } from '../src/connectors/connector.js';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { SecretBox } from '../src/lib/secrets.js';
import { newId } from '../src/lib/ids.js';
import { defaultSetting } from '../src/domain/sync-settings.js';
import type { Dialect } from '../src/store/db.js';
import { queueRead } from '../src/store/enqueue.js';
import { emitEvents } from '../src/store/webhook-outbox.js';
import { WebhooksRepository } from '../src/store/webhooks.repository.js';
import { WorkerPool, DEFAULT_WORKER_OPTIONS } from '../src/sync/worker-pool.js';
import { Wakeup } from '../src/sync/wakeup.js';
import { DEFAULT_SENDER_OPTIONS, WebhookSender } from '../src/webhooks/sender.js';
import { generateSecret, signatureHeader } from '../src/webhooks/signing.js';
import type { RenderContext } from '../src/webhooks/render.js';
import { benchDatabase, type BenchDb } from './support/databases.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';
import { NoopConnector } from './support/noop-connector.js';

const log = createLogger('silent');
const secretBox = new SecretBox('bench-secret-key-0123456789');
const render: RenderContext = {
  companyDetails: (c) => ({ id: c.id, name: c.name }),
  connection: (c) => ({ id: c.id, status: c.status }),
  integration: () => ({ name: 'Sandbox', sourceType: 'Accounting' }),
  client: async () => ({ id: 'bench', name: 'Bench' }),
};

/** A receiver that answers 200 at once and calls `onArrival` with the parsed body. */
async function receiver(onArrival: (body: string) => void = () => {}): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      onArrival(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function seed(db: BenchDb, consumers: number, url: string, eventTypes: string[]) {
  const now = new Date().toISOString();
  const companyId = newId();
  const connId = newId();
  await db.store.db.insertInto('companies').values({ id: companyId, name: 'Bench', description: null, tags: '{}', created_at: now }).execute();
  await db.store.db
    .insertInto('connections')
    .values({ id: connId, company_id: companyId, integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null, linked_at: now })
    .execute();
  const repo = new WebhooksRepository(db.store.db, db.store.dialect);
  for (let i = 0; i < consumers; i++) {
    await repo.insertConsumerWithinLimit(
      {
        id: newId(),
        url,
        event_types: JSON.stringify(eventTypes),
        company_tags: null,
        disabled: 0,
        disabled_at: null,
        secret: secretBox.seal(generateSecret()),
        previous_secret: null,
        previous_secret_until: null,
        failing_since: null,
        created_at: now,
      },
      50,
    );
  }
  const connection = (await db.store.db.selectFrom('connections').selectAll().where('id', '=', connId).executeTakeFirstOrThrow()) as any;
  return { companyId, connection };
}

/** Deliveries per second draining a backlog of `events` × `consumers` to one local receiver. */
async function throughput(ctx: BenchContext, dialect: Dialect, events: number, consumers: number): Promise<number> {
  const db = await benchDatabase(ctx, dialect);
  const rx = await receiver();
  const sender = new WebhookSender({ store: db.store, clock: systemClock, log, secretBox, render }, { allowPrivate: true });
  try {
    const { companyId } = await seed(db, consumers, rx.url, ['company.created']);
    const at = new Date().toISOString();
    for (let i = 0; i < events; i += 100) {
      await db.store.db.transaction().execute((trx) =>
        emitEvents(
          trx,
          Array.from({ length: Math.min(100, events - i) }, () => ({ type: 'company.created' as const, companyId, connectionId: null, tags: {}, data: { company: { id: companyId, name: 'Bench', description: null, tags: '{}', created_at: at, last_sync: null } } })),
          at,
        ),
      );
    }
    const started = performance.now();
    await sender.settle();
    const seconds = (performance.now() - started) / 1000;
    const r = await db.store.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
    if (Number(r.n) !== events * consumers) throw new Error(`expected ${events * consumers} deliveries, got ${r.n}`);
    return (events * consumers) / seconds;
  } finally {
    await sender.stop();
    await rx.close();
    await db.drop();
  }
}

/** The ceiling: the same number of signed POSTs at the same concurrency, with no database at all. */
async function bareHttp(requests: number, concurrency: number): Promise<number> {
  const rx = await receiver();
  const agent = new http.Agent({ keepAlive: true });
  const secret = generateSecret();
  const body = JSON.stringify({ id: newId(), eventType: 'company.created', generatedDate: new Date().toISOString(), payload: { id: newId(), name: 'Bench' } });
  let next = 0;
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const ts = Math.floor(Date.now() / 1000);
      const req = http.request(rx.url, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'webhook-id': 'msg_x', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secret], 'msg_x', ts, body) },
      });
      req.on('response', (res) => res.resume().on('end', () => resolve()));
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) await post();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  await rx.close();
  return requests / seconds;
}

/**
 * Milliseconds from a pull's completion (the dataset's `completed`, committed with its read.completed event) to the
 * webhook's arrival at the receiver, on an idle system. `listen`: a PostgreSQL sender wakes on NOTIFY; otherwise it
 * finds the event at its next poll. A SQLite sender is woken in-process when the worker writes the event.
 */
async function latency(ctx: BenchContext, dialect: Dialect, listen: boolean, samples: number): Promise<number[]> {
  const db = await benchDatabase(ctx, dialect);
  const arrivals = new Map<string, number>();
  const rx = await receiver((body) => {
    const b = JSON.parse(body);
    arrivals.set(b.payload.dataTypes[0].connectionId + b.generatedDate, Date.now());
  });
  const wakeup = new Wakeup(log);
  const pool = new WorkerPool(
    { store: db.store, connectors: new ConnectorRegistry().register(new NoopConnector()), clock: systemClock, log, secretBox, wakeup },
    { ...DEFAULT_WORKER_OPTIONS, concurrency: 1 },
  );
  const sender = new WebhookSender({ store: db.store, clock: systemClock, log, secretBox, render, listenUrl: listen ? db.location : undefined }, { allowPrivate: true });
  try {
    const { companyId, connection } = await seed(db, 1, rx.url, ['read.completed']);
    pool.start();
    sender.start();
    await new Promise((r) => setTimeout(r, 300)); // LISTEN connected, everything idle
    const delays: number[] = [];
    for (let i = 0; i < samples; i++) {
      const read = await queueRead(
        db.store.db,
        db.store.dialect,
        { companyId, connection, settings: [defaultSetting('invoices')], trigger: 'refresh', now: new Date().toISOString(), supports: () => true, integrationEnabled: true },
        () => wakeup.notify(),
      );
      const id = read.created[0]!.id;
      for (;;) {
        const row = await db.store.db.selectFrom('datasets').select(['status', 'completed']).where('id', '=', id).executeTakeFirstOrThrow();
        const arrived = row.completed ? arrivals.get(connection.id + row.completed) : undefined;
        if (arrived !== undefined) {
          delays.push(arrived - Date.parse(row.completed!));
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100)); // idle again, at a random phase of the poll
    }
    return delays;
  } finally {
    await sender.stop();
    await pool.stop();
    await rx.close();
    await db.drop();
  }
}

export const webhooks: Benchmark = {
  name: 'webhooks',
  description: 'webhook deliveries per second to a local receiver, and delay from a pull completing to its webhook arriving',
  async run(ctx) {
    const smoke = ctx.size === 'smoke';
    const events = smoke ? 50 : 2000;
    const consumers = 4;
    const concurrency = consumers * DEFAULT_SENDER_OPTIONS.perConsumer;
    const rows: BenchRow[] = [];
    const ceiling = await bareHttp(events * consumers, concurrency);
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const rate = await throughput(ctx, dialect, events, consumers);
      rows.push({
        metric: `deliveries/s, ${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} (${events} events × ${consumers} consumers)`,
        value: rate,
        unit: '/s',
        baseline: { label: `bare signed POSTs, ${concurrency} in flight, no database`, value: ceiling },
      });
    }
    const n = smoke ? 3 : 40;
    const pgListen = await latency(ctx, 'postgres', true, n);
    const pgPoll = await latency(ctx, 'postgres', false, smoke ? 2 : 15);
    const sqlite = await latency(ctx, 'sqlite', false, n);
    for (const p of [50, 95]) {
      const base = { label: `PostgreSQL, polling every ${DEFAULT_SENDER_OPTIONS.pollMs} ms, p${p}`, value: percentile(pgPoll, p) };
      rows.push({ metric: `pull completed → webhook arrived p${p}, PostgreSQL LISTEN/NOTIFY`, value: percentile(pgListen, p), unit: 'ms', baseline: base });
      rows.push({ metric: `pull completed → webhook arrived p${p}, SQLite (in-process wake-up)`, value: percentile(sqlite, p), unit: 'ms', baseline: base });
    }
    return rows;
  },
};
