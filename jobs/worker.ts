/**
 * The worker: one process's discover and download workers on the fleet's shared parts (built by
 * the composition root, `createFleet` in src/assembly), and its background loops in one list,
 * started in order and stopped in reverse. `checkBeforeStart` runs first when asked
 * (`certharvest worker` does); the library and tests may start without it.
 */
import type { RedisConnection } from '../src/util/redis-nodes.ts';
import pLimit from 'p-limit';
import {
  batchEndsLoop,
  batchWebhookLoop,
  bullWorkersLoop,
  createFleet,
  createFleetMetrics,
  createWorkerFleet,
  DEFAULT_TUNING,
  fleetMonitorLoop,
  followJobEvents,
  healthServerLoop,
  localFaultsLoop,
  PauseWatch,
  progressLoop,
  RunningLoops,
  sessionKeepAliveLoop,
  startupChecksLoop,
  STORING_JOBS_PER_REQUEST,
  type BullWorkers,
  type Loop,
  type WorkerFleet,
  type WorkerTuning,
} from '../src/assembly/index.ts';
import type { WebSession } from '../src/browser/index.ts';
import type { WorkerConfig } from '../src/config/index.ts';
import type { FleetBreaker, LocalFaults } from '../src/fleet/index.ts';
import type { Logger } from '../src/log/index.ts';
import { DISCOVER_QUEUE, DOWNLOAD_QUEUE, type JobEvents } from '../src/queue/index.ts';
import type { WorkerMetrics } from '../src/server/worker-health.ts';
import { ApiSupportMemo } from '../src/failure/api-support.ts';
import { borrowingLimit } from '../src/util/borrowing-limit.ts';
import { threadpoolAdvice } from '../src/worker/threadpool.ts';
import { createDiscoverProcessor } from './discover.ts';
import { createDownloadProcessor } from './download.ts';
import { startTokenKeepAlive } from './maintenance.ts';
import { startScheduledBatches } from './scheduled-batches.ts';

export { DEFAULT_TUNING, type WorkerTuning } from '../src/assembly/index.ts';
export type { WorkerConfig } from '../src/config/index.ts';

export interface WorkerHandle {
  session: WebSession | undefined;
  /** Where /healthz, /readyz and /metrics are served (METRICS_PORT), if they are. */
  healthUrl?: string;
  breaker: FleetBreaker;
  /** This worker's own faults (out of service without pausing the fleet). */
  localFaults: LocalFaults;
  /** One fleet-monitor round now (probes, reconcile). */
  monitorTick(): Promise<void>;
  /** Stop taking jobs, let the active ones finish (up to `graceMs`), close everything. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartWorkerOptions {
  config: WorkerConfig;
  logger: Logger;
  redis: RedisConnection;
  /** Run the start-up checks first (config errors throw `ConfigError`). Default false. */
  checks?: boolean;
  tuning?: Partial<WorkerTuning>;
  /**
   * The environment Node started with, for the start-up advice on UV_THREADPOOL_SIZE (Node reads
   * it before any code runs, so it is not configuration). Default: no advice.
   */
  processEnv?: NodeJS.ProcessEnv;
}

/** The discover and download processors, on this worker's view of the fleet. */
function processorsLoop(
  w: WorkerFleet,
  tuning: WorkerTuning,
  metrics: WorkerMetrics,
  subscribe: (events: JobEvents) => void,
): Loop<BullWorkers> {
  const { config, logger, adapter, store, accounting, queues } = w.fleet;
  // One process-wide view of the LMS for both processors: its request slots (DOWNLOAD_CONCURRENCY)
  // and whether it serves the bearer PDF route. A discover job downloads what it finds; a
  // download job is a certificate handed off from one (or a raw producer's).
  const download = {
    store,
    fetcher: adapter.fetcher,
    strategy: config.downloadStrategy,
    apiSupport: new ApiSupportMemo(),
    fleet: w.control,
    lmsSlots: pLimit(config.concurrency.download),
  };
  return bullWorkersLoop({
    config,
    redis: w.fleet.redis,
    tuning,
    logger,
    subscribe,
    discover: createDiscoverProcessor({
      ...download,
      directory: adapter.directory,
      accounting,
      discoverQueue: queues.discover,
      downloadQueue: queues.download,
      // Twice the LMS requests in flight: the other half are storing (fsync).
      inFlight: pLimit(config.concurrency.download * STORING_JOBS_PER_REQUEST),
      // DISCOVER_CONCURRENCY listings at once, more in LMS request slots the downloads leave idle
      // (users with one certificate each: a listing per certificate).
      listingSlots: borrowingLimit(pLimit(config.concurrency.discover), download.lmsSlots),
      onDownloadEnded: (outcome, seconds) =>
        metrics.downloadEnded(
          outcome.status,
          outcome.status === 'stored' ? outcome.source : undefined,
          seconds,
        ),
      logger: logger.child({ queue: DISCOVER_QUEUE }),
    }),
    download: createDownloadProcessor({ ...download, logger: logger.child({ queue: DOWNLOAD_QUEUE }) }),
  });
}

/** The token keep-alive (the `maintenance` queue's processor). */
function tokenKeepAliveLoop(w: WorkerFleet): Loop {
  const { config, redis, tokens, webSession, logger } = w.fleet;
  return {
    name: 'token keep-alive',
    start: () =>
      startTokenKeepAlive({
        redis,
        prefix: config.queuePrefix,
        everyMs: config.keepAlive?.everyMs,
        tokens,
        ...(config.keepAlive?.webSession && webSession ? { session: webSession } : {}),
        breaker: { trip: w.trip },
        logger: logger.child({ component: 'keepalive' }),
      }),
  };
}

/** A schedule's firings (the `schedules` queue's processor). */
function scheduledBatchesLoop(w: WorkerFleet): Loop {
  const { config, redis, queues, logger } = w.fleet;
  return {
    name: 'schedules',
    start: () =>
      startScheduledBatches({
        queues,
        redis,
        prefix: config.queuePrefix,
        logger: logger.child({ component: 'schedules' }),
      }),
  };
}

/** The last loop: says the worker started (and ready), and first of all, that it is stopping. */
function readyLoop(
  w: WorkerFleet,
  pause: PauseWatch,
  ready: { now: boolean },
  env?: NodeJS.ProcessEnv,
): Loop {
  const { config, logger } = w.fleet;
  return {
    name: 'ready',
    async start() {
      const { discover, download } = config.concurrency;
      logger.info({ discover, download, strategy: config.downloadStrategy }, 'worker started');
      const poolAdvice = env ? threadpoolAdvice(env, download) : undefined;
      if (poolAdvice) logger.warn(poolAdvice);
      await pause.refresh();
      ready.now = true;
      return {
        stop: () => {
          ready.now = false;
          logger.info('worker stopping: finishing active jobs');
        },
      };
    },
  };
}

/** Start the loops in order (the health server first: /readyz says "starting" during the checks). */
async function startInOrder(
  loops: RunningLoops,
  w: WorkerFleet,
  parts: { tuning: WorkerTuning; metrics: WorkerMetrics; pause: PauseWatch; ready: { now: boolean } },
  options: StartWorkerOptions,
) {
  const { fleet } = w;
  const { tuning, metrics, pause, ready } = parts;
  await loops.start(pause.loop());
  const health = await loops.start(
    healthServerLoop({ fleet, metrics, pause, running: () => ready.now, localFaults: w.localFaults }),
  );
  if (options.checks) await loops.start(startupChecksLoop(w));
  const processing = await loops.start(
    processorsLoop(w, tuning, metrics, (events) => followJobEvents(w, events, metrics)),
  );
  await loops.start(localFaultsLoop(w, processing));
  const monitor = await loops.start(fleetMonitorLoop(w, tuning));
  const rest = [
    tokenKeepAliveLoop(w),
    batchWebhookLoop(fleet, metrics),
    batchEndsLoop(fleet, metrics),
    scheduledBatchesLoop(w),
    progressLoop(fleet, processing.events),
    sessionKeepAliveLoop(fleet),
    readyLoop(w, pause, ready, options.processEnv),
  ];
  for (const loop of rest) await loops.start(loop);
  return { healthUrl: health.url, monitor };
}

/** Run the discover and download processors of this process until `stop()`. */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const { config, logger, redis } = options;
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const fleet = await createFleet(config, redis, logger, {
    // Called only once requests flow, after `metrics` exists (the HTTP client swallows an observer's error).
    observeLmsRequest: (route, outcome, seconds) => metrics.lmsRequest(route, outcome, seconds),
    // Heard only by the worker whose settle finished the batch (the metric and the manifest file
    // follow the batch events instead: they hear of a batch a cancel or a submission ended too).
    onBatchDone: (batchIds) => {
      for (const batchId of batchIds) logger.info({ batchId }, 'batch done');
    },
  });
  const w = createWorkerFleet(fleet, tuning);
  const pause = new PauseWatch(fleet.breaker);
  const metrics = createFleetMetrics(fleet, pause);
  const ready = { now: false };
  const loops = new RunningLoops(logger);
  const stopAll = async (graceMs: number) => {
    await loops.stop({ graceMs });
    await fleet.close();
  };
  const started = await startInOrder(loops, w, { tuning, metrics, pause, ready }, options).catch(
    async (err: unknown) => {
      await stopAll(0);
      throw err;
    },
  );
  return {
    session: fleet.session,
    breaker: fleet.breaker,
    localFaults: w.localFaults,
    ...(started.healthUrl ? { healthUrl: started.healthUrl } : {}),
    monitorTick: () => started.monitor.tick(),
    async stop(graceMs = 60_000) {
      await stopAll(graceMs);
      logger.info('worker stopped');
    },
  };
}
