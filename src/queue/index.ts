export * from './names.ts';
export * from './job-data.ts';
export { openQueues, DISCOVER_JOB_OPTIONS, DOWNLOAD_JOB_OPTIONS, type CertharvestQueues } from './queues.ts';
export {
  BatchAccounting,
  discoverSettlement,
  downloadJobIdBase,
  userRefOf,
  type DiscoverSettlement,
  type DownloadSettlement,
  type ExpectedCertificate,
  type FailureFacts,
} from './batch-accounting.ts';
export { BATCH_TTL_SECONDS } from './batch-keys.ts';
export {
  BatchTracker,
  isDone,
  type BatchCounts,
  type BatchFailure,
  type BatchStatus,
} from './batch-tracker.ts';
export {
  submitBatch,
  parseUserList,
  newBatchId,
  InvalidBatchError,
  BatchExistsError,
  type SubmitResult,
} from './submit-batch.ts';
export { connectRedis, describeRedisUrl } from './redis-connection.ts';
export { failureOf, settleFromWorkerEvents } from './settle-outcomes.ts';
