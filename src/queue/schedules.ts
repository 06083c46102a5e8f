import path from 'node:path';
import { defaultRepeatStrategy, type JobSchedulerJson, type JobsOptions, type Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { z } from 'zod';
import { CertharvestError } from '../errors/index.ts';
import { LuaScript } from '../util/lua-script.ts';
import { BatchAccounting } from './batch-accounting.ts';
import { BatchTracker, type BatchStatus } from './batch-tracker.ts';
import type { BatchState } from './batch-state.ts';
import { batchSubmissionSchema, USER_REF_KINDS } from './job-data.ts';

/**
 * Recurring batches (`certharvest schedule`). A schedule is a BullMQ job scheduler on the
 * `schedules` queue, its id the schedule's name: BullMQ creates one job per firing for the whole
 * fleet, however many workers run, and whichever worker takes it submits a batch
 * `<name>-<firing time>` from the schedule's template through `submitBatch`. The template holds
 * references only (user ids, a file's path), never a secret, and is parsed again by the worker.
 */

/** 1-47 characters: `<name>-<16-character stamp>` must stay a valid batch id (at most 64). */
export const SCHEDULE_NAME_MAX = 47;

export const scheduleNameSchema = z
  .string()
  .regex(
    new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${SCHEDULE_NAME_MAX - 1}}$`),
    `a schedule name is 1-${SCHEDULE_NAME_MAX} letters, digits, ".", "_" or "-", starting with a letter or digit`,
  );

/**
 * What each firing submits: the same fields as a batch, but a user file by path (read at each
 * firing). Built at its first parse: only `schedule` and the worker read it.
 */
export const scheduleTemplateSchema = z.lazy(() =>
  z
    .object({
      schedule: scheduleNameSchema.describe('The schedule: its batches are `<schedule>-<firing time>`.'),
      by: z.enum(USER_REF_KINDS).default('userId'),
      users: z.array(z.string().trim().min(1).max(256)).max(100_000).default([]),
      usersFile: z
        .string()
        .max(4096)
        .refine((p) => path.isAbsolute(p), 'expected an absolute path')
        .optional()
        .describe('A user file (as for `submit --file`), read by the worker at each firing.'),
      allUsers: z.boolean().default(false),
      filters: batchSubmissionSchema.shape.filters,
    })
    .strict()
    .refine((t) => t.allUsers || t.users.length > 0 || t.usersFile !== undefined, {
      message: 'a schedule needs users, a user file or allUsers: true',
      path: ['users'],
    }),
);

export type ScheduleTemplateInput = z.input<typeof scheduleTemplateSchema>;
export type ScheduleTemplate = z.output<typeof scheduleTemplateSchema>;

/** When a schedule fires: every `every` ms (the first firing at once), or on a cron pattern. */
export type ScheduleWhen = { every: number } | { cron: string; tz?: string };

/** The shortest and longest `every`. Seconds are allowed (as for TOKEN_KEEPALIVE): trials, tests. */
export const MIN_EVERY_MS = 1_000;
export const MAX_EVERY_MS = 366 * 86_400_000;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30s`, `15m`, `24h`, `7d` → milliseconds; undefined for anything else (`5x`, `1h30m`, `0h`, `24 h`). */
export function parseEvery(text: string): number | undefined {
  const m = /^([1-9]\d{0,8})([smhd])$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms >= MIN_EVERY_MS && ms <= MAX_EVERY_MS ? ms : undefined;
}

/** In the largest whole unit: 86 400 000 → `1d`, 5 400 000 → `90m`, 2 000 → `2s`. */
export function formatEvery(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const)
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

/** A schedule, a template or a `when` that cannot be: every problem named. */
export class ScheduleInvalidError extends CertharvestError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('SCHEDULE_INVALID', problems.join('; '));
    this.problems = problems;
  }
}

export class ScheduleExistsError extends CertharvestError {
  constructor(name: string) {
    super('SCHEDULE_EXISTS', `schedule "${name}" already exists (remove it first, or replace it)`);
  }
}

/**
 * Check a cron pattern (5 fields, or 6 with seconds first, or an alias such as `@daily`) and a
 * time zone; returns the next firing. The pattern is read by BullMQ's own parser.
 */
export function nextCronFiring(pattern: string, tz?: string, now = Date.now()): number {
  const problems: string[] = [];
  const fields = pattern.trim().split(/\s+/);
  if (!(pattern.trim().startsWith('@') ? fields.length === 1 : fields.length === 5 || fields.length === 6))
    problems.push(
      `cron pattern "${pattern}": expected 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly`,
    );
  if (tz !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
    } catch {
      problems.push(`time zone "${tz}": expected an IANA zone such as Europe/Paris or UTC`);
    }
  }
  if (problems.length) throw new ScheduleInvalidError(problems);
  let next: number | undefined;
  try {
    next = defaultRepeatStrategy(now, { pattern, ...(tz ? { tz } : {}) });
  } catch (err) {
    throw new ScheduleInvalidError([`cron pattern "${pattern}": ${(err as Error).message}`]);
  }
  if (next === undefined) throw new ScheduleInvalidError([`cron pattern "${pattern}" never fires`]);
  return next;
}

/** `2026-12-04T02:00:00.000Z` → `20261204T020000Z` (ISO 8601 basic: no `:`, valid in a batch id). */
export function firingStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** The batch a firing submits: `<schedule>-<firing time>`, the same id on every attempt of that firing. */
export const firingBatchId = (schedule: string, at: Date): string => `${schedule}-${firingStamp(at)}`;

/** Each firing job: a failed submission is retried (its batch id keeps it from running twice). */
export const FIRING_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { count: 500 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export interface ScheduleDeps {
  queue: Queue<ScheduleTemplate>;
  redis: RedisConnection;
  prefix: string;
}

export interface AddScheduleInput {
  name: string;
  when: ScheduleWhen;
  template: Omit<ScheduleTemplateInput, 'schedule'>;
}

/** Create (or, with `replace`, update) a schedule; the template is checked first. */
export async function addSchedule(
  input: AddScheduleInput,
  deps: ScheduleDeps,
  options: { replace?: boolean } = {},
): Promise<ScheduleInfo> {
  const name = scheduleNameSchema.safeParse(input.name);
  const template = scheduleTemplateSchema.safeParse({ ...input.template, schedule: input.name });
  const problems: string[] = [];
  if (!name.success) problems.push(`name "${input.name}": ${name.error.issues[0]?.message}`);
  if (!template.success)
    for (const i of template.error.issues)
      if (i.path[0] !== 'schedule')
        problems.push(`${i.path.length ? i.path.join('.') : '(template)'}: ${i.message}`);
  const { when } = input;
  if (
    'every' in when &&
    !(Number.isSafeInteger(when.every) && when.every >= MIN_EVERY_MS && when.every <= MAX_EVERY_MS)
  )
    problems.push(`every: expected ${MIN_EVERY_MS} to ${MAX_EVERY_MS} ms, got ${when.every}`);
  if (problems.length || !template.success) throw new ScheduleInvalidError(problems);
  if ('cron' in when) nextCronFiring(when.cron, when.tz);
  const id = template.data.schedule;

  if (!options.replace && (await deps.queue.getJobScheduler(id))) throw new ScheduleExistsError(id);
  // A new schedule starts with no history (a replaced one keeps its last firing).
  if (!options.replace) await deps.redis.hdel(firingsKey(deps.prefix), id);
  const job = await deps.queue.upsertJobScheduler(
    id,
    'every' in when ? { every: when.every } : { pattern: when.cron, ...(when.tz ? { tz: when.tz } : {}) },
    { name: id, data: template.data, opts: FIRING_JOB_OPTIONS },
  );
  if (!job) throw new ScheduleInvalidError([`schedule "${id}" would never fire`]);
  const info = await getSchedule(id, deps);
  if (!info) throw new Error(`schedule "${id}" vanished as it was added`);
  return info;
}

/** Remove a schedule; false when there is none of that name. Its batches stay. */
export async function removeSchedule(name: string, deps: ScheduleDeps): Promise<boolean> {
  if (!scheduleNameSchema.safeParse(name).success) return false;
  if (!(await deps.queue.getJobScheduler(name))) return false;
  await deps.queue.removeJobScheduler(name);
  await deps.redis.hdel(firingsKey(deps.prefix), name);
  return true;
}

/**
 * The state of a schedule's last batch (`batchState`), or `error` when the firing could not submit
 * it as asked, `expired` when its record is gone (kept 30 days).
 */
export type LastBatchState = BatchState | 'error' | 'expired';

/** A firing as recorded by the worker that ran it. */
export interface FiringRecord {
  batchId: string;
  /** The firing time (ISO), the one in the batch id. */
  firedAt: string;
  /** Why the firing could not submit its batch as asked (an unreadable user file...). */
  error?: string;
}

export interface ScheduleInfo {
  name: string;
  every?: number;
  cron?: string;
  tz?: string;
  /** The next firing (ISO); absent while none is planned. */
  next?: string;
  /** Undefined when the stored template no longer parses (the firing then fails, naming why). */
  template?: ScheduleTemplate;
  last?: FiringRecord & { state: LastBatchState; batch?: BatchStatus };
}

/** Every schedule, by name. */
export async function listSchedules(deps: ScheduleDeps): Promise<ScheduleInfo[]> {
  const all = await deps.queue.getJobSchedulers(0, -1, true);
  const infos = await Promise.all(all.map((s) => describeScheduler(s, deps)));
  return infos.sort((a, b) => a.name.localeCompare(b.name));
}

export async function getSchedule(name: string, deps: ScheduleDeps): Promise<ScheduleInfo | undefined> {
  const s = await deps.queue.getJobScheduler(name);
  return s ? describeScheduler(s, deps) : undefined;
}

async function describeScheduler(s: JobSchedulerJson, deps: ScheduleDeps): Promise<ScheduleInfo> {
  const name = s.key;
  const template = scheduleTemplateSchema.safeParse(s.template?.data);
  const last = await lastFiring(name, deps);
  return {
    name,
    ...(s.every ? { every: Number(s.every) } : {}),
    ...(s.pattern ? { cron: s.pattern } : {}),
    ...(s.tz ? { tz: s.tz } : {}),
    ...(s.next ? { next: new Date(Number(s.next)).toISOString() } : {}),
    ...(template.success ? { template: template.data } : {}),
    ...(last ? { last } : {}),
  };
}

async function lastFiring(name: string, deps: ScheduleDeps): Promise<ScheduleInfo['last']> {
  const raw = await deps.redis.hget(firingsKey(deps.prefix), name);
  if (!raw) return undefined;
  const record = JSON.parse(raw) as FiringRecord;
  const batch = await new BatchTracker(deps.redis, deps.prefix).status(record.batchId, 5);
  const state: LastBatchState = record.error ? 'error' : !batch ? 'expired' : batch.state;
  return { ...record, state, ...(batch ? { batch } : {}) };
}

/** Each schedule's last firing (a hash: name → JSON). Not under the queue's own keys. */
const firingsKey = (prefix: string) => `${prefix}:schedule-firings`;

/** Keep the newest firing only: a slow firing that ends after a later one does not overwrite it. */
const RECORD_FIRING = LuaScript.fromFile(new URL('./lua/record-firing.lua', import.meta.url));

/** Record a firing as the schedule's last (unless a later one is already recorded). */
export async function recordFiring(
  redis: RedisConnection,
  prefix: string,
  schedule: string,
  firing: FiringRecord,
): Promise<void> {
  await RECORD_FIRING.run(redis, [firingsKey(prefix)], [schedule, firing.firedAt, JSON.stringify(firing)]);
}

/**
 * A firing that could not submit its batch (its user file unreadable, say) still leaves a batch,
 * done and failed, with the reason as its one failure: `status`, `schedule list` and whatever
 * follows batches see it. It goes through the batch accounting as one failed "user" (the firing).
 */
export async function recordFailedFiringBatch(
  redis: RedisConnection,
  prefix: string,
  batchId: string,
  failure: { by: string; ref: string; code: string; reason: string },
): Promise<void> {
  if (!(await new BatchTracker(redis, prefix).create(batchId, { by: failure.by, enumerating: false })))
    return;
  const accounting = new BatchAccounting(redis, prefix);
  const jobId = `${batchId}.firing`;
  await accounting.registerDiscover(batchId, [jobId]);
  await accounting.settleDiscover(
    jobId,
    { status: 'failed', code: failure.code, reason: failure.reason },
    failure.ref,
  );
}
