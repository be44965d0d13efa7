/**
 * Process-wide Prometheus metrics (prom-client). Counters and histograms are bumped where things happen — the worker
 * pool, the sweeper, connectors, the webhook sender — and live in one registry per process, as prom-client's default
 * registry does; each process (serve, worker, scheduler) exposes its own and Prometheus sums them across processes.
 * Gauges of shared database state (queue depth) are added per store by the endpoint that serves them.
 *
 * Label values come from closed sets only (integration keys, data types, statuses, outcomes): never a company, a
 * connection, a URL or anything a client chose, so the series count stays bounded and nothing private leaks.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);
let prom: typeof Prom | undefined;

/**
 * prom-client, loaded at first use (issue 17): importing it (with @opentelemetry/api) cost every start ~90 ms of CPU
 * before the first /healthz, though most processes are scraped much later or never. It is CommonJS, so a synchronous
 * require returns the module an `import` would.
 */
export function promClient(): typeof Prom {
  return (prom ??= require('prom-client') as typeof Prom);
}

/** The registry and every metric of it, created together at the first use of any: a scrape always lists them all. */
function create() {
  const { Counter, Histogram, Registry } = promClient();
  const registry = new Registry();
  const registers = [registry];
  const metrics = {
  /** Claim → terminal status of one pull run by a worker (a requeued pull is observed once per run). */
  pullDuration: new Histogram({
    name: 'syncline_pull_duration_seconds',
    help: 'Time a worker spent on one pull (dataset), from claim to its terminal status',
    labelNames: ['platform', 'data_type', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  }),
  /** Requested → first claimed. */
  queueWait: new Histogram({
    name: 'syncline_queue_wait_seconds',
    help: 'Time a queued dataset waited before a worker first claimed it',
    labelNames: ['platform'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers,
  }),
  datasetsFinished: new Counter({
    name: 'syncline_datasets_finished_total',
    help: 'Pulls a worker of this process ran to a terminal status, by status (abandoned ones: syncline_lease_expiries_total)',
    labelNames: ['platform', 'data_type', 'status'] as const,
    registers,
  }),
  recordsWritten: new Counter({
    name: 'syncline_records_written_total',
    help: 'Records a completed pull added, updated or marked deleted in the store',
    labelNames: ['platform', 'data_type', 'change'] as const,
    registers,
  }),
  sourceCalls: new Counter({
    name: 'syncline_source_calls_total',
    help: 'HTTP calls made to accounting platforms (data and token endpoints), whatever their answer',
    labelNames: ['platform'] as const,
    registers,
  }),
  sourceRateLimited: new Counter({
    name: 'syncline_source_rate_limited_total',
    help: 'HTTP 429 answers received from accounting platforms',
    labelNames: ['platform'] as const,
    registers,
  }),
  leaseExpiries: new Counter({
    name: 'syncline_lease_expiries_total',
    help: 'Datasets whose worker stopped renewing its lease, found by the sweeper: requeued, or failed after the last attempt',
    labelNames: ['outcome'] as const,
    registers,
  }),
  webhookAttempts: new Counter({
    name: 'syncline_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome: success (2xx), http_error (any other status), error (no answer: timeout, refused, address not allowed)',
    labelNames: ['outcome'] as const,
    registers,
  }),
  };
  return { registry, metrics };
}

let created: ReturnType<typeof create> | undefined;
const get = () => (created ??= create());

/** The process's registry (created, with prom-client loaded, at the first call). */
export function metricsRegistry(): Prom.Registry {
  return get().registry;
}

type Metrics = ReturnType<typeof create>['metrics'];

/** The process's counters and histograms; the first one touched loads prom-client and creates them all. */
export const metrics: Metrics = {
  get pullDuration() {
    return get().metrics.pullDuration;
  },
  get queueWait() {
    return get().metrics.queueWait;
  },
  get datasetsFinished() {
    return get().metrics.datasetsFinished;
  },
  get recordsWritten() {
    return get().metrics.recordsWritten;
  },
  get sourceCalls() {
    return get().metrics.sourceCalls;
  },
  get sourceRateLimited() {
    return get().metrics.sourceRateLimited;
  },
  get leaseExpiries() {
    return get().metrics.leaseExpiries;
  },
  get webhookAttempts() {
    return get().metrics.webhookAttempts;
  },
};

let processMetrics = false;

/**
 * Adds Node's process metrics (CPU, resident memory, event-loop lag, heap) once per process. Called at the first scrape
 * (or at start when SYNCLINE_METRICS_PORT is set): CPU, memory and heap are read at each scrape, so they are whole; the
 * GC histogram and event-loop lag are observed from then on.
 */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  promClient().collectDefaultMetrics({ register: metricsRegistry() });
}
