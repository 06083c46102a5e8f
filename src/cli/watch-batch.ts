import type { FleetBreaker, PauseRecord } from '../fleet/index.ts';
import type { BatchStatus, BatchTracker } from '../queue/index.ts';
import { sleep } from '../util/with-timeout.ts';
import { progressBar, progressLine } from './batch-report.ts';
import { describePause } from './pause-report.ts';

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
  /** Terminal width for the bar. Default: stdout's columns, else 80. */
  columns?: number;
  write?: (text: string) => void;
}

/** Show a batch's progress until it is done; resolves with its final status. */
export async function watchBatch(
  tracker: BatchTracker,
  batchId: string,
  options: WatchOptions = {},
): Promise<BatchStatus> {
  const tty = options.tty ?? process.stdout.isTTY === true;
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const pollMs = options.pollMs ?? 250;
  const plainEvery = options.plainEveryMs ?? 5_000;
  const columns = options.columns ?? process.stdout.columns ?? 80;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  let lastPlain = 0;
  let lastLine = '';
  let shownPause: PauseRecord | null = null;
  let lastPauseCheck = 0;
  for (;;) {
    const status = await tracker.status(batchId);
    if (!status) throw new Error(`batch ${batchId} not found`);
    if (options.breaker && Date.now() - lastPauseCheck >= 2_000) {
      lastPauseCheck = Date.now();
      const pause = await options.breaker.current().catch(() => shownPause);
      if (pause && pause.since !== shownPause?.since) {
        write(`${tty ? '\r\x1b[2K' : ''}${describePause(pause)}\nwaiting for the fleet to resume…\n`);
      } else if (!pause && shownPause) {
        write(`${tty ? '\r\x1b[2K' : ''}the fleet resumed; the batch goes on.\n`);
      }
      shownPause = pause;
    }
    if (tty) {
      write(`\r\x1b[2K${progressBar(status, columns)}`);
      if (status.done) write('\n');
    } else {
      const line = progressLine(status);
      if (status.done || (Date.now() - lastPlain >= plainEvery && line !== lastLine)) {
        write(`${line}\n`);
        lastPlain = Date.now();
        lastLine = line;
      }
    }
    if (status.done || Date.now() > deadline) return status;
    await sleep(pollMs);
  }
}
