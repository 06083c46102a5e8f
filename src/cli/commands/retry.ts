import { Command } from 'commander';
import { CertharvestError, UsageError } from '../../errors/index.ts';
import { NothingToRetryError, retryBatch, type BatchStatus, type RetryResult } from '../../queue/index.ts';
import { parseBatchIdArg } from '../batch-id-arg.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { waitForBatch } from '../wait-for-batch.ts';

interface RetryOptions {
  batchId?: string;
  wait?: boolean;
  timeout?: string;
}

export function registerRetryCommand(program: Command): void {
  program
    .command('retry')
    .argument('<batchId>', 'the ended batch whose failures to run again')
    .description("run an ended batch's failures again, as a new batch linked to it")
    .option('--batch-id <id>', "the new batch's id (default: <batchId>.retry-1, .retry-2, ...)")
    .option('--wait', 'show progress until the new batch is done, as submit --wait does')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this many seconds')
    .addHelpText(
      'after',
      `
The new batch discovers again every user that failed as a whole, and every user
with a failed certificate (only that certificate's courses); what was stored
meanwhile counts as already stored. It keeps the original's --refresh. The two
batches name each other: "retry of" and "retried by" in certharvest status.
References refused as malformed are not retried (they would be refused again):
correct them and submit them anew. Work a cancel left undone is not a failure:
submit it again.

Examples:
  certharvest retry nightly-2026-12-04 --wait
  certharvest retry nightly-2026-12-04 --batch-id nightly-2026-12-04-again

Exit codes: 0 queued (with --wait: done), and also when there is nothing to
retry (it says so); 1 with --wait, some certificates or users failed again;
2 usage error, no such batch, or the batch is still running (retry it once it
has ended, or cancel it first); 3 --timeout passed; 130 Ctrl-C stopped the
waiting (the batch goes on).`,
    )
    .action(async (batchId: string, opts: RetryOptions) => {
      parseBatchIdArg(batchId);
      if (opts.batchId !== undefined) parseBatchIdArg(opts.batchId, '--batch-id');
      const timeout = opts.timeout === undefined ? undefined : Number(opts.timeout);
      if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0))
        throw new UsageError(`--timeout: expected a number of seconds greater than 0, got "${opts.timeout}"`);
      const ctx = await openContext();
      try {
        let result: RetryResult;
        try {
          result = await retryBatch(
            batchId,
            { queues: ctx.queues, redis: ctx.redis, prefix: ctx.config.queuePrefix },
            opts.batchId !== undefined ? { batchId: opts.batchId } : {},
          );
        } catch (err) {
          if (err instanceof NothingToRetryError) {
            console.log(nothingToRetry(batchId, await ctx.tracker.status(batchId, 0)));
            process.exitCode = EXIT.OK;
            return;
          }
          // The id asked for is taken: a usage error, as for submit --batch-id.
          if (err instanceof CertharvestError && err.code === 'BATCH_EXISTS')
            throw new UsageError(err.message);
          throw err;
        }
        console.log(
          `retrying batch ${result.retryOf} as batch ${result.batchId}: ${result.queued} user(s) queued again` +
            `${result.allUsers ? ', plus every user of the institution' : ''}`,
        );
        if (!opts.wait) {
          console.log(`follow it with: certharvest status ${result.batchId}`);
          return;
        }
        process.exitCode = await waitForBatch(ctx, result.batchId, { timeoutSeconds: timeout });
      } finally {
        await ctx.close();
      }
    });
}

/** Why there is nothing to retry, by the batch's state. */
function nothingToRetry(batchId: string, status: BatchStatus | null): string {
  const why =
    status?.state === 'done'
      ? 'every certificate of it is stored'
      : status?.state === 'cancelled'
        ? 'nothing of it failed; what the cancel left undone is not retried (submit it again)'
        : 'its only failures are references refused as malformed, which would be refused again: correct them and submit them anew';
  return `nothing to retry: batch ${batchId} — ${why}.`;
}
