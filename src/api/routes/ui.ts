import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { ApiContext } from '../context.js';

/**
 * Where `npm run build:ui` (Vite, src/ui/vite.config.ts) wrote the dashboard: `dist/ui`. This module runs compiled
 * from dist/src/api/routes (npm start) or as TypeScript from src/api/routes (tests, tsx); both reach it.
 */
export function findUiDir(): string | undefined {
  const here = import.meta.dirname;
  for (const dir of [path.resolve(here, '../../../ui'), path.resolve(here, '../../../dist/ui')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const NOT_BUILT =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head><body>' +
  '<main><h1>The dashboard is not built</h1><p>Run <code>npm run build</code> (or <code>npm run build:ui</code>) and reload.</p></main></body></html>';

/**
 * The dashboard: a static single-page app under `/app`. It holds no secret and needs no API key to load; every call it
 * makes goes to the public API with the key the user typed in. Hashed assets (`/app/assets/*`, names change with
 * their content) are cached for a year as immutable; the HTML shell is revalidated on every load, so a new build is
 * picked up at once. Any other path under /app is a client-side route and gets the shell.
 */
/** `uiDir`: the built bundle (default: found next to the code); null = not built. */
export async function uiRoutes(app: FastifyInstance, _ctx: ApiContext, uiDir: string | null = findUiDir() ?? null): Promise<void> {
  if (uiDir) {
    await app.register(fastifyStatic, { root: uiDir, serve: false, decorateReply: true });
  }
  const shell = async (reply: import('fastify').FastifyReply) => {
    if (!uiDir) return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    return reply
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .sendFile('index.html', { cacheControl: false });
  };
  app.get('/app', { schema: { hide: true } }, async (_req, reply) => shell(reply));
  app.get<{ Params: { '*': string } }>('/app/*', { schema: { hide: true } }, async (req, reply) => {
    const rest = req.params['*'];
    if (rest.startsWith('assets/')) {
      if (!uiDir) return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
      // Rooted at assets/ itself: @fastify/send refuses paths leaving its root (.., encoded or not) and answers 404
      // for missing files.
      return reply
        .header('x-content-type-options', 'nosniff')
        .sendFile(rest.slice('assets/'.length), path.join(uiDir, 'assets'), { immutable: true, maxAge: 31_536_000_000, cacheControl: true });
    }
    return shell(reply);
  });
}
