/**
 * Throughput benchmark: certharvest against the sandbox LMS, next to plain `fetch` loops with the
 * same session cookie (the references), in one run of interleaved rounds at every concurrency.
 *
 *   npm run bench                                   # 1000 certificates, 50 ms, concurrency 4 and 16
 *   npm run bench -- --concurrency 16 --rounds 1 --rss-certificates 0 --submit-users 0
 *   npm run bench -- --modes certharvest,fetch,playwright --json
 *
 * Each mode runs in a Node process of its own (this script with `--modes <mode>`), against a fresh
 * sandbox LMS in a child process, with the same students and certificates:
 *   certharvest       mode-certharvest.ts: the real worker in-process; discovery first with the
 *                     download queue paused, then the download phase, timed; every stored PDF
 *                     checked byte for byte
 *   fetch             mode-fetch.ts: log in with one POST, then the timed loop
 *   certharvest-e2e   mode-certharvest.ts: the worker pipelined on a whole-institution batch,
 *                     submit → done
 *   fetch-e2e         mode-fetch-e2e.ts: logins, then users and awards listed through Valence and
 *                     each certificate downloaded as it is found
 *   naive-playwright  mode-naive-playwright.ts: a new browser page per certificate (round 1 only)
 *   playwright        mode-playwright.ts (off by default): Chromium logs in, then a
 *                     context.request loop (round 1 only)
 * After the rounds: the RSS step (the worker on one batch of ≥ 20,000 certificates, its peak RSS
 * after 2,000 and after 20,000) and `submit` of 100,000 users, each in a process of its own.
 * The report gives each run, the ratios per round and their medians per concurrency, and a
 * summary of every figure against its target. See docs/benchmarks.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { cleanupAll, KEEP_OUTPUT_ENV, log, tempDirs, type RunResult } from './harness.ts';
import { runCertharvest, runCertharvestE2e, runCertharvestRss } from './mode-certharvest.ts';
import { runFetchE2e } from './mode-fetch-e2e.ts';
import { runPlainFetch } from './mode-fetch.ts';
import { runNaivePlaywright } from './mode-naive-playwright.ts';
import { runPlaywright } from './mode-playwright.ts';
import { runSubmit, type SubmitResult } from './mode-submit.ts';
import { FIRST_ROUND_ONLY, HELP, parseOptions, type Mode, type Options } from './options.ts';
import { machineInfo, printReport, summarize } from './report.ts';

const RUNNERS: Record<Mode, (opts: Options) => Promise<RunResult>> = {
  certharvest: (opts) => runCertharvest(opts),
  fetch: runPlainFetch,
  'certharvest-e2e': runCertharvestE2e,
  'fetch-e2e': runFetchE2e,
  'naive-playwright': runNaivePlaywright,
  playwright: runPlaywright,
};

// ---------------------------------------------------------------------------------------------

/**
 * One mode in a fresh Node process of its own (this script with `--modes <mode> --json`), so
 * neither run's peak RSS carries what the other allocated and never gave back.
 */
let currentChild: ChildProcess | undefined;
let interrupted = false;

/** This script in a child process with `args`; returns the JSON it printed on stdout. */
async function runChild(args: string[], what: string, nodeFlags: string[] = []): Promise<unknown> {
  // A process group of its own: Ctrl-C reaches only us, and we stop the run with SIGTERM, which
  // it handles in order (a SIGINT would let Playwright exit it before its cleanup).
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', fileURLToPath(import.meta.url), ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
      env: { ...process.env, [KEEP_OUTPUT_ENV]: '1' },
    },
  );
  currentChild = child;
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  currentChild = undefined;
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new Error(`the ${what} run exited with code ${code} without results (see above)`);
  }
}

async function runInChild(opts: Options, mode: Mode, concurrency: number): Promise<RunResult> {
  const args = [
    '--modes',
    mode,
    '--json',
    '--certificates',
    String(opts.certificates),
    '--shape',
    opts.shape,
    '--naive-certificates',
    String(opts.naiveCertificates),
    '--latency-ms',
    String(opts.latencyMs),
    '--concurrency',
    String(concurrency),
    '--timeout-s',
    String(opts.timeoutSeconds),
    '--rounds',
    '1',
    '--rss-certificates',
    '0',
    '--submit-users',
    '0',
    ...(opts.pipelined ? ['--pipelined'] : []),
    ...(opts.profile && (mode === 'certharvest' || mode === 'certharvest-e2e')
      ? ['--cpu-profile', opts.profile]
      : []),
    ...discoverArgs(opts),
  ];
  const report = (await runChild(args, `${mode} (concurrency ${concurrency})`)) as { runs?: RunResult[] };
  const run = report.runs?.[0];
  if (!run) throw new Error(`the ${mode} run printed no result (see above)`);
  if (run.phases) tempDirs.add(run.phases.outputDir); // removed by cleanupAll() at the end
  return run;
}

const discoverArgs = (opts: Options) => [
  ...(opts.discoverConcurrency === undefined
    ? []
    : ['--discover-concurrency', String(opts.discoverConcurrency)]),
  ...(opts.lmsCredits === undefined ? [] : ['--lms-credits', String(opts.lmsCredits)]),
];

/** The RSS step in a process of its own (a fresh heap): the worker pipelined on one big batch. */
async function runRssInChild(opts: Options, rss: [number, number]): Promise<RunResult> {
  const answer = (await runChild(
    [
      '--rss-only',
      '--rss-certificates',
      rss.join(','),
      '--rss-latency-ms',
      String(opts.rssLatencyMs),
      '--concurrency',
      String(Math.max(...opts.concurrencies)),
      '--timeout-s',
      String(opts.timeoutSeconds),
      ...discoverArgs(opts),
    ],
    'RSS step',
    ['--expose-gc'], // a full GC after the last checkpoint tells retained memory from garbage
  )) as { rss?: RunResult };
  if (!answer.rss) throw new Error('the RSS step printed no result (see above)');
  return answer.rss;
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

  if (opts.submitOnly) {
    const submit = await runSubmit(opts.submitUsers);
    await cleanupAll();
    console.log(JSON.stringify({ submit }));
    return 0;
  }
  if (opts.rssOnly) {
    const rss = await runCertharvestRss(opts);
    await cleanupAll();
    console.log(JSON.stringify({ rss }));
    return 0;
  }

  const loadStart = os.loadavg();
  const benchStart = Date.now();
  const results: RunResult[] = [];
  const failures: string[] = [];
  let rss: RunResult | null = null;
  let submit: SubmitResult | null = null;
  const inProcess = opts.modes.length === 1 && opts.rounds === 1 && opts.concurrencies.length === 1;
  /** A run that breaks down is reported, and the others go on (a full run is long). */
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (err) {
      if (interrupted) throw err;
      log(`${what} failed: ${(err as Error).message}`);
      failures.push(`${what}: ${(err as Error).message}`);
      return null;
    }
  };
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      // Interleaved, the order alternating, so a drift of the machine does not favour one mode.
      const odd = round % 2 === 1;
      const modes = opts.modes.filter((m) => round === 1 || !FIRST_ROUND_ONLY.includes(m));
      const order = odd ? modes : [...modes].reverse();
      const concurrencies = odd ? opts.concurrencies : [...opts.concurrencies].reverse();
      for (const concurrency of concurrencies) {
        if (!inProcess)
          log(`round ${round} of ${opts.rounds}, concurrency ${concurrency}: ${order.join(', ')}`);
        for (const mode of order) {
          const run = await attempt(`round ${round}, concurrency ${concurrency}, ${mode}`, () =>
            inProcess ? RUNNERS[mode](opts) : runInChild(opts, mode, concurrency),
          );
          if (!run) continue;
          results.push({ ...run, round, concurrency: run.concurrency ?? concurrency });
          // A mode process (run by the parent, --json) leaves this line to the parent.
          if (!(inProcess && opts.json && process.env[KEEP_OUTPUT_ENV] === '1'))
            log(
              `${run.mode} #${round} @${concurrency}: ${run.verified}/${run.expected} in ${run.seconds.toFixed(1)} s end to end` +
                (run.download
                  ? `; download phase ${run.download.seconds.toFixed(2)} s (${run.download.perSecond.toFixed(1)}/s)`
                  : '') +
                ` [${((Date.now() - benchStart) / 1000).toFixed(0)} s into the bench]`,
            );
        }
      }
    }
    if (opts.rssCertificates) {
      const points = opts.rssCertificates;
      rss = await attempt('RSS step', () => runRssInChild(opts, points));
      if (rss?.phases) tempDirs.add(rss.phases.outputDir);
    }
    if (opts.submitUsers > 0) {
      const answer = (await attempt('submit', () =>
        runChild(['--submit-only', '--submit-users', String(opts.submitUsers)], 'submit'),
      )) as { submit: SubmitResult } | null;
      submit = answer?.submit ?? null;
    }
    log(`all runs done in ${((Date.now() - benchStart) / 1000).toFixed(0)} s`);
  } finally {
    await cleanupAll();
  }
  const loadEnd = os.loadavg();
  const machine = await machineInfo();
  const seconds = (Date.now() - benchStart) / 1000;
  if (opts.json) {
    console.log(
      JSON.stringify(
        {
          date: new Date().toISOString(),
          command: commandLine(),
          seconds,
          machine: { ...machine, loadavgStart: loadStart, loadavgEnd: loadEnd },
          options: opts,
          summary: summarize(opts, results, rss, submit),
          failures,
          rss,
          submit,
          runs: results,
        },
        null,
        2,
      ),
    );
  } else {
    printReport({
      opts,
      machine,
      results,
      load: [loadStart, loadEnd],
      rss,
      submit,
      failures,
      command: commandLine(),
      seconds,
    });
  }
  const allOk = results.every((r) => r.ok) && (rss?.ok ?? true) && failures.length === 0;
  return allOk ? 0 : 1;
}

/** How this run was started, for the report. */
function commandLine(): string {
  const pool = process.env.UV_THREADPOOL_SIZE ? `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE} ` : '';
  const args = process.argv.slice(2).map((a) => (/^[\w.,=/:@-]+$/.test(a) ? a : JSON.stringify(a)));
  return `${pool}node --import tsx bench/throughput.ts${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
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
