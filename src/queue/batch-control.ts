/**
 * Control over a batch after it was submitted: cancel it, retry its failures. The counters are
 * still written only by `BatchAccounting`; this module decides which jobs go.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import { CertharvestError } from '../errors/index.ts';
import type { LmsId } from '../certificate/index.ts';
import { BatchAccounting } from './batch-accounting.ts';
import { openDiscoversOf, openDownloadsOf } from './open-jobs.ts';
import { batchKeys } from './batch-keys.ts';
import { isFinal } from './batch-state.ts';
import { BatchTracker, type BatchStatus } from './batch-tracker.ts';
import { batchIdSchema, USER_REF_KINDS, type UserRefKind } from './job-data.ts';
import type { CertharvestQueues } from './queues.ts';
import { InvalidBatchError, queueDiscovery, type UserToDiscover } from './submit-batch.ts';

export class BatchNotFoundError extends CertharvestError {
  constructor(batchId: string) {
    super('BATCH_NOT_FOUND', `no batch "${batchId}" (batches are kept 30 days)`);
  }
}

export class BatchStillRunningError extends CertharvestError {
  constructor(batchId: string) {
    super(
      'BATCH_RUNNING',
      `batch "${batchId}" is still running: retry it once it has ended (certharvest status ${batchId}), or cancel it first`,
    );
  }
}

export class NothingToRetryError extends CertharvestError {
  constructor(batchId: string) {
    super('NOTHING_TO_RETRY', `batch "${batchId}" has no failure to retry`);
  }
}

interface ControlDeps {
  queues: CertharvestQueues;
  redis: RedisConnection;
  prefix: string;
}

export interface CancelResult {
  batchId: string;
  /** `cancelled` now; or it was `already-cancelled`, or had `already-ended` (nothing to cancel). */
  outcome: 'cancelled' | 'already-cancelled' | 'already-ended';
  /** Users whose discovery was removed from the queue. */
  usersRemoved: number;
  /** Downloads removed from the queue (this batch alone waited for them). */
  downloadsRemoved: number;
  /** Downloads other batches wait for too: they stay queued, this batch no longer waits. */
  downloadsLeftToOthers: number;
  /** Jobs that were running: they finish, and the batch ends when they have. */
  stillRunning: number;
  status: BatchStatus;
}

/** BullMQ states in which a job has not started: it can be removed without cutting work short. */
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children']);

/**
 * Cancel a batch: it queues nothing more; its queued discovery and the downloads it alone waits
 * for are removed from the queues; downloads other batches need stay; running jobs finish. The
 * batch ends as `cancelled` (with its counts) once nothing of it runs.
 */
export async function cancelBatch(batchId: string, deps: ControlDeps): Promise<CancelResult> {
  const accounting = new BatchAccounting(deps.redis, deps.prefix);
  const tracker = new BatchTracker(deps.redis, deps.prefix);
  const marked = await accounting.markCancelled(batchId);
  if (marked === 'unknown') throw new BatchNotFoundError(batchId);
  const result = {
    batchId,
    usersRemoved: 0,
    downloadsRemoved: 0,
    downloadsLeftToOthers: 0,
    stillRunning: 0,
  };
  if (marked === 'done') {
    return { ...result, outcome: 'already-ended', status: (await tracker.status(batchId, 0))! };
  }
  /**
   * Remove a job that has not started and settle it as cancelled: the users (or the download) it
   * ended; null when it had started (it runs on). Again when already cancelled: a second cancel
   * removes what a running enumeration added since.
   */
  const remove = async (kind: 'discover' | 'download', jobId: string): Promise<number | null> => {
    const queue = kind === 'discover' ? deps.queues.discover : deps.queues.download;
    const job = await queue.getJob(jobId);
    if (!job || !NOT_STARTED.has(await job.getState())) return null;
    if ((await queue.remove(jobId)) !== 1) return null;
    if (kind === 'download') {
      await accounting.settleDownload(jobId, { status: 'cancelled' });
      return 1;
    }
    // A users job ends the users it still held.
    return Math.max(0, await accounting.settleDiscover(jobId, { status: 'cancelled' }));
  };
  for (const jobId of await openDiscoversOf(deps.redis, deps.prefix, batchId)) {
    const users = await remove('discover', jobId);
    if (users === null) result.stillRunning++;
    else result.usersRemoved += users;
  }
  const before = await tracker.status(batchId, 0);
  const alone = await accounting.detachDownloads(
    batchId,
    await openDownloadsOf(deps.redis, deps.prefix, batchId),
  );
  for (const jobId of alone) {
    if ((await remove('download', jobId)) === null) result.stillRunning++;
    else result.downloadsRemoved++;
  }
  const after = await tracker.status(batchId, 0);
  result.downloadsLeftToOthers = Math.max(
    0,
    (after?.certsCancelled ?? 0) - (before?.certsCancelled ?? 0) - result.downloadsRemoved,
  );
  await accounting.finishIfDone(batchId);
  return {
    ...result,
    outcome: marked === 'already' ? 'already-cancelled' : 'cancelled',
    status: (await tracker.status(batchId, 0))!,
  };
}

export interface RetryResult {
  /** The new batch. */
  batchId: string;
  retryOf: string;
  /** Users queued for discovery again. */
  queued: number;
  /** The institution is enumerated again (the original's enumeration failed). */
  allUsers: boolean;
}

/**
 * Retry a batch's failures as a new batch linked to it (`retryOf`): every user that failed as a
 * whole, and every user with a failed certificate (only that certificate's org units), is
 * discovered again; what is stored meanwhile counts as already stored. References refused as
 * malformed are not retried (they would be refused again).
 */
export async function retryBatch(
  batchId: string,
  deps: ControlDeps & { client?: string },
  options: { batchId?: string } = {},
): Promise<RetryResult> {
  if (options.batchId !== undefined && !batchIdSchema.safeParse(options.batchId).success) {
    throw new InvalidBatchError([
      `batchId: "${options.batchId.slice(0, 80)}" is not a batch id (1-64 letters, digits, ".", "_" or "-")`,
    ]);
  }
  const tracker = new BatchTracker(deps.redis, deps.prefix);
  const original = await tracker.status(batchId, 0);
  if (!original) throw new BatchNotFoundError(batchId);
  if (!isFinal(original.state)) throw new BatchStillRunningError(batchId);

  const whole = new Map<string, UserToDiscover>();
  const partial = new Map<string, { user: UserToDiscover; orgUnitIds: LmsId[] }>();
  let allUsers = false;
  for await (const rows of tracker.manifestPages(batchId)) {
    for (const row of rows) {
      if (row.status !== 'failed' || row.code === 'USER_REF_MALFORMED') continue;
      if (row.kind === 'user' && row.userRef === 'all users') {
        allUsers = true;
        continue;
      }
      const fromCertificate = row.kind === 'certificate' && row.userId !== null && row.orgUnitId !== null;
      const user: UserToDiscover | null = fromCertificate
        ? { by: 'userId', value: String(row.userId) }
        : parseUserRef(row.userRef);
      if (!user) continue;
      const key = `${user.by}:${user.value}`;
      if (fromCertificate && !whole.has(key)) {
        const entry = partial.get(key) ?? { user, orgUnitIds: [] };
        if (!entry.orgUnitIds.some((id) => String(id) === String(row.orgUnitId)))
          entry.orgUnitIds.push(row.orgUnitId!);
        partial.set(key, entry);
      } else {
        partial.delete(key);
        whole.set(key, user);
      }
    }
  }
  const users: UserToDiscover[] = [
    ...whole.values(),
    ...[...partial.values()].map(({ user, orgUnitIds }) => ({ ...user, filters: { orgUnitIds } })),
  ];
  if (users.length === 0 && !allUsers) throw new NothingToRetryError(batchId);

  const newId = await createRetryBatch(tracker, original, options.batchId, allUsers, deps.client);
  await deps.redis.hset(batchKeys(deps.prefix, batchId).key, 'retriedBy', newId);
  await queueDiscovery(newId, users, { allUsers, refresh: original.refresh === true }, deps);
  return { batchId: newId, retryOf: batchId, queued: users.length, allUsers };
}

/** `<id>.retry-1`, `.retry-2`…: the first free one (or the id asked for). */
async function createRetryBatch(
  tracker: BatchTracker,
  original: BatchStatus,
  wanted: string | undefined,
  allUsers: boolean,
  client: string | undefined,
): Promise<string> {
  const init = {
    by: original.by,
    enumerating: allUsers,
    retryOf: original.batchId,
    ...(original.refresh ? { refresh: true } : {}),
    ...(client ? { client } : {}),
  };
  const base = original.batchId.replace(/\.retry-\d+$/, '').slice(0, 52);
  const candidates = wanted ? [wanted] : Array.from({ length: 99 }, (_, i) => `${base}.retry-${i + 1}`);
  for (const id of candidates) if (await tracker.create(id, init)) return id;
  throw new CertharvestError(
    'BATCH_EXISTS',
    wanted ? `batch "${wanted}" already exists: choose another id` : `no free retry id for "${base}"`,
  );
}

/** `userName:jdoe` → { by: 'userName', value: 'jdoe' }; null for anything else. */
function parseUserRef(ref: string | null): UserToDiscover | null {
  const m = ref ? /^([A-Za-z]+):(.+)$/s.exec(ref) : null;
  if (!m || !(USER_REF_KINDS as readonly string[]).includes(m[1]!)) return null;
  return { by: m[1] as UserRefKind, value: m[2]! };
}
