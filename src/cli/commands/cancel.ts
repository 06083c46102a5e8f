import { Command } from 'commander';

export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .argument('<batchId>', 'the batch to cancel')
    .description('cancel a batch: its queued work is removed, its running jobs finish')
    .addHelpText(
      'after',
      `
What cancel does: the batch queues nothing more; its users not yet discovered
and the downloads only it waits for are removed from the queues; a download
another batch waits for too stays queued (this batch just stops waiting for it);
jobs already running finish. The batch is "cancelling" until they have, then
"cancelled", with the counts of what it did. Stored PDFs are never touched.

Examples:
  certharvest cancel nightly-2026-12-04
  certharvest status nightly-2026-12-04   # cancelling → cancelled
  certharvest retry nightly-2026-12-04    # later: run its failures again

Exit codes: 0 cancelled (or it already was), 1 the batch had already ended
(nothing to cancel), 2 usage error or no such batch.`,
    )
    .action(async (batchId: string) => {
      const { run } = await import('./cancel-run.ts');
      await run(batchId);
    });
}
