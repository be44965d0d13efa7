import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AppExtension } from '../api/app.js';
import { repositories, type ApiContext } from '../api/context.js';
import { IntegrationRegistry } from '../connectors/integrations.js';
import { ConnectorRegistry } from '../connectors/connector.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/logger.js';
import type { Daemon } from '../lib/daemon.js';
import { migrateToLatest, openStore, writeProbe, type Store } from '../store/db.js';
import { storageFailure } from '../store/storage-errors.js';
import { WorkerPool, DEFAULT_WORKER_OPTIONS, type WorkerPoolOptions } from '../sync/worker-pool.js';
import { Wakeup } from '../sync/wakeup.js';
import { createSweeper, DEFAULT_SWEEPER_OPTIONS, type SweeperOptions } from '../scheduler/sweeper.js';
import { createHousekeeping, DEFAULT_HOUSEKEEPING_OPTIONS, type HousekeepingOptions } from '../scheduler/housekeeping.js';
import { createHistoryPruner, DEFAULT_HISTORY_PRUNER_OPTIONS } from '../scheduler/history-pruner.js';
import { createScheduler, DEFAULT_SCHEDULER_OPTIONS, type SchedulerOptions } from '../scheduler/scheduler.js';
import { createKeepAlive, DEFAULT_KEEP_ALIVE_OPTIONS, type KeepAliveOptions } from '../scheduler/keep-alive.js';
import { keepAliveRunner } from '../sync/keep-alive.js';
import { liveFiles } from '../sync/live-files.js';
import { KeyedMutex } from '../lib/mutex.js';
import { SandboxConnector } from '../connectors/xero/index.js';
import { QboConnector } from '../connectors/qbo/index.js';
import { xeroConnector } from './xero.js';
import { startSimulator, type Simulator } from '../sim/server.js';
import { WebhookSender, type SenderOptions } from '../webhooks/sender.js';
import { webhookRenderContext } from '../api/webhook-render.js';
import { sandboxStateFile, type Config } from './config.js';
import { openSecretBox } from './secret-key.js';
import { ensureBootstrapKey } from './bootstrap.js';
import { metricsSource, startMetricsServer } from '../api/metrics.js';

export const BODY_LIMIT = 1024 * 1024;

export interface Server {
  app: FastifyInstance | undefined;
  store: Store;
  ctx: ApiContext;
  pool: WorkerPool | undefined;
  /** The webhook sender (workers role). */
  webhookSender: WebhookSender | undefined;
  daemons: Daemon[];
  connectors: ConnectorRegistry;
  /** The Sandbox platform this node reads from (its in-process simulator, or SYNCLINE_SANDBOX_URL). */
  sandboxUrl: string | undefined;
  /** Set when a key was generated at this start: print it once. */
  generatedApiKey: string | undefined;
  /** Why SYNCLINE_API_KEY was not stored at this start (revoked before, or 10 keys exist); also logged. */
  apiKeyRefused: string | undefined;
  /** Listener URL (API role only). */
  url: string;
  /** The SYNCLINE_METRICS_PORT listener's /metrics URL, when configured. */
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

export interface Roles {
  /** HTTP API. */
  api: boolean;
  /** Worker pool (pulls datasets), the lease sweeper and the webhook sender. */
  workers: boolean;
  /** Scheduler daemons: due pulls, keep-alive, lease sweeper. Any number of processes may run them. */
  scheduler: boolean;
}

export interface ServerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Use this store instead of opening one from the config (tests). */
  store?: Store;
  roles?: Roles;
  /** Connectors by integration key; defaults to the built-in ones (the Sandbox). */
  connectors?: ConnectorRegistry;
  worker?: Partial<WorkerPoolOptions>;
  sweeper?: Partial<SweeperOptions>;
  housekeeping?: Partial<HousekeepingOptions>;
  scheduler?: Partial<SchedulerOptions>;
  keepAlive?: Partial<KeepAliveOptions>;
  webhooks?: Partial<SenderOptions>;
  /** Routes registered on the API's app before it listens (benchmarks' own routes; the CLI passes none). */
  apiExtensions?: AppExtension[];
}

/**
 * Wires config → store → API, workers and daemons. One place starts everything and one place stops it:
 * stop accepting requests, let in-flight ones finish, hand running datasets back, stop daemons, close the database.
 */
export async function startServer(config: Config, opts: ServerOptions = {}): Promise<Server> {
  const roles = opts.roles ?? { api: true, workers: true, scheduler: true };
  const log = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const where = config.databaseUrl ? 'the PostgreSQL database' : `the data directory ${config.dataDir}`;
  /** A storage failure at start stops start-up with a message that says where and why (issue 12 item 7). */
  const startupStorageError = (err: unknown) => {
    const cause = storageFailure(err);
    return cause ? new Error(`cannot start: Syncline must be able to write to ${where}, and it cannot: ${cause}`, { cause: err }) : err;
  };
  let store: Store;
  try {
    store = opts.store ?? openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    throw startupStorageError(err);
  }
  const daemons: Daemon[] = [];
  let wakeup: Wakeup | undefined;
  let pool: WorkerPool | undefined;
  let webhookSender: WebhookSender | undefined;
  let app: FastifyInstance | undefined;
  let sim: Simulator | undefined;
  let metricsServer: { url: string; close(): Promise<void> } | undefined;
  /** The API's open connections, for closeApi. */
  const sockets = new Set<Socket>();
  /**
   * Stops the API: no new connections, requests in flight finish. Node's server.close() closes the idle keep-alive
   * connections but not one on which the client has not sent a byte yet (a browser's or an HTTP client's spare
   * connection): that one held the stop until the server's headers timeout closed it, up to a minute and a half. It
   * carries no request, so it is closed as soon as the server stops listening.
   */
  const closeApi = async (api: FastifyInstance) => {
    let settled = false;
    const closing = api.close().finally(() => (settled = true));
    while (api.server.listening && !settled) await new Promise((r) => setImmediate(r));
    for (const s of sockets) if (s.bytesRead === 0) s.destroy();
    await closing;
  };
  const stopAll = async () => {
    if (app) await closeApi(app);
    if (metricsServer) await metricsServer.close();
    if (pool) await pool.stop();
    // Deliveries in flight are handed back, to be sent again (same webhook-id) by whichever sender runs next.
    if (webhookSender) await webhookSender.stop();
    for (const d of daemons) await d.stop();
    if (wakeup) await wakeup.stop();
    if (sim) await sim.close();
    if (!opts.store) await store.close();
  };
  try {
    try {
      await migrateToLatest(store);
      // Migrations that have all run write nothing: prove the database takes a write before accepting any work.
      await writeProbe(store, clock.now().toISOString());
    } catch (err) {
      throw startupStorageError(err);
    }
    // Before anything is sealed or opened: a key that cannot open what the database holds stops start-up here.
    const secretBox = await openSecretBox(config, store);
    const repos = repositories(store, clock);
    const bootstrap = roles.api ? await ensureBootstrapKey(repos.apiKeys, config.apiKey, clock, store.dialect === 'postgres') : {};
    const generatedApiKey = bootstrap.generated;
    if (bootstrap.refused) log.warn(bootstrap.refused);
    let connectors = opts.connectors;
    let sandboxUrl: string | undefined;
    if (!connectors) {
      sandboxUrl = config.sandboxUrl;
      if (!sandboxUrl) {
        // Zero-configuration default: the Sandbox platform runs in this process on a free loopback port. Its tenants
        // (and their tokens) are kept in the data directory, so a restart keeps linked Sandbox connections working;
        // processes sharing a database must share one `syncline sim` through SYNCLINE_SANDBOX_URL.
        sim = await startSimulator({ host: '127.0.0.1', port: 0, clock, stateFile: sandboxStateFile(config), rateLimit: { perMinute: config.sandboxRatePerMinute } });
        sandboxUrl = sim.url;
        log.info({ url: sim.url }, 'in-process Sandbox platform started');
      }
      connectors = new ConnectorRegistry().register(new SandboxConnector({ baseUrl: sandboxUrl, clock }));
      // Xero (gbol): the operator's OAuth app; enabled in the integration registry when a client id is configured.
      if (config.xero) {
        // Its oauthLinker runs the Link flow on the configured authorize URL and scopes.
        connectors.register(xeroConnector(config.xero, clock));
      }
      const q = config.qboUrls;
      if (config.qbo) connectors.register(new QboConnector({ key: 'qhyg', ...config.qbo, apiUrl: q.apiUrl, tokenUrl: q.tokenUrl, authorizeUrl: q.authorizeUrl, clock }));
      if (config.qboSandbox) connectors.register(new QboConnector({ key: 'ndsk', ...config.qboSandbox, apiUrl: q.sandboxApiUrl, tokenUrl: q.tokenUrl, authorizeUrl: q.authorizeUrl, clock }));
    }
    wakeup = new Wakeup(log, roles.workers && store.dialect === 'postgres' ? config.databaseUrl : undefined);

    let baseUrl = config.publicBaseUrl ?? `http://${config.host}:${config.port}`;
    const ctx: ApiContext = {
      store,
      repos,
      clock,
      registry: new IntegrationRegistry({ xero: config.xero !== undefined, qbo: config.qbo !== undefined, qboSandbox: config.qboSandbox !== undefined }, connectors),
      oauthLinker: (key) => connectors.get(key)?.oauthLinker,
      secretBox,
      log,
      publicBaseUrl: () => baseUrl,
      instanceName: config.instanceName,
      configuredRedirectUrl: config.redirectUrl,
      bodyLimit: BODY_LIMIT,
      onQueued: () => wakeup?.notify(),
      webhooksAllowPrivate: config.webhooksAllowPrivate,
      historyRetentionDays: config.historyRetentionDays,
      // With SYNCLINE_METRICS_PORT, /metrics moves off the API port to its own listener (below).
      metrics: config.metricsPort === undefined ? metricsSource(store, clock) : false,
      revokeConnection: async (conn) => {
        const connector = connectors?.get(conn.integration_key);
        if (!connector?.revoke || !conn.credentials) return;
        try {
          await connector.revoke(secretBox.openJson(conn.credentials), AbortSignal.timeout(10_000));
        } catch (err) {
          log.warn({ err: (err as Error).message, integration: conn.integration_key }, 'token revocation failed (best effort)');
        }
      },
      // Attachments and invoice PDFs are read live through the connection's connector (src/sync/live-files.ts).
      liveFiles: liveFiles({ store, connectors, secretBox, clock }),
      authorizeConnection: async (conn) => {
        const connector = connectors.get(conn.integrationKey);
        if (!connector?.authorize) return undefined;
        return connector.authorize({ connectionId: conn.id, companyName: conn.companyName, signal: AbortSignal.timeout(30_000) });
      },
    };

    if (roles.workers) {
      wakeup.start();
      pool = new WorkerPool(
        { store, connectors, clock, log, secretBox, wakeup },
        {
          ...DEFAULT_WORKER_OPTIONS,
          concurrency: config.workerConcurrency,
          leaseMs: config.leaseSeconds * 1000,
          fullEveryPulls: config.reconcileEveryPulls,
          fullEveryMs: config.reconcileEveryDays * 86_400_000,
          // renew well before the lease runs out
          heartbeatMs: Math.max(500, Math.floor((config.leaseSeconds * 1000) / 4)),
          ...opts.worker,
        },
      );
      pool.start();
      webhookSender = new WebhookSender(
        { store, clock, log, secretBox, render: webhookRenderContext(ctx), listenUrl: store.dialect === 'postgres' ? config.databaseUrl : undefined },
        { allowPrivate: config.webhooksAllowPrivate, ...opts.webhooks },
      );
      webhookSender.start();
    }
    if (roles.workers || roles.scheduler) {
      const sweeper = createSweeper(
        { store, clock, log, onRequeued: () => wakeup?.notify() },
        { ...DEFAULT_SWEEPER_OPTIONS, intervalMs: Math.min(DEFAULT_SWEEPER_OPTIONS.intervalMs, config.leaseSeconds * 250), ...opts.sweeper },
      );
      daemons.push(sweeper, createHousekeeping({ store, clock, log }, { ...DEFAULT_HOUSEKEEPING_OPTIONS, webhookRetentionDays: config.webhookRetentionDays, ...opts.housekeeping }));
    }
    if (roles.scheduler) {
      const registry = ctx.registry;
      const scheduler = createScheduler(
        {
          store,
          clock,
          log,
          supports: (key, t) => {
            const def = registry.get(key);
            return def !== undefined && registry.supports(def, t);
          },
          integrationEnabled: (key) => {
            const def = registry.get(key);
            return def !== undefined && registry.isEnabled(def);
          },
          onQueued: () => wakeup?.notify(),
        },
        { ...DEFAULT_SCHEDULER_OPTIONS, ...opts.scheduler },
      );
      const keepAlive = createKeepAlive(
        { store, clock, log, keepAlive: keepAliveRunner({ store, connectors, clock, secretBox, mutex: new KeyedMutex(), onQueued: () => wakeup?.notify() }) },
        { ...DEFAULT_KEEP_ALIVE_OPTIONS, enabled: config.keepAliveDays !== undefined, idleDays: config.keepAliveDays ?? 30, ...opts.keepAlive },
      );
      const historyPruner = createHistoryPruner({ store, clock, log }, { ...DEFAULT_HISTORY_PRUNER_OPTIONS, retentionDays: config.historyRetentionDays });
      daemons.push(scheduler, keepAlive, historyPruner);
    }
    for (const d of daemons) d.start();

    if (config.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(metricsSource(store, clock, { eager: true }), config.metricsHost, config.metricsPort, log);
      log.info({ url: metricsServer.url }, 'metrics listening');
    }

    let url = '';
    if (roles.api) {
      // Loaded only by a process that serves the API: a worker or scheduler needs none of Fastify and the routes
      // (about 0.7 s of CPU at each start, issue 17).
      const { buildApp } = await import('../api/app.js');
      app = await buildApp(ctx, opts.apiExtensions);
      app.server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      await app.listen({ port: config.port, host: config.host });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
      url = `http://${hostForUrl}:${port}`;
      if (!config.publicBaseUrl) baseUrl = url;
    }
    let closed = false;
    return {
      app,
      store,
      ctx,
      pool,
      webhookSender,
      daemons,
      connectors,
      sandboxUrl,
      generatedApiKey,
      apiKeyRefused: bootstrap.refused,
      url,
      metricsUrl: metricsServer?.url,
      async close() {
        if (closed) return;
        closed = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}
