import { defineConfig } from 'vitest/config';

/** Tests of whole processes on scaled clocks: timing matters, so they run one at a time, last. */
const PROCESSES = ['test/local/**/*.e2e.test.ts', 'test/page/**/*.e2e.test.ts'];

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'units',
          include: ['test/**/*.test.ts'],
          exclude: PROCESSES,
          // Two at once on two cores: most of it waits on sockets, dynalite and timers.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESSES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
