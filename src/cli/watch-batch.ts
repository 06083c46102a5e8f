import { createLogUpdate } from 'log-update';
import type { FleetBreaker, PauseRecord } from '../fleet/index.ts';
import type { BatchStatus, BatchTracker } from '../queue/index.ts';
import { sleep } from '../util/with-timeout.ts';
import {
  batchEtaSeconds,
  certProgress,
  progressBar,
  progressLine,
  type ProgressFigures,
} from './batch-report.ts';
import { describePause } from './pause-report.ts';
import { RateMeter } from './progress-rate.ts';

export interface WatchOptions {
  /** Redraw a bar in place (TTY) or print a plain line now and then. Default: stdout is a TTY. */
  tty?: boolean;
  /** How often to poll Redis. Default 250 ms. */
  pollMs?: number;
  /** Plain mode prints a line at most this often (and whenever the batch ends). Default 5 s. */
  plainEveryMs?: number;
  /** Give up after this long (ms); default: never. */
  timeoutMs?: number;
  /** Say once when the fleet pauses (with the reason and fix) and when it resumes; keep waiting. */
  breaker?: Pick<FleetBreaker, 'current'>;
  /** Terminal width for the bar. Default: stdout's columns (read at every redraw), else 80. */
  columns?: number;
  /** Where the output goes (tests). Default: stdout. */
  write?: (text: string) => void;
  /** Stop watching when it aborts (Ctrl-C): resolves with the status last read. */
  signal?: AbortSignal;
}

/** The rate is smoothed over this long. */
const RATE_WINDOW_MS = 10_000;

/** The TTY display: one bar line redrawn in place by log-update, and messages printed above it. */
interface BarView {
  columns(): number;
  draw(line: string): void;
  /** Print `text` (lines that stay) where the bar is, then draw the bar again below it. */
  say(text: string): void;
  /** Leave the last bar as it is, followed by a newline. */
  done(): void;
}

function barView(options: WatchOptions): BarView {
  // log-update erases and rewrites what it wrote last, so it writes to a stream whose width is
  // the one the bar is fitted to: stdout itself, or (tests) a stand-in around `write`.
  const write = options.write;
  const stream: NodeJS.WriteStream = write
    ? ({
        columns: options.columns ?? 80,
        rows: 24,
        isTTY: false,
        write: (chunk: string) => {
          write(chunk);
          return true;
        },
      } as unknown as NodeJS.WriteStream)
    : process.stdout;
  // The cursor is hidden while the bar is shown (and shown again by `done`, or on exit); never
  // touch the real terminal's cursor when the output goes elsewhere.
  const log = createLogUpdate(stream, { showCursor: write !== undefined });
  let last = '';
  return {
    columns: () => options.columns ?? stream.columns ?? 80,
    draw(line) {
      last = line;
      log(line);
    },
    say(text) {
      log.persist(wrapText(text, options.columns ?? stream.columns ?? 80));
      if (last) log(last);
    },
    done: () => log.done(),
  };
}

/**
 * Word-wraps `text` to `columns - 1` (as the bar, so no line touches the last column): a long
 * line continues on the next, indented under its first word; a word too long for a line is cut.
 */
export function wrapText(text: string, columns: number): string {
  const room = Math.max(1, Math.floor(columns) - 1);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const indent = (/^ */.exec(line)?.[0] ?? '') + '  ';
    let rest = line;
    let first = true;
    while ([...rest].length > room) {
      const chars = [...rest];
      const cut = chars.slice(0, room + 1).lastIndexOf(' ');
      const lead = first ? 0 : indent.length;
      const at = cut > lead ? cut : room;
      out.push(chars.slice(0, at).join('').trimEnd());
      const tail = chars.slice(at).join('').trimStart();
      const pad = indent.length < room / 2 ? indent : '';
      rest = tail ? pad + tail : '';
      first = false;
    }
    if (rest || first) out.push(rest);
  }
  return out.join('\n');
}

/** `ms`, or less when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleep(ms);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Show a batch's progress until it is done; resolves with its final status, or with the status
 * last read when `timeoutMs` passes or `signal` aborts first (the batch may still be running).
 */
export async function watchBatch(
  tracker: Pick<BatchTracker, 'status'>,
  batchId: string,
  options: WatchOptions = {},
): Promise<BatchStatus> {
  const tty = options.tty ?? process.stdout.isTTY === true;
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const pollMs = options.pollMs ?? 250;
  const plainEvery = options.plainEveryMs ?? 5_000;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  const meter = new RateMeter({ windowMs: RATE_WINDOW_MS });
  const view = tty ? barView(options) : null;
  const say = (text: string) => (view ? view.say(text) : write(`${text}\n`));
  let lastPlain = 0;
  let lastLine = '';
  let shownPause: PauseRecord | null = null;
  let lastPauseCheck = 0;
  try {
    for (;;) {
      const status = await tracker.status(batchId);
      if (!status) throw new Error(`batch ${batchId} not found`);
      meter.record(certProgress(status).done);
      if (options.breaker && Date.now() - lastPauseCheck >= 2_000) {
        lastPauseCheck = Date.now();
        const pause = await options.breaker.current().catch(() => shownPause);
        if (pause && pause.since !== shownPause?.since) {
          say(`${describePause(pause)}\nwaiting for the fleet to resume…`);
        } else if (!pause && shownPause) {
          say('the fleet resumed; the batch goes on.');
        }
        shownPause = pause;
      }
      const rate = meter.rate();
      const figures: ProgressFigures = {
        rate,
        etaSeconds: batchEtaSeconds(status, rate),
        paused: shownPause !== null && !status.done,
      };
      if (view) {
        view.draw(progressBar(status, view.columns(), figures));
      } else {
        // A line when the counts moved (the pace alone changing is not news), at most every few s.
        const counts = progressLine(status);
        if (status.done || (Date.now() - lastPlain >= plainEvery && counts !== lastLine)) {
          write(`${progressLine(status, figures)}\n`);
          lastPlain = Date.now();
          lastLine = counts;
        }
      }
      if (status.done || Date.now() > deadline || options.signal?.aborted) return status;
      await pause(pollMs, options.signal);
      if (options.signal?.aborted) return status;
    }
  } finally {
    view?.done();
  }
}
