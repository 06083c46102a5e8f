import { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { batchIdSchema, type BatchFailure, type BatchStatus } from '../../queue/index.ts';
import { FAILURE_COLUMNS, failureRow, toCsv } from '../../report/csv.ts';
import { batchSucceeded, progressLine, summary } from '../batch-report.ts';
import { EXIT } from '../exit-codes.ts';
import { openContext } from '../context.ts';
import { describeOutOfService, describePause } from '../pause-report.ts';
import { workersOutOfService } from '../../fleet/index.ts';
import { readWebhookDeadLetters } from '../../worker/batch-webhook.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .argument('[batchId]', 'the batch to show; default: the recent batches')
    .description('progress and failures of one batch, or of the recent batches')
    .option('--json', 'print JSON instead of text')
    .option('--failed', 'with a batch id: only its failures, one a line (every one, not the first 20)')
    .option('--csv', 'CSV instead of text: the failures with --failed, else the batches')
    .option('--limit <n>', 'how many recent batches to list', '20')
    .addHelpText(
      'after',
      `
Examples:
  certharvest status                      # the recent batches
  certharvest status nightly-2026-12-04   # one batch: counts, failures, exit code
  certharvest status nightly-2026-12-04 --failed --csv > failures.csv
  certharvest status --csv --limit 100    # the batches as CSV

Exit codes (with a batch id): 0 done and every certificate stored, 1 done with
failures, 3 still running (or the fleet is paused), 2 usage error or no such batch.`,
    )
    .action(async (batchId: string | undefined, opts: StatusOptions) => {
      if (batchId !== undefined && !batchIdSchema.safeParse(batchId).success) {
        throw new UsageError(
          `batch id "${batchId}" is not valid: expected 1-64 letters, digits, ".", "_" or "-"`,
        );
      }
      if (opts.failed && !batchId) throw new UsageError('--failed needs a batch id');
      if (opts.json && opts.csv) throw new UsageError('--json and --csv: pick one');
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit: expected a whole number ≥ 1, got "${opts.limit}"`);
      const ctx = await openContext();
      try {
        const pause = await ctx.breaker.current();
        const faults = await workersOutOfService(ctx.redis, ctx.config.queuePrefix);
        const plain = !opts.json && !opts.csv && !opts.failed;
        if (pause && plain) console.log(`${describePause(pause)}\n`);
        if (faults.out.length > 0 && plain) {
          console.log(`${describeOutOfService(faults.out, faults.live.length)}\n`);
        }
        if (batchId) {
          const status = await ctx.tracker.status(batchId, opts.failed || opts.json ? MAX_FAILURES : 20);
          if (!status) throw new UsageError(`no batch "${batchId}" (batches are kept 30 days)`);
          if (opts.failed) printFailures(status.failures, opts);
          else if (opts.csv) console.log(toCsv([BATCH_COLUMNS, batchRow(status)]));
          else
            console.log(
              opts.json
                ? JSON.stringify({ ...status, fleetPause: pause, workersOutOfService: faults.out }, null, 2)
                : summary(status),
            );
          process.exitCode = !status.done
            ? EXIT.RUNNING
            : batchSucceeded(status)
              ? EXIT.OK
              : EXIT.SOME_FAILED;
          return;
        }
        const recent = await ctx.tracker.recent(limit);
        const dead = await readWebhookDeadLetters(ctx.redis, ctx.config.queuePrefix, DEAD_LETTERS_SHOWN);
        if (dead.count > 0 && plain) console.log(`${describeDeadLetters(dead)}\n`);
        if (opts.json)
          console.log(
            JSON.stringify(
              {
                fleetPause: pause,
                workersOutOfService: faults.out,
                webhookDeadLetters: dead.count,
                recentDeadLetters: dead.letters,
                batches: recent,
              },
              null,
              2,
            ),
          );
        else if (opts.csv) console.log(toCsv([BATCH_COLUMNS, ...recent.map(batchRow)]));
        else if (recent.length === 0) console.log('no batches yet');
        else
          for (const s of recent)
            console.log(`${s.done ? 'done   ' : 'running'}  ${s.createdAt}  ${progressLine(s)}`);
      } finally {
        await ctx.close();
      }
    });
}

interface StatusOptions {
  json?: boolean;
  failed?: boolean;
  csv?: boolean;
  limit: string;
}

/** Dead letters listed by `status` (the newest); `--json` gives the same with the count. */
const DEAD_LETTERS_SHOWN = 5;

/** A short section: batch webhooks given up after BATCH_WEBHOOK_RETRY_FOR. */
function describeDeadLetters({ count, letters }: Awaited<ReturnType<typeof readWebhookDeadLetters>>): string {
  const lines = [`batch webhook: ${count} event(s) given up (dead letters), newest first:`];
  for (const l of letters)
    lines.push(
      `  ${l.deadAt}  batch ${l.batchId || '?'}  webhook-id ${l.delivery}  ${l.attempts} attempt(s): ${l.reason}`,
    );
  if (count > letters.length) lines.push(`  … and ${count - letters.length} older`);
  lines.push(
    '  (kept in Redis under <prefix>:webhook:dead; the receiver can fetch each batch with GET /api/batches/:id)',
  );
  return lines.join('\n');
}

/** Failures kept per batch are bounded by the batch record; this reads them all. */
const MAX_FAILURES = 1_000_000;

const BATCH_COLUMNS = [
  'batchId',
  'createdAt',
  'done',
  'usersTotal',
  'usersDone',
  'usersFailed',
  'certsFound',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
] as const;

function batchRow(s: BatchStatus): string[] {
  return BATCH_COLUMNS.map((c) => String(s[c] ?? ''));
}

function printFailures(failures: readonly BatchFailure[], opts: StatusOptions): void {
  if (opts.csv) {
    console.log(toCsv([FAILURE_COLUMNS, ...failures.map(failureRow)]));
  } else if (opts.json) {
    console.log(JSON.stringify(failures, null, 2));
  } else if (failures.length === 0) {
    console.log('no failures');
  } else {
    for (const f of failures) console.log(`${f.kind} ${f.ref}: ${f.code}: ${f.reason}`);
  }
}
