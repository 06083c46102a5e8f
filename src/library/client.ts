import { hashTagOf, nodeOfUrl, untaggedPrefixProblem, type RedisNode } from '../config/redis-values.ts';
import { ConfigError } from '../errors/index.ts';
import type { RedisConnection } from '../util/redis-nodes.ts';
import {
  batchIdSchema,
  BatchNotFoundError as QueueBatchNotFoundError,
  BatchTracker,
  cancelBatch,
  connectRedis,
  DEFAULT_QUEUE_PREFIX,
  InvalidBatchError,
  openQueues,
  retryBatch,
  submitBatch,
  type BatchStatus,
  type BatchSubmission,
  type CancelResult,
  type CertharvestQueues,
  type RetryResult,
  type SubmitResult,
} from '../queue/index.ts';
import type { ManifestRow } from '../report/manifest.ts';
import {
  batchManifest,
  BatchNotFoundError,
  waitForBatch,
  type BatchOutcome,
  type WaitForBatchOptions,
} from './wait-for-batch.ts';

export interface CertharvestClientOptions {
  /** The fleet's Redis, e.g. `redis://redis.internal:6379/0` (REDIS_URL of the workers). */
  redisUrl: string;
  /**
   * The fleet's Redis is a Redis Cluster (REDIS_CLUSTER of the workers): `true` to learn it from
   * `redisUrl`'s node, or its seed nodes (REDIS_CLUSTER_NODES). `redisUrl` still gives TLS
   * (`rediss:`) and the login. Then `prefix` must be hash-tagged, e.g. `{certharvest}`.
   */
  cluster?: boolean | readonly RedisNode[];
  /** The fleet's QUEUE_PREFIX. Default `certharvest`. */
  prefix?: string;
}

/** A Node producer's handle on a certharvest fleet. */
export interface CertharvestClient {
  /**
   * Queue a batch (validated as a whole; malformed entries fail alone). `refresh: true` fetches
   * every certificate again, even those already stored.
   */
  submit(batch: BatchSubmission): Promise<SubmitResult>;
  /** The batch's counters, its `state` and its first failures, or null when there is no such batch. */
  status(batchId: string): Promise<BatchStatus | null>;
  /** Wait until the batch is done; each certificate's status, path and sha256, and the failures. */
  waitForBatch(batchId: string, options?: WaitForBatchOptions): Promise<BatchOutcome>;
  /**
   * The batch's manifest, row by row (read a page at a time): one row per certificate it found and
   * one per user reference that failed as a whole, in the order they arrived. Throws
   * `BatchNotFoundError` for an unknown batch.
   *
   *   for await (const row of certharvest.certificates(batchId)) console.log(row.status, row.path);
   */
  certificates(batchId: string, options?: { pageSize?: number }): AsyncIterable<ManifestRow>;
  /**
   * Cancel the batch: its queued work is removed, running jobs finish, and it ends as
   * `cancelled`. `outcome` says `cancelled`, `already-cancelled` or `already-ended` (nothing done).
   * Throws `BatchNotFoundError` for an unknown batch.
   */
  cancel(batchId: string): Promise<CancelResult>;
  /**
   * Retry an ended batch's failures as a new batch linked to it (`retryOf`); `batchId` names the
   * new one. Throws `BatchNotFoundError`, `BatchStillRunningError` (not ended yet) or
   * `NothingToRetryError`.
   */
  retry(batchId: string, options?: { batchId?: string }): Promise<RetryResult>;
  close(): Promise<void>;
}

/**
 * Connect to a fleet:
 *
 *   const certharvest = await connectCertharvest({ redisUrl: process.env.REDIS_URL! });
 *   const { batchId } = await certharvest.submit({ users: [1001, 1002] });
 *   const outcome = await certharvest.waitForBatch(batchId, { onProgress: (s) => console.log(s.certsStored) });
 *   for await (const row of certharvest.certificates(batchId)) console.log(row.userId, row.status, row.path);
 *   await certharvest.close();
 */
export async function connectCertharvest(options: CertharvestClientOptions): Promise<CertharvestClient> {
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const seeds = options.cluster === true ? [nodeOfUrl(options.redisUrl)] : options.cluster || undefined;
  const redisCluster = seeds ? { nodes: seeds } : undefined;
  if (redisCluster && !hashTagOf(prefix)) throw new ConfigError([untaggedPrefixProblem(prefix)]);
  const redis: RedisConnection = await connectRedis({ redisUrl: options.redisUrl, redisCluster });
  const queues: CertharvestQueues = openQueues(redis, prefix);
  const tracker = new BatchTracker(redis, prefix);
  const deps = { queues, redis, prefix };
  return {
    submit: (batch) => submitBatch(batch, deps),
    status: (batchId) => tracker.status(batchId),
    waitForBatch: (batchId, waitOptions) => waitForBatch(batchId, { redis, prefix }, waitOptions),
    certificates: (batchId, pageOptions) => batchManifest(batchId, { redis, prefix }, pageOptions),
    cancel: (batchId) => cancelBatch(batchId, deps).catch(notFound(batchId)),
    async retry(batchId, retryOptions = {}) {
      const wanted = retryOptions.batchId;
      if (wanted !== undefined && !batchIdSchema.safeParse(wanted).success) {
        throw new InvalidBatchError([
          `batchId: a batch id is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
        ]);
      }
      return retryBatch(batchId, deps, wanted === undefined ? {} : { batchId: wanted }).catch(
        notFound(batchId),
      );
    },
    async close() {
      await queues.close();
      await redis.quit();
    },
  };
}

/** The queue's "no such batch" as the library's one error class for it. */
const notFound =
  (batchId: string) =>
  (err: unknown): never => {
    if (err instanceof QueueBatchNotFoundError && !(err instanceof BatchNotFoundError)) {
      throw new BatchNotFoundError(batchId);
    }
    throw err;
  };
