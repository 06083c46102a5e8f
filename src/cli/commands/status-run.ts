/** What `certharvest status` does, loaded when it runs (its options and help: status.ts). */
import { SCHEMA_VERSION } from '../../certificate/index.ts';
import { UsageError } from '../../errors/index.ts';
import { fleetPauseKey, readFleetPause } from '../../fleet/breaker.ts';
import { workersOutOfService } from '../../fleet/local-faults.ts';
import type { PauseRecord } from '../../fleet/pause-reason.ts';
import { PROGRESS_COUNT_FIELDS } from '../../queue/batch-counts.ts';
// Types only: erased, the queue's index.ts (which loads BullMQ) is not loaded.
import type { BatchFailure, BatchStatus } from '../../queue/index.ts';
import { FAILURE_COLUMNS, failureRow, toCsv } from '../../report/csv.ts';
import { readWebhookDeadLetters } from '../../webhook/webhook-state.ts';
import { parseBatchIdArg } from '../batch-id-arg.ts';
import { progressLine, summary } from '../batch-report.ts';
import { exitCodeOf } from '../exit-codes.ts';
import { StreamWriter, writeManifest } from '../manifest-output.ts';
import { describeOutOfService, describePause } from '../pause-report.ts';
import { openReadContext, type ReadContext } from '../read-context.ts';

export interface StatusOptions {
  json?: boolean;
  failed?: boolean;
  certificates?: boolean;
  csv?: boolean;
  limit: string;
}

export async function run(batchId: string | undefined, opts: StatusOptions): Promise<void> {
  if (batchId !== undefined) parseBatchIdArg(batchId);
  if (opts.failed && !batchId) throw new UsageError('--failed needs a batch id');
  if (opts.certificates && !batchId) throw new UsageError('--certificates needs a batch id');
  if (opts.certificates && opts.failed) throw new UsageError('--certificates and --failed: pick one');
  if (opts.json && opts.csv) throw new UsageError('--json and --csv: pick one');
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit: expected a whole number ≥ 1, got "${opts.limit}"`);
  const ctx = await openReadContext();
  try {
    const pause = await fleetPauseOf(ctx);
    const faults = await workersOutOfService(ctx.redis, ctx.config.queuePrefix);
    const plain = !opts.json && !opts.csv && !opts.failed && !opts.certificates;
    if (pause && plain) console.log(`${describePause(pause)}\n`);
    if (faults.out.length > 0 && plain) {
      console.log(`${describeOutOfService(faults.out, faults.live.length)}\n`);
    }
    if (batchId) {
      const status = await ctx.tracker.status(batchId, opts.failed || opts.json ? MAX_FAILURES : 20);
      if (!status) throw new UsageError(`no batch "${batchId}" (batches are kept 30 days)`);
      if (opts.certificates) {
        const out = new StreamWriter(process.stdout);
        try {
          await writeManifest(ctx.tracker, batchId, opts.csv ? 'csv' : opts.json ? 'json' : 'text', out, {
            columns: process.stdout.isTTY ? process.stdout.columns : 80,
          });
        } finally {
          out.release();
        }
      } else if (opts.failed) printFailures(status.failures, opts);
      else if (opts.csv) console.log(toCsv([BATCH_COLUMNS, batchRow(status)]));
      else
        console.log(
          opts.json
            ? JSON.stringify(
                {
                  schemaVersion: SCHEMA_VERSION,
                  ...status,
                  fleetPause: pause,
                  workersOutOfService: faults.out,
                },
                null,
                2,
              )
            : summary(status),
        );
      // The state read first: a listing that took a while does not change what it reported.
      process.exitCode = exitCodeOf(status.state);
      return;
    }
    const recent = await ctx.tracker.recent(limit);
    const dead = await readWebhookDeadLetters(ctx.redis, ctx.config.queuePrefix, DEAD_LETTERS_SHOWN);
    if (dead.count > 0 && plain) console.log(`${describeDeadLetters(dead)}\n`);
    if (opts.json)
      console.log(
        JSON.stringify(
          {
            schemaVersion: SCHEMA_VERSION,
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
    else for (const s of recent) console.log(overviewLine(s));
  } finally {
    await ctx.close();
  }
}

/**
 * A batch in the overview: its state (as `batchState` decided it), when it was created, its
 * counts (failed users included), and the batch it retries or that retries it.
 */
export function overviewLine(s: BatchStatus): string {
  const links = [s.retryOf ? `retry of ${s.retryOf}` : '', s.retriedBy ? `retried by ${s.retriedBy}` : '']
    .filter(Boolean)
    .map((l) => ` · ${l}`)
    .join('');
  return `${s.state.padEnd(STATE_WIDTH)}  ${s.createdAt}  ${progressLine(s)}${links}`;
}

/** `done-with-failures`, the longest state. */
const STATE_WIDTH = 18;

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

/** The columns of `status --csv` (the batches): the progress counters, in their order. */
const BATCH_COLUMNS = [
  'batchId',
  'createdAt',
  'done',
  ...PROGRESS_COUNT_FIELDS,
  // Added last, so that a reader of the columns by position keeps working.
  'state',
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

/** The fleet's pause, read as the breaker reads it (no breaker: `status` changes nothing). */
async function fleetPauseOf(ctx: ReadContext): Promise<PauseRecord | null> {
  return readFleetPause(ctx.redis, fleetPauseKey(ctx.config.queuePrefix));
}
