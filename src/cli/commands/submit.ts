import { readFile } from 'node:fs/promises';
import { filtersFrom } from '../filter-flags.ts';
import { Command, Option } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { parseUserList, submitBatch, USER_REF_KINDS, type UserRefKind } from '../../queue/index.ts';
import { batchSucceeded, summary } from '../batch-report.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { watchBatch } from '../watch-batch.ts';

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
  wait?: boolean;
  timeout?: string;
}

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
    let text: string;
    if (opts.file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      try {
        text = await readFile(opts.file, 'utf8');
      } catch (err) {
        throw new UsageError(
          `--file ${opts.file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
    }
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

While the fleet is paused (certharvest status says why), --wait prints the
reason once and keeps waiting.

Exit codes: 0 done (or queued, without --wait), 1 some certificates failed,
2 usage or configuration error, 3 --timeout passed with the batch still running.`,
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
            ...filters,
          },
          { queues: ctx.queues, redis: ctx.redis, prefix: ctx.config.queuePrefix },
        );
        const extra = [
          result.allUsers ? 'plus every user of the institution' : '',
          result.duplicates ? `${result.duplicates} duplicate(s) dropped` : '',
          result.rejected.length ? `${result.rejected.length} rejected` : '',
        ].filter(Boolean);
        console.log(
          `submitted batch ${result.batchId}: ${result.queued} user(s)${extra.length ? ` (${extra.join(', ')})` : ''}`,
        );
        for (const r of result.rejected) console.log(`  rejected ${r.ref}: ${r.reason}`);
        if (!opts.wait) {
          console.log(`follow it with: certharvest status ${result.batchId}`);
          return;
        }
        // Waiting on a fleet that is not there would wait forever: say so (it may start later).
        const consumers = await ctx.queues.discover.getWorkersCount().catch(() => 1);
        if (consumers === 0) {
          console.error(
            'warning: no worker is consuming the queues yet (start one: certharvest worker); waiting anyway',
          );
        }
        const final = await watchBatch(ctx.tracker, result.batchId, {
          breaker: ctx.breaker,
          ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
        });
        console.log(summary(final));
        if (!final.done) {
          console.log(
            `stopped waiting after ${timeout} s; the batch goes on: certharvest status ${final.batchId}`,
          );
          process.exitCode = EXIT.RUNNING;
        } else if (!batchSucceeded(final)) process.exitCode = EXIT.SOME_FAILED;
      } finally {
        await ctx.close();
      }
    });
}
