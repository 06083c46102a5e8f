import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createTokenProvider } from '../auth/index.ts';
import { WebSession } from '../browser/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { BatchTracker, DISCOVER_QUEUE, DOWNLOAD_QUEUE, openQueues } from '../queue/index.ts';
import { CertificateStore } from '../storage/index.ts';
import { createDiscoverProcessor } from '../../jobs/discover.ts';
import { createDownloadProcessor } from '../../jobs/download.ts';
import { ApiSupportMemo } from './api-support.ts';
import { createBrightspacePorts } from './brightspace-adapter.ts';

export interface WorkerHandle {
  session: WebSession | undefined;
  /** Stop taking jobs, let the active ones finish (up to `graceMs`), close everything. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartWorkerOptions {
  config: Config;
  logger: Logger;
  redis: Redis;
}

/** Run the discover and download processors of this process until `stop()`. */
export async function startWorker({ config, logger, redis }: StartWorkerOptions): Promise<WorkerHandle> {
  const lmsUrl = config.lmsUrl;
  if (!lmsUrl) throw new Error('startWorker needs LMS_URL (checked by loadConfig)');
  const tokens = await createTokenProvider({ config, redis, logger: logger.child({ component: 'auth' }) });
  const session =
    config.downloadStrategy === 'api' || !config.lmsUsername || !config.lmsPassword
      ? undefined
      : new WebSession({
          lmsUrl,
          username: config.lmsUsername,
          password: () => config.lmsPassword?.reveal() ?? '',
          chromiumPath: config.chromiumPath,
          logger: logger.child({ component: 'browser' }),
        });
  const { directory, fetcher } = createBrightspacePorts({ lmsUrl, tokens, session, logger });
  const store = new CertificateStore(config.outputDir);
  const tracker = new BatchTracker(redis, config.queuePrefix);
  const queues = openQueues(redis, config.queuePrefix);

  const common = { connection: redis, prefix: config.queuePrefix, autorun: true } as const;
  const discover = new Worker(
    DISCOVER_QUEUE,
    createDiscoverProcessor({
      directory,
      store,
      tracker,
      discoverQueue: queues.discover,
      downloadQueue: queues.download,
      logger: logger.child({ queue: DISCOVER_QUEUE }),
    }),
    { ...common, concurrency: config.concurrency.discover },
  );
  const download = new Worker(
    DOWNLOAD_QUEUE,
    createDownloadProcessor({
      store,
      tracker,
      fetcher,
      strategy: config.downloadStrategy,
      apiSupport: new ApiSupportMemo(),
      lmsHost: directory.host,
      logger: logger.child({ queue: DOWNLOAD_QUEUE }),
    }),
    // A lock long enough for a re-login plus a slow download; stalled jobs are retried elsewhere.
    { ...common, concurrency: config.concurrency.download, lockDuration: 120_000 },
  );
  for (const w of [discover, download]) {
    w.on('error', (err) => logger.error({ err, queue: w.name }, 'worker error'));
    w.on('failed', (job, err) => {
      if (job && (job.finishedOn || err.name === 'UnrecoverableError')) {
        logger.warn({ queue: w.name, jobId: job.id, reason: err.message }, 'job failed');
      }
    });
  }
  await Promise.all([discover.waitUntilReady(), download.waitUntilReady()]);
  const stopProgress = logProgress(logger, { discover, download }, session, PROGRESS_EVERY_MS);
  logger.info(
    {
      discover: config.concurrency.discover,
      download: config.concurrency.download,
      strategy: config.downloadStrategy,
    },
    'worker started',
  );

  return {
    session,
    async stop(graceMs = 60_000) {
      logger.info('worker stopping: finishing active jobs');
      stopProgress();
      const closing = Promise.all([discover.close(), download.close()]);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([closing, timer])) === 'timeout') {
        logger.warn(
          { graceMs },
          'active jobs did not finish in time; they will be retried by another worker',
        );
        await Promise.all([discover.close(true), download.close(true)]);
      }
      await session?.close();
      await queues.close();
      logger.info('worker stopped');
    },
  };
}

/** How often a running worker logs one progress line. */
const PROGRESS_EVERY_MS = 30_000;

/**
 * One periodic log line with what this process did since the last one: jobs completed and failed
 * per queue, downloads per second, web logins, and the failure codes seen (a small histogram).
 */
function logProgress(
  logger: Logger,
  workers: { discover: Worker; download: Worker },
  session: WebSession | undefined,
  everyMs: number,
): () => void {
  const counts = { discover: { done: 0, attemptsFailed: 0 }, download: { done: 0, attemptsFailed: 0 } };
  const codes = new Map<string, number>();
  for (const [name, worker] of Object.entries(workers) as [keyof typeof counts, Worker][]) {
    worker.on('completed', () => counts[name].done++);
    worker.on('failed', (_job, err) => {
      counts[name].attemptsFailed++;
      const code = /^\[([A-Z0-9_]+)\]/.exec(err.message)?.[1] ?? err.name;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    });
  }
  let last = Date.now();
  const timer = setInterval(() => {
    const seconds = (Date.now() - last) / 1000;
    last = Date.now();
    const idle =
      counts.discover.done +
        counts.discover.attemptsFailed +
        counts.download.done +
        counts.download.attemptsFailed ===
      0;
    if (!idle) {
      logger.info(
        {
          discover: { ...counts.discover },
          download: { ...counts.download },
          downloadsPerSecond: Number((counts.download.done / seconds).toFixed(2)),
          webLogins: session?.stats.logins ?? 0,
          failures: Object.fromEntries(codes),
        },
        'progress',
      );
    }
    counts.discover = { done: 0, attemptsFailed: 0 };
    counts.download = { done: 0, attemptsFailed: 0 };
    codes.clear();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
