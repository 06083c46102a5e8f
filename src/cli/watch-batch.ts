import type { BatchStatus, BatchTracker } from '../queue/index.ts';
import { sleep } from '../util/with-timeout.ts';
import { progressBar, progressLine } from './batch-report.ts';

export interface WatchOptions {
  /** Redraw a bar in place (TTY) or print a plain line now and then. Default: stdout is a TTY. */
  tty?: boolean;
  /** How often to poll Redis. Default 250 ms. */
  pollMs?: number;
  /** Plain mode prints a line at most this often (and whenever the batch ends). Default 5 s. */
  plainEveryMs?: number;
  /** Give up after this long (ms); default: never. */
  timeoutMs?: number;
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
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  let lastPlain = 0;
  let lastLine = '';
  for (;;) {
    const status = await tracker.status(batchId);
    if (!status) throw new Error(`batch ${batchId} not found`);
    if (tty) {
      write(`\r\x1b[2K${progressBar(status)}`);
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
