import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The slow chaos suite runs on its own: `npm run test:chaos` (vitest.chaos.config.ts); the
    // Redis Cluster's own tests with `npm run test:cluster` (vitest.cluster.config.ts).
    exclude: ['test/chaos/**', 'test/cluster/**', '**/node_modules/**'],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores here: files run in parallel, but Chromium-heavy files are few and short.
    pool: 'forks',
    maxWorkers: 2,
  },
});
