import { constants } from 'node:os';
import { isFinal } from '../queue/batch-state.ts';
import { summary } from './batch-report.ts';
import type { CommandContext } from './context.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';
import { interruptSignal } from './signals.ts';
import { watchBatch } from './watch-batch.ts';

/**
 * `--wait` of `submit` and `retry`: show the batch's progress until it ends, print its summary and
 * return the exit code its state means. Stopping early leaves the batch running, and says how to
 * follow it: `--timeout` passing returns 3, Ctrl-C (SIGINT) 130 (SIGTERM 143).
 */
export async function waitForBatch(
  ctx: Pick<CommandContext, 'tracker' | 'breaker' | 'queues'>,
  batchId: string,
  options: { timeoutSeconds?: number | undefined } = {},
): Promise<number> {
  // Handled before anything else is awaited: a Ctrl-C from here on is "stop waiting", never a kill.
  const interrupt = interruptSignal();
  try {
    // Waiting on a fleet that is not there would wait forever: say so (it may start later).
    const consumers = await ctx.queues.discover.getWorkersCount().catch(() => 1);
    if (consumers === 0) {
      console.error(
        'warning: no worker is consuming the queues yet (start one: certharvest worker); waiting anyway',
      );
    }
    const final = await watchBatch(ctx.tracker, batchId, {
      breaker: ctx.breaker,
      signal: interrupt.signal,
      ...(options.timeoutSeconds ? { timeoutMs: options.timeoutSeconds * 1000 } : {}),
    });
    console.log(summary(final));
    if (isFinal(final.state)) return exitCodeOf(final.state);
    const why = interrupt.signal.aborted
      ? `interrupted (${String(interrupt.signal.reason)}): stopped waiting`
      : `stopped waiting after ${options.timeoutSeconds} s`;
    console.log(
      [
        `${why}; the batch goes on in the workers.`,
        `  follow it: certharvest status ${batchId}`,
        `  stop it:   certharvest cancel ${batchId}`,
      ].join('\n'),
    );
    if (!interrupt.signal.aborted) return EXIT.RUNNING;
    // 128 + the signal's number, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM.
    const number = constants.signals[interrupt.signal.reason as NodeJS.Signals];
    return number ? 128 + number : EXIT.INTERRUPTED;
  } finally {
    interrupt.dispose();
  }
}
