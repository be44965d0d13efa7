import type { FastifyInstance } from 'fastify';
import { ping } from '../../store/db.js';
import { SynclineError } from '../../domain/errors.js';
import type { ApiContext } from '../context.js';
import { metricsSource } from '../metrics.js';

export async function opsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true }, logLevel: 'warn' }, async () => {
    try {
      await ping(ctx.store);
    } catch {
      throw new SynclineError(503, 'PublicApi', 'The Syncline API is temporarily offline for maintenance. Please try again later.');
    }
    return { status: 'ready', database: ctx.store.dialect };
  });

  // Prometheus scrape endpoint, unauthenticated (see src/api/metrics.ts); absent when SYNCLINE_METRICS_PORT serves it.
  if (ctx.metrics !== false) {
    const source = ctx.metrics ?? metricsSource(ctx.store, ctx.clock);
    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_req, reply) => {
      const text = await source.render();
      return reply.type(source.contentType).send(text);
    });
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
