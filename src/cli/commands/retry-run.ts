/** What `certharvest retry` does, loaded when it runs (its options and help: retry.ts). */
import { CertharvestError, UsageError } from '../../errors/index.ts';
import { NothingToRetryError, retryBatch, type BatchStatus, type RetryResult } from '../../queue/index.ts';
import { parseBatchIdArg } from '../batch-id-arg.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { followBatch } from '../follow-batch.ts';

export interface RetryOptions {
  batchId?: string;
  wait?: boolean;
  timeout?: string;
}

export async function run(batchId: string, opts: RetryOptions): Promise<void> {
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
      if (err instanceof CertharvestError && err.code === 'BATCH_EXISTS') throw new UsageError(err.message);
      throw err;
    }
    console.log(
      `retrying batch ${result.retryOf} as batch ${result.batchId}: ${result.queued} user(s) queued again` +
        `${result.allUsers ? ', plus every user of the institution' : ''}`,
    );
    process.exitCode = await followBatch(ctx, result.batchId, { wait: opts.wait, timeoutSeconds: timeout });
  } finally {
    await ctx.close();
  }
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
