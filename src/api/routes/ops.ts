import type { FastifyInstance } from 'fastify';
import { ping } from '../../store/db.js';
import { SynclineError } from '../../domain/errors.js';
import type { ApiContext } from '../context.js';

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

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
