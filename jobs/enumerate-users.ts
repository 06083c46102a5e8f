/**
 * A whole-institution batch's first job: page through every user of the LMS and queue them as
 * users jobs while the pages arrive (not after the last page): discovery, and the downloads
 * behind it, start at once. Running again after a failure queues only users the batch does not
 * have yet (and adds again a job it registered but may not have added).
 */
import type { Queue } from 'bullmq';
import type { LmsId } from '../src/certificate/index.ts';
import type { UserDirectory } from '../src/lms/index.ts';
import {
  queueUsers,
  type BatchAccounting,
  type DiscoverJobData,
  type DiscoverResult,
} from '../src/queue/index.ts';

/** Users queued at once while enumerating, at most; and how long a partial chunk may wait. */
const ENUMERATION_CHUNK = 496;
const ENUMERATION_FLUSH_MS = 200;

export async function enumerateUsers(
  deps: { directory: UserDirectory; accounting: BatchAccounting; discoverQueue: Queue<DiscoverJobData> },
  data: Extract<DiscoverJobData, { kind: 'all-users' }>,
  jobId: string,
  log: (line: string) => void,
): Promise<DiscoverResult> {
  const spec = { batchId: data.batchId, by: 'userId' as const, filters: data.filters, refresh: data.refresh };
  let users = 0;
  let pending: LmsId[] = [];
  let flushedAt = Date.now();
  let cancelled = false;
  const flush = async () => {
    if (pending.length === 0) return;
    const values = pending.map(String);
    pending = [];
    flushedAt = Date.now();
    // A cancelled batch takes no more users: the enumeration runs out without queuing them.
    if ((await queueUsers(deps.accounting, deps.discoverQueue, spec, values, jobId)) === 'cancelled')
      cancelled = true;
  };
  for await (const id of deps.directory.listAllUserIds()) {
    if (cancelled) break;
    pending.push(id);
    users++;
    if (pending.length >= ENUMERATION_CHUNK || Date.now() - flushedAt >= ENUMERATION_FLUSH_MS) await flush();
  }
  await flush();
  log(
    cancelled
      ? `the batch was cancelled: enumeration stopped after ${users} user(s)`
      : `the institution has ${users} user(s), queued in discover jobs of several users`,
  );
  return {
    users,
    certificates: 0,
    queued: 0,
    alreadyStored: 0,
    badgesIgnored: 0,
    filteredOut: 0,
    rejected: [],
    rejectedCount: 0,
  };
}
