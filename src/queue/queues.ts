import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import {
  DEFAULT_QUEUE_PREFIX,
  DISCOVER_QUEUE,
  DOWNLOAD_QUEUE,
  MAINTENANCE_QUEUE,
  SCHEDULES_QUEUE,
} from './names.ts';
import type { DiscoverJobData, DownloadJobData } from './job-data.ts';
import { requireSlotPrefix } from './redis-connection.ts';
import type { ScheduleTemplate } from './schedules.ts';

/** Retries: exponential backoff with jitter, so a struggling LMS is not hit by a synchronized herd. */
/**
 * Completed jobs are kept by count only: the board shows the recent ones, and a batch's record
 * holds every outcome (an age limit too would cost BullMQ two more Redis calls per finished job).
 * Failed jobs are rare and are what an operator reads: kept 30 days.
 */
export const DISCOVER_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  removeOnComplete: { count: 20_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const DOWNLOAD_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { count: 50_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/**
 * Entries kept in each queue's events stream (BullMQ's default is 10,000, about 2 MB of Redis per
 * queue). Nothing of ours reads the stream: batches settle from the workers' own events and the
 * reconciler, and the board reads the job sets. It is kept short for a live `QueueEvents`
 * listener a producer may run, which needs only the recent past.
 */
export const EVENTS_MAX_LEN = 2_000;

export interface CertharvestQueues {
  discover: Queue<DiscoverJobData>;
  download: Queue<DownloadJobData>;
  /** The fleet's scheduled housekeeping (the token keep-alive); never paused by the breaker. */
  maintenance: Queue;
  /** Recurring batches: a job scheduler per schedule (`certharvest schedule`); never paused by the breaker. */
  schedules: Queue<ScheduleTemplate>;
  close(): Promise<void>;
}

/** The fleet's queues on `connection`; on a Redis Cluster, `prefix` must be hash-tagged (refused otherwise). */
export function openQueues(connection: ConnectionOptions, prefix = DEFAULT_QUEUE_PREFIX): CertharvestQueues {
  requireSlotPrefix(connection, prefix);
  const discover = new Queue<DiscoverJobData>(DISCOVER_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: DISCOVER_JOB_OPTIONS,
    streams: { events: { maxLen: EVENTS_MAX_LEN } },
  });
  const download = new Queue<DownloadJobData>(DOWNLOAD_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: DOWNLOAD_JOB_OPTIONS,
    streams: { events: { maxLen: EVENTS_MAX_LEN } },
  });
  const maintenance = new Queue(MAINTENANCE_QUEUE, { connection, prefix });
  const schedules = new Queue<ScheduleTemplate>(SCHEDULES_QUEUE, {
    connection,
    prefix,
    streams: { events: { maxLen: EVENTS_MAX_LEN } },
  });
  return {
    discover,
    download,
    maintenance,
    schedules,
    async close() {
      await Promise.all([discover.close(), download.close(), maintenance.close(), schedules.close()]);
    },
  };
}
