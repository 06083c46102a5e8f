/**
 * Mode certharvest: the real worker, in-process, against a sandbox LMS in a child process, with a
 * private redis-server and a temporary OUTPUT_DIR.
 *
 * The download queue is paused before the batch is submitted, so discovery queues every
 * certificate while nothing downloads; meanwhile the fleet logs in (Chromium, once), as the plain
 * loop logs in before its loop. Then the queue is resumed and the download phase is timed until
 * the batch is done. With `--pipelined` downloads overlap discovery, as in production, and only
 * the end-to-end time is measured. Every stored PDF is then checked byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import type { BatchStatus } from '../src/queue/index.ts';
import {
  downloadPhase,
  type DurationStats,
  log,
  onCleanup,
  outcomeOf,
  type PhaseClock,
  type RunResult,
  sandboxFigures,
  sha256,
  startDownloadPhase,
  KEEP_OUTPUT_ENV,
  tempDirs,
} from './harness.ts';
import {
  downloadJobTimes,
  filesystemType,
  commandsPerCertificate,
  redisCommandCounts,
  startCpuProfile,
  watchRenderRequests,
  type CommandCounts,
  type DownloadJobTimes,
  type RedisCommandFigures,
} from './diagnostics.ts';
import type { Options } from './options.ts';
import { chromiumDescendants, sampleResources, type ResourceSampler } from './resources.ts';
import { startSandboxProcess, type ExpectedCertificate } from './sandbox-process.ts';

/** How often the batch is polled: coarse, and fine once the last downloads are under way. */
const COARSE_POLL_MS = 100;
const FINE_POLL_MS = 5;

export async function runCertharvest(opts: Options): Promise<RunResult> {
  // Loaded here, not at the top, so the plain-fetch run's process never loads the worker's
  // modules (Playwright, BullMQ, …) and its RSS is a fair baseline.
  const [{ loadConfig }, { createLogger }, queue, { startRedisServer }, { startWorker }] = await Promise.all([
    import('../src/config/index.ts'),
    import('../src/log/index.ts'),
    import('../src/queue/index.ts'),
    import('../src/util/redis-server.ts'),
    import('../jobs/worker.ts'),
  ]);
  const { BatchTracker, connectRedis, openQueues, submitBatch } = queue;
  log(`certharvest: starting a sandbox LMS (latency ${opts.latencyMs} ms) and a private redis-server`);
  const sandbox = await startSandboxProcess({ certificates: opts.certificates, latencyMs: opts.latencyMs });
  const closeSandbox = onCleanup(() => sandbox.close());
  const redisServer = await startRedisServer();
  const stopRedis = onCleanup(() => redisServer.stop());
  const outputDir = await mkdtemp(path.join(os.tmpdir(), 'certharvest-bench-'));
  tempDirs.add(outputDir);
  const removeOutput = onCleanup(async () => {
    await rm(outputDir, { recursive: true, force: true });
    tempDirs.delete(outputDir);
  });

  const env: Record<string, string> = {
    ...sandbox.env,
    LMS: 'brightspace',
    AUTH_MODE: 'refresh-token',
    REDIS_URL: redisServer.url,
    QUEUE_PREFIX: 'certharvest-bench',
    SECRETS_KEY: randomBytes(32).toString('base64'),
    OUTPUT_DIR: outputDir,
    DOWNLOAD_STRATEGY: 'browser',
    DOWNLOAD_CONCURRENCY: String(opts.concurrency),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  if (opts.discoverConcurrency !== undefined) env.DISCOVER_CONCURRENCY = String(opts.discoverConcurrency);
  if (process.env.CHROMIUM_PATH) env.CHROMIUM_PATH = process.env.CHROMIUM_PATH;
  const config = loadConfig({ envFile: false, env, needs: ['lms', 'browser-login', 'secrets-key'] });
  // Worker logs go to stderr: stdout is the table (or the JSON).
  const logger = createLogger({ level: config.logLevel, destination: process.stderr, pretty: false });
  const redis = await connectRedis(config.redisUrl);
  const quitRedis = onCleanup(async () => void (await redis.quit()));

  const sampler = sampleResources(100);
  const startingWorker = Date.now();
  const worker = await startWorker({ config, logger, redis });
  const stopWorker = onCleanup(() => worker.stop(10_000));
  const workerStartSeconds = (Date.now() - startingWorker) / 1000;
  const session = worker.session;
  if (!session)
    throw new Error('the worker has no web session (DOWNLOAD_STRATEGY=browser should give it one)');
  const queues = openQueues(redis, config.queuePrefix);
  const closeQueues = onCleanup(() => queues.close());
  const tracker = new BatchTracker(redis, config.queuePrefix);

  const expected = sandbox.certificates;
  const paused = !opts.pipelined;
  log(
    `certharvest: ${sandbox.students.length} students of ${sandbox.userCount} hold ${expected.length} ` +
      `certificates; DOWNLOAD_CONCURRENCY=${config.concurrency.download}, ` +
      `DISCOVER_CONCURRENCY=${config.concurrency.discover}, DOWNLOAD_STRATEGY=${config.downloadStrategy}` +
      (paused ? '; downloads held back until discovery is done' : '; pipelined'),
  );

  const problems: string[] = [];
  if (paused) await queues.download.pause();
  const started = Date.now();
  const submitted = await submitBatch(
    { by: 'userId', users: sandbox.students },
    { queues, redis, prefix: config.queuePrefix },
  );
  const deadline = started + opts.timeoutSeconds * 1000;
  const until = (done: (s: BatchStatus) => boolean, everyMs: (s: BatchStatus) => number) =>
    pollBatch(() => tracker.status(submitted.batchId, 1), done, everyMs, deadline, started, expected.length);
  const batchDone = (s: BatchStatus) => s.done;

  let loginSeconds: number | null = null;
  let discoveryDone: number | null = null;
  let finished: BatchStatus | null;
  let phase: PhaseClock | null = null;
  let jobs: DownloadJobTimes | null = null;
  let redisCommands: RedisCommandFigures | null = null;
  let requestTimes: DurationStats | null = null;
  if (paused) {
    // The fleet's one login, while discovery runs (as it would at the first download), so the
    // download phase holds HTTP downloads only, like the plain loop after its own login.
    const loggingIn = Date.now();
    const [discovered, loginDone] = await Promise.all([
      until(
        (s) => !s.enumerating && s.usersDone + s.usersFailed >= s.usersTotal,
        () => COARSE_POLL_MS,
      ),
      session.probeLogin().then(() => Date.now()),
    ]);
    loginSeconds = (loginDone - loggingIn) / 1000;
    discoveryDone = Date.now();
    if (discovered) {
      if (discovered.certsStored + discovered.certsFailed > 0) {
        problems.push('certificates were downloaded while the download queue was paused');
      }
      const timed = await timeDownloads({
        resume: () => queues.download.resume(),
        // Fine polling only near the end, so the end is seen within a few ms without the polls
        // themselves adding much to the process's CPU.
        untilDone: () =>
          until(batchDone, (s) =>
            s.certsFound - s.certsStored - s.certsAlreadyStored - s.certsFailed > 2 * opts.concurrency
              ? COARSE_POLL_MS
              : FINE_POLL_MS,
          ),
        sampler,
        queue: queues.download,
        profile: opts.profile,
        commandCounts: () => redisCommandCounts(redis),
      });
      ({ finished, phase, requestTimes, jobs } = timed);
      redisCommands = commandsPerCertificate(timed.commandsBefore, timed.commandsAfter, expected.length);
    } else {
      finished = null;
    }
  } else {
    finished = await until(batchDone, () => COARSE_POLL_MS);
  }
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();

  const final = finished && (await tracker.status(submitted.batchId, 1000));
  if (!final) problems.push(`the batch was not done after ${opts.timeoutSeconds} s`);
  else {
    if (final.usersFailed > 0) problems.push(`${final.usersFailed} user(s) failed`);
    if (final.certsFailed > 0) problems.push(`${final.certsFailed} certificate(s) failed`);
    if (final.certsFound !== expected.length)
      problems.push(
        `the worker found ${final.certsFound} certificates, the sandbox holds ${expected.length}`,
      );
    for (const f of final.failures.slice(0, 5)) problems.push(`failure: ${f.ref}: [${f.code}] ${f.reason}`);
  }
  const verified = await verifyStored(outputDir, expected, problems);
  const outputFilesystem = await filesystemType(outputDir);

  // Stop everything of this mode now, so the next mode runs alone.
  await stopWorker();
  await closeQueues();
  await quitRedis();
  await stopRedis();
  await closeSandbox();
  // In a run of several rounds the parent removes every round's OUTPUT_DIR at the very end: ext4
  // scans the inodes deleted in the last ~30 s each time it makes a file (perf: `__ext4_new_inode`
  // → `recently_deleted`), so removing 2,000 files here would slow the next round's storage down.
  if (process.env[KEEP_OUTPUT_ENV] === '1') tempDirs.delete(outputDir);
  else await removeOutput();
  const left = chromiumDescendants();
  if (left.length > 0) {
    problems.push(`Chromium process(es) still running after worker.stop(): ${left.join(', ')} (killed)`);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  return {
    mode: 'certharvest',
    ...outcomeOf(expected, verified, problems, started, ended),
    download: phase && downloadPhase(phase, verified),
    requestTimes,
    loginSeconds,
    resources,
    browser: true,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
    phases: {
      workerStartSeconds,
      discoveryDoneSeconds: discoveryDone === null ? null : (discoveryDone - started) / 1000,
      users: sandbox.students.length,
      discoverConcurrency: config.concurrency.discover,
      paused,
      outputDir,
      outputFilesystem,
      jobs,
      redisCommands,
    },
  };
}

/** Resume the paused download queue and time the downloads until the batch is done. */
async function timeDownloads(args: {
  resume: () => Promise<void>;
  untilDone: () => Promise<BatchStatus | null>;
  sampler: ResourceSampler;
  queue: Queue;
  profile: string | undefined;
  commandCounts: () => Promise<CommandCounts>;
}): Promise<{
  finished: BatchStatus | null;
  phase: PhaseClock;
  requestTimes: DurationStats | null;
  jobs: DownloadJobTimes | null;
  commandsBefore: CommandCounts;
  commandsAfter: CommandCounts;
}> {
  const stopProfile = args.profile ? await startCpuProfile() : undefined;
  const commandsBefore = await args.commandCounts();
  const requests = watchRenderRequests();
  const stopClock = startDownloadPhase(args.sampler);
  const resumedAt = Date.now();
  await args.resume();
  const finished = await args.untilDone();
  const doneSeenAt = Date.now();
  const phase = stopClock();
  const commandsAfter = await args.commandCounts();
  const requestTimes = requests.stop();
  if (stopProfile && args.profile) {
    await writeFile(args.profile, JSON.stringify(await stopProfile()));
    log(`certharvest: CPU profile of the download phase written to ${args.profile}`);
  }
  const jobs = await downloadJobTimes(args.queue, resumedAt, doneSeenAt);
  return { finished, phase, requestTimes, jobs, commandsBefore, commandsAfter };
}

/**
 * Poll the batch until `done(status)` holds (returns that status) or the deadline passes (null).
 * Logs progress every 5 s.
 */
async function pollBatch(
  read: () => Promise<BatchStatus | null>,
  done: (s: BatchStatus) => boolean,
  everyMs: (s: BatchStatus) => number,
  deadline: number,
  started: number,
  expected: number,
): Promise<BatchStatus | null> {
  let lastReport = Date.now();
  for (;;) {
    const status = await read();
    const now = Date.now();
    if (status && done(status)) return status;
    if (status && now - lastReport >= 5_000) {
      lastReport = now;
      log(
        `certharvest: ${((now - started) / 1000).toFixed(0)} s: users ${status.usersDone}/${status.usersTotal}, ` +
          `certificates found ${status.certsFound}, stored ${status.certsStored}/${expected}, failed ${status.certsFailed}`,
      );
    }
    if (now > deadline) return null;
    await new Promise((r) => setTimeout(r, status ? everyMs(status) : COARSE_POLL_MS));
  }
}

/** Every expected certificate is on disk with the sandbox's bytes, from the web session, and nothing else is. */
async function verifyStored(
  outputDir: string,
  expected: readonly ExpectedCertificate[],
  problems: string[],
): Promise<number> {
  const { certificatePaths } = await import('../src/storage/index.ts');
  let verified = 0;
  const wrong: string[] = [];
  for (const cert of expected) {
    const paths = certificatePaths(outputDir, cert);
    try {
      const pdf = await readFile(paths.pdf);
      const sidecar = JSON.parse(await readFile(paths.sidecar, 'utf8')) as {
        sha256?: string;
        source?: string;
      };
      if (sha256(pdf) !== cert.sha256) wrong.push(`${paths.stem}: bytes differ from the sandbox's`);
      else if (sidecar.sha256 !== cert.sha256) wrong.push(`${paths.stem}: sidecar sha256 is wrong`);
      else if (sidecar.source !== 'browser')
        wrong.push(`${paths.stem}: source "${sidecar.source}", not browser`);
      else verified++;
    } catch (err) {
      wrong.push(`${paths.stem}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (wrong.length > 0)
    problems.push(
      `${wrong.length} certificate(s) not stored correctly, e.g. ${wrong.slice(0, 3).join('; ')}`,
    );
  let pdfFiles = 0;
  for (const dir of await readdir(outputDir)) {
    pdfFiles += (await readdir(path.join(outputDir, dir))).filter((f) => f.endsWith('.pdf')).length;
  }
  if (pdfFiles !== expected.length)
    problems.push(`${pdfFiles} PDF files in OUTPUT_DIR, expected ${expected.length}`);
  return verified;
}
