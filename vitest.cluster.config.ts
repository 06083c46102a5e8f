import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the suites that live in Redis, run again on a 6-node Redis Cluster
 * (scripts/redis-cluster.sh, started and stopped by test/setup/cluster.ts; one already up on
 * 7001-7006 is reused and left running). The helpers give each test a hash-tagged prefix
 * (test/helpers/index.ts). The failover test stops a master, so it runs alone, after the rest.
 */
const SUITES = [
  'test/queue/**/*.test.ts',
  'test/fleet/**/*.test.ts',
  'test/library/client.test.ts',
  'test/library/webhook-*.test.ts',
  'test/pipeline/**/*.test.ts',
  'test/schedule/scheduled-batches.test.ts',
  'test/util/lua-script.test.ts',
  'test/util/stream-consumer.test.ts',
  'test/auth/redis-lock.test.ts',
  'test/lms/fleet-rate-state.test.ts',
  'test/cluster/connection.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/setup/cluster.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'cluster', include: SUITES, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: { name: 'failover', include: ['test/cluster/failover.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
