/**
 * certharvest as a library, for Node producers:
 *
 *   import { connectCertharvest } from 'certharvest';
 *   const certharvest = await connectCertharvest({ redisUrl: process.env.REDIS_URL! });
 *   const { batchId } = await certharvest.submit({ users: [1001, 1002] });
 *   const { state, certificates, failures } = await certharvest.waitForBatch(batchId, {
 *     onProgress: (s) => console.log(`${s.certsStored}/${s.certsFound}`),
 *   });
 *   for await (const row of certharvest.certificates(batchId)) console.log(row.status, row.path);
 *   await certharvest.close();
 *
 * The lower-level pieces (`submitBatch`, `openQueues`, `BatchTracker`, `waitForBatch`,
 * `cancelBatch`, `retryBatch`) are here too, and the zod schemas of a certificate's result
 * (`certificateResultSchema`: one entry of `waitForBatch`; `downloadResultSchema`: a download
 * job's return value) for producers that read them back themselves.
 */
export {
  connectCertharvest,
  type CertharvestClient,
  type CertharvestClientOptions,
} from './library/client.ts';
export {
  waitForBatch,
  batchManifest,
  BatchNotFoundError,
  BatchWaitTimeoutError,
  type BatchOutcome,
  type WaitForBatchOptions,
} from './library/wait-for-batch.ts';
export {
  submitBatch,
  parseBatchSubmission,
  batchEventsKey,
  type CertificateResult,
  openQueues,
  connectRedis,
  type RedisConnection,
  type RedisTarget,
  BatchTracker,
  batchJsonSchema,
  batchSubmissionSchema,
  parseUserList,
  InvalidBatchError,
  BatchExistsError,
  DEFAULT_QUEUE_PREFIX,
  DISCOVER_QUEUE,
  DOWNLOAD_QUEUE,
  type BatchSubmission,
  type BatchStatus,
  type BatchFailure,
  type SubmitResult,
  type CertharvestQueues,
  type DiscoverJobData,
  type DownloadJobData,
  type DownloadResult,
  type UserRefKind,
  cancelBatch,
  retryBatch,
  BatchStillRunningError,
  NothingToRetryError,
  type CancelResult,
  type RetryResult,
  BATCH_STATES,
  isFinal,
  isSuccess,
  type BatchState,
} from './queue/index.ts';
export { MANIFEST_COLUMNS, type ManifestRow, type ManifestStatus } from './report/manifest.ts';
export {
  SCHEMA_VERSION,
  certificateResultSchema,
  downloadResultSchema,
  type Certificate,
  type CertificateOutcome,
  type StoredCertificate,
} from './certificate/index.ts';
export { PAUSE_REASONS, type PauseReason, type PauseRecord } from './fleet/index.ts';
export { CertharvestError } from './errors/index.ts';
export {
  verifyWebhook,
  signWebhook,
  WebhookVerificationError,
  type BatchWebhookBody,
  type FinalBatchState,
  type WebhookHeaders,
} from './webhook/batch-webhook.ts';
