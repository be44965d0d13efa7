import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * One queue on the 2-core CI machine, three files at a time: the in-process files (CPU-bound: the API, the engine and
 * PostgreSQL in the one process) and the files that start their own processes (servers, workers, a simulator,
 * PostgreSQL, Chromium), which spend part of their time waiting on events (process start-up, leases running out,
 * slowed platform calls, a browser). Run as two groups, one after the other, the second group left a core idle for
 * much of its ~80 s (issue 17: the suite took 200–284 s); interleaved, that idle time runs in-process files.
 * The order (ProcessesAroundInProcess below): the two longest process files first, beside one in-process file, so
 * they end early; then every in-process file; then the other process files, longest first. Never more than three
 * files at once. Deadlines in the tests bound hangs; nothing is timed.
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
/** Process files that start at once, before the in-process files: the longest (~35–60 s each on an idle machine). */
const FIRST = ['test/drills.test.ts', 'test/recovery.test.ts'];
/**
 * The other process files, after the in-process files, longest first (durations of a full run), so the last to start
 * are short. A clean clone has no durations cached, and vitest would order by file size.
 */
const LAST = [
  'test/browser/dashboard.test.ts',
  'src/cli/cli.test.ts',
  'test/qbo-multiprocess.test.ts',
  'test/start-build.test.ts',
  'test/multiprocess.test.ts',
  'test/sandbox-restart.test.ts',
  'test/xero-token-race.test.ts',
];

/**
 * vitest's order for the in-process files (slowest first when durations are cached, else largest first), with FIRST
 * before them and LAST (then any process file not listed) after them. vitest runs the queue in this order, starting
 * the next file whenever one of the three ends; an in-process worker goes on to the next in-process file with its
 * modules loaded.
 */
class ProcessesAroundInProcess extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const name = (f: TestSpecification) => path.relative(f.project.config.root, f.moduleId).split(path.sep).join('/');
    const rank = (f: TestSpecification) => {
      const first = FIRST.indexOf(name(f));
      if (first >= 0) return first;
      const last = LAST.indexOf(name(f));
      return FIRST.length + 1 + (last >= 0 ? last : LAST.length);
    };
    const processes = sorted.filter((f) => f.project.name === 'processes').sort((a, b) => rank(a) - rank(b));
    return [...processes.filter((f) => rank(f) < FIRST.length), ...sorted.filter((f) => f.project.name !== 'processes'), ...processes.filter((f) => rank(f) > FIRST.length)];
  }
}

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: ProcessesAroundInProcess },
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
