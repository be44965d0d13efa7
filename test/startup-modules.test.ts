import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT } from './support/cli.js';

/**
 * A start on SQLite loads neither `pg` nor `prom-client` (issue 17: they cost ~230 ms of CPU before the first /healthz);
 * prom-client is loaded by the first scrape of /metrics, which then lists every metric; `pg` by the first PostgreSQL
 * store. Checked in a fresh process (the test runner has loaded both), by the CommonJS module cache.
 */
describe('start-up loads only what it uses', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-modules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = (f: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'src', f)).href);

  const script = `
import { createRequire } from 'node:module';
const { parseConfig } = await import(${src('cli/config.ts')});
const { startServer } = await import(${src('cli/server.ts')});
const { createLogger } = await import(${src('lib/logger.ts')});
const { openStore } = await import(${src('store/db.ts')});
const cache = createRequire(import.meta.url).cache;
const loaded = () => ['pg', 'prom-client'].filter((p) => Object.keys(cache).some((f) => f.includes('/node_modules/' + p + '/')));
const server = await startServer(parseConfig({ SYNCLINE_DATA_DIR: ${JSON.stringify(dir)}, PORT: '0' }), { logger: createLogger('silent') });
const atStart = loaded();
const healthz = (await fetch(server.url + '/healthz')).status;
const afterHealthz = loaded();
const res = await fetch(server.url + '/metrics');
const text = await res.text();
const afterScrape = loaded();
await server.close();
// A PostgreSQL store (never connected here) loads pg: the check above can see it.
const pgStore = openStore({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none' });
const afterPgStore = loaded();
await pgStore.close();
process.stdout.write(JSON.stringify({ atStart, healthz, afterHealthz, metricsStatus: res.status, text, afterScrape, afterPgStore }));
`;

  it('SQLite serve: no pg, no prom-client until /metrics is scraped; every metric is then there', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, err).toBe(0);
    const r = JSON.parse(out);
    expect(r.atStart).toEqual([]);
    expect(r.healthz).toBe(200);
    expect(r.afterHealthz).toEqual([]);
    expect(r.metricsStatus).toBe(200);
    expect(r.afterScrape).toEqual(['prom-client']);
    // The process's counters and histograms, the store gauges and Node's process metrics, all at the first scrape.
    for (const name of [
      'syncline_pull_duration_seconds',
      'syncline_queue_wait_seconds',
      'syncline_datasets_finished_total',
      'syncline_records_written_total',
      'syncline_source_calls_total',
      'syncline_source_rate_limited_total',
      'syncline_lease_expiries_total',
      'syncline_webhook_attempts_total',
      'syncline_datasets',
      'syncline_queue_oldest_seconds',
      'syncline_webhook_deliveries_pending',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(r.text).toContain(`# TYPE ${name} `);
    }
    expect(r.text).toContain('syncline_store_up 1');
    expect(r.afterPgStore).toEqual(['pg', 'prom-client']);
  }, 60_000);
});
