import { parse } from 'csv-parse/sync';
import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { CertharvestError, ProblemListError } from '../errors/index.ts';
import { BatchAccounting } from './batch-accounting.ts';
import { BatchTracker } from './batch-tracker.ts';
import {
  batchSubmissionSchema,
  type BatchFilters,
  type BatchSubmission,
  type ParsedBatch,
  type UserRefKind,
} from './job-data.ts';
import type { CertharvestQueues } from './queues.ts';
import { queueUsers, type UsersSpec } from './users-jobs.ts';

/** The batch payload itself is malformed (not one entry: the whole submission). */
export class InvalidBatchError extends ProblemListError {
  constructor(problems: readonly string[]) {
    super('BATCH_INVALID', 'invalid batch', problems);
  }
}

export class BatchExistsError extends CertharvestError {
  constructor(batchId: string) {
    super('BATCH_EXISTS', `batch "${batchId}" already exists: choose another --batch-id (or omit it)`);
  }
}

export interface SubmitResult {
  batchId: string;
  /** Users queued for discovery. */
  queued: number;
  /** Entries refused at once (malformed ids), each recorded as a failed user of the batch. */
  rejected: { ref: string; reason: string }[];
  /** Entries dropped as repeats of an earlier entry. */
  duplicates: number;
  allUsers: boolean;
}

const REF_RULES: Record<UserRefKind, { test: RegExp; expected: string }> = {
  // The LMS's own user id: Brightspace's number, Learn's `_45_1`, another LMS's string (LmsId).
  userId: {
    test: /^[^\s/\\]{1,200}$/,
    expected: "the LMS's user id (a number, or the LMS's own id such as _45_1) without spaces or slashes",
  },
  userName: { test: /^[^\s/\\]{1,256}$/, expected: 'a user name without spaces or slashes' },
  orgDefinedId: { test: /^[^\s/\\]{1,256}$/, expected: 'an org-defined id without spaces or slashes' },
};

/** Whether `ref` is a well-formed reference of kind `by` (any LMS; an LMS may be stricter). */
export const isWellFormedRef = (by: UserRefKind, ref: string): boolean => REF_RULES[by].test.test(ref);

/** `b-20261123-101500-3fa9`: sortable, unique enough, safe in keys and file names. */
export function newBatchId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `b-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * Parse a batch submission from untrusted input (JSON from a file, an HTTP body, a raw job):
 * every problem is named in one `InvalidBatchError`.
 */
export function parseBatchSubmission(input: unknown): ParsedBatch {
  const parsed = batchSubmissionSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidBatchError(
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(batch)'}: ${i.message}`),
    );
  }
  return parsed.data;
}

/**
 * Validate a batch and queue one discover job per user (or one enumeration job for `allUsers`).
 * Malformed entries fail alone: they are recorded as failed users of the batch, with the reason.
 */
export async function submitBatch(
  input: BatchSubmission,
  deps: {
    queues: CertharvestQueues;
    redis: RedisConnection;
    prefix: string;
    /** The batch API client submitting it (recorded for its `read:own` scope). */
    client?: string;
    /** The configured LMS's own rule for user ids (see `ConfiguredLms.userIdRule`). */
    userIdRule?: { test: RegExp; expected: string } | undefined;
  },
): Promise<SubmitResult> {
  // Checked again: the type cannot say "at most 100,000" or "a positive whole number", and a
  // JavaScript caller has no types at all.
  const batch = parseBatchSubmission(input);
  const batchId = batch.batchId ?? newBatchId();
  const tracker = new BatchTracker(deps.redis, deps.prefix);

  const seen = new Set<string>();
  const accepted: string[] = [];
  const rejected: SubmitResult['rejected'] = [];
  let duplicates = 0;
  for (const raw of batch.users) {
    const ref = String(raw).trim();
    if (seen.has(ref)) {
      duplicates++;
      continue;
    }
    seen.add(ref);
    const rule = batch.by === 'userId' && deps.userIdRule ? deps.userIdRule : REF_RULES[batch.by];
    if (rule.test.test(ref)) accepted.push(ref);
    else
      rejected.push({
        ref,
        reason: `malformed ${batch.by} ${JSON.stringify(ref).slice(0, 80)}: expected ${rule.expected}`,
      });
  }

  const created = await tracker.create(batchId, {
    by: batch.by,
    enumerating: batch.allUsers,
    ...(deps.client ? { client: deps.client } : {}),
    ...(batch.refresh ? { refresh: true } : {}),
  });
  if (!created) throw new BatchExistsError(batchId);
  await tracker.rejectUsers(batchId, rejected, batch.by);
  await queueDiscovery(
    batchId,
    accepted.map((value) => ({ by: batch.by, value, filters: batch.filters })),
    { allUsers: batch.allUsers, filters: batch.filters, refresh: batch.refresh },
    deps,
  );
  return { batchId, queued: accepted.length, rejected, duplicates, allUsers: batch.allUsers };
}

/** One user to discover: how it is named, and the filters its certificates pass. */
export interface UserToDiscover {
  by: UserRefKind;
  value: string;
  filters?: BatchFilters | undefined;
}

/**
 * Open and queue the discover jobs of a created batch: users jobs of up to USERS_PER_DISCOVER_JOB
 * users that share their filters, and one job that enumerates the institution when `allUsers`.
 * Every job is opened in the accounting before it exists, so its outcome always has a batch to
 * settle; a batch with no job at all is settled at once.
 */
export async function queueDiscovery(
  batchId: string,
  users: readonly UserToDiscover[],
  options: { allUsers?: boolean; filters?: BatchFilters | undefined; refresh?: boolean },
  deps: { queues: CertharvestQueues; redis: RedisConnection; prefix: string },
): Promise<void> {
  const accounting = new BatchAccounting(deps.redis, deps.prefix);
  // Users that share how they are named and their filters share jobs (a retry's differ).
  const alike = new Map<string, { spec: UsersSpec; values: string[] }>();
  for (const { by, value, filters } of users) {
    const key = JSON.stringify([by, filters ?? null]);
    const group = alike.get(key) ?? { spec: { batchId, by, filters, refresh: options.refresh }, values: [] };
    group.values.push(value);
    alike.set(key, group);
  }
  let jobs = 0;
  for (const { spec, values } of alike.values()) {
    const added = await queueUsers(accounting, deps.queues.discover, spec, values);
    if (added !== 'cancelled') jobs += added;
  }
  if (options.allUsers) {
    const filters = options.filters;
    await accounting.registerDiscover(batchId, [`${batchId}.all-users`], 'enumeration');
    await deps.queues.discover.add(
      'all-users',
      {
        kind: 'all-users',
        batchId,
        ...(filters ? { filters } : {}),
        ...(options.refresh ? { refresh: true } : {}),
      },
      { jobId: `${batchId}.all-users` },
    );
    jobs++;
  }
  // Every entry refused: no job will settle the batch, so it is done (and announced) now.
  if (jobs === 0) await accounting.finishIfDone(batchId);
}

/**
 * Parse the users of a `--file`: one reference per line, or a CSV whose header names the column.
 * The CSV goes through csv-parse: a byte-order mark, quoted values (with the delimiter or line
 * breaks inside) and a `;` or tab delimiter (as spreadsheets in many locales export) all work.
 */
export function parseUserList(text: string, by: UserRefKind): string[] {
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = body.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  const delimiter = detectDelimiter(firstLine);
  let rows: string[][];
  try {
    rows = parse(body, {
      bom: true,
      delimiter,
      comment: '#',
      comment_no_infix: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
    }) as string[][];
  } catch (err) {
    throw new InvalidBatchError([`the user file is not valid CSV: ${(err as Error).message}`]);
  }
  rows = rows.filter((r) => r.some((v) => v !== ''));
  if (rows.length === 0) return [];
  const header = rows[0] ?? [];
  const column = header.findIndex((h) => h.toLowerCase() === by.toLowerCase());
  if (header.length > 1 || column >= 0) {
    if (column < 0) {
      throw new InvalidBatchError([
        `the CSV header (${header.join(', ')}) has no "${by}" column (use --by to choose)`,
      ]);
    }
    return rows
      .slice(1)
      .map((r) => r[column] ?? '')
      .filter((v) => v !== '');
  }
  return rows.map((r) => r[0] ?? '').filter((v) => v !== '');
}

/** The header's most frequent of `,` `;` and tab (outside quotes); `,` when none. */
function detectDelimiter(line: string): string {
  const unquoted = line.replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t'].map((d) => [d, unquoted.split(d).length - 1] as const);
  const [best, n] = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return n > 0 ? best : ',';
}
