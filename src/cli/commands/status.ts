import { Command } from 'commander';
import type { StatusOptions } from './status-run.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .argument('[batchId]', 'the batch to show; default: the recent batches')
    .description('progress and failures of one batch, or of the recent batches')
    .option('--json', 'print JSON instead of text')
    .option('--failed', 'with a batch id: only its failures, one a line (every one, not the first 20)')
    .option(
      '--certificates',
      'with a batch id: every certificate of it (and every user that failed as a whole), with where it lies or why it failed',
    )
    .option(
      '--csv',
      'CSV instead of text: the certificates with --certificates, the failures with --failed, else the batches',
    )
    .option('--limit <n>', 'how many recent batches to list', '20')
    .addHelpText(
      'after',
      `
Each batch is in one state: running, cancelling (cancelled, its running jobs
still finishing), done (every certificate stored), done-with-failures (a user or
a certificate failed) or cancelled.

Examples:
  certharvest status                      # the recent batches, each with its state
  certharvest status nightly-2026-12-04   # one batch: state, counts, failures, exit code
  certharvest status nightly-2026-12-04 --failed --csv > failures.csv
  certharvest status nightly-2026-12-04 --certificates      # a table: user, status, path
  certharvest status nightly-2026-12-04 --certificates --csv > manifest.csv
  certharvest status nightly-2026-12-04 --certificates --json
  certharvest status --csv --limit 100    # the batches as CSV

--certificates lists the rows as they are when it starts reading, in the order
they arrived; --csv and --json give every column (ids, title, sha256, bytes...).
JSON output carries "schemaVersion".

Exit codes (with a batch id): 0 done, 1 done-with-failures or cancelled,
3 running or cancelling, 2 usage error or no such batch.`,
    )
    .action(async (batchId: string | undefined, opts: StatusOptions) => {
      const { run } = await import('./status-run.ts');
      await run(batchId, opts);
    });
}
