import { randomBytes } from 'node:crypto';
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RedisConnection } from '../../util/redis-nodes.ts';
import { startWorker, type WorkerHandle } from '../../../jobs/worker.ts';
import { loadConfig } from '../../config/index.ts';
import type { Config, ConfigWith } from '../../config/shape.ts';
import { createLogger } from '../../log/index.ts';
import { BatchTracker, connectRedis, openQueues, submitBatch, type BatchStatus } from '../../queue/index.ts';
import { startBoardServer, type BoardServer } from '../../server/index.ts';
import { isPortFree } from '../../util/free-port.ts';
import { startRedisServer } from '../../util/redis-server.ts';
import { sleep } from '../../util/with-timeout.ts';
import { batchSucceeded, summary } from '../batch-report.ts';
import { exitCodeOf } from '../exit-codes.ts';
import { QUEUE_DESCRIPTIONS } from '../queue-descriptions.ts';
import { untilSignal } from '../signals.ts';
import { watchBatch } from '../watch-batch.ts';
import { loadSandboxPackage, type RunningSandbox, type SandboxPackage } from './sandbox-package.ts';

/** The demo sandbox's port when it is free (else any free port). */
const DEMO_SANDBOX_PORT = 4470;

export interface DemoOptions {
  userCount: number;
  latencyMs: number;
  keepOpen: boolean;
  lms: 'brightspace' | 'blackboard';
}

/** The demo's configuration: a worker's, with the web login and the board's password. */
type DemoConfig = ConfigWith<'lms' | 'browser-login' | 'secrets-key' | 'board-auth'>;

/** What the demo started, stopped in reverse order. */
type Cleanups = (() => Promise<void>)[];

/** `certharvest demo`: the sandbox, a Redis, a worker and the board; one batch of every student. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const sandboxPackage = await loadSandboxPackage();
  const base = loadConfig();
  const cleanups: Cleanups = [];
  try {
    console.log('certharvest demo');
    const { sandbox, outputDir } = await startDemoSandbox(sandboxPackage, opts, base.outputDir, cleanups);
    const redisUrl = await startDemoRedis(base, cleanups);
    const boardPassword = randomBytes(9).toString('base64url');
    const config = demoConfig({
      sandbox,
      lms: opts.lms,
      redisUrl,
      cluster: base.redisCluster !== undefined,
      outputDir,
      boardPassword,
    });
    const logger = createLogger({
      level: config.logLevel,
      ...(config.logFormat ? { format: config.logFormat } : {}),
    });
    const redis = await connectRedis(config);
    cleanups.push(async () => void (await redis.quit()));
    const worker = await startWorker({ config, logger, redis, checks: true, processEnv: process.env });
    cleanups.push(() => worker.stop(10_000));
    const queues = openQueues(redis, config.queuePrefix);
    cleanups.push(() => queues.close());
    const board = await startDemoBoard({ config, logger, redis, queues, worker, boardPassword });
    cleanups.push(() => board.close());
    console.log(`  Bull Board       ${board.url}  (user demo, password ${boardPassword})`);
    console.log(`  output folder    ${config.outputDir}\n`);

    const students = sandbox.institution.students.map((u) => u.UserId);
    const submitted = await submitBatch(
      { by: 'userId', users: students },
      { queues, redis, prefix: config.queuePrefix },
    );
    console.log(`submitted batch ${submitted.batchId}: ${submitted.queued} students`);
    const started = Date.now();
    const final = await watchBatch(new BatchTracker(redis, config.queuePrefix), submitted.batchId, {
      breaker: worker.breaker,
    });
    const seconds = (Date.now() - started) / 1000;
    await reportDemo({ final, seconds, config, worker, board, boardPassword, keepOpen: opts.keepOpen });
    if (opts.keepOpen) await untilSignal();
    return exitCodeOf(final.state);
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  }
}

/** The sandbox on its fixed port when free, and the folder this run's PDFs go to. */
async function startDemoSandbox(
  { startSandbox }: SandboxPackage,
  opts: DemoOptions,
  defaultOutputDir: string,
  cleanups: Cleanups,
): Promise<{ sandbox: RunningSandbox; outputDir: string }> {
  const learn = opts.lms === 'blackboard';
  // A fixed port when free: the LMS host is part of every certificate's identity, so a second
  // demo run finds the first run's PDFs "already stored" instead of downloading them again.
  const fixedPort = learn ? DEMO_SANDBOX_PORT + 1 : DEMO_SANDBOX_PORT;
  const port = (await isPortFree(fixedPort)) ? fixedPort : 0;
  const sandbox = await startSandbox({
    userCount: opts.userCount,
    port,
    knobs: { latencyMs: opts.latencyMs },
  });
  cleanups.push(() => sandbox.close());
  console.log(
    `  sandbox LMS      ${sandbox.url}  (${learn ? 'Blackboard Learn' : 'Brightspace'}, ${sandbox.institution.students.length} students)`,
  );
  // One OUTPUT_DIR per LMS (docs/configuration.md, Output): Learn's demo keeps its PDFs beside Brightspace's.
  let outputDir = learn && !process.env.OUTPUT_DIR ? `${defaultOutputDir}-blackboard` : defaultOutputDir;
  if (port === 0 && !process.env.OUTPUT_DIR) {
    // The default folder is marked for the sandbox on its fixed port (OUTPUT_DIR's marker: one
    // folder, one LMS host); a sandbox on another port is another host, so it gets a folder of its own.
    outputDir = await mkdtemp(path.join(tmpdir(), 'certharvest-demo-'));
    console.log(`  (port ${fixedPort} is taken: this run's PDFs go to a new folder, ${outputDir})`);
  }
  return { sandbox, outputDir };
}

/** REDIS_URL when set, else a private redis-server for the demo; its URL. */
async function startDemoRedis(base: Config, cleanups: Cleanups): Promise<string> {
  if (process.env.REDIS_URL) {
    console.log('  redis            REDIS_URL');
    return base.redisUrl.reveal();
  }
  const server = await startRedisServer();
  cleanups.push(() => server.stop());
  console.log(`  redis            private redis-server on port ${server.port}`);
  return server.url;
}

/** The worker's configuration: the environment, with the sandbox's `.env` and the demo's own settings. */
function demoConfig(parts: {
  sandbox: RunningSandbox;
  lms: DemoOptions['lms'];
  redisUrl: string;
  /** REDIS_URL names a Redis Cluster (the demo's own Redis is one server). */
  cluster: boolean;
  outputDir: string;
  boardPassword: string;
}): DemoConfig {
  const { sandbox, lms } = parts;
  return loadConfig({
    envFile: false,
    env: {
      ...process.env,
      ...(lms === 'blackboard'
        ? { ...sandbox.learnEnv, AUTH_MODE: 'client-credentials' }
        : { ...sandbox.env, LMS: 'brightspace', AUTH_MODE: 'refresh-token' }),
      REDIS_URL: parts.redisUrl,
      // On the demo's own Redis: no cluster settings (an empty variable means unset).
      ...(process.env.REDIS_URL ? {} : { REDIS_CLUSTER: '', REDIS_CLUSTER_NODES: '' }),
      QUEUE_PREFIX: !process.env.REDIS_URL
        ? 'certharvest'
        : parts.cluster
          ? '{certharvest-demo}'
          : 'certharvest-demo',
      SECRETS_KEY: randomBytes(32).toString('base64'),
      BOARD_USER: 'demo',
      BOARD_PASSWORD: parts.boardPassword,
      OUTPUT_DIR: parts.outputDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    needs: ['lms', 'browser-login', 'secrets-key', 'board-auth'],
  });
}

/** Bull Board on its configured port when free, writable: the demo's board is for trying things. */
async function startDemoBoard(parts: {
  config: DemoConfig;
  logger: ReturnType<typeof createLogger>;
  redis: RedisConnection;
  queues: ReturnType<typeof openQueues>;
  worker: WorkerHandle;
  boardPassword: string;
}): Promise<BoardServer> {
  const { config, queues } = parts;
  const port = (await isPortFree(config.board.port, config.board.host)) ? config.board.port : 0;
  return startBoardServer({
    queues: [queues.discover, queues.download, queues.maintenance, queues.schedules],
    redis: parts.redis,
    user: 'demo',
    password: parts.boardPassword,
    host: config.board.host,
    port,
    logger: parts.logger,
    descriptions: QUEUE_DESCRIPTIONS,
    breaker: parts.worker.breaker,
    // The demo's board is for trying things: retry and clean jobs, on a sandbox.
    readOnly: false,
    envLabel: 'demo (sandbox)',
    batchPages: { queues, prefix: config.queuePrefix },
  });
}

/** The summary, where the PDFs and the manifest are, and whether the board stays. */
async function reportDemo(parts: {
  final: BatchStatus;
  seconds: number;
  config: DemoConfig;
  worker: WorkerHandle;
  board: BoardServer;
  boardPassword: string;
  keepOpen: boolean;
}): Promise<void> {
  const { final, config, board } = parts;
  console.log(`\n${summary(final)}\n`);
  if (batchSucceeded(final)) {
    const logins = parts.worker.session?.stats.logins ?? 0;
    console.log(
      `Every certificate is stored: ${final.certsStored + final.certsAlreadyStored} PDF(s) in ${config.outputDir} ` +
        `(${final.certsStored} downloaded in ${parts.seconds.toFixed(1)} s, ${final.certsAlreadyStored} already stored; ${logins} web login(s)).`,
    );
  } else {
    console.log(`Some certificates failed; see the failures above and the board at ${board.url}`);
  }
  // The manifest is written by the worker that takes the batch's end: give it a moment.
  const manifest = path.join(config.outputDir, '_batches', `${final.batchId}.csv`);
  console.log(
    (await waitForFile(manifest, 5_000))
      ? `The batch's manifest (one row per certificate: user, title, status, path, sha256): ${manifest}`
      : `The batch's manifest: certharvest status ${final.batchId} --certificates --csv`,
  );
  console.log(`The batch page: ${board.url}batches/${final.batchId}`);
  console.log(
    parts.keepOpen
      ? `\nThe sandbox, worker and board keep running: ${board.url} (user demo, password ${parts.boardPassword}). Ctrl-C stops.`
      : `The board at ${board.url} closes with the demo (use --keep-open to keep it).`,
  );
}

/** Whether `file` exists within `timeoutMs` (looked for every 100 ms). */
async function waitForFile(file: string, timeoutMs: number): Promise<boolean> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}
