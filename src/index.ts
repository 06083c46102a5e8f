/**
 * certharvest as a library, for Node producers:
 *
 *   import { connectRedis, openQueues, submitBatch } from 'certharvest';
 *   const redis = await connectRedis(process.env.REDIS_URL!);
 *   const queues = openQueues(redis);
 *   const { batchId } = await submitBatch({ users: [1001, 1002] }, { queues, redis, prefix: 'certharvest' });
 */
export {
  submitBatch,
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
