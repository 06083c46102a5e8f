/**
 * Throughput benchmark: certharvest against the sandbox LMS, next to the bare download primitive
 * it uses (Playwright's `context.request`) and a plain `fetch` loop (the upper bound).
 *
 *   npm run bench                                  # 1000 certificates, 50 ms latency, concurrency 4
 *   npm run bench -- --concurrency 8 --json
 *
 * Each mode runs in a Node process of its own (this script with `--only <mode>`), against a fresh
 * sandbox LMS in a child process, with the same students and certificates. The certharvest mode
 * runs the real worker in-process (private redis-server, temp OUTPUT_DIR,
 * DOWNLOAD_STRATEGY=browser), submits one batch and waits until it is done; every stored PDF is
 * then checked byte for byte against the sandbox. The other two modes log in once and fetch every
 * render URL at the same concurrency, hashing the bodies in memory and writing nothing.
 * See docs/benchmarks.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import type { BatchStatus } from '../src/queue/index.ts';
import type { SandboxStats } from '../src/sandbox/index.ts';
import { chromiumDescendants, helperDescendants, sampleResources, type ResourceUsage } from './resources.ts';
import { startSandboxProcess, type ExpectedCertificate, type SandboxProcess } from './sandbox-process.ts';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  certificates: number;
  latencyMs: number;
  concurrency: number;
  /** DISCOVER_CONCURRENCY for the worker; undefined = the product's default. */
  discoverConcurrency: number | undefined;
  modes: Mode[];
  /** Playwright mode: leave every response's body in memory (no `dispose()`), as the worker does. */
  keepBodies: boolean;
  json: boolean;
  timeoutSeconds: number;
}

const MODES = ['certharvest', 'playwright', 'fetch'] as const;
type Mode = (typeof MODES)[number];

const HELP = `usage: npm run bench -- [options]

  --certificates <n>           at least this many certificates in the batch (default 1000)
  --latency-ms <ms>            latency the sandbox adds to every answer (default 50)
  --concurrency <n>            DOWNLOAD_CONCURRENCY, and the plain fetch loop's concurrency (default 4)
  --discover-concurrency <n>   DISCOVER_CONCURRENCY of the worker (default: the product's default, 4)
  --only <mode>                run one mode only: certharvest, playwright or fetch
  --keep-bodies                playwright mode: never dispose() the responses (what the worker does today)
  --timeout-s <s>              give up on a run after this many seconds (default 600)
  --json                       print the results as JSON instead of the table
  -h, --help

Exit code: 0 when every certificate was stored (and fetched) with the right bytes, 1 when not,
2 on a usage error.`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      certificates: { type: 'string', default: '1000' },
      'latency-ms': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '4' },
      'discover-concurrency': { type: 'string' },
      only: { type: 'string' },
      'keep-bodies': { type: 'boolean', default: false },
      'timeout-s': { type: 'string', default: '600' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const whole = (name: string, raw: string | undefined, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const only = values.only as Mode | undefined;
  if (only !== undefined && !MODES.includes(only)) {
    throw new UsageError(`--only: expected ${MODES.join(', ')}, got "${only}"`);
  }
  return {
    certificates: whole('certificates', values.certificates, 1, 50_000),
    latencyMs: whole('latency-ms', values['latency-ms'], 0, 60_000),
    concurrency: whole('concurrency', values.concurrency, 1, 64),
    discoverConcurrency:
      values['discover-concurrency'] === undefined
        ? undefined
        : whole('discover-concurrency', values['discover-concurrency'], 1, 64),
    modes: only ? [only] : [...MODES],
    keepBodies: values['keep-bodies'],
    json: values.json,
    timeoutSeconds: whole('timeout-s', values['timeout-s'], 1, 86_400),
  };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Results

interface RunResult {
  mode: string;
  /** Certificates in the batch. */
  expected: number;
  /** Their total size. */
  pdfBytes: number;
  /** Certificates stored (or fetched) with exactly the sandbox's bytes. */
  verified: number;
  ok: boolean;
  problems: string[];
  seconds: number;
  perSecond: number;
  resources: ResourceUsage;
  /** Whether Chromium figures apply (the plain fetch loop has no browser). */
  browser: boolean;
  /** Successful web logins the sandbox saw. */
  logins: number;
  sandbox: {
    valenceRequests: number;
    renderPdf: number;
    renderLoginPage: number;
    tokenGrants: number;
    /** Requests per route. */
    routes: Record<string, number>;
  };
  /** Playwright mode: seconds until the browser was launched and logged in (inside `seconds`). */
  browserReadySeconds?: number;
  /** certharvest only: phases, seconds from the submission. */
  phases?: {
    workerStartSeconds: number;
    firstStoredSeconds: number | null;
    discoveryDoneSeconds: number | null;
    users: number;
    discoverConcurrency: number;
  };
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function sandboxFigures(stats: SandboxStats): RunResult['sandbox'] {
  const g = stats.tokenGrants;
  return {
    valenceRequests: stats.valenceRequests,
    renderPdf: stats.renderPdf,
    renderLoginPage: stats.renderLoginPage,
    tokenGrants: g.refresh_token + g.authorization_code + g.client_credentials,
    routes: stats.routes,
  };
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is stopped, in reverse order, also on Ctrl-C.

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
/** Run every pending cleanup, newest first, one at a time; a second caller waits for the same run. */
function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      await fn().catch((err: unknown) => log(`cleanup step failed: ${(err as Error).message}`));
    }
  })().finally(() => (cleaning = undefined));
  return cleaning;
}
/**
 * Last resort when the process exits before the cleanups ran: Playwright's own SIGINT handler
 * (the product launches Chromium with Playwright's default `handleSIGINT: true`) closes the
 * browser and calls `process.exit(130)` at once. Remove the temp folders, stop our helpers.
 */
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  for (const pid of helperDescendants()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
});

function onCleanup(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  cleanups.push(once);
  return async () => {
    const i = cleanups.indexOf(once);
    if (i >= 0) cleanups.splice(i, 1);
    await once();
  };
}

// ---------------------------------------------------------------------------------------------
// Mode 1: certharvest (worker in-process, browser strategy)

async function runCertharvest(opts: Options): Promise<RunResult> {
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
  const queues = openQueues(redis, config.queuePrefix);
  const closeQueues = onCleanup(() => queues.close());
  const tracker = new BatchTracker(redis, config.queuePrefix);

  const expected = sandbox.certificates;
  log(
    `certharvest: ${sandbox.students.length} students of ${sandbox.userCount} hold ${expected.length} ` +
      `certificates; DOWNLOAD_CONCURRENCY=${config.concurrency.download}, ` +
      `DISCOVER_CONCURRENCY=${config.concurrency.discover}, DOWNLOAD_STRATEGY=${config.downloadStrategy}`,
  );

  const started = Date.now();
  const submitted = await submitBatch(
    { by: 'userId', users: sandbox.students },
    { queues, redis, prefix: config.queuePrefix },
  );
  let firstStored: number | null = null;
  let discoveryDone: number | null = null;
  let final: BatchStatus | null = null;
  let lastReport = 0;
  const deadline = started + opts.timeoutSeconds * 1000;
  for (;;) {
    const status = await tracker.status(submitted.batchId, 1000);
    const now = Date.now();
    if (status) {
      if (firstStored === null && status.certsStored > 0) firstStored = now;
      if (
        discoveryDone === null &&
        !status.enumerating &&
        status.usersDone + status.usersFailed >= status.usersTotal
      )
        discoveryDone = now;
      if (status.done) {
        final = status;
        break;
      }
      if (now - lastReport >= 5_000) {
        lastReport = now;
        log(
          `certharvest: ${((now - started) / 1000).toFixed(0)} s: users ${status.usersDone}/${status.usersTotal}, ` +
            `certificates stored ${status.certsStored}/${expected.length}, failed ${status.certsFailed}`,
        );
      }
    }
    if (now > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();

  const problems: string[] = [];
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

  // Stop everything of this mode now, so the next mode runs alone.
  await stopWorker();
  await closeQueues();
  await quitRedis();
  await stopRedis();
  await closeSandbox();
  await removeOutput();
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

  const seconds = (ended - started) / 1000;
  const since = (t: number | null) => (t === null ? null : (t - started) / 1000);
  return {
    mode: 'certharvest',
    expected: expected.length,
    pdfBytes: expected.reduce((sum, c) => sum + c.bytes, 0),
    verified,
    ok: problems.length === 0 && verified === expected.length,
    problems,
    seconds,
    perSecond: verified / seconds,
    resources,
    browser: true,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
    phases: {
      workerStartSeconds,
      firstStoredSeconds: since(firstStored),
      discoveryDoneSeconds: since(discoveryDone),
      users: sandbox.students.length,
      discoverConcurrency: config.concurrency.discover,
    },
  };
}

/** Every expected certificate is on disk with the sandbox's bytes, from the browser, and nothing else is. */
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

// ---------------------------------------------------------------------------------------------
// Mode 2: the upper bound, a plain fetch loop with the session cookie

const LOGIN_PATH = '/d2l/lp/auth/login/login.d2l';

async function runPlainFetch(opts: Options): Promise<RunResult> {
  log(`plain fetch: starting a fresh sandbox LMS (latency ${opts.latencyMs} ms)`);
  const sandbox = await startSandboxProcess({ certificates: opts.certificates, latencyMs: opts.latencyMs });
  const closeSandbox = onCleanup(() => sandbox.close());
  const expected = sandbox.certificates;
  log(
    `plain fetch: ${expected.length} certificates, concurrency ${opts.concurrency}; bodies are hashed, not written`,
  );

  const sampler = sampleResources(100);
  const started = Date.now();
  const cookie = await webLogin(sandbox);
  const limit = pLimit(opts.concurrency);
  const wrong: string[] = [];
  let verified = 0;
  await Promise.all(
    expected.map((cert) =>
      limit(async () => {
        const url = `${sandbox.url}/d2l/awards/v1/${cert.orgUnitId}/certificate/render/${cert.issuedId}`;
        try {
          const res = await fetch(url, { headers: { cookie } });
          const body = new Uint8Array(await res.arrayBuffer());
          if (res.status !== 200) wrong.push(`${cert.issuedId}: HTTP ${res.status}`);
          else if (sha256(body) !== cert.sha256)
            wrong.push(`${cert.issuedId}: bytes differ from the sandbox's`);
          else verified++;
        } catch (err) {
          wrong.push(`${cert.issuedId}: ${(err as Error).message}`);
        }
      }),
    ),
  );
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();
  await closeSandbox();

  const problems =
    wrong.length > 0 ? [`${wrong.length} fetch(es) failed, e.g. ${wrong.slice(0, 3).join('; ')}`] : [];
  const seconds = (ended - started) / 1000;
  return {
    mode: 'plain fetch',
    expected: expected.length,
    pdfBytes: expected.reduce((sum, c) => sum + c.bytes, 0),
    verified,
    ok: problems.length === 0 && verified === expected.length,
    problems,
    seconds,
    perSecond: verified / seconds,
    resources,
    browser: false,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
  };
}

// ---------------------------------------------------------------------------------------------
// Mode 3: Playwright's context.request alone (what the worker downloads with), no queue, no disk

async function runPlaywright(opts: Options): Promise<RunResult> {
  const { launchChromium } = await import('../src/browser/index.ts');
  log(`playwright: starting a fresh sandbox LMS (latency ${opts.latencyMs} ms)`);
  const sandbox = await startSandboxProcess({ certificates: opts.certificates, latencyMs: opts.latencyMs });
  const closeSandbox = onCleanup(() => sandbox.close());
  const expected = sandbox.certificates;
  log(
    `playwright: ${expected.length} certificates through context.request, concurrency ${opts.concurrency}` +
      `${opts.keepBodies ? ', responses never disposed' : ''}; bodies are hashed, not written`,
  );

  const sampler = sampleResources(100);
  const started = Date.now();
  // As the worker does: launch, one context, log in by filling the form on a page, close the page.
  const browser = await launchChromium(process.env.CHROMIUM_PATH);
  const closeBrowser = onCleanup(() => browser.close());
  const context = await browser.newContext({ acceptDownloads: false });
  const page = await context.newPage();
  await page.goto(`${sandbox.url}/d2l/login?noredirect=1`, { waitUntil: 'domcontentloaded' });
  await page.fill('input[name="userName"]', sandbox.env.LMS_USERNAME);
  await page.fill('input[name="password"]', sandbox.env.LMS_PASSWORD);
  await Promise.all([
    page.waitForURL(
      (u) => !u.pathname.startsWith('/d2l/lp/auth/login') && !u.pathname.startsWith('/d2l/login'),
      {
        waitUntil: 'domcontentloaded',
      },
    ),
    page.click('button[type="submit"], input[type="submit"]'),
  ]);
  await page.close();
  const browserReady = Date.now();

  const limit = pLimit(opts.concurrency);
  const wrong: string[] = [];
  let verified = 0;
  await Promise.all(
    expected.map((cert) =>
      limit(async () => {
        const url = `${sandbox.url}/d2l/awards/v1/${cert.orgUnitId}/certificate/render/${cert.issuedId}`;
        try {
          const res = await context.request.get(url, { failOnStatusCode: false });
          const body = await res.body();
          if (!opts.keepBodies) await res.dispose();
          if (res.status() !== 200) wrong.push(`${cert.issuedId}: HTTP ${res.status()}`);
          else if (sha256(body) !== cert.sha256)
            wrong.push(`${cert.issuedId}: bytes differ from the sandbox's`);
          else verified++;
        } catch (err) {
          wrong.push(`${cert.issuedId}: ${(err as Error).message.split('\n')[0]}`);
        }
      }),
    ),
  );
  const ended = Date.now();
  const resources = sampler.stop();
  const stats = await sandbox.stats();
  await closeBrowser();
  await closeSandbox();

  const problems =
    wrong.length > 0 ? [`${wrong.length} request(s) failed, e.g. ${wrong.slice(0, 3).join('; ')}`] : [];
  const seconds = (ended - started) / 1000;
  return {
    mode: opts.keepBodies ? 'context.request (kept)' : 'context.request',
    expected: expected.length,
    pdfBytes: expected.reduce((sum, c) => sum + c.bytes, 0),
    verified,
    ok: problems.length === 0 && verified === expected.length,
    problems,
    seconds,
    perSecond: verified / seconds,
    resources,
    browser: true,
    logins: stats.webLogins,
    sandbox: sandboxFigures(stats),
    browserReadySeconds: (browserReady - started) / 1000,
  };
}

const RUNNERS: Record<Mode, (opts: Options) => Promise<RunResult>> = {
  certharvest: runCertharvest,
  playwright: runPlaywright,
  fetch: runPlainFetch,
};

/** POST the sandbox's login form; returns the Cookie header with both session cookies. */
async function webLogin(sandbox: SandboxProcess): Promise<string> {
  const res = await fetch(`${sandbox.url}${LOGIN_PATH}`, {
    method: 'POST',
    body: new URLSearchParams({
      userName: sandbox.env.LMS_USERNAME,
      password: sandbox.env.LMS_PASSWORD,
      d2l_referrer: '',
      noredirect: '1',
      loginPath: LOGIN_PATH,
    }),
    redirect: 'manual',
  });
  await res.arrayBuffer();
  const jar = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  for (const name of ['d2lSessionVal', 'd2lSecureSessionVal']) {
    if (!jar.get(name)) throw new Error(`the login answered ${res.status} without the ${name} cookie`);
  }
  return `d2lSessionVal=${jar.get('d2lSessionVal')}; d2lSecureSessionVal=${jar.get('d2lSecureSessionVal')}`;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  chromium: string;
  platform: string;
  totalMemory: string;
}

async function machineInfo(): Promise<Machine> {
  const { resolveChromiumPath } = await import('../src/browser/index.ts');
  let chromium = 'unknown';
  const exe = resolveChromiumPath();
  if (exe) {
    try {
      chromium = execFileSync(exe, ['--version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      chromium = `${exe} (version unknown)`;
    }
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    chromium,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    totalMemory: mb(os.totalmem()),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function printReport(opts: Options, machine: Machine, results: RunResult[], load: number[][]): void {
  const bound = opts.latencyMs > 0 ? opts.concurrency / (opts.latencyMs / 1000) : Infinity;
  const out: string[] = [];
  out.push('certharvest throughput benchmark');
  out.push(
    `  machine   ${machine.cpus} CPU(s) (${machine.cpuModel}), ${machine.totalMemory}, ${machine.platform}; ` +
      `Node ${machine.node}; ${machine.chromium}`,
  );
  const [start = [], end = []] = load.map((l) => l.map((x) => x.toFixed(2)).join(' '));
  out.push(`  load avg  ${start} at start, ${end} at end (1, 5, 15 min)`);
  out.push(
    `  settings  sandbox latency ${opts.latencyMs} ms, concurrency ${opts.concurrency}` +
      (opts.discoverConcurrency === undefined ? '' : `, discover concurrency ${opts.discoverConcurrency}`),
  );
  out.push('');
  out.push(
    table([
      ['mode', 'certificates', 'seconds', 'certificates/s', 'peak RSS node', 'peak RSS chromium', 'logins'],
      ...results.map((r) => [
        r.mode,
        r.verified === r.expected ? String(r.expected) : `${r.verified}/${r.expected}`,
        r.seconds.toFixed(1),
        r.perSecond.toFixed(1),
        mb(r.resources.nodeRss),
        r.browser
          ? `${mb(r.resources.chromiumRss)} (PSS ${mb(r.resources.chromiumPss)}, ${r.resources.chromiumProcesses} procs)`
          : '-',
        String(r.logins),
      ]),
    ]),
  );
  out.push('');
  out.push(
    `theoretical bound: concurrency / latency = ${opts.concurrency} / ${(opts.latencyMs / 1000).toFixed(3)} s = ` +
      `${Number.isFinite(bound) ? bound.toFixed(0) : '∞'} certificates/s`,
  );
  for (const r of results) {
    const s = r.sandbox;
    const cpu = r.resources.cpuSeconds;
    out.push(`${r.mode}: ${r.expected} PDFs, ${mb(r.pdfBytes)} in all`);
    out.push(
      `  the sandbox saw ${s.valenceRequests} Valence request(s), ${s.renderPdf} render PDF(s), ` +
        `${s.renderLoginPage} login-page answer(s), ${s.tokenGrants} token grant(s)`,
    );
    if (r.phases) {
      const p = r.phases;
      const t = (x: number | null) => (x === null ? 'never' : `${x.toFixed(1)} s`);
      out.push(
        `  ${p.users} users, DISCOVER_CONCURRENCY ${p.discoverConcurrency}: first PDF stored at ${t(p.firstStoredSeconds)}, ` +
          `discovery done at ${t(p.discoveryDoneSeconds)} (worker start ${p.workerStartSeconds.toFixed(1)} s, not timed)`,
      );
    }
    if (r.browserReadySeconds !== undefined) {
      out.push(`  browser launched and logged in at ${r.browserReadySeconds.toFixed(1)} s`);
    }
    out.push(
      `  CPU seconds: node ${cpu.node.toFixed(1)}` +
        (r.browser ? `, chromium ${cpu.chromium.toFixed(1)}` : '') +
        `, sandbox LMS ${cpu.sandbox.toFixed(1)}` +
        (r.phases ? `, redis-server ${cpu.redis.toFixed(1)}` : '') +
        ` (wall ${r.seconds.toFixed(1)} s × ${machine.cpus} CPUs = ${(r.seconds * machine.cpus).toFixed(1)})`,
    );
    if (r.phases) out.push(`  redis-server peak RSS ${mb(r.resources.redisRss)}`);
    if (!r.phases) out.push('  bodies hashed in memory, nothing written');
  }
  for (const r of results) {
    out.push(r.ok ? `${r.mode}: OK, every certificate verified (sha256)` : `${r.mode}: FAILED`);
    for (const p of r.problems) out.push(`  - ${p}`);
  }
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------------------------------------

/**
 * One mode in a fresh Node process of its own (this script with `--only <mode> --json`), so
 * neither run's peak RSS carries what the other allocated and never gave back.
 */
let currentChild: ChildProcess | undefined;
let interrupted = false;
async function runInChild(opts: Options, mode: Mode): Promise<RunResult> {
  const args = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--only',
    mode,
    '--json',
    '--certificates',
    String(opts.certificates),
    '--latency-ms',
    String(opts.latencyMs),
    '--concurrency',
    String(opts.concurrency),
    '--timeout-s',
    String(opts.timeoutSeconds),
    ...(opts.keepBodies ? ['--keep-bodies'] : []),
    ...(opts.discoverConcurrency === undefined
      ? []
      : ['--discover-concurrency', String(opts.discoverConcurrency)]),
  ];
  // A process group of its own: Ctrl-C reaches only us, and we stop the run with SIGTERM, which
  // it handles in order (a SIGINT would let Playwright exit it before its cleanup).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  currentChild = child;
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  currentChild = undefined;
  try {
    const report = JSON.parse(stdout) as { runs: RunResult[] };
    const run = report.runs[0];
    if (run) return run;
  } catch {
    // no JSON: the run crashed; its error is already on stderr
  }
  throw new Error(`the ${mode} run exited with code ${code} without results (see above)`);
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything the benchmark started`);
    const child = currentChild;
    const childGone = child
      ? new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        })
      : Promise.resolve();
    void childGone.then(cleanupAll).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const loadStart = os.loadavg();
  const results: RunResult[] = [];
  try {
    for (const mode of opts.modes) {
      const inProcess = opts.modes.length === 1;
      const run = inProcess ? await RUNNERS[mode](opts) : await runInChild(opts, mode);
      results.push(run);
      if (inProcess)
        log(
          `${run.mode}: ${run.verified}/${run.expected} in ${run.seconds.toFixed(1)} s (${run.perSecond.toFixed(1)}/s)`,
        );
    }
  } finally {
    await cleanupAll();
  }
  const loadEnd = os.loadavg();
  const machine = await machineInfo();
  if (opts.json) {
    const bound = opts.latencyMs > 0 ? opts.concurrency / (opts.latencyMs / 1000) : null;
    console.log(
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: { ...machine, loadavgStart: loadStart, loadavgEnd: loadEnd },
          options: opts,
          theoreticalPerSecond: bound,
          runs: results,
        },
        null,
        2,
      ),
    );
  } else {
    printReport(opts, machine, results, [loadStart, loadEnd]);
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    if (interrupted) return; // the signal handler cleans up and exits
    console.error('bench: failed:', err);
    await cleanupAll();
    process.exit(1);
  },
);
