/**
 * `GET /metrics` in the Prometheus text format: the process's counters and histograms (src/lib/metrics.ts), Node's
 * process metrics, and gauges of the shared database read at scrape time (queue depth, oldest queued dataset, webhook
 * backlog).
 *
 * Unauthenticated, like /healthz: Prometheus scrapes without credentials by default, and the series hold only
 * aggregate numbers labelled from closed sets (no ids, names, URLs or secrets). It is served on the API port unless
 * SYNCLINE_METRICS_PORT is set; then it is served only on that port, by every process (serve, worker, scheduler), so
 * operators keep it on an internal interface and off the public API.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { enableProcessMetrics, metricsRegistry, promClient } from '../lib/metrics.js';
import type { Store } from '../store/db.js';
import { readStoreGauges } from '../store/gauges.js';

export interface MetricsSource {
  contentType: string;
  /** The exposition text. Never throws because the database is away: `syncline_store_up` says so. */
  render(): Promise<string>;
}

/** The Prometheus text format's content type (prom-client's Registry.PROMETHEUS_CONTENT_TYPE). */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The process's metrics plus the gauges of one store. Nothing is created until the first render (the first scrape):
 * prom-client is not loaded at start-up (issue 17) unless `eager` (SYNCLINE_METRICS_PORT: metrics are wanted).
 */
export function metricsSource(store: Store, clock: Clock, opts: { eager?: boolean } = {}): MetricsSource {
  const create = () => {
    const { Gauge, Registry } = promClient();
    enableProcessMetrics();
    const storeRegistry = new Registry();
    const registers = [storeRegistry];
    const datasets = new Gauge({ name: 'syncline_datasets', help: 'Datasets in progress, by status (the queue; terminal outcomes: syncline_datasets_finished_total)', labelNames: ['status'] as const, registers });
    const oldest = new Gauge({ name: 'syncline_queue_oldest_seconds', help: 'Age of the oldest Queued dataset (0 when the queue is empty)', registers });
    const pending = new Gauge({ name: 'syncline_webhook_deliveries_pending', help: 'Webhook deliveries not yet delivered or given up (due now or waiting for a retry)', registers });
    const up = new Gauge({ name: 'syncline_store_up', help: '1 when the database answered the last scrape, else 0', registers });
    const merged = Registry.merge([metricsRegistry(), storeRegistry]);
    if (merged.contentType !== PROMETHEUS_CONTENT_TYPE) throw new Error(`prom-client content type changed: ${merged.contentType}`);
    return { datasets, oldest, pending, up, merged };
  };
  let m: ReturnType<typeof create> | undefined;
  if (opts.eager) m = create();
  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    async render() {
      const { datasets, oldest, pending, up, merged } = (m ??= create());
      try {
        const g = await readStoreGauges(store.db, clock.now().getTime());
        datasets.reset();
        for (const [status, n] of Object.entries(g.inProgress)) datasets.set({ status }, n);
        oldest.set(g.oldestQueuedMs / 1000);
        pending.set(g.webhookPending);
        up.set(1);
      } catch {
        datasets.reset();
        oldest.reset();
        pending.reset();
        up.set(0);
      }
      return merged.metrics();
    },
  };
}

/** The dedicated listener for SYNCLINE_METRICS_PORT: `GET /metrics` only, no authentication. */
export async function startMetricsServer(source: MetricsSource, host: string, port: number, log: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served here.\n');
      return;
    }
    source.render().then(
      (text) => res.writeHead(200, { 'content-type': source.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err) => {
        log.error({ err }, 'rendering metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${h}:${addr.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
