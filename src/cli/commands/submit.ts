import { Command, Option } from 'commander';
// The kinds only, not the queue: BullMQ is loaded when the command runs.
import { USER_REF_KINDS } from '../../queue/job-data.ts';
import type { SubmitOptions } from './submit-run.ts';

export function registerSubmitCommand(program: Command): void {
  program
    .command('submit')
    .description('submit a batch of users whose certificates should be downloaded')
    .option('--users <list>', 'comma-separated user references, e.g. 1001,1002')
    .option(
      '--file <path>',
      'a file with one user reference per line, or a CSV with a header naming the --by column ("-" reads stdin)',
    )
    .option('--all-users', 'every user of the institution (enumerated through the LMS)')
    .addOption(new Option('--by <kind>', 'what the references are').choices(USER_REF_KINDS).default('userId'))
    .option('--batch-id <id>', 'your id for the batch (default: generated)')
    .option('--skip-expired', 'leave out expired certificates (by default they are harvested too)')
    .option('--org-unit <ids>', 'keep only certificates of these org units (comma-separated ids)')
    .option(
      '--issued-after <date>',
      'keep only certificates issued at or after this date (YYYY-MM-DD or ISO time)',
    )
    .option(
      '--issued-before <date>',
      'keep only certificates issued before this date (YYYY-MM-DD or ISO time)',
    )
    .option(
      '--refresh',
      'fetch every certificate again, even when stored; a stored file is replaced only by a whole PDF',
    )
    .option('--wait', 'show progress until the batch is done; exit 0 only if every certificate was stored')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this many seconds')
    .addHelpText(
      'after',
      `
Examples:
  certharvest submit --users 1001,1002 --wait
  certharvest submit --file students.csv --by orgDefinedId --batch-id spring
  cut -d, -f1 export.csv | certharvest submit --file - --by userName
  certharvest submit --all-users --wait
  certharvest submit --all-users --skip-expired --batch-id current-only
  certharvest submit --all-users --org-unit 6606,6610 --issued-after 2026-09-01
  certharvest submit --users 1001 --refresh --wait   # fetch again what is stored

--file reads UTF-8 (with or without a byte-order mark) and UTF-16 with one, as
Excel's "Unicode text" export; a workbook (.xlsx) or other binary file is refused:
export it as CSV.

--refresh downloads every certificate again, even those already stored. A stored
file is replaced only when the new download is a whole PDF; when it is not, the
stored file is kept and that certificate fails with the reason.

While the fleet is paused (certharvest status says why), --wait prints the
reason once and keeps waiting. Ctrl-C stops waiting, not the batch: it goes on
in the workers (follow it with certharvest status ID, stop it with
certharvest cancel ID).

Exit codes: 0 done (or queued, without --wait), 1 some certificates or users
failed, or every reference was refused (nothing queued), 2 usage or
configuration error, 3 --timeout passed with the batch still running, 130
Ctrl-C stopped the waiting.`,
    )
    .action(async (opts: SubmitOptions) => {
      const { run } = await import('./submit-run.ts');
      await run(opts);
    });
}
