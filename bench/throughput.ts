/**
 * Throughput benchmark: the download phase of certharvest against the sandbox LMS, next to a
 * plain `fetch` loop with the session cookie (the reference), in one run of interleaved rounds.
 *
 *   npm run bench -- --concurrency 16              # 1000 certificates, 50 ms latency
 *   npm run bench -- --modes certharvest,fetch,playwright --json
 *
 * Each mode runs in a Node process of its own (this script with `--modes <mode>`), against a fresh
 * sandbox LMS in a child process, with the same students and certificates:
 *   certharvest  mode-certharvest.ts: the real worker in-process; discovery first with the download
 *                queue paused, then the download phase, timed; every stored PDF checked byte for byte
 *   fetch        mode-fetch.ts: log in with one POST, then the timed loop
 *   playwright   mode-playwright.ts (off by default): Chromium logs in, then a context.request loop
 * The table gives each mode's download phase (seconds, certificates/s, CPU ms per certificate) and
 * end-to-end time; then the ratio of certharvest's download rate to the plain loop's.
 * See docs/benchmarks.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { cleanupAll, KEEP_OUTPUT_ENV, log, tempDirs, type RunResult } from './harness.ts';
import { runCertharvest } from './mode-certharvest.ts';
import { runPlainFetch } from './mode-fetch.ts';
import { runPlaywright } from './mode-playwright.ts';
import { runSubmit, type SubmitResult } from './mode-submit.ts';
import { HELP, parseOptions, type Mode, type Options } from './options.ts';
import { downloadRatio, machineInfo, printReport } from './report.ts';

const RUNNERS: Record<Mode, (opts: Options) => Promise<RunResult>> = {
  certharvest: runCertharvest,
  fetch: runPlainFetch,
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
async function runChild(args: string[], what: string): Promise<unknown> {
  // A process group of its own: Ctrl-C reaches only us, and we stop the run with SIGTERM, which
  // it handles in order (a SIGINT would let Playwright exit it before its cleanup).
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
    env: { ...process.env, [KEEP_OUTPUT_ENV]: '1' },
  });
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

async function runInChild(opts: Options, mode: Mode): Promise<RunResult> {
  const args = [
    '--modes',
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
    '--rounds',
    '1',
    '--submit-users',
    '0',
    ...(opts.pipelined ? ['--pipelined'] : []),
    ...(opts.profile && mode === 'certharvest' ? ['--cpu-profile', opts.profile] : []),
    ...(opts.discoverConcurrency === undefined
      ? []
      : ['--discover-concurrency', String(opts.discoverConcurrency)]),
  ];
  const report = (await runChild(args, mode)) as { runs?: RunResult[] };
  const run = report.runs?.[0];
  if (!run) throw new Error(`the ${mode} run printed no result (see above)`);
  if (run.phases) tempDirs.add(run.phases.outputDir); // removed by cleanupAll() at the end
  return run;
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

  const loadStart = os.loadavg();
  const results: RunResult[] = [];
  let submit: SubmitResult | null = null;
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      // Interleaved, the order alternating, so a drift of the machine does not favour one mode.
      const order = round % 2 === 1 ? opts.modes : [...opts.modes].reverse();
      if (opts.rounds > 1) log(`round ${round} of ${opts.rounds}: ${order.join(', ')}`);
      for (const mode of order) {
        const inProcess = opts.modes.length === 1 && opts.rounds === 1;
        const run = { ...(inProcess ? await RUNNERS[mode](opts) : await runInChild(opts, mode)), round };
        results.push(run);
        if (inProcess)
          log(
            `${run.mode}: ${run.verified}/${run.expected} in ${run.seconds.toFixed(1)} s end to end` +
              (run.download
                ? `; download phase ${run.download.seconds.toFixed(2)} s (${run.download.perSecond.toFixed(1)}/s)`
                : ''),
          );
      }
    }
    if (opts.submitUsers > 0) {
      const answer = (await runChild(
        ['--submit-only', '--submit-users', String(opts.submitUsers)],
        'submit',
      )) as { submit: SubmitResult };
      submit = answer.submit;
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
          downloadRatio: downloadRatio(results),
          submit,
          runs: results,
        },
        null,
        2,
      ),
    );
  } else {
    printReport(opts, machine, results, [loadStart, loadEnd], submit);
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
