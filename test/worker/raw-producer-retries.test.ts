import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBreaker, OutageClock } from '../../src/fleet/index.ts';
import { LmsUnavailableError } from '../../src/lms/index.ts';
import { connectRedis, DOWNLOAD_QUEUE } from '../../src/queue/index.ts';
import { defaultRetryDelay, handleJobError, type FleetControl } from '../../src/failure/handle-job-error.ts';
import { captureLogger, sleepUntil, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

let redis: Redis;
beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe("a raw BullMQ producer's job (added without retry options)", () => {
  it('gets the delay of its queue’s next retry until the queue’s attempts are used', () => {
    const job = (attemptsStarted: number, attempts?: number) =>
      ({ queueName: DOWNLOAD_QUEUE, attemptsStarted, opts: attempts ? { attempts } : {} }) as Pick<
        Job,
        'opts' | 'queueName' | 'attemptsStarted'
      >;
    expect(defaultRetryDelay(job(1))).toBeGreaterThan(0);
    expect(defaultRetryDelay(job(3))!).toBeGreaterThan(defaultRetryDelay(job(1))! / 2);
    expect(defaultRetryDelay(job(8))).toBeUndefined(); // the download queue's 8 attempts are used
    expect(defaultRetryDelay(job(1, 3))).toBeUndefined(); // it has its own: BullMQ retries it
    expect(defaultRetryDelay({ ...job(1), queueName: 'elsewhere' })).toBeUndefined();
  });

  it('is retried on a real queue like the CLI’s jobs, and cleaned up when it completes', async () => {
    const prefix = uniquePrefix('raw');
    // Only the retry path runs here: the breaker and outage clock are never asked.
    const fleet: FleetControl = {
      breaker: {} as FleetBreaker,
      outage: {} as OutageClock,
      outagePauseAfterMs: 60_000,
      logger: captureLogger().logger,
    };
    const starts: number[] = [];
    const worker = new Worker(
      DOWNLOAD_QUEUE,
      async (job, token) => {
        starts.push(job.attemptsStarted);
        if (job.attemptsStarted < 3)
          throw await handleJobError(job, token, new LmsUnavailableError('503', 503), fleet);
        return 'ok';
      },
      { connection: redis, prefix, removeOnComplete: { count: 0 } },
    );
    const raw = new Queue(DOWNLOAD_QUEUE, { connection: redis, prefix });
    try {
      const job = await raw.add('raw', { anything: true }); // no attempts, no removeOnComplete
      await sleepUntil(
        async () => ((await raw.getJob(job.id!)) === undefined ? true : undefined),
        30_000,
        50,
      );
      expect(starts).toEqual([1, 2, 3]);
      expect(await raw.getFailedCount()).toBe(0);
    } finally {
      await worker.close();
      await raw.obliterate({ force: true });
      await raw.close();
    }
  }, 60_000);
});
