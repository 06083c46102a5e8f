export * from './names.ts';
export * from './job-data.ts';
export { openQueues, DISCOVER_JOB_OPTIONS, DOWNLOAD_JOB_OPTIONS, type CertharvestQueues } from './queues.ts';
export {
  BatchAccounting,
  discoverSettlement,
  downloadSettlement,
  downloadJobIdBase,
  userRefOf,
  type BatchDoneListener,
  type BatchFailure,
  type CertificateResultRecord,
  type DiscoverSettlement,
  type DownloadSettlement,
  type ExpectedCertificate,
  type FailureFacts,
  type ManifestDescription,
} from './batch-accounting.ts';
export { BATCH_TTL_SECONDS, BATCH_EVENTS_MAX_LEN, batchEventsKey } from './batch-keys.ts';
export { batchState, isFinal, isSuccess, BATCH_STATES, type BatchState } from './batch-state.ts';
export {
  BatchTracker,
  isDone,
  type BatchCounts,
  type BatchStatus,
  type CertificateResult,
} from './batch-tracker.ts';
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
export { connectRedis, describeRedisUrl } from './redis-connection.ts';
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
  failureOf,
  jobEvents,
  type JobEvents,
  type JobEventMap,
  type JobEventName,
  type JobQueueName,
} from './job-events.ts';
