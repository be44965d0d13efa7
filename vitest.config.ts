import { defineConfig } from 'vitest/config';

/**
 * Two groups on the 2-core CI machine: first the in-process files two at a time, then the files that start their own
 * processes (servers, workers, a simulator, PostgreSQL, Chromium) one at a time, so those never compete with each
 * other for the two cores. Deadlines in the tests bound hangs; nothing is timed.
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

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'in-process',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: PROCESS_HEAVY,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESS_HEAVY,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
