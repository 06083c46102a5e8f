export * from './names.ts';
export * from './job-data.ts';
export { openQueues, DISCOVER_JOB_OPTIONS, DOWNLOAD_JOB_OPTIONS, type CertharvestQueues } from './queues.ts';
export {
  BatchAccounting,
  type BatchDoneListener,
  type ExpectedCertificate,
  type UserOutcome,
  type UsersJob,
} from './batch-accounting.ts';
export * from './job-outcomes.ts';
export { BATCH_TTL_SECONDS, BATCH_EVENTS_MAX_LEN, batchEventsKey, downloadJobIdBase } from './batch-keys.ts';
export { batchState, isFinal, isSuccess, BATCH_STATES, type BatchState } from './batch-state.ts';
export {
  isDone,
  COUNT_FIELDS,
  PROGRESS_COUNT_FIELDS,
  type BatchCounts,
  type BatchFailure,
} from './batch-counts.ts';
export { BatchTracker, type BatchStatus } from './batch-tracker.ts';
/** The certificate's result, in its shapes (src/certificate/result.ts), as the queue uses them. */
export type {
  CertificateResult,
  CertificateResultRecord,
  CertificateSettlement,
  FailureFacts,
  ManifestDescription,
} from '../certificate/index.ts';
export {
  submitBatch,
  isWellFormedRef,
  queueDiscovery,
  parseBatchSubmission,
  parseUserList,
  newBatchId,
  InvalidBatchError,
  BatchExistsError,
  type SubmitResult,
  type UserToDiscover,
} from './submit-batch.ts';
export {
  cancelBatch,
  retryBatch,
  BatchNotFoundError,
  BatchStillRunningError,
  NothingToRetryError,
  type CancelResult,
  type RetryResult,
} from './batch-control.ts';
export { closeWorker, WORKER_CLOSE_TIMEOUT_MS } from './close-worker.ts';
export {
  connectRedis,
  dataNodes,
  describeRedisUrl,
  isCluster,
  nodeName,
  requireSlotPrefix,
  type RedisConnection,
  type RedisTarget,
} from './redis-connection.ts';
export {
  addSchedule,
  listSchedules,
  getSchedule,
  removeSchedule,
  parseEvery,
  formatEvery,
  nextCronFiring,
  firingBatchId,
  scheduleNameSchema,
  scheduleTemplateSchema,
  ScheduleInvalidError,
  ScheduleExistsError,
  SCHEDULE_NAME_MAX,
  type AddScheduleInput,
  type ScheduleInfo,
  type ScheduleTemplate,
  type ScheduleTemplateInput,
  type ScheduleWhen,
  type LastBatchState,
  type FiringRecord,
} from './schedules.ts';
export { settleFromJobEvents } from './settle-outcomes.ts';
export {
  jobEvents,
  type JobEvents,
  type JobEventMap,
  type JobEventName,
  type JobQueueName,
} from './job-events.ts';
export { addHandoffs, queueUsers, userJobId, type UsersSpec } from './users-jobs.ts';
