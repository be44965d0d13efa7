import type { FastifyInstance } from 'fastify';
import { ping, writeProbe } from '../../store/db.js';
import { noteStorageFailure, recentStorageFailure } from '../../store/storage-errors.js';
import { SynclineError } from '../../domain/errors.js';
import type { ApiContext } from '../context.js';
import { metricsSource } from '../metrics.js';

export async function opsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

  // Ready = the database answers AND can write (issue 12 item 7): a full disk or read-only storage answered 200 here
  // while every write answered 500. A storage failure seen by any request or worker in the last minute also counts.
  app.get('/readyz', { schema: { hide: true }, logLevel: 'warn' }, async () => {
    try {
      await ping(ctx.store);
    } catch {
      throw new SynclineError(503, 'PublicApi', 'The Syncline API is temporarily offline for maintenance. Please try again later.');
    }
    try {
      await writeProbe(ctx.store, ctx.clock.now().toISOString());
    } catch (err) {
      const cause = noteStorageFailure(ctx.store.db, err) ?? (err as Error).message;
      throw new SynclineError(503, 'PublicApi', `The database cannot write: ${cause}.`);
    }
    const recent = recentStorageFailure(ctx.store.db, 60_000);
    if (recent) throw new SynclineError(503, 'PublicApi', `The database failed a write ${Math.round((Date.now() - recent.at) / 1000)} s ago: ${recent.cause}.`);
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
