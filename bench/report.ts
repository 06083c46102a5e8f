/**
 * The printed report: the machine, one table row per run, the ratios per concurrency (round by
 * round and their medians), the details of every run, the RSS step, `submit`, and a summary of
 * every figure against its target.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { mb, type DurationStats, type RunResult } from './harness.ts';
import { SUBMIT_TARGET_SECONDS, type SubmitResult } from './mode-submit.ts';
import {
  TARGET_CPU_MS,
  TARGET_E2E_RATIO,
  TARGET_RATIO,
  TARGET_REDIS_COMMANDS,
  TARGET_PEAK_RSS,
  TARGET_RSS_GROWTH,
  type Options,
} from './options.ts';
import type { CpuSeconds, ThreadCpu } from './resources.ts';

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  chromium: string;
  platform: string;
  totalMemory: string;
}

export async function machineInfo(): Promise<Machine> {
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

// ---------------------------------------------------------------------------------------------
// Figures

/** The run labels (`RunResult.mode`) of the modes. */
const CERTHARVEST = 'certharvest';
const PLAIN = 'plain fetch';
const CERTHARVEST_E2E = 'certharvest e2e';
const FETCH_E2E = 'fetch e2e';
const NAIVE = 'naive playwright';

/** One rate of certharvest over one of a reference loop, round by round, and their median. */
export interface PairRatio {
  rounds: { round: number; certharvest: number; reference: number; ratio: number }[];
  median: number;
  min: number;
  max: number;
  target: number;
  met: boolean;
}

export interface NaiveComparison {
  certificates: number;
  /** The naive script's download rate, certificates/s. */
  perSecond: number;
  /** CPU of Node (Playwright included) and of Chromium during its loop, ms per certificate. */
  nodeCpuMs: number;
  chromiumCpuMs: number;
  /** certharvest's download-phase rate at the same concurrency (median over the rounds). */
  certharvestPerSecond: number;
  ratio: number;
}

/** Medians over the rounds of one concurrency; null where the runs were not made. */
export interface ConcurrencyFigures {
  concurrency: number;
  download: PairRatio | null;
  endToEnd: PairRatio | null;
  naive: NaiveComparison | null;
  cpuMs: { downloadPhase: number | null; batchHeld: number | null; batchE2e: number | null };
  redis: { downloadPhase: number | null; batchHeld: number | null; batchE2e: number | null };
}

export interface Check {
  figure: string;
  value: string;
  /** '' when the figure has no target. */
  target: string;
  met: boolean | null;
}

export interface Summary {
  perConcurrency: ConcurrencyFigures[];
  checks: Check[];
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const atConcurrency = (results: readonly RunResult[], c: number) =>
  results.filter((r) => (r.concurrency ?? c) === c);

/** A rate of certharvest's runs over the reference's, round by round, when both were measured. */
function pairRatio(
  results: readonly RunResult[],
  mode: string,
  reference: string,
  rate: (r: RunResult) => number | null,
  target: number,
): PairRatio | null {
  const rounds: PairRatio['rounds'] = [];
  for (const round of new Set(results.map((r) => r.round ?? 1))) {
    const inRound = results.filter((r) => (r.round ?? 1) === round);
    const a = inRound.find((r) => r.mode === mode);
    const b = inRound.find((r) => r.mode === reference);
    const ra = a && a.ok ? rate(a) : null;
    const rb = b && b.ok ? rate(b) : null;
    if (ra === null || rb === null || rb === 0) continue;
    rounds.push({ round, certharvest: ra, reference: rb, ratio: ra / rb });
  }
  if (rounds.length === 0) return null;
  const ratios = rounds.map((r) => r.ratio);
  const mid = median(ratios);
  return {
    rounds,
    median: mid,
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    target,
    met: mid >= target,
  };
}

/** The median of a figure over the runs of one mode. */
export function medianOf(
  results: readonly RunResult[],
  mode: string,
  pick: (r: RunResult) => number | null | undefined,
): number | null {
  const xs = results
    .filter((r) => r.mode === mode && r.ok)
    .map(pick)
    .filter((x): x is number => typeof x === 'number');
  return xs.length === 0 ? null : median(xs);
}

export function concurrencyFigures(results: readonly RunResult[], c: number): ConcurrencyFigures {
  const here = atConcurrency(results, c);
  const download = pairRatio(here, CERTHARVEST, PLAIN, (r) => r.download?.perSecond ?? null, TARGET_RATIO);
  const endToEnd = pairRatio(here, CERTHARVEST_E2E, FETCH_E2E, (r) => r.perSecond, TARGET_E2E_RATIO);
  const naiveRun = here.find((r) => r.mode === NAIVE && r.ok && r.download);
  const certharvestRate = medianOf(here, CERTHARVEST, (r) => r.download?.perSecond);
  const naive: NaiveComparison | null =
    naiveRun?.download && certharvestRate !== null
      ? {
          certificates: naiveRun.verified,
          perSecond: naiveRun.download.perSecond,
          nodeCpuMs: (naiveRun.download.cpuSeconds.node * 1000) / naiveRun.verified,
          chromiumCpuMs: (naiveRun.download.cpuSeconds.chromium * 1000) / naiveRun.verified,
          certharvestPerSecond: certharvestRate,
          ratio: certharvestRate / naiveRun.download.perSecond,
        }
      : null;
  return {
    concurrency: c,
    download,
    endToEnd,
    naive,
    cpuMs: {
      downloadPhase: medianOf(here, CERTHARVEST, (r) => r.download?.cpuMsPerCertificate),
      batchHeld: medianOf(here, CERTHARVEST, (r) => r.wholeBatch?.cpuMsPerCertificate),
      batchE2e: medianOf(here, CERTHARVEST_E2E, (r) => r.wholeBatch?.cpuMsPerCertificate),
    },
    redis: {
      downloadPhase: medianOf(here, CERTHARVEST, (r) => r.phases?.redisCommands?.perCertificate),
      batchHeld: medianOf(here, CERTHARVEST, (r) => r.wholeBatch?.redisCommands?.perCertificate),
      batchE2e: medianOf(here, CERTHARVEST_E2E, (r) => r.wholeBatch?.redisCommands?.perCertificate),
    },
  };
}

const f2 = (x: number) => x.toFixed(2);
const f1 = (x: number) => x.toFixed(1);

/** Every figure of the issue with its target: what the summary prints and the JSON carries. */
export function summarize(
  opts: Options,
  results: readonly RunResult[],
  rss: RunResult | null,
  submit: SubmitResult | null,
): Summary {
  const perConcurrency = opts.concurrencies.map((c) => concurrencyFigures(results, c));
  const checks: Check[] = [];
  const atMost = (x: number | null, max: number) => (x === null ? null : x <= max);
  for (const f of perConcurrency) {
    const at = `@${f.concurrency}`;
    const ratio = (r: PairRatio | null) =>
      r ? `${f2(r.median)} (median of ${r.rounds.length}, range ${f2(r.min)}–${f2(r.max)})` : 'not measured';
    checks.push({
      figure: `download phase, certharvest / plain fetch ${at}`,
      value: ratio(f.download),
      target: `≥ ${TARGET_RATIO}`,
      met: f.download ? f.download.met : null,
    });
    checks.push({
      figure: `end to end, certharvest-e2e / fetch-e2e ${at}`,
      value: ratio(f.endToEnd),
      target: `≥ ${TARGET_E2E_RATIO}`,
      met: f.endToEnd ? f.endToEnd.met : null,
    });
    checks.push({
      figure: `download rate, certharvest / naive playwright ${at}`,
      value: f.naive
        ? `${f2(f.naive.ratio)} (${f1(f.naive.certharvestPerSecond)} / ${f1(f.naive.perSecond)} per s; naive on ` +
          `${f.naive.certificates} certificates, CPU node ${f1(f.naive.nodeCpuMs)} + chromium ${f1(f.naive.chromiumCpuMs)} ms/cert)`
        : 'not measured',
      target: '',
      met: null,
    });
    const ms = (x: number | null) => (x === null ? 'not measured' : `${f2(x)} ms`);
    checks.push({
      figure: `worker CPU per certificate, download phase ${at}`,
      value: ms(f.cpuMs.downloadPhase),
      target: `≤ ${TARGET_CPU_MS} ms`,
      met: atMost(f.cpuMs.downloadPhase, TARGET_CPU_MS),
    });
    checks.push({
      figure: `worker CPU per certificate, whole batch (e2e run) ${at}`,
      value: ms(f.cpuMs.batchE2e),
      target: `≤ ${TARGET_CPU_MS} ms`,
      met: atMost(f.cpuMs.batchE2e, TARGET_CPU_MS),
    });
    const cmds = (x: number | null) => (x === null ? 'not measured' : f1(x));
    checks.push({
      figure: `Redis commands per certificate, download phase ${at}`,
      value: cmds(f.redis.downloadPhase),
      target: `≤ ${TARGET_REDIS_COMMANDS}`,
      met: atMost(f.redis.downloadPhase, TARGET_REDIS_COMMANDS),
    });
    checks.push({
      figure: `Redis commands per certificate, whole batch (e2e run) ${at}`,
      value: cmds(f.redis.batchE2e),
      target: `≤ ${TARGET_REDIS_COMMANDS}`,
      met: atMost(f.redis.batchE2e, TARGET_REDIS_COMMANDS),
    });
  }
  if (opts.rssCertificates) {
    const [small, large] = opts.rssCertificates;
    const points = rss?.rss?.checkpoints ?? [];
    const a = points.find((p) => p.certificates === small);
    const b = points.find((p) => p.certificates === large);
    const growth = rss?.rss?.growth ?? null;
    checks.push({
      figure: `worker live heap (after a forced GC) after ${small.toLocaleString('en')} → after ${large.toLocaleString('en')} certificates`,
      value:
        a?.heapAfterGc && b?.heapAfterGc && growth !== null
          ? `${mb(a.heapAfterGc)} → ${mb(b.heapAfterGc)} (${growth >= 0 ? '+' : ''}${f1(growth * 100)} %)`
          : 'not measured',
      target: `growth ≤ ${TARGET_RSS_GROWTH * 100} %`,
      met: growth === null || !rss?.ok ? null : growth <= TARGET_RSS_GROWTH,
    });
    const peak = b ? Math.max(...points.map((p) => p.peakRss)) : null;
    checks.push({
      figure: `worker peak RSS through ${large.toLocaleString('en')} certificates`,
      value: peak === null ? 'not measured' : mb(peak),
      target: `≤ ${mb(TARGET_PEAK_RSS)}`,
      met: peak === null || !rss?.ok ? null : peak <= TARGET_PEAK_RSS,
    });
  }
  if (opts.submitUsers > 0) {
    checks.push({
      figure: `submit of ${opts.submitUsers.toLocaleString('en')} users`,
      value: submit ? `${f2(submit.seconds)} s` : 'not measured',
      target: `< ${SUBMIT_TARGET_SECONDS} s`,
      met: submit ? submit.seconds < SUBMIT_TARGET_SECONDS : null,
    });
  }
  const runs = rss ? [...results, rss] : results;
  const verified = runs.filter((r) => r.ok).length;
  checks.push({
    figure: 'every certificate stored / fetched with the sandbox bytes (sha256)',
    value: `${verified} of ${runs.length} runs`,
    target: 'all',
    met: verified === runs.length,
  });
  return { perConcurrency, checks };
}

// ---------------------------------------------------------------------------------------------
// Printing

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export interface ReportInput {
  opts: Options;
  machine: Machine;
  results: RunResult[];
  load: number[][];
  rss: RunResult | null;
  submit: SubmitResult | null;
  failures: string[];
  command: string;
  seconds: number;
}

const runName = (r: RunResult) => `${r.mode} #${r.round ?? 1} @${r.concurrency ?? '?'}`;

export function printReport(input: ReportInput): void {
  const { opts, machine, results, load, rss, submit, failures } = input;
  const out: string[] = [];
  out.push('certharvest throughput benchmark');
  out.push(`  command   ${input.command}`);
  out.push(
    `  machine   ${machine.cpus} CPU(s) (${machine.cpuModel}), ${machine.totalMemory}, ${machine.platform}; ` +
      `Node ${machine.node}; ${machine.chromium}`,
  );
  const [start = [], end = []] = load.map((l) => l.map((x) => x.toFixed(2)).join(' '));
  out.push(`  load avg  ${start} at start, ${end} at end (1, 5, 15 min)`);
  out.push(
    `  settings  sandbox latency ${opts.latencyMs} ms, shape ${opts.shape}, concurrency ${opts.concurrencies.join(' and ')}, ` +
      `${opts.rounds} round(s)` +
      (opts.discoverConcurrency === undefined
        ? ', discover concurrency: the product default'
        : `, discover concurrency ${opts.discoverConcurrency}`) +
      (opts.lmsCredits === undefined
        ? ', LMS API credits 50,000 a minute'
        : `, LMS API credits ${opts.lmsCredits} a minute`) +
      (opts.pipelined ? ', certharvest pipelined' : '') +
      `, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset (4)'}; ${input.seconds.toFixed(0)} s in all`,
  );
  out.push('');
  const cell = (x: number | null | undefined, digits = 1) =>
    typeof x === 'number' ? x.toFixed(digits) : '-';
  out.push(
    table([
      [
        'run (mode #round @concurrency)',
        'certificates',
        'download s',
        'dl cert/s',
        'dl CPU ms/cert',
        'end to end s',
        'e2e cert/s',
        'batch CPU ms/cert',
        'batch redis/cert',
        'peak RSS node',
        'peak RSS chromium',
        'logins',
      ],
      ...[...results, ...(rss ? [rss] : [])].map((r) => [
        r.rss ? `${r.mode} @${r.concurrency ?? '?'}` : runName(r),
        r.verified === r.expected ? String(r.expected) : `${r.verified}/${r.expected}`,
        cell(r.download?.seconds, 2),
        cell(r.download?.perSecond),
        cell(r.download?.cpuMsPerCertificate, 2),
        r.seconds.toFixed(1),
        r.perSecond.toFixed(1),
        cell(r.wholeBatch?.cpuMsPerCertificate, 2),
        cell(r.wholeBatch?.redisCommands?.perCertificate),
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
    'dl: the download phase only (certharvest: submission to done with listings answered at once, the ' +
      'fleet logged in; the loops: after their login). end to end: certharvest-e2e from the submission (the ' +
      'worker running and its fleet logged in), fetch-e2e from the start of its form login and token grant, ' +
      'to the last certificate; `certharvest` has no e2e figure of its own (its listings are free). ' +
      'batch: the whole batch, ' +
      'submission to done: CPU (user + system) of the process that works, and Redis commands from ' +
      "INFO commandstats (Lua inner calls included, the bench's polls and INFO calls taken out).",
  );

  const summary = summarize(opts, results, rss, submit);
  for (const f of summary.perConcurrency) {
    out.push('');
    const bound = opts.latencyMs > 0 ? f.concurrency / (opts.latencyMs / 1000) : Infinity;
    out.push(
      `concurrency ${f.concurrency} (bound: ${f.concurrency} / ${(opts.latencyMs / 1000).toFixed(3)} s = ` +
        `${Number.isFinite(bound) ? bound.toFixed(0) : '∞'} certificates/s)`,
    );
    const rounds = new Set(
      [...(f.download?.rounds ?? []), ...(f.endToEnd?.rounds ?? [])].map((r) => r.round),
    );
    for (const round of [...rounds].sort((a, b) => a - b)) {
      const d = f.download?.rounds.find((r) => r.round === round);
      const e = f.endToEnd?.rounds.find((r) => r.round === round);
      out.push(
        `  round ${round}: ` +
          [
            d
              ? `download phase certharvest / plain fetch ${f1(d.certharvest)} / ${f1(d.reference)} per s = ${f2(d.ratio)}`
              : null,
            e
              ? `end to end certharvest-e2e / fetch-e2e ${f1(e.certharvest)} / ${f1(e.reference)} per s = ${f2(e.ratio)}`
              : null,
          ]
            .filter(Boolean)
            .join('; '),
      );
    }
    const verdict = (r: PairRatio, name: string) =>
      `${name} ratio, median of ${r.rounds.length} round(s): ${f2(r.median)} (range ${f2(r.min)}–${f2(r.max)}; ` +
      `target ≥ ${r.target}: ${r.met ? 'met' : 'NOT met'})`;
    if (f.download) out.push(`  ${verdict(f.download, 'download phase')}`);
    if (f.endToEnd) out.push(`  ${verdict(f.endToEnd, 'end to end')}`);
    if (f.naive) {
      const n = f.naive;
      out.push(
        `  naive playwright (round 1, ${n.certificates} certificates): ${f1(n.perSecond)}/s, CPU node ` +
          `${f1(n.nodeCpuMs)} + chromium ${f1(n.chromiumCpuMs)} ms per certificate; certharvest's download ` +
          `phase (median ${f1(n.certharvestPerSecond)}/s) is ${f2(n.ratio)}× its rate`,
      );
    }
    const ms = (x: number | null) => (x === null ? '-' : `${f2(x)} ms`);
    const cmds = (x: number | null) => (x === null ? '-' : f1(x));
    out.push(
      `  certharvest per certificate, medians: worker CPU ${ms(f.cpuMs.downloadPhase)} in the download phase, ` +
        `${ms(f.cpuMs.batchHeld)} for the whole batch held back, ${ms(f.cpuMs.batchE2e)} for the whole batch ` +
        `pipelined (e2e); Redis commands ${cmds(f.redis.downloadPhase)}, ${cmds(f.redis.batchHeld)}, ` +
        `${cmds(f.redis.batchE2e)}`,
    );
  }

  out.push('');
  out.push('details');
  for (const r of [...results, ...(rss ? [rss] : [])]) details(out, r, machine);

  if (rss?.rss) {
    out.push('');
    const x = rss.rss;
    out.push(
      `RSS step: ${rss.expected} certificates in one batch (by user id, pipelined), DOWNLOAD_CONCURRENCY ` +
        `${rss.concurrency}, sandbox latency ${x.latencyMs} ms (lower than the rounds' to keep the step short) ` +
        `and its rate limit raised (the step measures memory, not 429 waits); ${rss.seconds.toFixed(0)} s, ` +
        `${rss.perSecond.toFixed(0)} certificates/s`,
    );
    for (const p of x.checkpoints) {
      out.push(
        `  ${p.certificates} stored (seen at ${p.stored}, ${p.seconds.toFixed(1)} s): peak RSS ${mb(p.peakRss)}; ` +
          `then RSS ${mb(p.rss)}, V8 heap ${mb(p.heapUsed)} used of ${mb(p.heapTotal)}, external ${mb(p.external)} ` +
          `(array buffers ${mb(p.arrayBuffers)})` +
          (p.heapAfterGc !== null && p.rssAfterGc !== null
            ? `; after a forced full GC: V8 heap ${mb(p.heapAfterGc)}, RSS ${mb(p.rssAfterGc)}`
            : ''),
      );
    }
    if (x.peak)
      out.push(
        `  the peak, ${mb(x.peak.bytes)}, came at ${x.peak.seconds.toFixed(1)} s: users discovered ` +
          `${x.peak.usersDone}/${x.peak.usersTotal}, certificates found ${x.peak.certsFound}, stored ${x.peak.certsStored} ` +
          '(the batch as last polled, every 100 ms)',
      );
    const [firstPoint] = x.checkpoints;
    const lastPoint = x.checkpoints[x.checkpoints.length - 1];
    if (firstPoint && lastPoint && lastPoint !== firstPoint && lastPoint.heapAfterGc !== null)
      out.push(
        `  what is retained: after ${lastPoint.certificates} certificates a full GC leaves ${mb(lastPoint.heapAfterGc)} ` +
          `of V8 heap, against ${mb(firstPoint.heapUsed)} in use (live and garbage) after ${firstPoint.certificates}: ` +
          (lastPoint.heapAfterGc <= firstPoint.heapUsed
            ? 'no growth of live objects shows, the growth is garbage V8 had not yet collected'
            : 'live objects grew'),
      );
    if (x.growth !== null)
      out.push(
        `  growth of the live heap: ${x.growth >= 0 ? '+' : ''}${f1(x.growth * 100)} % (target ≤ ${TARGET_RSS_GROWTH * 100} %: ` +
          `${x.growth <= TARGET_RSS_GROWTH ? 'met' : 'NOT met'})`,
      );
  }
  if (submit) {
    out.push('');
    out.push(
      `submit: ${submit.queued} of ${submit.users} user ids queued in ${submit.seconds.toFixed(2)} s ` +
        `(target < ${submit.targetSeconds} s: ${submit.seconds < submit.targetSeconds ? 'met' : 'NOT met'}), ` +
        `CPU ${submit.cpuSeconds.toFixed(2)} s, RSS after ${mb(submit.rssBytes)}`,
    );
  }
  out.push('');
  for (const r of [...results, ...(rss ? [rss] : [])]) {
    if (r.ok) continue;
    out.push(`${runName(r)}: FAILED`);
    for (const p of r.problems) out.push(`  - ${p}`);
  }
  for (const f of failures) out.push(`FAILED to run: ${f}`);

  out.push('');
  out.push('summary');
  const rows = summary.checks.map((c) => [
    c.figure,
    c.value,
    c.target || '-',
    c.met === null ? (c.target ? 'not measured' : '-') : c.met ? 'met' : 'NOT met',
  ]);
  out.push(table([['figure', 'value', 'target', 'verdict'], ...rows]));
  console.log(out.join('\n'));
}

function details(out: string[], r: RunResult, machine: Machine): void {
  const s = r.sandbox;
  out.push(
    `${r.rss ? `${r.mode} @${r.concurrency ?? '?'}` : runName(r)}: ${r.expected} PDFs, ${mb(r.pdfBytes)} in all`,
  );
  out.push(
    `  the sandbox saw ${s.valenceRequests} Valence request(s), ${s.renderPdf} render PDF(s), ` +
      `${s.renderLoginPage} login-page answer(s), ${s.tokenGrants} token grant(s)`,
  );
  for (const note of r.notes ?? []) out.push(`  ${note}`);
  const login = r.loginSeconds === null ? '' : `web login ${r.loginSeconds.toFixed(2)} s`;
  if (r.phases) {
    const p = r.phases;
    out.push(
      `  ${p.users} users${p.allUsers ? ' (batch: allUsers, the worker lists them)' : ''}, DISCOVER_CONCURRENCY ${p.discoverConcurrency}` +
        (p.paused
          ? `: listings answered at once (the download phase); the fleet logged in before the submission (${login}, ` +
            'Chromium, not timed); '
          : r.loginSeconds !== null
            ? `, downloads overlapping discovery; the fleet logged in before the submission (${login}, ` +
              'Chromium, not timed: a running fleet keeps its session); '
            : ', downloads overlapping discovery (the login at the first download, inside end to end); ') +
        `worker start ${p.workerStartSeconds.toFixed(1)} s, not timed`,
    );
    out.push(`  OUTPUT_DIR ${p.outputDir} (${p.outputFilesystem})`);
    if (p.jobs) {
      const j = p.jobs;
      out.push(
        `  download jobs: ${j.jobs} (${j.attempts} attempts), each ${durations(j.each)} ` +
          `(start to end as BullMQ records it), ` +
          `${j.meanRunning.toFixed(1)} running at once; the first started ${j.firstStartMs} ms after the resume, ` +
          `the batch was seen done ${j.doneSeenAfterLastMs} ms after the last ended`,
      );
    }
    if (p.redisCommands)
      out.push(`  redis commands per certificate, download phase: ${commands(p.redisCommands)}`);
  } else if (login && r.download) {
    out.push(`  ${login}, before the loop`);
  }
  if (r.wholeBatch?.redisCommands)
    out.push(`  redis commands per certificate, whole batch: ${commands(r.wholeBatch.redisCommands)}`);
  if (r.requestTimes) {
    out.push(
      `  render requests: each ${durations(r.requestTimes)}` +
        (r.mode === 'context.request'
          ? ' (called → body read)'
          : r.mode === NAIVE
            ? ' (new page → page loaded, viewer included)'
            : ' (created → last byte, undici)'),
    );
  }
  if (r.download) {
    out.push(
      `  download phase CPU seconds: ${cpuLine(r, r.download.cpuSeconds)} ` +
        `(wall ${r.download.seconds.toFixed(2)} s × ${machine.cpus} CPUs = ${(r.download.seconds * machine.cpus).toFixed(1)})`,
    );
  }
  if (r.download?.threads) out.push(`  download phase, ${threadsLine(r.download.threads, r.verified)}`);
  if (r.wholeBatch) {
    out.push(
      `  whole batch CPU seconds: ${cpuLine(r, r.wholeBatch.cpuSeconds)} ` +
        `(wall ${r.wholeBatch.seconds.toFixed(2)} s × ${machine.cpus} CPUs = ${(r.wholeBatch.seconds * machine.cpus).toFixed(1)})`,
    );
    if (r.wholeBatch.threads) out.push(`  whole batch, ${threadsLine(r.wholeBatch.threads, r.verified)}`);
  }
  out.push(
    `  whole run CPU seconds: ${cpuLine(r, r.resources.cpuSeconds)} ` +
      `(wall ${r.seconds.toFixed(1)} s × ${machine.cpus} CPUs = ${(r.seconds * machine.cpus).toFixed(1)})`,
  );
  if (r.phases) out.push(`  redis-server peak RSS ${mb(r.resources.redisRss)}`);
  else out.push('  bodies hashed in memory, nothing written');
}

const commands = (c: {
  perCertificate: number;
  benchPerCertificate: number;
  top: { command: string; perCertificate: number }[];
}) =>
  `${c.perCertificate.toFixed(1)} (Lua's inner calls included; the bench's own ${c.benchPerCertificate.toFixed(2)} ` +
  `taken out), most: ` +
  c.top.map((t) => `${t.command} ${t.perCertificate.toFixed(1)}`).join(', ');

/** The measuring process's CPU by thread, ms per certificate. */
function threadsLine(t: ThreadCpu, certificates: number): string {
  const per = (x: number) => ((x * 1000) / Math.max(1, certificates)).toFixed(2);
  return (
    `node CPU by thread, ms per certificate: main thread ${per(t.mainUser + t.mainSystem)} ` +
    `(user ${per(t.mainUser)}, system ${per(t.mainSystem)}), other threads (libuv pool: file system calls; ` +
    `V8: GC) ${per(t.otherUser + t.otherSystem)} (user ${per(t.otherUser)}, system ${per(t.otherSystem)})`
  );
}

function cpuLine(r: RunResult, cpu: CpuSeconds): string {
  return (
    `node ${cpu.node.toFixed(2)}` +
    (r.browser ? `, chromium ${cpu.chromium.toFixed(2)}` : '') +
    `, sandbox LMS ${cpu.sandbox.toFixed(2)}` +
    (r.phases ? `, redis-server ${cpu.redis.toFixed(2)}` : '')
  );
}

const durations = (d: DurationStats) =>
  `${d.meanMs.toFixed(1)} ms on average (p50 ${d.p50Ms.toFixed(0)}, p90 ${d.p90Ms.toFixed(0)})`;
