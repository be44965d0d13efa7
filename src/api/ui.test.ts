import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { uiRoutes } from './routes/ui.js';
import type { ApiContext } from './context.js';

describe('dashboard static files (/app)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-ui-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>shell</title>');
  writeFileSync(path.join(dir, 'assets/index-abc123.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'assets/index-abc123.css'), 'body{}');
  writeFileSync(path.join(dir, 'secret.txt'), 'not an asset');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const app = async (uiDir: string | null) => {
    const a = Fastify();
    await uiRoutes(a, {} as ApiContext, uiDir);
    return a;
  };

  it('serves the shell for /app and every client route, revalidated on each load', async () => {
    const a = await app(dir);
    for (const url of ['/app', '/app/', '/app/companies/123/records/invoices?page=2']) {
      const res = await a.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toContain('<title>shell</title>');
    }
  });

  it('serves hashed assets with their content type, cached as immutable; nothing outside assets/', async () => {
    const a = await app(dir);
    const js = await a.inject({ url: '/app/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toMatch(/max-age=31536000.*immutable|immutable.*max-age=31536000/);
    expect((await a.inject({ url: '/app/assets/index-abc123.css' })).headers['content-type']).toMatch(/^text\/css/);
    expect((await a.inject({ url: '/app/assets/nope.js' })).statusCode).toBe(404);
    for (const url of ['/app/assets/../secret.txt', '/app/assets/..%2fsecret.txt', '/app/assets/%2e%2e/secret.txt']) {
      const res = await a.inject({ url });
      expect(res.body, url).not.toContain('not an asset');
    }
    // a non-asset path is a client route: the shell, never a file
    expect((await a.inject({ url: '/app/secret.txt' })).body).toContain('<title>shell</title>');
  });

  it('answers 503 with a clear page when the dashboard is not built', async () => {
    const a = await app(null);
    const res = await a.inject({ url: '/app/companies' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    expect((await a.inject({ url: '/app/assets/x.js' })).statusCode).toBe(404);
  });
});
