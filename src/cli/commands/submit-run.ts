/** What `certharvest submit` does, loaded when it runs (its options and help: submit.ts). */
import { UsageError } from '../../errors/index.ts';
import { parseUserList, submitBatch } from '../../queue/index.ts';
import type { UserRefKind } from '../../queue/job-data.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { filtersFrom } from '../filter-flags.ts';
import { readTextFile } from '../read-text-file.ts';
import { refusedRefsHint } from '../refused-refs.ts';
import { followBatch } from '../follow-batch.ts';

export interface SubmitOptions {
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

export async function run(opts: SubmitOptions): Promise<void> {
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
    process.exitCode = await followBatch(ctx, result.batchId, { wait: opts.wait, timeoutSeconds: timeout });
  } finally {
    await ctx.close();
  }
}
