/**
 * Mode certharvest: the real worker, in-process, against a sandbox LMS in a child process, with a
 * private redis-server and a temporary OUTPUT_DIR.
 *
 * A discover job downloads the certificates it finds (docs/architecture.md, "The job model"), so
 * the download phase cannot be held back behind discovery. It runs on a sandbox that answers
 * logins and listings at once and only certificates after the latency (`latencyCertificatesOnly`),
 * with the fleet logged in beforehand (Chromium, once), as the plain loop logs in before its loop:
 * from the submission until the batch is done is then the time of the downloads. With
 * `--pipelined` the sandbox delays every answer, as in production, and only the end-to-end time
 * is measured. Every stored PDF is then checked byte for byte.
 *
 * Variants of the same run:
 *   download  (mode certharvest) as above: the download phase (the whole batch, listings free)
 *   e2e       (mode certharvest-e2e) pipelined, the batch submitted as the whole institution
 *             (`allUsers`: the worker lists the users, as the discovering loop does): submit → done
 *   rss       (the RSS step) pipelined, one big batch at a low latency; the worker's peak RSS is
 *             taken when the first and the second checkpoint's number of certificates are stored
 * Every variant also measures the whole batch from the submission to done: the worker process's
 * CPU and the Redis commands (`INFO commandstats` before and after, the bench's polls taken out).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BatchStatus } from '../src/queue/index.ts';
import {
  downloadPhase,
  type DurationStats,
  log,
  onCleanup,
  outcomeOf,
  type PhaseClock,
  type RssCheckpoint,
  type RunResult,
  sandboxFigures,
  sha256,
  startClock,
  startDownloadPhase,
  KEEP_OUTPUT_ENV,
  tempDirs,
  wholeBatch,
} from './harness.ts';
import {
  downloadJobTimes,
  filesystemType,
  commandsPerCertificate,
  redisCommandCounts,
  startCpuProfile,
  statusReadCommands,
  watchRenderRequests,
  type CommandCounts,
  type DownloadJobTimes,
  type RedisCommandFigures,
} from './diagnostics.ts';
import { sandboxShape, type Options } from './options.ts';
import { chromiumDescendants, sampleResources, type ResourceSampler } from './resources.ts';
import { startSandboxProcess, type ExpectedCertificate } from './sandbox-process.ts';

/** How often the batch is polled: coarse, and fine once the last downloads are under way. */
const COARSE_POLL_MS = 100;
const FINE_POLL_MS = 5;

export type CertharvestVariant = 'download' | 'e2e' | 'rss';

const LABELS: Record<CertharvestVariant, string> = {
  download: 'certharvest',
  e2e: 'certharvest e2e',
  rss: 'certharvest rss',
};

export const runCertharvestE2e = (opts: Options) => runCertharvest(opts, 'e2e');
export const runCertharvestRss = (opts: Options) => runCertharvest(opts, 'rss');

export async function runCertharvest(
  opts: Options,
  variant: CertharvestVariant = 'download',
): Promise<RunResult> {
  const label = LABELS[variant];
  const rssPoints = variant === 'rss' ? opts.rssCertificates : null;
  if (variant === 'rss' && !rssPoints) throw new Error('the RSS step needs --rss-certificates');
  const certificates = rssPoints ? rssPoints[1] : opts.certificates;
  const latencyMs = variant === 'rss' ? opts.rssLatencyMs : opts.latencyMs;
  const concurrency = variant === 'rss' ? Math.max(...opts.concurrencies) : opts.concurrency;
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
  log(`${label}: starting a sandbox LMS (latency ${latencyMs} ms) and a private redis-server`);
  // The RSS step's batch takes ~14,000 Valence calls: its sandbox's rate-limit budget (50,000
  // credits a minute, 10 a call by default) is raised so that the step measures memory, not 429 waits.
  // The download phase's sandbox answers logins and listings at once and only certificates late:
  // a discover job downloads what it finds, so the phase is the batch with discovery made free.
  const knobs =
    variant === 'rss'
      ? { rateLimitCredits: 100_000_000 }
      : variant === 'download' && !opts.pipelined
        ? { latencyCertificatesOnly: true }
        : undefined;
  // The RSS step keeps the default mix: its figures are compared across runs.
  const shape = variant === 'rss' ? {} : sandboxShape(opts);
  const allKnobs = { ...shape.knobs, ...knobs };
  const sandbox = await startSandboxProcess({
    certificates,
    latencyMs,
    ...shape,
    ...(Object.keys(allKnobs).length > 0 ? { knobs: allKnobs } : {}),
  });
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
    DOWNLOAD_CONCURRENCY: String(concurrency),
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
  // The RSS step's own sampler: the worker's peak RSS, often enough to see short peaks.
  let peakRss = 0;
  /** When the peak was reached, and the batch as last polled before it (the RSS step's profile). */
  let peakAt: { at: number; status: BatchStatus | null } | undefined;
  let lastStatus: BatchStatus | null = null;
  const rssTimer = rssPoints
    ? setInterval(() => {
        const rss = process.memoryUsage.rss();
        if (rss > peakRss) {
          peakRss = rss;
          peakAt = { at: Date.now(), status: lastStatus };
        }
      }, 25)
    : undefined;
  const stopRssTimer = () => rssTimer && clearInterval(rssTimer);
  onCleanup(async () => stopRssTimer());
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
  const paused = variant === 'download' && !opts.pipelined;
  const allUsers = variant === 'e2e';
  log(
    `${label}: ${sandbox.students.length} students of ${sandbox.userCount} hold ${expected.length} ` +
      `certificates; DOWNLOAD_CONCURRENCY=${config.concurrency.download}, ` +
      `DISCOVER_CONCURRENCY=${config.concurrency.discover}, DOWNLOAD_STRATEGY=${config.downloadStrategy}` +
      (paused ? '; listings answered at once, only certificates late (the download phase)' : '; pipelined') +
      (allUsers ? '; submitted as the whole institution (allUsers)' : ''),
  );

  const problems: string[] = [];
  let loginSeconds: number | null = null;
  // A running fleet keeps its web session (it is kept alive, and sealed in Redis for every worker):
  // the pipelined variants log in before the submission, so their end to end holds no Chromium
  // start. The cold login is timed and reported apart. (`--pipelined` keeps the login inside.)
  {
    const loggingIn = Date.now();
    await session.probeLogin();
    loginSeconds = (Date.now() - loggingIn) / 1000;
  }
  // certharvest-e2e with --cpu-profile: the whole batch, discovery included (<file>-e2e).
  const batchProfile = variant === 'e2e' && opts.profile ? e2eProfilePath(opts.profile) : undefined;
  const stopBatchProfile = batchProfile ? await startCpuProfile() : undefined;
  const batchCommandsBefore = await redisCommandCounts(redis);
  const stopBatchClock = startClock(sampler);
  const started = Date.now();
  const submit = () =>
    submitBatch(allUsers ? { allUsers: true } : { by: 'userId', users: sandbox.students }, {
      queues,
      redis,
      prefix: config.queuePrefix,
    });
  // The download phase submits inside its clock.
  let submitted = paused ? undefined : await submit();
  const deadline = started + opts.timeoutSeconds * 1000;
  let statusReads = 0;
  const checkpoints: RssCheckpoint[] = [];
  const readStatus = async () => {
    statusReads++;
    const status = await tracker.status(submitted!.batchId, 1);
    if (status) lastStatus = status;
    if (rssPoints && status) {
      for (const point of rssPoints) {
        if (status.certsStored >= point && !checkpoints.some((c) => c.certificates === point)) {
          const mem = process.memoryUsage();
          peakRss = Math.max(peakRss, mem.rss);
          checkpoints.push({
            certificates: point,
            stored: status.certsStored,
            seconds: (Date.now() - started) / 1000,
            peakRss,
            rss: mem.rss,
            heapUsed: mem.heapUsed,
            heapTotal: mem.heapTotal,
            external: mem.external,
            arrayBuffers: mem.arrayBuffers,
            // At each checkpoint: the live heap is what the target compares (the GC forced at
            // the first lowers the peak the second would have seen; the peak has its own cap).
            ...afterGc(),
          });
        }
      }
    }
    return status;
  };
  const until = (done: (s: BatchStatus) => boolean, everyMs: (s: BatchStatus) => number) =>
    pollBatch(readStatus, done, everyMs, deadline, started, expected.length, label);
  const batchDone = (s: BatchStatus) => s.done;
  // Fine polling only near the end, so the end is seen within a few ms without the polls
  // themselves adding much to the process's CPU.
  const pollEvery = (s: BatchStatus) =>
    s.enumerating ||
    s.usersDone + s.usersFailed < s.usersTotal ||
    s.certsFound - s.certsStored - s.certsAlreadyStored - s.certsFailed > 2 * concurrency
      ? COARSE_POLL_MS
      : FINE_POLL_MS;

  let finished: BatchStatus | null;
  let phase: PhaseClock | null = null;
  let jobs: DownloadJobTimes | null = null;
  let redisCommands: RedisCommandFigures | null = null;
  let requestTimes: DurationStats | null = null;
  // The whole batch ends where the download phase ends (held back) or where the batch is seen done.
  let batchClock: PhaseClock | undefined;
  let batchCommandsAfter: CommandCounts | undefined;
  /** INFO calls of the bench between the whole batch's two snapshots, besides the first. */
  let benchInfoCalls = 0;
  if (paused) {
    const readsBefore = statusReads;
    const timed = await timeDownloads({
      resume: async () => {
        submitted = await submit();
      },
      untilDone: () => until(batchDone, pollEvery),
      sampler,
      profile: opts.profile,
      commandCounts: () => redisCommandCounts(redis),
      atDone: () => (batchClock = stopBatchClock()),
    });
    ({ finished, phase, requestTimes } = timed);
    batchCommandsAfter = timed.commandsAfter;
    benchInfoCalls = 1; // the download phase's first snapshot
    jobs = await downloadJobTimes(queues.download, timed.resumedAt, timed.doneSeenAt);
    redisCommands = commandsPerCertificate(
      timed.commandsBefore,
      timed.commandsAfter,
      expected.length,
      statusReadCommands(statusReads - readsBefore),
    );
  } else {
    finished = await until(batchDone, pollEvery);
  }
  const ended = Date.now();
  batchClock ??= stopBatchClock();
  batchCommandsAfter ??= await redisCommandCounts(redis);
  if (stopBatchProfile && batchProfile) {
    await writeFile(batchProfile, JSON.stringify(await stopBatchProfile()));
    log(`${label}: CPU profile of the whole batch written to ${batchProfile}`);
  }
  stopRssTimer();
  const resources = sampler.stop();
  const stats = await sandbox.stats();

  const final = finished && submitted && (await tracker.status(submitted.batchId, 1000));
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
  const own = statusReadCommands(statusReads);
  own.set('info', benchInfoCalls);
  const batch = wholeBatch(
    batchClock,
    verified,
    commandsPerCertificate(batchCommandsBefore, batchCommandsAfter, expected.length, own),
  );
  if (rssPoints) {
    for (const point of rssPoints) {
      if (!checkpoints.some((c) => c.certificates === point))
        problems.push(`the RSS checkpoint of ${point} stored certificates was never reached`);
    }
  }

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

  const [first, last] = checkpoints;
  return {
    mode: label,
    concurrency,
    ...outcomeOf(expected, verified, problems, started, ended),
    download: phase && downloadPhase(phase, verified),
    wholeBatch: batch,
    ...(rssPoints
      ? {
          rss: {
            latencyMs,
            checkpoints,
            growth:
              first?.heapAfterGc && last?.heapAfterGc
                ? (last.heapAfterGc - first.heapAfterGc) / first.heapAfterGc
                : null,
            peak: peakAt
              ? {
                  bytes: peakRss,
                  seconds: (peakAt.at - started) / 1000,
                  usersDone: peakAt.status?.usersDone ?? 0,
                  usersTotal: peakAt.status?.usersTotal ?? 0,
                  certsFound: peakAt.status?.certsFound ?? 0,
                  certsStored: peakAt.status?.certsStored ?? 0,
                }
              : null,
          },
        }
      : {}),
    requestTimes,
    loginSeconds,
    resources,
    browser: true,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
    phases: {
      workerStartSeconds,
      users: sandbox.students.length,
      discoverConcurrency: config.concurrency.discover,
      paused,
      outputDir,
      outputFilesystem,
      jobs,
      redisCommands,
      allUsers,
    },
  };
}

/** Where certharvest-e2e writes its profile: `--cpu-profile`'s file with `-e2e` before the extension. */
export const e2eProfilePath = (file: string) =>
  /\.cpuprofile$/.test(file) ? file.replace(/\.cpuprofile$/, '-e2e.cpuprofile') : `${file}-e2e`;

/** A full GC now, when the process runs with `--expose-gc`: the heap and RSS it leaves. */
function afterGc(): { heapAfterGc: number | null; rssAfterGc: number | null } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return { heapAfterGc: null, rssAfterGc: null };
  gc();
  const mem = process.memoryUsage();
  return { heapAfterGc: mem.heapUsed, rssAfterGc: mem.rss };
}

/** Resume the paused download queue and time the downloads until the batch is done. */
async function timeDownloads(args: {
  resume: () => Promise<void>;
  untilDone: () => Promise<BatchStatus | null>;
  sampler: ResourceSampler;
  profile: string | undefined;
  commandCounts: () => Promise<CommandCounts>;
  /** Called the moment the phase's clock stops (the whole batch's clock stops with it). */
  atDone: () => void;
}): Promise<{
  finished: BatchStatus | null;
  phase: PhaseClock;
  requestTimes: DurationStats | null;
  commandsBefore: CommandCounts;
  commandsAfter: CommandCounts;
  resumedAt: number;
  doneSeenAt: number;
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
  args.atDone();
  const commandsAfter = await args.commandCounts();
  const requestTimes = requests.stop();
  if (stopProfile && args.profile) {
    await writeFile(args.profile, JSON.stringify(await stopProfile()));
    log(`certharvest: CPU profile of the download phase written to ${args.profile}`);
  }
  return { finished, phase, requestTimes, commandsBefore, commandsAfter, resumedAt, doneSeenAt };
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
  label: string,
): Promise<BatchStatus | null> {
  let lastReport = Date.now();
  for (;;) {
    const status = await read();
    const now = Date.now();
    if (status && done(status)) return status;
    if (status && now - lastReport >= 5_000) {
      lastReport = now;
      log(
        `${label}: ${((now - started) / 1000).toFixed(0)} s: users ${status.usersDone}/${status.usersTotal}, ` +
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
