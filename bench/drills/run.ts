/**
 * `npm run drill [name…]` — the reliability drills at full size (the test suite runs smaller ones: test/drills.test.ts).
 * Each starts what it needs (PostgreSQL servers, the simulator, `syncline worker` processes) and exits non-zero when
 * a drill finds a problem.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTempPostgres } from '../../test/support/postgres.js';
import { parseConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/server.js';
import { createLogger } from '../../src/lib/logger.js';
import { benchDatabase } from '../support/databases.js';
import { killWorkersDrill } from './kill-workers.js';
import { pgRestartDrill } from './pg-restart.js';
import { malformedRequestsDrill } from './malformed-requests.js';

const log = (m: string) => process.stderr.write(`[drill] ${m}\n`);

const DRILLS: Record<string, () => Promise<{ problems: string[] }>> = {
  'kill-workers': async () => {
    const pg = await startTempPostgres();
    try {
      const db = await benchDatabase({ size: 'full', log, pgAdminUrl: async () => pg.url }, 'postgres');
      await db.store.close();
      return await killWorkersDrill({ databaseUrl: db.location, pulls: 20, invoicesPerTenant: 10_000, workers: 3, concurrency: 2, kills: 15, leaseSeconds: 2, timeoutMs: 300_000, log });
    } finally {
      pg.stop();
    }
  },
  'pg-restart': async () => {
    const pg = await startTempPostgres();
    try {
      return await pgRestartDrill({ server: pg, pulls: 6, invoicesPerTenant: 50_000, workers: 2, leaseSeconds: 5, downMs: 2000, timeoutMs: 300_000, log });
    } finally {
      pg.stop();
    }
  },
  'malformed-requests': async () => {
    const pg = await startTempPostgres();
    const out: Record<string, unknown> & { problems: string[] } = { problems: [] };
    try {
      for (const dialect of ['sqlite', 'postgres'] as const) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-drill-'));
        const apiKey = 'DrillApiKey0123456789abcdefghijklmnopqrs';
        const db = dialect === 'postgres' ? await benchDatabase({ size: 'full', log, pgAdminUrl: async () => pg.url }, 'postgres') : undefined;
        await db?.store.close();
        const server = await startServer(
          parseConfig({ PORT: '0', SYNCLINE_DATA_DIR: dir, SYNCLINE_API_KEY: apiKey, SYNCLINE_SECRET_KEY: 'drill-secret-key-0123456789', ...(db ? { DATABASE_URL: db.location } : {}) }),
          { logger: createLogger('error'), roles: { api: true, workers: false, scheduler: false } },
        );
        try {
          const r = await malformedRequestsDrill({ baseUrl: server.url, apiKey, count: 10_000, concurrency: 16 });
          out[dialect] = { sent: r.sent, byStatus: r.byStatus, serverErrors: r.serverErrors, seconds: r.seconds };
          out.problems.push(...r.problems.map((p) => `${dialect}: ${p}`));
        } finally {
          await server.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }
      return out;
    } finally {
      pg.stop();
    }
  },
};

async function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in DRILLS));
  if (unknown.length) {
    process.stderr.write(`unknown drill(s): ${unknown.join(', ')}; known: ${Object.keys(DRILLS).join(', ')}\n`);
    process.exit(2);
  }
  let failed = false;
  for (const name of names.length ? names : Object.keys(DRILLS)) {
    log(`running ${name}`);
    const started = Date.now();
    const r = await DRILLS[name]!();
    const ok = r.problems.length === 0;
    failed ||= !ok;
    const { problems, ...rest } = r;
    process.stdout.write(`## ${name}: ${ok ? 'PASS' : 'FAIL'} (${((Date.now() - started) / 1000).toFixed(0)} s)\n${JSON.stringify(rest, null, 2)}\n`);
    if (!ok) process.stdout.write(`problems:\n${problems.slice(0, 50).map((p) => `- ${p}`).join('\n')}\n`);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
