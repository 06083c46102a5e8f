import { defineConfig } from 'vitest/config';

// The slow chaos suite (`npm run test:chaos`): kills and restarts real processes, one file at a time.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
