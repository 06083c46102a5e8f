import { filtersFrom } from '../filter-flags.ts';
import { Command, Option } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { parseUserList, submitBatch, USER_REF_KINDS, type UserRefKind } from '../../queue/index.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { readTextFile } from '../read-text-file.ts';
import { refusedRefsHint } from '../refused-refs.ts';
import { waitForBatch } from '../wait-for-batch.ts';

interface SubmitOptions {
  users?: string;
  file?: string;
  allUsers?: boolean;
  by: UserRefKind;
  batchId?: string;
  skipExpired?: boolean;
  orgUnit?: string;
  issuedAfter?: string;
  issuedBefore?: string;
  refresh?: boolean;
  wait?: boolean;
  timeout?: string;
}

/** Refused references listed one by one; the rest are counted (all of them: status --failed). */
const REJECTED_LISTED = 10;

async function readUsers(opts: SubmitOptions): Promise<string[]> {
  const users: string[] = [];
  if (opts.users !== undefined)
    users.push(
      ...opts.users
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    );
  if (opts.file !== undefined) {
    const text = await readTextFile(opts.file, `--file ${opts.file === '-' ? '- (stdin)' : opts.file}`);
    users.push(...parseUserList(text, opts.by));
  }
  return users;
}

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
      if (!opts.users && !opts.file && !opts.allUsers) {
        throw new UsageError('submit needs --users, --file or --all-users (see certharvest submit --help)');
      }
      const timeout = opts.timeout === undefined ? undefined : Number(opts.timeout);
      if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
        throw new UsageError(`--timeout: expected a number of seconds greater than 0, got "${opts.timeout}"`);
      }
      const users = await readUsers(opts);
      if (users.length === 0 && !opts.allUsers)
        throw new UsageError('no user references found in --users / --file');
      const filters = filtersFrom(opts);
      const ctx = await openContext();
      try {
        // Filters this site cannot apply are refused here, naming what its pages do not carry (the
        // worker refuses them too, per user, for producers that bypass the CLI).
        const unsupported = filters.filters
          ? (ctx.config.lms?.site.unsupportedFilters(filters.filters) ?? [])
          : [];
        if (unsupported.length > 0)
          throw new UsageError(`a filter this site cannot apply:\n  - ${unsupported.join('\n  - ')}`);
        const result = await submitBatch(
          {
            batchId: opts.batchId,
            by: opts.by,
            users,
            allUsers: opts.allUsers === true,
            refresh: opts.refresh === true,
            ...filters,
          },
          {
            queues: ctx.queues,
            redis: ctx.redis,
            prefix: ctx.config.queuePrefix,
            userIdRule: ctx.config.lms?.site.userIdRule,
          },
        );
        const extra = [
          result.allUsers ? 'plus every user of the institution' : '',
          opts.refresh ? 'refresh: stored certificates fetched again' : '',
          result.duplicates ? `${result.duplicates} duplicate(s) dropped` : '',
          result.rejected.length ? `${result.rejected.length} rejected` : '',
        ].filter(Boolean);
        console.log(
          `submitted batch ${result.batchId}: ${result.queued} user(s)${extra.length ? ` (${extra.join(', ')})` : ''}`,
        );
        for (const r of result.rejected.slice(0, REJECTED_LISTED))
          console.log(`  rejected ${r.ref}: ${r.reason}`);
        if (result.rejected.length > REJECTED_LISTED)
          console.log(
            `  … and ${result.rejected.length - REJECTED_LISTED} more (all: certharvest status ${result.batchId} --failed)`,
          );
        if (result.queued === 0 && !result.allUsers) {
          // The batch exists, done with failures, and nothing will ever run for it: say so and why.
          console.error(
            `certharvest: batch ${result.batchId} queued nothing: every reference was refused as a malformed ${opts.by}.\n` +
              `  likely fix: ${refusedRefsHint(
                result.rejected.map((r) => r.ref),
                opts.by,
              )}`,
          );
          process.exitCode = EXIT.SOME_FAILED;
          return;
        }
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
