/**
 * CLI start-up benchmark: how long `certharvest` takes, and how much CPU it spends, before it
 * answers (issue 20, point 6: under 300 ms of CPU for help, `status` and a small `submit`).
 *
 *   npm run bench:cli                                    # 5 interleaved runs of each case
 *   npm run bench:cli -- --runs 9 --json
 *   npm run bench:cli -- --root /tmp/cli-before --root . # two checkouts, interleaved, compared
 *   npm run bench:cli -- --from-source                   # sources through tsx, even with a fresh dist/
 *
 * Each case is `node bin/certharvest.js …` in a fresh process with a clean environment (PATH,
 * HOME, and Redis for the commands that need it) in an empty working folder (no .env). The
 * commands that talk to Redis get a private redis-server started here and a throwaway
 * QUEUE_PREFIX. One unrecorded warm-up round comes first (tsx's transform cache, the page cache),
 * then `--runs` rounds; each round runs every case of every checkout once, in the same order, so
 * that a busy moment of the machine falls on all of them alike.
 *
 * Wall time is from spawn to exit, seen by this process. CPU time is the child's own user + system
 * time, every thread included (tsx's loader thread, V8's compiler and GC threads), read by
 * `process.resourceUsage()` in an exit hook loaded with `--import` (a data: URL: nothing else is
 * loaded) and written to the file named by CERTHARVEST_BENCH_RUSAGE; it agrees with
 * `/usr/bin/time` to about 10 ms. `node -e 0` with the same hook is the floor.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '../src/util/redis-server.ts';

/** The target of issue 20: CPU of the CLI process until it exits, ms, at most. */
const TARGET_CPU_MS = 300;

const RUSAGE_ENV = 'CERTHARVEST_BENCH_RUSAGE';

/** Writes the process's CPU (user + system, µs) to $CERTHARVEST_BENCH_RUSAGE when it exits. */
const EXIT_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    `import { writeFileSync } from 'node:fs';
const file = process.env.${RUSAGE_ENV};
if (file) process.on('exit', () => {
  const r = process.resourceUsage();
  writeFileSync(file, JSON.stringify({ user: r.userCPUTime, system: r.systemCPUTime }));
});`,
  );

const HELP = `node --import tsx bench/cli-startup.ts [options]

  --runs <n>        recorded runs of each case, interleaved (default 5)
  --root <dir>      a checkout whose bin/certharvest.js is measured (default: this one); give it
                    more than once to compare checkouts in one run (ratios to the first)
  --from-source     set CERTHARVEST_FROM_SOURCE=1: run the sources through tsx even when dist/ is fresh
  --json            print the figures as JSON
  --help            this text`;

interface Options {
  runs: number;
  roots: string[];
  fromSource: boolean;
  json: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '5' },
      root: { type: 'string', multiple: true },
      'from-source': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs: expected a whole number ≥ 1, got "${values.runs}"`);
  const roots = (values.root ?? [fileURLToPath(new URL('..', import.meta.url))]).map((r) => path.resolve(r));
  for (const root of roots) {
    if (!existsSync(path.join(root, 'bin/certharvest.js')))
      throw new Error(`--root: no bin/certharvest.js in ${root}`);
  }
  return { runs, roots, fromSource: values['from-source'], json: values.json };
}

/** One command line measured; `check` says whether a run answered as it should. */
interface Case {
  name: string;
  /** The CLI's arguments; undefined for the baseline, `node -e 0`. */
  args: string[] | undefined;
  redis: boolean;
  check(run: Run): boolean;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  cpuMs: number;
}

const BASELINE: Case = {
  name: 'node -e 0 (baseline)',
  args: undefined,
  redis: false,
  check: (r) => r.code === 0,
};

const CASES: readonly Case[] = [
  {
    name: '--help',
    args: ['--help'],
    redis: false,
    check: (r) => r.code === 0 && r.stdout.includes('Usage: certharvest'),
  },
  {
    name: 'status --help',
    args: ['status', '--help'],
    redis: false,
    check: (r) => r.code === 0 && r.stdout.includes('Usage: certharvest status'),
  },
  {
    name: 'status',
    args: ['status'],
    redis: true,
    check: (r) => r.code === 0,
  },
  {
    name: 'submit --users 1001',
    args: ['submit', '--users', '1001'],
    redis: true,
    check: (r) => r.code === 0 && r.stdout.includes('submitted batch'),
  },
];

/** Run `c` once (with the bin of `root`); a wrong answer throws: a fast wrong answer means nothing. */
async function runOnce(c: Case, root: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  const rusageFile = path.join(cwd, 'rusage.json');
  rmSync(rusageFile, { force: true });
  const args = c.args ? [path.join(root, 'bin/certharvest.js'), ...c.args] : ['-e', '0'];
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', EXIT_HOOK, ...args], {
    cwd,
    env: { ...env, [RUSAGE_ENV]: rusageFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = existsSync(rusageFile)
    ? (JSON.parse(readFileSync(rusageFile, 'utf8')) as { user: number; system: number })
    : undefined;
  const run: Run = { code, stdout, stderr, wallMs, cpuMs: cpu ? (cpu.user + cpu.system) / 1000 : NaN };
  if (!cpu || !c.check(run)) {
    throw new Error(
      `${c.name} (${root}): exit ${code}${cpu ? '' : ', no CPU figure'}\n` +
        `stdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr.slice(0, 2000)}`,
    );
  }
  return run;
}

type Mode = 'bundled dist/cli' | 'compiled dist/src' | 'sources through tsx';

/** What bin/certharvest.js of `root` runs: bin's own test (dist/ built, no .ts or .lua newer than the build). */
function modeOf(root: string, fromSource: boolean): Mode {
  const bundled = existsSync(path.join(root, 'dist/cli/main.js'));
  if (fromSource || !runsDist(root, bundled)) return 'sources through tsx';
  return bundled ? 'bundled dist/cli' : 'compiled dist/src';
}

function runsDist(root: string, bundled: boolean): boolean {
  const stamp = path.join(root, 'dist/.build-stamp');
  const main = bundled ? 'dist/cli/main.js' : 'dist/src/cli/main.js';
  if (!existsSync(path.join(root, main)) || !existsSync(stamp)) return false;
  let newest = 0;
  for (const dir of ['src', 'jobs']) {
    const base = path.join(root, dir);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && (entry.name.endsWith('.ts') || entry.name.endsWith('.lua'))) {
        newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return statSync(stamp).mtimeMs >= newest;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

interface CaseFigures {
  name: string;
  wallMs: number[];
  cpuMs: number[];
  medianWallMs: number;
  medianCpuMs: number;
  /** Median CPU / the baseline's median CPU; wall likewise. */
  cpuRatio: number;
  wallRatio: number;
  /** Median CPU / the same case's in the first checkout (absent for the first). */
  cpuVsFirst?: number;
  /** Null for the baseline. */
  targetMet: boolean | null;
}

interface CheckoutFigures {
  root: string;
  mode: Mode;
  cases: CaseFigures[];
}

interface Machine {
  cpu: string;
  cpus: number;
  /** One-minute load average at the start and at the end of the run. */
  loadAverage: [number, number];
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (!opts) {
    console.log(HELP);
    return 0;
  }
  const loadBefore = loadavg()[0]!;
  const work = mkdtempSync(path.join(tmpdir(), 'certharvest-bench-cli-'));
  const redis = await startRedisServer();
  try {
    const { PATH, HOME } = process.env;
    const base: NodeJS.ProcessEnv = {
      PATH,
      HOME,
      OUTPUT_DIR: path.join(work, 'out'),
      ...(opts.fromSource ? { CERTHARVEST_FROM_SOURCE: '1' } : {}),
    };
    const withRedis: NodeJS.ProcessEnv = {
      ...base,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `bench-cli-${process.pid}-${Date.now().toString(36)}`,
    };
    const baseline: Run[] = [];
    const runs = opts.roots.map(() => CASES.map((): Run[] => []));
    for (let round = 0; round <= opts.runs; round++) {
      const recorded = round > 0;
      const b = await runOnce(BASELINE, '', base, work);
      if (recorded) baseline.push(b);
      for (const [r, root] of opts.roots.entries()) {
        for (const [i, c] of CASES.entries()) {
          const run = await runOnce(c, root, c.redis ? withRedis : base, work);
          if (recorded) runs[r]![i]!.push(run);
        }
      }
    }
    const baseWall = median(baseline.map((r) => r.wallMs));
    const baseCpu = median(baseline.map((r) => r.cpuMs));
    const figuresOf = (c: Case, rs: Run[], first?: CaseFigures): CaseFigures => {
      const medianWallMs = median(rs.map((r) => r.wallMs));
      const medianCpuMs = median(rs.map((r) => r.cpuMs));
      return {
        name: c.name,
        wallMs: rs.map((r) => round1(r.wallMs)),
        cpuMs: rs.map((r) => round1(r.cpuMs)),
        medianWallMs: round1(medianWallMs),
        medianCpuMs: round1(medianCpuMs),
        cpuRatio: round1(medianCpuMs / baseCpu),
        wallRatio: round1(medianWallMs / baseWall),
        ...(first ? { cpuVsFirst: round2(medianCpuMs / first.medianCpuMs) } : {}),
        targetMet: c === BASELINE ? null : medianCpuMs <= TARGET_CPU_MS,
      };
    };
    const baselineFigures = figuresOf(BASELINE, baseline);
    const checkouts: CheckoutFigures[] = [];
    for (const [r, root] of opts.roots.entries()) {
      checkouts.push({
        root,
        mode: modeOf(root, opts.fromSource),
        cases: CASES.map((c, i) => figuresOf(c, runs[r]![i]!, r > 0 ? checkouts[0]!.cases[i] : undefined)),
      });
    }
    const machine: Machine = {
      cpu: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      // The CPU time of a short process grows on a busy machine too (caches, SMT siblings).
      loadAverage: [round1(loadBefore), round1(loadavg()[0]!)],
    };
    if (opts.json) {
      const report = {
        node: process.version,
        machine,
        runs: opts.runs,
        targetCpuMs: TARGET_CPU_MS,
        baseline: baselineFigures,
        checkouts,
      };
      console.log(JSON.stringify(report, null, 2));
    } else {
      printReport(baselineFigures, checkouts, opts, machine);
    }
    // A missed target is a figure, not a failure: only a wrong answer (thrown above) fails the run.
    return 0;
  } finally {
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function printReport(
  baseline: CaseFigures,
  checkouts: readonly CheckoutFigures[],
  opts: Options,
  machine: Machine,
): void {
  console.log(`certharvest CLI start-up, Node ${process.version}, ${machine.cpus} × ${machine.cpu}`);
  console.log(
    `${opts.runs} runs of each case, interleaved, after one warm-up round; medians; ` +
      `load average ${machine.loadAverage.join(' → ')}`,
  );
  const compare = checkouts.length > 1;
  const head = ['case', 'wall ms', '× base', 'CPU ms', '× base', ...(compare ? ['CPU / 1st'] : []), 'target'];
  const rowOf = (f: CaseFigures) => [
    f.name,
    f.medianWallMs.toFixed(0),
    f.wallRatio.toFixed(1),
    f.medianCpuMs.toFixed(0),
    f.cpuRatio.toFixed(1),
    ...(compare ? [f.cpuVsFirst === undefined ? '' : f.cpuVsFirst.toFixed(2)] : []),
    f.targetMet === null ? '' : `${f.targetMet ? 'met' : 'NOT met'} (CPU ≤ ${TARGET_CPU_MS} ms)`,
  ];
  const all = [baseline, ...checkouts.flatMap((c) => c.cases)];
  const widths = head.map((h, i) => Math.max(h.length, ...all.map((f) => rowOf(f)[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join('  ')
      .trimEnd();
  console.log(`\n${line(head)}`);
  console.log(line(rowOf(baseline)));
  for (const [n, c] of checkouts.entries()) {
    console.log(`\n${compare ? `${n + 1}. ` : ''}${c.root} (${c.mode})`);
    for (const f of c.cases) console.log(line(rowOf(f)));
  }
  console.log('\nevery run, CPU ms:');
  const runsLine = (label: string, f: CaseFigures) =>
    console.log(`  ${label.padEnd(widths[0]! + 3)}  ${f.cpuMs.map((v) => v.toFixed(0)).join(' ')}`);
  runsLine(baseline.name, baseline);
  for (const [n, c] of checkouts.entries())
    for (const f of c.cases) runsLine(`${compare ? `${n + 1}. ` : ''}${f.name}`, f);
}

process.exitCode = await main();
