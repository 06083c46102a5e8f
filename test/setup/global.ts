import type { TestProject } from 'vitest/node';
import { startRedisServer } from '../../src/util/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test run's own Redis server (or REDIS_URL when given). */
    redisUrl: string;
  }
}

/** One private, in-memory redis-server for the whole run; every test isolates by key prefix. */
export default async function setup(project: TestProject) {
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
