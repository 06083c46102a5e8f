/** The benchmark's command line, parsed once into `Options`. */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const MODES = ['certharvest', 'fetch', 'playwright'] as const;
export type Mode = (typeof MODES)[number];

/** Playwright's `context.request` is no longer what the worker downloads with: off unless asked. */
export const DEFAULT_MODES: readonly Mode[] = ['certharvest', 'fetch'];

/** The download phase of certharvest should reach this share of the plain fetch loop's rate. */
export const TARGET_RATIO = 0.85;

export interface Options {
  certificates: number;
  latencyMs: number;
  concurrency: number;
  /** DISCOVER_CONCURRENCY for the worker; undefined = the product's default. */
  discoverConcurrency: number | undefined;
  modes: Mode[];
  /** certharvest: let downloads overlap discovery (no separate download phase). Default false. */
  pipelined: boolean;
  /** certharvest: write a V8 CPU profile of the download phase to this file. */
  profile: string | undefined;
  json: boolean;
  timeoutSeconds: number;
  /** Rounds of every mode, interleaved (the order alternates), for pairwise ratios. Default 3. */
  rounds: number;
  /** After the rounds, time `submit` of a batch of this many user ids (0: skip). Default 100 000. */
  submitUsers: number;
  /** Internal: this process only times the submission (the parent's child for it). */
  submitOnly: boolean;
}

export const HELP = `usage: npm run bench -- [options]

  --certificates <n>           at least this many certificates in the batch (default 1000)
  --latency-ms <ms>            latency the sandbox adds to every answer (default 50)
  --concurrency <n>            DOWNLOAD_CONCURRENCY, and the loops' concurrency (default 4)
  --discover-concurrency <n>   DISCOVER_CONCURRENCY of the worker (default: the product's default, 4)
  --modes <list>               comma-separated, run in this order (default certharvest,fetch):
                                 certharvest  the real worker: discovery, queue, HTTP with the
                                              fleet's cookies, storage
                                 fetch        a plain Node fetch loop with the session cookie
                                 playwright   a loop over Playwright's context.request; skipped
                                              by default: the worker no longer downloads with it
  --pipelined                  certharvest: let downloads start during discovery, as in production
                               (end-to-end time only, no download phase and no ratio)
  --cpu-profile <file>         certharvest: write a V8 CPU profile of the download phase (open it
                               in Chrome DevTools); the profiler slows that run down
  --rounds <n>                 run every mode n times, interleaved, the order alternating from
                               round to round (default 3); the ratio is taken round by round
                               and its median is held against the target
  --submit-users <n>           after the rounds, time \`submit\` of a batch of n user ids on a
                               private redis-server (default 100000; 0 skips it)
  --timeout-s <s>              give up on a run after this many seconds (default 600)
  --json                       print the results as JSON instead of the table
  -h, --help

The download phase of certharvest is timed from the moment its download queue is resumed, after
discovery has queued every certificate and the fleet has logged in; the loops' download phase is
the loop alone, after their login. The ratio certharvest / fetch of the two rates is taken in
each round, and the median over the rounds is held against the target of ${TARGET_RATIO}.

Exit code: 0 when every certificate was stored (and fetched) with the right bytes, 1 when not,
2 on a usage error. Missing the ratio target does not change the exit code.`;

export class UsageError extends Error {}

/** Parse the arguments; prints the help and exits on -h. Throws `UsageError` on a bad argument. */
export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      certificates: { type: 'string', default: '1000' },
      'latency-ms': { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '4' },
      'discover-concurrency': { type: 'string' },
      modes: { type: 'string', default: DEFAULT_MODES.join(',') },
      pipelined: { type: 'boolean', default: false },
      'cpu-profile': { type: 'string' },
      'timeout-s': { type: 'string', default: '600' },
      rounds: { type: 'string', default: '3' },
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
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  return {
    certificates: whole('certificates', values.certificates, 1, 50_000),
    latencyMs: whole('latency-ms', values['latency-ms'], 0, 60_000),
    concurrency: whole('concurrency', values.concurrency, 1, 64),
    discoverConcurrency:
      values['discover-concurrency'] === undefined
        ? undefined
        : whole('discover-concurrency', values['discover-concurrency'], 1, 64),
    modes: parseModes(values.modes),
    pipelined: values.pipelined,
    profile: values['cpu-profile'] === undefined ? undefined : path.resolve(values['cpu-profile']),
    json: values.json,
    timeoutSeconds: whole('timeout-s', values['timeout-s'], 1, 86_400),
    rounds: whole('rounds', values.rounds, 1, 20),
    submitUsers: whole('submit-users', values['submit-users'], 0, 1_000_000),
    submitOnly: values['submit-only'],
  };
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
