/** The printed report: the machine, one table row per mode, the download-phase ratio, the details. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { mb, type DurationStats, type RunResult } from './harness.ts';
import { TARGET_RATIO, type Options } from './options.ts';
import type { SubmitResult } from './mode-submit.ts';
import type { CpuSeconds } from './resources.ts';

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

export interface DownloadRatio {
  /** Each round's download-phase certificates/s of certharvest and of the plain loop, and their quotient. */
  rounds: { round: number; certharvest: number; fetch: number; ratio: number }[];
  /** The median of the rounds' ratios: what is held against the target. */
  median: number;
  min: number;
  max: number;
  target: number;
  met: boolean;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** certharvest's download-phase rate over the plain loop's, round by round, when both were measured. */
export function downloadRatio(results: readonly RunResult[]): DownloadRatio | null {
  const rounds: DownloadRatio['rounds'] = [];
  for (const round of new Set(results.map((r) => r.round ?? 1))) {
    const inRound = results.filter((r) => (r.round ?? 1) === round);
    const certharvest = inRound.find((r) => r.mode === 'certharvest')?.download;
    const plain = inRound.find((r) => r.mode === 'plain fetch')?.download;
    if (!certharvest || !plain) continue;
    rounds.push({
      round,
      certharvest: certharvest.perSecond,
      fetch: plain.perSecond,
      ratio: certharvest.perSecond / plain.perSecond,
    });
  }
  if (rounds.length === 0) return null;
  const ratios = rounds.map((r) => r.ratio);
  const mid = median(ratios);
  return {
    rounds,
    median: mid,
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    target: TARGET_RATIO,
    met: mid >= TARGET_RATIO,
  };
}

/** The median of a figure over the rounds of one mode. */
export function medianOf(
  results: readonly RunResult[],
  mode: string,
  pick: (r: RunResult) => number | null,
): number | null {
  const xs = results
    .filter((r) => r.mode === mode)
    .map(pick)
    .filter((x): x is number => x !== null);
  return xs.length === 0 ? null : median(xs);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function printReport(
  opts: Options,
  machine: Machine,
  results: RunResult[],
  load: number[][],
  submit: SubmitResult | null = null,
): void {
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
      (opts.discoverConcurrency === undefined ? '' : `, discover concurrency ${opts.discoverConcurrency}`) +
      (opts.pipelined ? ', certharvest pipelined' : '') +
      `, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset (4)'}`,
  );
  out.push('');
  out.push(
    table([
      [
        'mode',
        'certificates',
        'download s',
        'certificates/s',
        'CPU ms/cert',
        'end to end s',
        'peak RSS node',
        'peak RSS chromium',
        'logins',
      ],
      ...results.map((r) => [
        opts.rounds > 1 ? `${r.mode} #${r.round ?? 1}` : r.mode,
        r.verified === r.expected ? String(r.expected) : `${r.verified}/${r.expected}`,
        r.download ? r.download.seconds.toFixed(2) : '-',
        r.download ? r.download.perSecond.toFixed(1) : '-',
        r.download ? r.download.cpuMsPerCertificate.toFixed(2) : '-',
        r.seconds.toFixed(1),
        mb(r.resources.nodeRss),
        r.browser
          ? `${mb(r.resources.chromiumRss)} (PSS ${mb(r.resources.chromiumPss)}, ${r.resources.chromiumProcesses} procs)`
          : '-',
        String(r.logins),
      ]),
    ]),
  );
  out.push('');
  const ratio = downloadRatio(results);
  if (ratio) {
    for (const r of ratio.rounds) {
      out.push(
        `round ${r.round}: download phase, certharvest / plain fetch: ${r.certharvest.toFixed(1)} / ` +
          `${r.fetch.toFixed(1)} certificates/s = ${r.ratio.toFixed(2)}`,
      );
    }
    out.push(
      `download phase ratio, median of ${ratio.rounds.length} round(s): ${ratio.median.toFixed(2)} ` +
        `(range ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}; target ≥ ${ratio.target}: ${ratio.met ? 'met' : 'NOT met'})`,
    );
    const cpu = medianOf(results, 'certharvest', (r) => r.download?.cpuMsPerCertificate ?? null);
    if (cpu !== null) out.push(`certharvest worker CPU per certificate, median: ${cpu.toFixed(2)} ms`);
  }
  out.push(
    `theoretical bound: concurrency / latency = ${opts.concurrency} / ${(opts.latencyMs / 1000).toFixed(3)} s = ` +
      `${Number.isFinite(bound) ? bound.toFixed(0) : '∞'} certificates/s`,
  );
  out.push(
    'download s, certificates/s, CPU ms/cert: the download phase only (after discovery and the login); ' +
      'CPU ms/cert: user + system of the process that downloads',
  );
  for (const r of results) {
    const s = r.sandbox;
    out.push(
      `${r.mode}${opts.rounds > 1 ? ` #${r.round ?? 1}` : ''}: ${r.expected} PDFs, ${mb(r.pdfBytes)} in all`,
    );
    out.push(
      `  the sandbox saw ${s.valenceRequests} Valence request(s), ${s.renderPdf} render PDF(s), ` +
        `${s.renderLoginPage} login-page answer(s), ${s.tokenGrants} token grant(s)`,
    );
    const login = r.loginSeconds === null ? '' : `web login ${r.loginSeconds.toFixed(2)} s`;
    if (r.phases) {
      const p = r.phases;
      const t = (x: number | null) => (x === null ? 'never' : `${x.toFixed(1)} s`);
      out.push(
        `  ${p.users} users, DISCOVER_CONCURRENCY ${p.discoverConcurrency}` +
          (p.paused
            ? `: discovery done at ${t(p.discoveryDoneSeconds)} with downloads held back; ` +
              `${login} (Chromium, during discovery); `
            : ', downloads overlapping discovery; ') +
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
      if (p.redisCommands) {
        const c = p.redisCommands;
        out.push(
          `  redis commands per certificate: ${c.perCertificate.toFixed(1)} (Lua's inner calls included; ` +
            `the bench's own polling too), most: ` +
            c.top.map((t) => `${t.command} ${t.perCertificate.toFixed(1)}`).join(', '),
        );
      }
    } else if (login) {
      out.push(`  ${login}, before the loop`);
    }
    if (r.requestTimes) {
      out.push(
        `  render requests: each ${durations(r.requestTimes)}` +
          (r.mode === 'context.request' ? ' (called → body read)' : ' (created → last byte, undici)'),
      );
    }
    if (r.download) {
      out.push(
        `  download phase CPU seconds: ${cpuLine(r, r.download.cpuSeconds)} ` +
          `(wall ${r.download.seconds.toFixed(2)} s × ${machine.cpus} CPUs = ${(r.download.seconds * machine.cpus).toFixed(1)})`,
      );
    }
    out.push(
      `  whole run CPU seconds: ${cpuLine(r, r.resources.cpuSeconds)} ` +
        `(wall ${r.seconds.toFixed(1)} s × ${machine.cpus} CPUs = ${(r.seconds * machine.cpus).toFixed(1)})`,
    );
    if (r.phases) out.push(`  redis-server peak RSS ${mb(r.resources.redisRss)}`);
    else out.push('  bodies hashed in memory, nothing written');
  }
  if (submit) {
    out.push(
      `submit: ${submit.queued} of ${submit.users} user ids queued in ${submit.seconds.toFixed(2)} s ` +
        `(target < ${submit.targetSeconds} s: ${submit.seconds < submit.targetSeconds ? 'met' : 'NOT met'}), ` +
        `CPU ${submit.cpuSeconds.toFixed(2)} s, RSS after ${mb(submit.rssBytes)}`,
    );
  }
  for (const r of results) {
    out.push(r.ok ? `${r.mode}: OK, every certificate verified (sha256)` : `${r.mode}: FAILED`);
    for (const p of r.problems) out.push(`  - ${p}`);
  }
  console.log(out.join('\n'));
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
