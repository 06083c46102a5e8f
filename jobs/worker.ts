/**
 * The worker's assembly: one process's discover and download workers, wired to the fleet's shared
 * parts (token store, web session, breaker, accounting). `checkBeforeStart` runs first when asked
 * (`certharvest worker` does); the library and tests may start without it.
 */
import { threadpoolAdvice } from '../src/worker/threadpool.ts';
import { Worker, type JobsOptions, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createTokenProvider, RedisLock, SealedBox } from '../src/auth/index.ts';
import {
  BrowserLogin,
  checkChromiumStarts,
  useChromiumSandbox,
  LoginFailedError,
  SessionStore,
  totpCodes,
  WebSession,
  type WebSessionOptions,
} from '../src/browser/index.ts';
import type { ConfigWith, WebLoginConfig } from '../src/config/index.ts';
import { FleetBreaker, LocalFaults, OutageClock, type PauseRecord } from '../src/fleet/index.ts';
import { RedisRateStateStore } from '../src/lms/index.ts';
import type { Logger } from '../src/log/index.ts';
import {
  BatchAccounting,
  BatchTracker,
  DISCOVER_JOB_OPTIONS,
  DISCOVER_QUEUE,
  DOWNLOAD_JOB_OPTIONS,
  DOWNLOAD_QUEUE,
  openQueues,
  jobEvents,
  settleFromJobEvents,
} from '../src/queue/index.ts';
import { CertificateStore } from '../src/storage/index.ts';
import { ApiSupportMemo } from '../src/worker/api-support.ts';
import { decide } from '../src/worker/failure-policy.ts';
import { startFleetMonitor } from '../src/worker/fleet-monitor.ts';
import type { FleetControl } from '../src/worker/handle-job-error.ts';
import { logProgress } from '../src/worker/progress-log.ts';
import { startSessionKeepAlive } from '../src/worker/session-keepalive.ts';
import { startTokenKeepAlive } from './maintenance.ts';
import { startScheduledBatches } from './scheduled-batches.ts';
import { startBatchWebhook } from '../src/worker/batch-webhook.ts';
import { createWorkerMetrics, startWorkerHealthServer } from '../src/server/worker-health.ts';
import { followBatchEnds, writeBatchManifest } from '../src/report/manifest-file.ts';
import { withTimeout } from '../src/util/with-timeout.ts';
import pLimit from 'p-limit';
import { checkBeforeStart } from '../src/worker/startup-checks.ts';
import { createDiscoverProcessor } from './discover.ts';
import { createDownloadProcessor } from './download.ts';

export type WorkerConfig = ConfigWith<'lms' | 'secrets-key'>;

/** Timing knobs; the defaults suit production, tests shorten them. */
export interface WorkerTuning {
  /** BullMQ job lock; renewed every half of it while a job runs. Default 15 000 ms. */
  lockDurationMs: number;
  /** How often a worker looks for jobs whose lock expired (a killed worker's). Default 10 000 ms. */
  stalledIntervalMs: number;
  /** Stalls a job may survive before it fails. Default 1. */
  maxStalledCount: number;
  /** The fleet monitor's round (pause probes, reconcile). Default 15 000 ms. */
  monitorEveryMs: number;
  /** Jobs younger than this are left to the event path by the reconciler. Default 30 000 ms. */
  reconcileMinAgeMs: number;
  /** How often a worker says "alive" and re-checks a fault of its own. Default 5 000 ms. */
  localCheckEveryMs: number;
}

export const DEFAULT_TUNING: WorkerTuning = {
  lockDurationMs: 15_000,
  stalledIntervalMs: 10_000,
  maxStalledCount: 1,
  monitorEveryMs: 15_000,
  reconcileMinAgeMs: 30_000,
  localCheckEveryMs: 5_000,
};

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
  redis: Redis;
  /** Run the start-up checks first (config errors throw `ConfigError`). Default false. */
  checks?: boolean;
  tuning?: Partial<WorkerTuning>;
}

/** The fleet's web session: Chromium logs in (one process at a time), Redis keeps the cookies sealed. */
export function createWebSession(options: {
  config: WorkerConfig;
  webLogin: WebLoginConfig;
  redis: Redis;
  breaker: FleetBreaker;
  logger: Logger;
  /** Told of every download with the session (the LMS request metrics). */
  observe?: WebSessionOptions['observe'];
}): WebSession {
  const { config, webLogin, redis, breaker, logger } = options;
  const store = new SessionStore({
    redis,
    box: SealedBox.fromSecret(config.secretsKey, config.secretsKeyPrevious),
    host: config.lms.host,
    keyPrefix: config.queuePrefix,
  });
  return new WebSession({
    lmsUrl: config.lms.url,
    store,
    ...(options.observe ? { observe: options.observe } : {}),
    // Long enough for a slow login (launch, form, redirects, the landing probe).
    lock: new RedisLock(redis, store.lockKey, { ttlMs: 120_000 }),
    maxPdfBytes: config.maxPdfBytes,
    profile: config.webSession.profile,
    logger,
    login: new BrowserLogin({
      lmsUrl: config.lms.url,
      username: webLogin.username,
      password: () => webLogin.password.reveal(),
      profile: config.webSession.profile,
      script: config.webSession.script,
      totp: webLogin.totpSecret ? totpCodes(webLogin.totpSecret) : undefined,
      chromiumPath: config.chromiumPath,
      logger,
    }),
    loginGate: {
      async heldBack() {
        const held = await breaker.loginHold();
        return held === null
          ? undefined
          : new LoginFailedError(`logins are held back until the password is fixed: ${held}`);
      },
      async refused(error) {
        await breaker.holdLogins(error.message);
        const d = decide(error);
        if (d.action === 'pause') await breaker.trip(d);
      },
    },
  });
}

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

/** Run the discover and download processors of this process until `stop()`. */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const { config, logger, redis } = options;
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  useChromiumSandbox(!config.chromiumNoSandbox);
  const lms = config.lms;
  const queues = openQueues(redis, config.queuePrefix);
  const breaker = new FleetBreaker({
    redis,
    prefix: config.queuePrefix,
    queues: [queues.discover, queues.download],
    logger: logger.child({ component: 'fleet' }),
  });
  const webLogin = config.webLogin;
  // The web session heals a refused refresh token whenever the service user's login is configured;
  // it downloads too unless DOWNLOAD_STRATEGY=api. Chromium starts only when a login is needed.
  const webSession = webLogin
    ? createWebSession({
        config,
        webLogin,
        redis,
        breaker,
        logger: logger.child({ component: 'browser' }),
        // Downloads with the session count as LMS requests (route `render`) once metrics exist.
        observe: (route, outcome, seconds) => metrics?.lmsRequest(route, outcome, seconds),
      })
    : undefined;
  const session = config.downloadStrategy === 'api' ? undefined : webSession;
  const tokens = await createTokenProvider({
    config,
    redis,
    logger: logger.child({ component: 'auth' }),
    ...(webSession ? { session: webSession } : {}),
  });
  // The LMS counts its request budget per app: the fleet spends it together.
  const rateState = new RedisRateStateStore(redis, config.queuePrefix, lms.host);
  // The configured LMS's module builds its adapter, and decides what it needs the session for.
  const adapter = await lms.site.createAdapter({
    lmsUrl: lms.url,
    tokens,
    webSession,
    downloadStrategy: config.downloadStrategy,
    logger,
    redis,
    prefix: config.queuePrefix,
    rateState,
    // Called only once requests flow, after `metrics` exists (the HTTP client swallows an observer's error).
    observeLmsRequest: (route, outcome, seconds) => metrics.lmsRequest(route, outcome, seconds),
  });
  const { directory, fetcher } = adapter;
  const store = new CertificateStore(config.outputDir, { lmsHost: lms.host, ...config.outputModes });
  const accounting = new BatchAccounting(redis, config.queuePrefix, {
    // Heard only by the worker whose settle finished the batch (the metric and the manifest file
    // follow the batch events instead: they hear of a batch a cancel or a submission ended too).
    onBatchDone: (batchIds) => {
      for (const batchId of batchIds) logger.info({ batchId }, 'batch done');
    },
  });
  const tracker = new BatchTracker(redis, config.queuePrefix);
  // BATCH_MANIFEST (default on): `OUTPUT_DIR/_batches/<id>.csv` once a batch ends.
  const writeManifests = config.batchManifest;
  /** One worker of the fleet hears of each ended batch: count it, and write its manifest file. */
  const batchEnded = async (batchId: string): Promise<void> => {
    const status = await tracker.status(batchId, 0);
    if (!status) return;
    metrics.batchSettled(status.state);
    if (!writeManifests) return;
    await writeBatchManifest(tracker, batchId, config.outputDir, config.outputModes).catch((err: unknown) =>
      logger.warn(
        { batchId, err },
        'the batch manifest file was not written (the batch is not affected; GET /api/batches/:id/certificates has it)',
      ),
    );
  };
  const outage = new OutageClock(redis, config.queuePrefix);
  // A fault only this process sees (its key, its disk, its browser) takes only this worker out.
  const localFaults = new LocalFaults({
    redis,
    prefix: config.queuePrefix,
    breaker,
    logger: logger.child({ component: 'fleet' }),
    everyMs: tuning.localCheckEveryMs,
    probes: {
      SECRETS_KEY_MISMATCH: async () => (await tokens.status(), true),
      OUTPUT_UNAVAILABLE: async () => (await store.checkWritable(), true),
      BROWSER_UNAVAILABLE: async () => (await checkChromiumStarts(config.chromiumPath), true),
    },
  });
  const trip = (t: Parameters<FleetBreaker['trip']>[0]) => localFaults.trip(t);
  const fleet: FleetControl = {
    breaker,
    trip,
    outage,
    outagePauseAfterMs: config.outagePauseAfterMs,
    logger: logger.child({ component: 'fleet' }),
  };

  // Probes first: /healthz answers (and /readyz says "starting") during the start-up checks.
  // The fleet's pause, read now and then: probes and metrics never wait on Redis for it.
  let pause: PauseRecord | null = null;
  let running = false;
  const refreshPause = () =>
    withTimeout(breaker.current(), 800, 'pause record').then(
      (p) => void (pause = p),
      () => undefined,
    );
  const pauseTimer = setInterval(() => void refreshPause(), 2_000);
  pauseTimer.unref();
  const metrics = createWorkerMetrics({
    webLogins: () => webSession?.stats.logins ?? 0,
    lmsThrottled: () => adapter.throttledAnswers(),
    tokenExpiresAt: async () => (await tokens.status()).expiresAt?.getTime(),
    tokenRefreshes: async () => (await tokens.status()).refreshCount,
    pause: () => pause,
  });
  const health = config.metrics
    ? await startWorkerHealthServer({
        ...config.metrics,
        redis,
        metrics,
        queues: [queues.discover, queues.download],
        pause: () => pause,
        running: () => running,
        localFault: () => localFaults.current(),
        logger,
      })
    : undefined;
  if (health) logger.info({ url: health.url }, 'worker health and metrics served');

  if (options.checks) {
    await checkBeforeStart({
      redis,
      tokens,
      store,
      queuePrefix: config.queuePrefix,
      session,
      chromiumPath: config.chromiumPath,
      breaker,
      trip,
      logger,
    }).catch(async (err: unknown) => {
      clearInterval(pauseTimer);
      await health?.close();
      await webSession?.close();
      await queues.close();
      throw err;
    });
  }

  const common = {
    connection: redis,
    prefix: config.queuePrefix,
    autorun: true,
    lockDuration: tuning.lockDurationMs,
    stalledInterval: tuning.stalledIntervalMs,
    maxStalledCount: tuning.maxStalledCount,
  } as const;
  const discover = new Worker(
    DISCOVER_QUEUE,
    createDiscoverProcessor({
      directory,
      store,
      accounting,
      discoverQueue: queues.discover,
      downloadQueue: queues.download,
      fleet,
      logger: logger.child({ queue: DISCOVER_QUEUE }),
    }),
    { ...common, ...cleanupOf(DISCOVER_JOB_OPTIONS), concurrency: config.concurrency.discover },
  );
  const download = new Worker(
    DOWNLOAD_QUEUE,
    createDownloadProcessor({
      store,
      fetcher,
      strategy: config.downloadStrategy,
      apiSupport: new ApiSupportMemo(),
      fleet,
      logger: logger.child({ queue: DOWNLOAD_QUEUE }),
      lmsSlots: pLimit(config.concurrency.download),
    }),
    // Twice the LMS requests: the other half are storing (fsync), so the disk never idles the LMS.
    {
      ...common,
      ...cleanupOf(DOWNLOAD_JOB_OPTIONS),
      concurrency: config.concurrency.download * STORING_JOBS_PER_REQUEST,
    },
  );
  // The job lifecycle, as typed events: each subscriber below hears what it needs, decided once.
  const events = jobEvents({ discover, download }, (err, name) =>
    logger.error({ err, event: name }, 'a job event listener failed'),
  );
  settleFromJobEvents(events, accounting, logger);
  events.on('download:settled', ({ outcome, seconds }) =>
    metrics.downloadEnded(
      outcome.status,
      outcome.status === 'stored' || outcome.status === 'already-stored' ? outcome.onDisk?.source : undefined,
      seconds,
    ),
  );
  events.on('job:completed', () => void outage.reachable().catch(() => {}));
  events.on('job:attempt-failed', ({ queue, job, error, final }) => {
    if (final) logger.warn({ queue, jobId: job.id, reason: error.message }, 'job failed');
  });
  for (const w of [discover, download]) {
    w.on('error', (err) => logger.error({ err, queue: w.name }, 'worker error'));
  }
  await Promise.all([discover.waitUntilReady(), download.waitUntilReady()]);
  // Out of service: this worker stops taking jobs (the active ones end as they may); back: takes them again.
  await localFaults.start({
    out: () => {
      for (const w of [discover, download]) void w.pause(true).catch(() => undefined);
    },
    back: () => {
      for (const w of [discover, download]) w.resume();
    },
  });

  const monitor = startFleetMonitor({
    redis,
    prefix: config.queuePrefix,
    breaker,
    accounting,
    queues,
    logger,
    everyMs: tuning.monitorEveryMs,
    reconcileMinAgeMs: tuning.reconcileMinAgeMs,
    probes: {
      AUTH_REFRESH_REFUSED: async () => {
        const status = await tokens.status();
        if (status.state === 'reauth-required' || status.state === 'not-bootstrapped') return false;
        await tokens.getAccessToken();
        return true;
      },
      SECRETS_KEY_MISMATCH: async () => (await tokens.status(), true),
      OUTPUT_UNAVAILABLE: async () => (await store.checkWritable(), true),
      LMS_UNREACHABLE: async () => {
        const up = await directory.reachable();
        if (up) await redis.del(outage.key);
        return up;
      },
      ...(session
        ? {
            BROWSER_UNAVAILABLE: async () => (await checkChromiumStarts(config.chromiumPath), true),
          }
        : {}),
    },
  });
  const keepAlive = await startTokenKeepAlive({
    redis,
    prefix: config.queuePrefix,
    everyMs: config.keepAlive?.everyMs,
    tokens,
    ...(config.keepAlive?.webSession && webSession ? { session: webSession } : {}),
    breaker: { trip },
    logger: logger.child({ component: 'keepalive' }),
  });
  const webhook = config.batchWebhook
    ? await startBatchWebhook({
        redis,
        prefix: config.queuePrefix,
        url: config.batchWebhook.url,
        secret: config.batchWebhook.secret,
        retryForMs: config.batchWebhook.retryForMs,
        alertAfterMs: config.batchWebhook.alertAfterMs,
        logger: logger.child({ component: 'webhook' }),
        onOutcome: (outcome) => metrics.webhookDelivery(outcome),
        ...(writeManifests ? { manifestFile: { outputDir: config.outputDir } } : {}),
      })
    : undefined;
  const batchEnds = await followBatchEnds({
    redis,
    prefix: config.queuePrefix,
    logger: logger.child({ component: 'batch-ends' }),
    onEnd: batchEnded,
  });
  if (webhook) metrics.addReadinessWarning(() => webhook.warning());
  const scheduled = await startScheduledBatches({
    queues,
    redis,
    prefix: config.queuePrefix,
    logger: logger.child({ component: 'schedules' }),
  });
  const stopProgress = logProgress(logger, events, session);
  const stopKeepAlive = session
    ? startSessionKeepAlive({
        session,
        redis,
        prefix: config.queuePrefix,
        queues: [queues.discover, queues.download],
        idleMs: config.webSession.idleMs,
        logger,
      })
    : () => {};
  logger.info(
    {
      discover: config.concurrency.discover,
      download: config.concurrency.download,
      strategy: config.downloadStrategy,
    },
    'worker started',
  );
  const poolAdvice = threadpoolAdvice(process.env, config.concurrency.download);
  if (poolAdvice) logger.warn(poolAdvice);
  await refreshPause();
  running = true;

  return {
    session,
    breaker,
    localFaults,
    ...(health ? { healthUrl: health.url } : {}),
    monitorTick: () => monitor.tick(),
    async stop(graceMs = 60_000) {
      running = false;
      clearInterval(pauseTimer);
      logger.info('worker stopping: finishing active jobs');
      monitor.stop();
      await localFaults.stop();
      stopProgress();
      stopKeepAlive();
      await keepAlive.stop();
      await webhook?.stop();
      await batchEnds.stop();
      await scheduled.stop();
      // BullMQ's first close() fixes its mode (a later close(true) returns the first close's
      // promise), so wait for the active jobs through pause() and choose the mode after the grace.
      const drained = Promise.all([discover.pause(), download.pause()]).then(() => 'drained' as const);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      const timedOut = (await Promise.race([drained, timer])) === 'timeout';
      if (timedOut) {
        logger.warn(
          { graceMs },
          'active jobs did not finish in time; another worker takes them over once their lock expires',
        );
      }
      await Promise.all([discover.close(timedOut), download.close(timedOut)]);
      await webSession?.close();
      await health?.close();
      await queues.close();
      logger.info('worker stopped');
    },
  };
}
