import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { metrics } from '../../lib/metrics.js';
import { readPullsPerHour, readStoreGauges } from '../../store/gauges.js';
import type { ApiContext } from '../context.js';
import { DateTime, errorResponses } from '../schemas.js';

const Count = Type.Integer({ minimum: 0 });
const PerPlatform = Type.Array(Type.Object({ platform: Type.String(), count: Count }));

/** Registered at the root in app.ts: an addSchema inside the routes' scope gave that scope its own schema controller,
 * whose default validator (type coercion, unknown keys dropped) then replaced the strict one for every route in it. */
export const OperationsSummary = Type.Object(
  {
    generatedAt: DateTime,
    queue: Type.Object(
      {
        byStatus: Type.Record(Type.String(), Count, { description: 'In-progress datasets by status (gauge syncline_datasets)' }),
        queued: Count,
        running: Type.Integer({ minimum: 0, description: 'Datasets a worker holds (every in-progress status but Queued)' }),
        oldestQueuedSeconds: Type.Number({ description: 'gauge syncline_queue_oldest_seconds' }),
      },
      { additionalProperties: false },
    ),
    webhookBacklog: Type.Integer({ minimum: 0, description: 'gauge syncline_webhook_deliveries_pending' }),
    pullsPerHour: Type.Array(
      Type.Object({ hour: DateTime, complete: Count, other: Count }),
      { description: 'Pulls that ended in each of the last 24 hours, oldest first, from the database (every process)' },
    ),
    process: Type.Object(
      {
        description: Type.String(),
        rateLimited: Type.Array(Type.Object({ platform: Type.String(), count: Count }), { description: 'counter syncline_source_rate_limited_total' }),
        sourceCalls: PerPlatform,
        pullsFinished: Type.Array(Type.Object({ status: Type.String(), count: Count }), { description: 'counter syncline_datasets_finished_total, summed by status' }),
        webhookAttempts: Type.Array(Type.Object({ outcome: Type.String(), count: Count }), { description: 'counter syncline_webhook_attempts_total' }),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'OperationsSummary', additionalProperties: false },
);

type CounterLike = { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> };

/** Sums a prom-client counter's series by one label. */
async function sumBy(counter: CounterLike, label: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await counter.get()).values) {
    const k = String(v.labels[label] ?? '');
    out.set(k, (out.get(k) ?? 0) + v.value);
  }
  return out;
}

/**
 * `GET /operations/summary`: the numbers of `/metrics` as JSON for the dashboard's operations page, behind the API
 * key. The queue and webhook backlog are the same database gauges /metrics reads at scrape time (shared by every
 * process); the per-platform 429s, source calls and finished pulls are this process's prom-client counters (what
 * this process's /metrics shows); pulls per hour are counted from the pull history, so they cover every process.
 */
export async function operationsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/operations/summary',
    {
      schema: {
        operationId: 'get-operations-summary',
        tags: ['Operations'],
        summary: 'Queue depth, running pulls, pulls per hour, 429s per platform, webhook backlog (Syncline extension)',
        response: { 200: Type.Ref('OperationsSummary'), ...errorResponses(401) },
      },
    },
    async () => {
      const now = ctx.clock.now();
      const [g, hourly, limited, calls, finished, attempts] = await Promise.all([
        readStoreGauges(ctx.store.db, now.getTime()),
        readPullsPerHour(ctx.store.db, now.getTime(), 24),
        sumBy(metrics.sourceRateLimited, 'platform'),
        sumBy(metrics.sourceCalls, 'platform'),
        sumBy(metrics.datasetsFinished, 'status'),
        sumBy(metrics.webhookAttempts, 'outcome'),
      ]);
      const queued = g.inProgress.Queued ?? 0;
      const running = Object.entries(g.inProgress).reduce((a, [s, n]) => (s === 'Queued' ? a : a + n), 0);
      const platforms = new Set([...calls.keys(), ...limited.keys()]);
      return {
        generatedAt: now.toISOString(),
        queue: { byStatus: g.inProgress, queued, running, oldestQueuedSeconds: g.oldestQueuedMs / 1000 },
        webhookBacklog: g.webhookPending,
        pullsPerHour: hourly,
        process: {
          description: 'Counters of the process that answered, since it started (as its /metrics shows them)',
          rateLimited: [...platforms].sort().map((platform) => ({ platform, count: limited.get(platform) ?? 0 })),
          sourceCalls: [...platforms].sort().map((platform) => ({ platform, count: calls.get(platform) ?? 0 })),
          pullsFinished: [...finished].sort().map(([status, count]) => ({ status, count })),
          webhookAttempts: [...attempts].sort().map(([outcome, count]) => ({ outcome, count })),
        },
      };
    },
  );
}
