/**
 * This process's two BullMQ workers (discover, download) around the processors `jobs/` builds,
 * with the typed job events; stopping lets the active jobs finish within the grace.
 */
import { Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import type { WorkerConfig } from '../config/shape.ts';
import type { Logger } from '../log/index.ts';
import {
  closeWorker,
  DISCOVER_JOB_OPTIONS,
  DISCOVER_QUEUE,
  DOWNLOAD_JOB_OPTIONS,
  DOWNLOAD_QUEUE,
  jobEvents,
  type DiscoverJobData,
  type DownloadJobData,
  type JobEvents,
} from '../queue/index.ts';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { Loop, StopContext, Stoppable } from './loops.ts';
import type { WorkerTuning } from './tuning.ts';

/** Download jobs in flight per LMS request slot (DOWNLOAD_CONCURRENCY): the rest are storing. */
export const STORING_JOBS_PER_REQUEST = 2;

/**
 * The queue's cleanup as worker options: they apply to jobs added without their own (a raw BullMQ
 * producer's), so those are trimmed like the CLI's.
 */
function cleanupOf(options: JobsOptions): Pick<WorkerOptions, 'removeOnComplete' | 'removeOnFail'> {
  const keep = (v: JobsOptions['removeOnComplete']) => (typeof v === 'object' ? v : undefined);
  const removeOnComplete = keep(options.removeOnComplete);
  const removeOnFail = keep(options.removeOnFail);
  return { ...(removeOnComplete ? { removeOnComplete } : {}), ...(removeOnFail ? { removeOnFail } : {}) };
}

export interface BullWorkersOptions<DiscoverResult = unknown, DownloadResult = unknown> {
  config: WorkerConfig;
  redis: RedisConnection;
  tuning: WorkerTuning;
  logger: Logger;
  /** `jobs/discover.ts`'s processor. */
  discover: Processor<DiscoverJobData, DiscoverResult>;
  /** `jobs/download.ts`'s processor. */
  download: Processor<DownloadJobData, DownloadResult>;
  /** Subscribes to the job events before any job can end. */
  subscribe(events: JobEvents): void;
}

/** The running workers and their typed events. */
export interface BullWorkers extends Stoppable {
  events: JobEvents;
  /** Stop taking jobs (the active ones end as they may). */
  pause(): void;
  /** Take jobs again. */
  resume(): void;
}

/** Stop taking jobs, give the active ones `graceMs`, then close (forcing when they did not finish). */
async function drainAndClose(
  workers: readonly Worker[],
  logger: Logger,
  { graceMs }: StopContext,
): Promise<void> {
  // BullMQ's first close() fixes its mode (a later close(true) returns the first close's
  // promise), so wait for the active jobs through pause() and choose the mode after the grace.
  const drained = Promise.all(workers.map((w) => w.pause())).then(() => 'drained' as const);
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  const timedOut = (await Promise.race([drained, timer])) === 'timeout';
  if (timedOut) {
    logger.warn(
      { graceMs },
      'active jobs did not finish in time; another worker takes them over once their lock expires',
    );
  }
  await Promise.all(
    workers.map(async (w) => {
      if (!(await closeWorker(w, { force: timedOut }))) {
        logger.warn(
          { queue: w.name },
          'the worker did not close in time (its Redis connection is stuck); leaving it',
        );
      }
    }),
  );
}

/** The loop that runs the discover and download processors of this process. */
export function bullWorkersLoop<D, W>(options: BullWorkersOptions<D, W>): Loop<BullWorkers> {
  return {
    name: 'processors',
    async start() {
      const { config, redis, tuning, logger } = options;
      const common = {
        connection: redis,
        prefix: config.queuePrefix,
        autorun: true,
        lockDuration: tuning.lockDurationMs,
        stalledInterval: tuning.stalledIntervalMs,
        maxStalledCount: tuning.maxStalledCount,
      } as const;
      // A discover job lists its user's awards (DISCOVER_CONCURRENCY listings at once, a limiter
      // in the processor) and downloads them (in the LMS slots): enough jobs run that the slots
      // stay full, as many as there are certificates in flight.
      const discover = new Worker(DISCOVER_QUEUE, options.discover, {
        ...common,
        ...cleanupOf(DISCOVER_JOB_OPTIONS),
        concurrency: Math.max(
          config.concurrency.discover,
          config.concurrency.download * STORING_JOBS_PER_REQUEST,
        ),
      });
      // Twice the LMS requests: the other half are storing (fsync), so the disk never idles the LMS.
      const download = new Worker(DOWNLOAD_QUEUE, options.download, {
        ...common,
        ...cleanupOf(DOWNLOAD_JOB_OPTIONS),
        concurrency: config.concurrency.download * STORING_JOBS_PER_REQUEST,
      });
      const both = [discover, download];
      // The job lifecycle, as typed events: each subscriber hears what it needs, decided once.
      const events = jobEvents({ discover, download }, (err, name) =>
        logger.error({ err, event: name }, 'a job event listener failed'),
      );
      options.subscribe(events);
      for (const w of both) w.on('error', (err) => logger.error({ err, queue: w.name }, 'worker error'));
      await Promise.all(both.map((w) => w.waitUntilReady()));
      return {
        events,
        pause: () => {
          for (const w of both) void w.pause(true).catch(() => undefined);
        },
        resume: () => {
          for (const w of both) w.resume();
        },
        stop: (how) => drainAndClose(both, logger, how),
      };
    },
  };
}
