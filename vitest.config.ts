import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * One queue on the 2-core CI machine, three files at a time: the in-process files (CPU-bound: the API, the engine and
 * PostgreSQL in the one process) and the files that start their own processes (servers, workers, a simulator,
 * PostgreSQL, Chromium), which spend part of their time waiting on events (process start-up, leases running out, a
 * browser). Run as two groups, one after the other, the second group left a core idle for much of its ~80 s (issue 17);
 * interleaved, that idle time runs in-process files. Deadlines in the tests bound hangs; nothing is timed.
 * The in-process files share their worker's module cache (isolate: false): each file importing Fastify, Kysely, the
 * simulator… afresh was ~555 s of the in-process group's import time at load 16, 93 s without (issue 17). Module-level
 * state they share is safe to share: metrics tests compare counters before and after, webhook-outbox listeners are
 * removed by the senders' stop, nothing mutates process.env without restoring it.
 */
const PROCESS_HEAVY = [
  'test/drills.test.ts',
  'test/recovery.test.ts',
  'test/multiprocess.test.ts',
  'test/qbo-multiprocess.test.ts',
  'test/xero-token-race.test.ts',
  'test/sandbox-restart.test.ts',
  'test/start-build.test.ts',
  'src/cli/cli.test.ts',
  'test/browser/**/*.test.ts',
];
/**
 * Longest first, whichever project (durations of a full run, longest at the top), so the three lanes finish together:
 * the last files to start are the short ones. Before this order (the two longest process files first, every in-process
 * file, then the other process files) three of the longest files started last, together, and ran ~85 s after every
 * other file had ended (a full run at load ~10). A clean clone has no durations cached, where vitest alone would order
 * by file size, so the order is written here; files not listed follow, in vitest's order (short ones).
 */
const LONGEST_FIRST = [
  'test/drills.test.ts',
  'test/qbo-multiprocess.test.ts',
  'src/cli/cli.test.ts',
  'test/sandbox-e2e.test.ts',
  'test/recovery.test.ts',
  'test/browser/dashboard.test.ts',
  'src/sync/pull-engine.test.ts',
  'test/xero-link.test.ts',
  'test/qbo-reconcile.test.ts',
  'test/documents-sandbox.test.ts',
  'src/scheduler/scheduler.test.ts',
  'test/record-schemas.test.ts',
  'test/gbol-e2e.test.ts',
  'src/api/data.test.ts',
  'test/history-sandbox.test.ts',
  'test/sdk.test.ts',
  'src/store/record-buckets.test.ts',
  'src/connectors/xero/sandbox.test.ts',
  'test/history.test.ts',
  'src/query/property.test.ts',
  'test/sandbox-restart.test.ts',
  'src/api/http.test.ts',
  'test/concurrent-link.test.ts',
  'src/webhooks/delivery.test.ts',
  'src/api/api-keys.test.ts',
  'src/api/query.test.ts',
  'src/webhooks/events.test.ts',
  'src/store/query-indexes.test.ts',
  'test/xero-token-race.test.ts',
  'test/multiprocess.test.ts',
  'test/start-build.test.ts',
];

/** LONGEST_FIRST, then every other file in vitest's order (slowest first when durations are cached, else largest). */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const name = (f: TestSpecification) => path.relative(f.project.config.root, f.moduleId).split(path.sep).join('/');
    const rank = (f: TestSpecification, i: number) => {
      const listed = LONGEST_FIRST.indexOf(name(f));
      return listed >= 0 ? listed : LONGEST_FIRST.length + i;
    };
    return sorted
      .map((f, i) => ({ f, r: rank(f, i) }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'in-process',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: PROCESS_HEAVY,
          // One queue with the processes project (same groupOrder, so the same maxWorkers): three at a time in all.
          maxWorkers: 3,
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESS_HEAVY,
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
