import { describe, expect, it } from 'vitest';
import { testRedisUrl, uniquePrefix } from './helpers/index.ts';

describe("import { submitBatch } from 'certharvest'", () => {
  it('works from the built package entry point, as a Node producer would use it', async () => {
    const lib = await import('certharvest');
    const redis = await lib.connectRedis(testRedisUrl());
    const prefix = uniquePrefix('lib');
    const queues = lib.openQueues(redis, prefix);
    try {
      const result = await lib.submitBatch({ batchId: 'from-lib', users: [7, 8] }, { queues, redis, prefix });
      expect(result).toMatchObject({ batchId: 'from-lib', queued: 2 });
      // Both users in one discover job (a job lists several users).
      expect(await queues.discover.getWaitingCount()).toBe(1);
      expect(await new lib.BatchTracker(redis, prefix).status('from-lib')).toMatchObject({ usersTotal: 2 });
    } finally {
      await queues.close();
      await redis.quit();
    }
  });
});
