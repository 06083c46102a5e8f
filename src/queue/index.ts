export * from './names.ts';
export * from './job-data.ts';
export { openQueues, DISCOVER_JOB_OPTIONS, DOWNLOAD_JOB_OPTIONS, type CertharvestQueues } from './queues.ts';
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
