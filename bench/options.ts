/** The benchmark's command line, parsed once into `Options`. */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const MODES = [
  'certharvest',
  'fetch',
  'certharvest-e2e',
  'fetch-e2e',
  'naive-playwright',
  'playwright',
] as const;
export type Mode = (typeof MODES)[number];

/** Playwright's `context.request` is no longer what the worker downloads with: off unless asked. */
export const DEFAULT_MODES: readonly Mode[] = [
  'certharvest',
  'fetch',
  'certharvest-e2e',
  'fetch-e2e',
  'naive-playwright',
];

/** Modes that run in the first round only (one round is enough for a comparison this far apart). */
export const FIRST_ROUND_ONLY: readonly Mode[] = ['naive-playwright', 'playwright'];

/** The download phase of certharvest should reach this share of the plain fetch loop's rate. */
export const TARGET_RATIO = 0.95;
/** End to end (discovery included), certharvest should reach this share of the discovering loop's rate. */
export const TARGET_E2E_RATIO = 0.95;
/** Worker CPU (user + system of its process) per certificate, ms, at most. */
export const TARGET_CPU_MS = 3;
/** Redis commands per certificate (Lua's inner calls included), at most. */
export const TARGET_REDIS_COMMANDS = 25;
/** The live heap (after a forced GC) at the larger RSS checkpoint within this share of the smaller one's. */
export const TARGET_RSS_GROWTH = 0.1;
/** The worker's peak RSS through the RSS step, at most (bytes). */
export const TARGET_PEAK_RSS = 350 * 1024 * 1024;

/** The batch's shape: the sandbox's mix (about two certificates a student), or every student the same. */
export const SHAPES = { default: undefined, many: 250, single: 1 } as const;
export type Shape = keyof typeof SHAPES;

/**
 * The sandbox options that give `shape` (none for the default mix), and its API credits a minute
 * when `--lms-credits` sets them (the default: real Brightspace's 50,000, 10 a call).
 */
export function sandboxShape(opts: Pick<Options, 'shape' | 'lmsCredits'>): {
  certificatesPerStudent?: number;
  knobs?: { rateLimitCredits: number };
} {
  const perStudent = SHAPES[opts.shape];
  return {
    ...(perStudent === undefined ? {} : { certificatesPerStudent: perStudent }),
    ...(opts.lmsCredits === undefined ? {} : { knobs: { rateLimitCredits: opts.lmsCredits } }),
  };
}

export interface Options {
  certificates: number;
  /** `--shape`: default, many (250 certificates a student, two listing pages each), single (one each). */
  shape: Shape;
  latencyMs: number;
  /** Every concurrency the rounds run at (`--concurrency 4,16`). */
  concurrencies: number[];
  /** The concurrency of the run at hand: the first of `concurrencies` (a mode process gets one). */
  concurrency: number;
  /** DISCOVER_CONCURRENCY for the worker (and the discovering loop); undefined = the product's default. */
  discoverConcurrency: number | undefined;
  /** The sandbox's API credits a minute (`--lms-credits`); undefined = its default, real Brightspace's 50,000. */
  lmsCredits: number | undefined;
  modes: Mode[];
  /** certharvest: let downloads overlap discovery (no separate download phase). Default false. */
  pipelined: boolean;
  /** certharvest: a V8 CPU profile of the download phase to this file (certharvest-e2e: the whole batch, `-e2e`). */
  profile: string | undefined;
  json: boolean;
  timeoutSeconds: number;
  /** Rounds of every mode, interleaved (the order alternates), for pairwise ratios. Default 3. */
  rounds: number;
  /** Certificates of the naive-playwright mode (a browser page each is slow). Default 300. */
  naiveCertificates: number;
  /**
   * The RSS step: peak RSS of the worker after this many and after that many stored certificates,
   * in one batch of at least the larger; null skips it. Default [2000, 20000].
   */
  rssCertificates: [number, number] | null;
  /** Sandbox latency of the RSS step. Default 5 ms. */
  rssLatencyMs: number;
  /** Internal: this process only runs the RSS step (the parent's child for it). */
  rssOnly: boolean;
  /** After the rounds, time `submit` of a batch of this many user ids (0: skip). Default 100 000. */
  submitUsers: number;
  /** Internal: this process only times the submission (the parent's child for it). */
  submitOnly: boolean;
}

export const HELP = `usage: npm run bench -- [options]

  --certificates <n>           at least this many certificates in the batch (default 1000)
  --shape <shape>              the batch's shape: default (the sandbox's mix, about two
                               certificates a student), many (250 certificates a student: two
                               listing pages each), single (one certificate a student; e.g.
                               --shape single --certificates 50000)
  --latency-ms <ms>            latency the sandbox adds to every answer (default 50)
  --concurrency <list>         comma-separated; the rounds run at each (default 4,16): the
                               worker's DOWNLOAD_CONCURRENCY and the loops' concurrency
  --discover-concurrency <n>   DISCOVER_CONCURRENCY of the worker, and the award listings the
                               fetch-e2e loop runs at once (default: the product's default, 4)
  --lms-credits <n>            the sandbox's API credits a minute, 10 a call (default 50000, as
                               real Brightspace: 83 calls a second, the ceiling of a batch of
                               users with one certificate each; raise it to measure past it)
  --modes <list>               comma-separated, run in this order (default
                               certharvest,fetch,certharvest-e2e,fetch-e2e,naive-playwright):
                                 certharvest       the real worker on a sandbox whose
                                                   listings answer at once: the download phase
                                 fetch             a plain Node fetch loop over the render URLs
                                                   with the session cookie (download phase)
                                 certharvest-e2e   the real worker, pipelined, on a whole-
                                                   institution batch (allUsers): submit → done
                                 fetch-e2e         a plain loop that also discovers: lists the
                                                   users and their awards (Valence, bearer token)
                                                   and downloads each certificate as found
                                 naive-playwright  one new browser page per certificate in a
                                                   logged-in context (first round only)
                                 playwright        a loop over Playwright's context.request (off
                                                   by default; first round only)
  --naive-certificates <n>     certificates of the naive-playwright mode (default 300)
  --pipelined                  mode certharvest: let downloads start during discovery (end to end
                               only, the login inside, no download phase and no ratio)
  --cpu-profile <file>         certharvest: write a V8 CPU profile of the download phase (open it
                               in Chrome DevTools); certharvest-e2e: of the whole batch, to the
                               same name with -e2e before .cpuprofile; the profiler slows those
                               runs down (each round overwrites the file)
  --rounds <n>                 run every mode n times at every concurrency, interleaved, the order
                               alternating from round to round (default 3); the ratios are taken
                               round by round and their median is held against the target
  --rss-certificates <a,b>     after the rounds, run the worker (pipelined) on one batch of at
                               least b certificates and take its peak RSS once a and once b are
                               stored (default 2000,20000; 0 skips the step)
  --rss-latency-ms <ms>        sandbox latency of the RSS step (default 5, to keep it short)
  --submit-users <n>           after the rounds, time \`submit\` of a batch of n user ids on a
                               private redis-server (default 100000; 0 skips it)
  --timeout-s <s>              give up on a run after this many seconds (default 600)
  --json                       print the results as JSON instead of the tables
  -h, --help

Every run gets a fresh sandbox whose whole institution is the batch (the fewest students whose
certificates reach --certificates). The download phase of certharvest is timed from the
submission to done on a sandbox that answers logins and listings at once (only certificates wait
the latency: a discover job downloads what it finds, so discovery is made free rather than held
back), the fleet logged in beforehand; the fetch loop's download phase is the loop alone, after
its login. End to end is
timed from the submission (certharvest-e2e: the worker running, its fleet logged in beforehand,
the cold Chromium login printed apart) or from the start of the form login and token grant
(fetch-e2e) until the last certificate. Each ratio certharvest / loop of two rates is taken per
round and concurrency; the median over the rounds is held against its target (download phase
≥ ${TARGET_RATIO}, end to end ≥ ${TARGET_E2E_RATIO}). Worker CPU (user + system of its process) and Redis commands
(INFO commandstats, Lua's inner calls included, the bench's polls taken out) per certificate are
given for the download phase and for the whole batch (submission to done); targets ≤ ${TARGET_CPU_MS} ms and
≤ ${TARGET_REDIS_COMMANDS} commands. The RSS step runs with the sandbox's rate limit raised (it measures memory,
not 429 waits); targets: the live heap after a forced GC grows ≤ ${TARGET_RSS_GROWTH * 100} %, peak RSS ≤ ${TARGET_PEAK_RSS / 1024 / 1024} MB. Submit of 100,000 users: under 10 s.

Exit code: 0 when every certificate was stored (and fetched) with the right bytes, 1 when not,
2 on a usage error. Missing a target does not change the exit code.`;

export class UsageError extends Error {}

/** Parse the arguments; prints the help and exits on -h. Throws `UsageError` on a bad argument. */
export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      certificates: { type: 'string', default: '1000' },
      shape: { type: 'string', default: 'default' },
      'latency-ms': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '4,16' },
      'discover-concurrency': { type: 'string' },
      'lms-credits': { type: 'string' },
      modes: { type: 'string', default: DEFAULT_MODES.join(',') },
      'naive-certificates': { type: 'string', default: '300' },
      pipelined: { type: 'boolean', default: false },
      'cpu-profile': { type: 'string' },
      'timeout-s': { type: 'string', default: '600' },
      rounds: { type: 'string', default: '3' },
      'rss-certificates': { type: 'string', default: '2000,20000' },
      'rss-latency-ms': { type: 'string', default: '5' },
      'rss-only': { type: 'boolean', default: false },
      'submit-users': { type: 'string', default: '100000' },
      'submit-only': { type: 'boolean', default: false },
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
    if (raw === undefined || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const list = (name: string, raw: string, min: number, max: number): number[] => {
    const xs = raw.split(',').map((x) => whole(name, x.trim(), min, max));
    if (new Set(xs).size !== xs.length) throw new UsageError(`--${name}: "${raw}" names a value twice`);
    return xs;
  };
  const concurrencies = list('concurrency', values.concurrency, 1, 64);
  return {
    certificates: whole('certificates', values.certificates, 1, 50_000),
    shape: parseShape(values.shape),
    latencyMs: whole('latency-ms', values['latency-ms'], 0, 60_000),
    concurrencies,
    concurrency: concurrencies[0]!,
    discoverConcurrency:
      values['discover-concurrency'] === undefined
        ? undefined
        : whole('discover-concurrency', values['discover-concurrency'], 1, 64),
    lmsCredits:
      values['lms-credits'] === undefined
        ? undefined
        : whole('lms-credits', values['lms-credits'], 10, 1_000_000_000),
    modes: parseModes(values.modes),
    naiveCertificates: whole('naive-certificates', values['naive-certificates'], 1, 50_000),
    pipelined: values.pipelined,
    profile: values['cpu-profile'] === undefined ? undefined : path.resolve(values['cpu-profile']),
    json: values.json,
    timeoutSeconds: whole('timeout-s', values['timeout-s'], 1, 86_400),
    rounds: whole('rounds', values.rounds, 1, 20),
    rssCertificates: parseRss(values['rss-certificates']),
    rssLatencyMs: whole('rss-latency-ms', values['rss-latency-ms'], 0, 60_000),
    rssOnly: values['rss-only'],
    submitUsers: whole('submit-users', values['submit-users'], 0, 1_000_000),
    submitOnly: values['submit-only'],
  };
}

function parseShape(raw: string): Shape {
  if (!Object.hasOwn(SHAPES, raw)) {
    throw new UsageError(`--shape: expected one of ${Object.keys(SHAPES).join(', ')}, got "${raw}"`);
  }
  return raw as Shape;
}

function parseModes(raw: string): Mode[] {
  const modes = raw.split(',').map((m) => m.trim());
  for (const m of modes) {
    if (!(MODES as readonly string[]).includes(m)) {
      throw new UsageError(`--modes: expected a list of ${MODES.join(', ')}, got "${raw}"`);
    }
  }
  if (new Set(modes).size !== modes.length) throw new UsageError(`--modes: "${raw}" names a mode twice`);
  return modes as Mode[];
}

function parseRss(raw: string): [number, number] | null {
  if (raw.trim() === '0') return null;
  const parts = raw.split(',').map((x) => Number(x.trim()));
  const [a, b] = parts;
  if (
    parts.length !== 2 ||
    !parts.every((x) => Number.isInteger(x) && x >= 1 && x <= 50_000) ||
    a === undefined ||
    b === undefined ||
    a >= b
  ) {
    throw new UsageError(
      `--rss-certificates: expected two whole numbers a,b with 1 ≤ a < b ≤ 50000, or 0, got "${raw}"`,
    );
  }
  return [a, b];
}
