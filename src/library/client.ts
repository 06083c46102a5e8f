import type { Redis } from 'ioredis';
import {
  BatchTracker,
  connectRedis,
  DEFAULT_QUEUE_PREFIX,
  openQueues,
  submitBatch,
  type BatchStatus,
  type BatchSubmission,
  type CertharvestQueues,
  type SubmitResult,
} from '../queue/index.ts';
import { waitForBatch, type BatchOutcome, type WaitForBatchOptions } from './wait-for-batch.ts';

export interface CertharvestClientOptions {
  /** The fleet's Redis, e.g. `redis://redis.internal:6379/0` (REDIS_URL of the workers). */
  redisUrl: string;
  /** The fleet's QUEUE_PREFIX. Default `certharvest`. */
  prefix?: string;
}

/** A Node producer's handle on a certharvest fleet. */
export interface CertharvestClient {
  /** Queue a batch (validated as a whole; malformed entries fail alone). */
  submit(batch: BatchSubmission): Promise<SubmitResult>;
  /** The batch's counters and its first failures, or null when there is no such batch. */
  status(batchId: string): Promise<BatchStatus | null>;
  /** Wait until the batch is done; each certificate's status, path and sha256, and the failures. */
  waitForBatch(batchId: string, options?: WaitForBatchOptions): Promise<BatchOutcome>;
  close(): Promise<void>;
}

/**
 * Connect to a fleet:
 *
 *   const certharvest = await connectCertharvest({ redisUrl: process.env.REDIS_URL! });
 *   const { batchId } = await certharvest.submit({ users: [1001, 1002] });
 *   const outcome = await certharvest.waitForBatch(batchId, { onProgress: (s) => console.log(s.certsStored) });
 *   await certharvest.close();
 */
export async function connectCertharvest(options: CertharvestClientOptions): Promise<CertharvestClient> {
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const redis: Redis = await connectRedis(options.redisUrl);
  const queues: CertharvestQueues = openQueues(redis, prefix);
  const tracker = new BatchTracker(redis, prefix);
  return {
    submit: (batch) => submitBatch(batch, { queues, redis, prefix }),
    status: (batchId) => tracker.status(batchId),
    waitForBatch: (batchId, waitOptions) => waitForBatch(batchId, { redis, prefix }, waitOptions),
    async close() {
      await queues.close();
      await redis.quit();
    },
  };
}
