import { Command } from 'commander';
import type { RetryOptions } from './retry-run.ts';

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
      const { run } = await import('./retry-run.ts');
      await run(batchId, opts);
    });
}
