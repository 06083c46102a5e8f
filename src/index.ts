/**
 * certharvest as a library, for Node producers:
 *
 *   import { connectCertharvest } from 'certharvest';
 *   const certharvest = await connectCertharvest({ redisUrl: process.env.REDIS_URL! });
 *   const { batchId } = await certharvest.submit({ users: [1001, 1002] });
 *   const { certificates, failures } = await certharvest.waitForBatch(batchId, {
 *     onProgress: (s) => console.log(`${s.certsStored}/${s.certsFound}`),
 *   });
 *   await certharvest.close();
 *
 * The lower-level pieces (`submitBatch`, `openQueues`, `BatchTracker`, `waitForBatch`) are here too.
 */
export {
  connectCertharvest,
  type CertharvestClient,
  type CertharvestClientOptions,
} from './library/client.ts';
export {
  waitForBatch,
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
} from './queue/index.ts';
export type { Certificate, CertificateOutcome, StoredCertificate } from './certificate/index.ts';
export { PAUSE_REASONS, type PauseReason, type PauseRecord } from './fleet/index.ts';
export { CertharvestError } from './errors/index.ts';
export {
  verifyWebhook,
  signWebhook,
  WebhookVerificationError,
  type BatchWebhookBody,
  type WebhookHeaders,
} from './worker/batch-webhook.ts';
