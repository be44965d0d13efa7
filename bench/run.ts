/**
 * `npm run bench [name…]` — runs every benchmark (or the named ones) and prints, for each, the figure, the baseline
 * measured in the same run and their ratio, as Markdown ready for docs/benchmarks.md. It starts what it needs
 * (a throwaway PostgreSQL server, the simulator). BENCH_SIZE=smoke runs a tiny size to check the benchmarks work.
 */
import os from 'node:os';
import { startTempPostgres, type TempPostgres } from '../test/support/postgres.js';
import { formatRows, type Benchmark, type BenchContext } from './support/harness.js';
import { queueWait } from './queue-wait.js';
import { webhooks } from './webhooks.js';
import { query } from './query.js';
import { pullThroughput } from './pull-throughput.js';
import { politeness, politenessAllTypes, politenessQbo, politenessXero } from './politeness.js';
import { queue } from './queue.js';
import { scheduler } from './scheduler.js';
import { api } from './api.js';
import { history } from './history.js';
import { listMemory } from './list-memory.js';
import { dashboard } from './dashboard.js';
import { startup } from './startup.js';

const ALL: Benchmark[] = [queueWait, queue, webhooks, pullThroughput, politeness, query, api, scheduler, history, listMemory, dashboard, startup];
/** Parts of the above, runnable alone by name (not run twice by a plain `npm run bench`). */
const PARTS: Benchmark[] = [politenessQbo, politenessXero, politenessAllTypes];

async function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => ![...ALL, ...PARTS].some((b) => b.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.map((b) => b.name).join(', ')}\n`);
    process.exit(2);
  }
  const selected = names.length ? [...ALL, ...PARTS].filter((b) => names.includes(b.name)) : ALL;
  let pg: TempPostgres | undefined;
  const ctx: BenchContext = {
    size: process.env.BENCH_SIZE === 'smoke' ? 'smoke' : 'full',
    log: (m) => process.stderr.write(`[bench] ${m}\n`),
    pgAdminUrl: async () => {
      if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
      pg ??= await startTempPostgres();
      return pg.url;
    },
  };
  process.stdout.write(
    `# Syncline benchmarks\n\nMachine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString()}; size ${ctx.size}\n`,
  );
  try {
    for (const b of selected) {
      ctx.log(`running ${b.name}: ${b.description}`);
      const rows = await b.run(ctx);
      process.stdout.write(formatRows(`${b.name} — ${b.description}`, rows) + '\n');
    }
  } finally {
    pg?.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
