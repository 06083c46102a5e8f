import { randomBytes } from 'node:crypto';
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { sleep } from '../../util/with-timeout.ts';
import type { RedisServerHandle } from '../../util/redis-server.ts';
import { exitCodeOf } from '../exit-codes.ts';
import { QUEUE_DESCRIPTIONS } from '../queue-descriptions.ts';

/** The demo sandbox's port when it is free (else any free port). */
const DEMO_SANDBOX_PORT = 4470;

interface DemoOptions {
  users: string;
  keepOpen?: boolean;
  latencyMs: string;
  lms: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole product on the bundled sandbox LMS: starts the sandbox, a private Redis (unless REDIS_URL is set), ' +
        'a worker and Bull Board, submits every sandbox student, shows progress, prints where the PDFs are',
    )
    .option('--users <n>', 'students in the sandbox institution', '40')
    .option('--latency-ms <ms>', 'latency the sandbox adds to every answer', '0')
    .option('--keep-open', 'keep the sandbox, worker and board running after the batch, until Ctrl-C')
    .option('--lms <kind>', 'the LMS the sandbox plays: brightspace or blackboard (Learn)', 'brightspace')
    .addHelpText(
      'after',
      `
Output goes to OUTPUT_DIR (default ./certificates; ./certificates-blackboard for
--lms blackboard). The sandbox listens on port 4470 (4471 for Learn) so that its
host, which OUTPUT_DIR's marker records, is the same every run; when that port is
taken and OUTPUT_DIR is not set, this run's PDFs go to a new temporary folder.
Exit code 0 when every certificate is stored.

Examples:
  certharvest demo
  certharvest demo --lms blackboard    # the sandbox plays Blackboard Learn
  certharvest demo --users 400 --latency-ms 200 --keep-open   # watch the board`,
    )
    .action(async (opts: DemoOptions) => {
      const userCount = Number(opts.users);
      if (!Number.isInteger(userCount) || userCount < 1 || userCount > 100_000) {
        throw new UsageError(`--users: expected a whole number from 1 to 100000, got "${opts.users}"`);
      }
      const latencyMs = Number(opts.latencyMs);
      if (!Number.isFinite(latencyMs) || latencyMs < 0)
        throw new UsageError(`--latency-ms: expected a number ≥ 0, got "${opts.latencyMs}"`);
      if (opts.lms !== 'brightspace' && opts.lms !== 'blackboard') {
        throw new UsageError(`--lms: expected "brightspace" or "blackboard", got "${opts.lms}"`);
      }
      process.exitCode = await runDemo({
        userCount,
        latencyMs,
        keepOpen: opts.keepOpen === true,
        lms: opts.lms,
      });
    });
}

async function runDemo(opts: {
  userCount: number;
  latencyMs: number;
  keepOpen: boolean;
  lms: 'brightspace' | 'blackboard';
}): Promise<number> {
  // The whole product, loaded when the demo runs (this file stays here, not in a demo-run.ts: the
  // lint rule that keeps LMS names out of the product exempts it).
  const { startWorker } = await import('../../../jobs/worker.ts');
  const { loadConfig } = await import('../../config/index.ts');
  const { createLogger } = await import('../../log/index.ts');
  const { BatchTracker, connectRedis, openQueues, submitBatch } = await import('../../queue/index.ts');
  const { startSandbox } = await import('../../sandbox/index.ts');
  const { startBoardServer } = await import('../../server/index.ts');
  const { isPortFree } = await import('../../util/free-port.ts');
  const { startRedisServer } = await import('../../util/redis-server.ts');
  const { batchSucceeded, summary } = await import('../batch-report.ts');
  const { untilSignal } = await import('../signals.ts');
  const { watchBatch } = await import('../watch-batch.ts');
  const learn = opts.lms === 'blackboard';
  const base = loadConfig();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    console.log('certharvest demo');
    // A fixed port when free: the LMS host is part of every certificate's identity, so a second
    // demo run finds the first run's PDFs "already stored" instead of downloading them again.
    const fixedPort = learn ? DEMO_SANDBOX_PORT + 1 : DEMO_SANDBOX_PORT;
    const sandboxPort = (await isPortFree(fixedPort)) ? fixedPort : 0;
    const sandbox = await startSandbox({
      userCount: opts.userCount,
      port: sandboxPort,
      knobs: { latencyMs: opts.latencyMs },
    });
    cleanups.push(() => sandbox.close());
    console.log(
      `  sandbox LMS      ${sandbox.url}  (${learn ? 'Blackboard Learn' : 'Brightspace'}, ${sandbox.institution.students.length} students)`,
    );

    // One OUTPUT_DIR per LMS (docs/configuration.md, Output): Learn's demo keeps its PDFs beside Brightspace's.
    let outputDir = learn && !process.env.OUTPUT_DIR ? `${base.outputDir}-blackboard` : base.outputDir;
    if (sandboxPort === 0 && !process.env.OUTPUT_DIR) {
      // The default folder is marked for the sandbox on its fixed port (OUTPUT_DIR's marker: one
      // folder, one LMS host); a sandbox on another port is another host, so it gets a folder of its own.
      outputDir = await mkdtemp(path.join(tmpdir(), 'certharvest-demo-'));
      console.log(`  (port ${fixedPort} is taken: this run's PDFs go to a new folder, ${outputDir})`);
    }

    let redisServer: RedisServerHandle | undefined;
    if (!process.env.REDIS_URL) {
      redisServer = await startRedisServer();
      cleanups.push(() => redisServer!.stop());
    }
    const redisUrl = redisServer?.url ?? base.redisUrl.reveal();
    console.log(
      `  redis            ${redisServer ? `private redis-server on port ${redisServer.port}` : 'REDIS_URL'}`,
    );

    const boardPassword = randomBytes(9).toString('base64url');
    const config = loadConfig({
      envFile: false,
      env: {
        ...process.env,
        ...(learn
          ? { ...sandbox.learnEnv, AUTH_MODE: 'client-credentials' }
          : { ...sandbox.env, LMS: 'brightspace', AUTH_MODE: 'refresh-token' }),
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: redisServer ? 'certharvest' : `certharvest-demo`,
        SECRETS_KEY: randomBytes(32).toString('base64'),
        BOARD_USER: 'demo',
        BOARD_PASSWORD: boardPassword,
        OUTPUT_DIR: outputDir,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
      needs: ['lms', 'browser-login', 'secrets-key', 'board-auth'],
    });
    const logger = createLogger({
      level: config.logLevel,
      ...(config.logFormat ? { format: config.logFormat } : {}),
    });
    const redis = await connectRedis(config.redisUrl);
    cleanups.push(async () => void (await redis.quit()));

    const worker = await startWorker({ config, logger, redis, checks: true });
    cleanups.push(() => worker.stop(10_000));
    const queues = openQueues(redis, config.queuePrefix);
    cleanups.push(() => queues.close());

    const port = (await isPortFree(config.board.port, config.board.host)) ? config.board.port : 0;
    const board = await startBoardServer({
      queues: [queues.discover, queues.download, queues.maintenance, queues.schedules],
      redis,
      user: 'demo',
      password: boardPassword,
      host: config.board.host,
      port,
      logger,
      descriptions: QUEUE_DESCRIPTIONS,
      breaker: worker.breaker,
      // The demo's board is for trying things: retry and clean jobs, on a sandbox.
      readOnly: false,
      envLabel: 'demo (sandbox)',
      batchPages: { queues, prefix: config.queuePrefix },
    });
    cleanups.push(() => board.close());
    console.log(`  Bull Board       ${board.url}  (user demo, password ${boardPassword})`);
    console.log(`  output folder    ${config.outputDir}`);
    console.log('');

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
    console.log('');
    console.log(summary(final));
    console.log('');
    const ok = batchSucceeded(final);
    const logins = worker.session?.stats.logins ?? 0;
    if (ok) {
      console.log(
        `Every certificate is stored: ${final.certsStored + final.certsAlreadyStored} PDF(s) in ${config.outputDir} ` +
          `(${final.certsStored} downloaded in ${seconds.toFixed(1)} s, ${final.certsAlreadyStored} already stored; ${logins} web login(s)).`,
      );
    } else {
      console.log(`Some certificates failed; see the failures above and the board at ${board.url}`);
    }
    // The manifest is written by the worker that takes the batch's end: give it a moment.
    const manifest = path.join(config.outputDir, '_batches', `${submitted.batchId}.csv`);
    const written = await waitForFile(manifest, 5_000);
    console.log(
      written
        ? `The batch's manifest (one row per certificate: user, title, status, path, sha256): ${manifest}`
        : `The batch's manifest: certharvest status ${submitted.batchId} --certificates --csv`,
    );
    console.log(`The batch page: ${board.url}batches/${submitted.batchId}`);
    if (opts.keepOpen) {
      console.log(
        `\nThe sandbox, worker and board keep running: ${board.url} (user demo, password ${boardPassword}). Ctrl-C stops.`,
      );
      await untilSignal();
    } else {
      console.log(`The board at ${board.url} closes with the demo (use --keep-open to keep it).`);
    }
    return exitCodeOf(final.state);
  } finally {
    await cleanup();
  }
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
