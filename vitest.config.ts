import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Two groups on the 2-core CI machine: first the in-process files two at a time, then the files that start their own
 * processes (servers, workers, a simulator, PostgreSQL, Chromium), also two at a time: they spend most of their time
 * waiting on events (process start-up, leases running out, slowed platform calls, a browser), so two of them share
 * the cores well (issue 17: the group took ~250 s one at a time). Deadlines in the tests bound hangs; nothing is timed.
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
// Longest first (durations of a full run): with two at a time, the long files start at once instead of one of them
// starting last and running alone (a clean clone has no durations cached, and vitest would order by file size).
const LONGEST_FIRST = [
  'test/drills.test.ts',
  'test/recovery.test.ts',
  'src/cli/cli.test.ts',
  'test/browser/dashboard.test.ts',
  'test/qbo-multiprocess.test.ts',
  'test/multiprocess.test.ts',
  'test/sandbox-restart.test.ts',
  'test/start-build.test.ts',
  'test/xero-token-race.test.ts',
];

/** vitest's order, except that the processes group runs in LONGEST_FIRST order. */
class ProcessesLongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      if (f.project.name !== 'processes') return -1;
      const i = LONGEST_FIRST.indexOf(path.relative(f.project.config.root, f.moduleId).split(path.sep).join('/'));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    const processes = sorted.filter((f) => rank(f) >= 0).sort((a, b) => rank(a) - rank(b));
    let next = 0;
    return sorted.map((f) => (rank(f) >= 0 ? processes[next++]! : f));
  }
}

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { sequencer: ProcessesLongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'in-process',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: PROCESS_HEAVY,
          maxWorkers: 2,
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESS_HEAVY,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
