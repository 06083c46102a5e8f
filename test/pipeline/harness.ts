import { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchTracker,
  connectRedis,
  openQueues,
  submitBatch,
  type BatchStatus,
  type BatchSubmission,
  type CertharvestQueues,
  type RedisConnection,
  type SubmitResult,
} from '../../src/queue/index.ts';
import { startSandbox, type Sandbox, type SandboxKnobs, type SandboxOptions } from '@certharvest/sandbox';
import { startWorker, type WorkerConfig, type WorkerHandle, type WorkerTuning } from '../../jobs/worker.ts';
import { FleetBreaker } from '../../src/fleet/index.ts';
import { sleepUntil, tempDir, testRedisEnv, uniquePrefix } from '../helpers/index.ts';

export interface Pipeline {
  sandbox: Sandbox;
  config: WorkerConfig;
  env: Record<string, string>;
  redis: RedisConnection;
  queues: CertharvestQueues;
  tracker: BatchTracker;
  breaker: FleetBreaker;
  /** The in-process worker (undefined until `startWorker()` when started with `worker: false`). */
  worker: WorkerHandle;
  startWorker(): Promise<WorkerHandle>;
  outputDir: string;
  /** Every log line the worker wrote (JSON text), for secret scans. */
  logs: string[];
  submit(batch: BatchSubmission): Promise<SubmitResult>;
  waitDone(batchId: string, timeoutMs?: number): Promise<BatchStatus>;
  close(): Promise<void>;
}

export interface PipelineOptions {
  /** The LMS the sandbox plays for the worker. Default brightspace. */
  lms?: 'brightspace' | 'blackboard';
  sandbox?: SandboxOptions;
  knobs?: Partial<SandboxKnobs>;
  /** Worker configuration on top of the sandbox's; a function when it needs the started sandbox. */
  env?: Record<string, string> | ((sandbox: Sandbox) => Record<string, string>);
  /** Default: the test run's Redis (a cluster in the cluster run). */
  redisUrl?: string;
  /** Start the in-process worker now (default) or later, with `startWorker()`. */
  worker?: boolean;
  /** Worker timing; the harness default is short (fast reconcile and stall detection). */
  tuning?: Partial<WorkerTuning>;
}

/** Short timings so tests see take-overs, probes and reconciles in seconds. */
export const TEST_TUNING: Partial<WorkerTuning> = {
  lockDurationMs: 5_000,
  stalledIntervalMs: 2_000,
  monitorEveryMs: 500,
  reconcileMinAgeMs: 3_000,
};

/** Sandbox + the run's Redis (own prefix) + a temp OUTPUT_DIR + an in-process worker. */
export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const sandbox = await startSandbox({
    userCount: 40,
    ...options.sandbox,
    knobs: { ...options.sandbox?.knobs, ...options.knobs },
  });
  const out = await tempDir('certharvest-out');
  const lmsEnv: Record<string, string> =
    options.lms === 'blackboard'
      ? { ...sandbox.learnEnv }
      : { ...sandbox.env, OAUTH_REFRESH_TOKEN: await sandbox.issueRefreshToken() };
  const env: Record<string, string> = {
    ...lmsEnv,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : testRedisEnv()),
    QUEUE_PREFIX: uniquePrefix('pipe'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    OUTPUT_DIR: out.dir,
    DOWNLOAD_CONCURRENCY: '4',
    DISCOVER_CONCURRENCY: '2',
    LOG_LEVEL: 'debug',
    ...(typeof options.env === 'function' ? options.env(sandbox) : options.env),
  };
  const config = loadConfig({ env, envFile: false, needs: ['lms', 'secrets-key'] });
  const tuning = { ...TEST_TUNING, ...options.tuning };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const redis = await connectRedis(config);
  const queues = openQueues(redis, config.queuePrefix);
  const tracker = new BatchTracker(redis, config.queuePrefix);
  const breaker = new FleetBreaker({
    redis,
    prefix: config.queuePrefix,
    queues: [queues.discover, queues.download],
    logger,
  });
  let worker: WorkerHandle | undefined;
  const start = async () => (worker = await startWorker({ config, logger, redis, tuning }));
  if (options.worker !== false) await start();
  return {
    sandbox,
    config,
    env,
    redis,
    queues,
    tracker,
    breaker,
    get worker(): WorkerHandle {
      if (!worker) throw new Error('the worker was not started (call startWorker())');
      return worker;
    },
    startWorker: start,
    outputDir: out.dir,
    logs,
    submit: (batch) => submitBatch(batch, { queues, redis, prefix: config.queuePrefix }),
    async waitDone(batchId, timeoutMs = 60_000) {
      return sleepUntil(
        async () => {
          const s = await tracker.status(batchId, 1000);
          return s?.done ? s : undefined;
        },
        timeoutMs,
        100,
      );
    },
    async close() {
      await worker?.stop(5_000);
      await queues.close();
      await redis.quit();
      await sandbox.close();
      await out.cleanup();
    },
  };
}

/** The first `n` students that have at least one certificate, and (for contrast) all first `n`. */
export function studentsWithCertificates(sandbox: Sandbox, n: number): number[] {
  return sandbox.institution.students
    .filter((s) => sandbox.institution.certificatesOf(s.UserId).length > 0)
    .slice(0, n)
    .map((s) => s.UserId);
}

/** Every certificate of `users` is on disk with the sandbox's exact bytes; returns how many. */
export async function expectAllStoredWhole(pipe: Pipeline, users: number[]): Promise<number> {
  let n = 0;
  for (const u of users) {
    for (const c of pipe.sandbox.institution.certificatesOf(u)) {
      const pdf = await readFile(path.join(pipe.outputDir, String(u), `${c.OrgUnitId}-${c.IssuedId}.pdf`));
      expect(sha256(pdf)).toBe(sha256(await pipe.sandbox.certificatePdf(c.IssuedId)));
      n++;
    }
  }
  return n;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
