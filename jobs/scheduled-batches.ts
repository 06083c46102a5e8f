/**
 * The firing of a schedule (`certharvest schedule`): BullMQ's job scheduler puts one job per
 * firing on the `schedules` queue for the whole fleet; the worker that takes it submits the
 * schedule's batch, `<schedule>-<firing time>`, through `submitBatch` — the CLI's own path.
 */
import { readFile } from 'node:fs/promises';
import { Worker, type Job, type Processor } from 'bullmq';
import type { RedisConnection } from '../src/util/redis-nodes.ts';
import type { Logger } from '../src/log/index.ts';
import {
  BatchExistsError,
  closeWorker,
  firingBatchId,
  InvalidBatchError,
  parseUserList,
  SCHEDULES_QUEUE,
  scheduleTemplateSchema,
  submitBatch,
  type CertharvestQueues,
  type ScheduleTemplate,
} from '../src/queue/index.ts';
import { recordFailedFiringBatch, recordFiring } from '../src/queue/schedules.ts';
import { JobGaveUpError } from '../src/failure/handle-job-error.ts';
import { JobDataInvalidError, parseJobData } from '../src/failure/parse-job-data.ts';

export interface ScheduledBatchDeps {
  queues: CertharvestQueues;
  redis: RedisConnection;
  prefix: string;
  logger: Logger;
}

/** What a firing job returns (shown on the board). */
export type FiringResult =
  | {
      schedule: string;
      batchId: string;
      firedAt: string;
      queued: number;
      rejected: number;
      allUsers: boolean;
      /** A retried firing whose batch an earlier attempt had submitted. */
      alreadySubmitted?: true;
    }
  | { schedule: string; skipped: 'schedule removed' };

/** A firing that cannot submit its batch as asked: its batch is recorded failed, the job fails now. */
class FiringFailedError extends Error {
  constructor(
    readonly code: string,
    readonly ref: string,
    message: string,
  ) {
    super(message);
  }
}

/** When the firing was due: the scheduler's job id ends with it (`repeat:<schedule>:<millis>`). */
export function firingTimeOf(job: Pick<Job, 'id' | 'opts' | 'timestamp'>): Date {
  const fromId = Number(/:(\d+)$/.exec(job.id ?? '')?.[1]);
  if (Number.isSafeInteger(fromId) && fromId > 0) return new Date(fromId);
  return new Date(job.opts.prevMillis ?? job.timestamp);
}

export function createScheduledBatchProcessor(deps: ScheduledBatchDeps): Processor<unknown, FiringResult> {
  const { queues, logger } = deps;
  return async (job) => {
    const template = templateOf(job.data);
    const schedule = template.schedule;
    // A firing already waiting when its schedule was removed (BullMQ removes only a delayed one).
    if (job.repeatJobKey && !(await queues.schedules.getJobScheduler(job.repeatJobKey))) {
      logger.info({ schedule, jobId: job.id }, 'schedule removed: firing skipped');
      return { schedule, skipped: 'schedule removed' };
    }
    const at = firingTimeOf(job);
    const firing: Firing = { schedule, batchId: firingBatchId(schedule, at), firedAt: at.toISOString() };
    const log = logger.child({ schedule, batchId: firing.batchId });
    try {
      return await fire(deps, template, firing, log);
    } catch (err) {
      return await firingFailed(deps, template, firing, log, err);
    }
  };
}

/** One firing of a schedule: the schedule, its batch's id and when it was due. */
interface Firing {
  schedule: string;
  batchId: string;
  firedAt: string;
}

/** The job's template; malformed data gives up at once. */
function templateOf(data: unknown): ScheduleTemplate {
  try {
    return parseJobData(scheduleTemplateSchema, data, SCHEDULES_QUEUE);
  } catch (err) {
    if (err instanceof JobDataInvalidError) throw new JobGaveUpError(err.code, err.message);
    throw err;
  }
}

/** Submit the firing's batch through `submitBatch`, and record the firing. */
async function fire(
  deps: ScheduledBatchDeps,
  template: ScheduleTemplate,
  firing: Firing,
  log: Logger,
): Promise<FiringResult> {
  const { queues, redis, prefix } = deps;
  const users = [...template.users, ...(await usersOfFile(template))];
  if (users.length === 0 && !template.allUsers) {
    throw new FiringFailedError(
      'SCHEDULE_NO_USERS',
      template.usersFile ?? firing.schedule,
      `the user file ${template.usersFile} lists no users`,
    );
  }
  const result = await submitBatch(
    {
      batchId: firing.batchId,
      by: template.by,
      users,
      allUsers: template.allUsers,
      ...(template.filters ? { filters: template.filters } : {}),
    },
    { queues, redis, prefix },
  );
  await recordFiring(redis, prefix, firing.schedule, { batchId: firing.batchId, firedAt: firing.firedAt });
  log.info(
    { queued: result.queued, rejected: result.rejected.length, allUsers: result.allUsers },
    'schedule fired: batch submitted',
  );
  return { ...firing, queued: result.queued, rejected: result.rejected.length, allUsers: result.allUsers };
}

/**
 * A firing that threw: an earlier attempt's batch counts as this one's; a batch that cannot be
 * submitted as asked is recorded failed and the job gives up; anything else (Redis down) is
 * thrown on, for BullMQ to retry the firing.
 */
async function firingFailed(
  deps: ScheduledBatchDeps,
  template: ScheduleTemplate,
  firing: Firing,
  log: Logger,
  err: unknown,
): Promise<FiringResult> {
  const { redis, prefix } = deps;
  const { schedule, batchId, firedAt } = firing;
  if (err instanceof BatchExistsError) {
    // An earlier attempt of this very firing submitted it (the id is the firing's).
    await recordFiring(redis, prefix, schedule, { batchId, firedAt });
    log.info('schedule fired: batch already submitted by an earlier attempt');
    return { ...firing, queued: 0, rejected: 0, allUsers: template.allUsers, alreadySubmitted: true };
  }
  const failure =
    err instanceof FiringFailedError
      ? err
      : err instanceof InvalidBatchError
        ? new FiringFailedError('BATCH_INVALID', template.usersFile ?? schedule, err.message)
        : undefined;
  if (!failure) throw err; // Redis down, say: BullMQ retries the firing
  const reason = `schedule ${schedule}: ${failure.message}`;
  await recordFailedFiringBatch(redis, prefix, batchId, {
    by: template.by,
    ref: failure.ref,
    code: failure.code,
    reason,
  });
  await recordFiring(redis, prefix, schedule, { batchId, firedAt, error: reason });
  log.warn({ code: failure.code, reason }, 'schedule fired: batch could not be submitted');
  throw new JobGaveUpError(failure.code, reason);
}

/** The users of the template's file, read now (each firing sees the file as it is then). */
async function usersOfFile(template: ScheduleTemplate): Promise<string[]> {
  const file = template.usersFile;
  if (file === undefined) return [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new FiringFailedError(
      'SCHEDULE_USER_FILE_UNREADABLE',
      file,
      `cannot read the user file ${file} (${why})`,
    );
  }
  try {
    return parseUserList(text, template.by);
  } catch (err) {
    if (err instanceof InvalidBatchError)
      throw new FiringFailedError('SCHEDULE_USER_FILE_INVALID', file, `${file}: ${err.problems.join('; ')}`);
    throw err;
  }
}

/** One worker on the `schedules` queue for this process; `stop()` closes it. */
export async function startScheduledBatches(deps: ScheduledBatchDeps): Promise<{ stop(): Promise<void> }> {
  const worker = new Worker(SCHEDULES_QUEUE, createScheduledBatchProcessor(deps), {
    connection: deps.redis,
    prefix: deps.prefix,
    concurrency: 1,
  });
  worker.on('error', (err) => deps.logger.warn({ err }, 'schedules worker error'));
  await worker.waitUntilReady();
  return { stop: async () => void (await closeWorker(worker)) };
}
