import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../../src/util/redis-server.ts';
import startCluster from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test run's own Redis server (or TEST_REDIS_URL when given); a cluster's first node. */
    redisUrl: string;
    /** The run is on a Redis Cluster (`npm run test:cluster`, TEST_REDIS_CLUSTER=1). */
    redisCluster: boolean;
  }
}

/**
 * One private, in-memory redis-server for the whole run; every test isolates by key prefix. With
 * TEST_REDIS_CLUSTER=1, the 6-node Redis Cluster of test/setup/cluster.ts instead.
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_REDIS_CLUSTER === '1') return startCluster(project);
  project.provide('redisCluster', false);
  if (process.env.TEST_REDIS_URL) {
    project.provide('redisUrl', process.env.TEST_REDIS_URL);
    return;
  }
  const redis = await startRedisServer();
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
  };
}
