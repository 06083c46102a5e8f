/**
 * Users to discover become users jobs: USERS_PER_DISCOVER_JOB users to a discover job, opened in
 * the accounting before they are added (so their outcome always has a batch to settle). One path
 * for a submission and for an enumeration of the institution; a user handed off by its users job
 * gets a one-user job (`userJobId`).
 */
import type { Queue } from 'bullmq';
import type { BatchAccounting } from './batch-accounting.ts';
import {
  USERS_PER_DISCOVER_JOB,
  type BatchFilters,
  type DiscoverJobData,
  type UserRefKind,
} from './job-data.ts';

/** Who the users are, for their batch: how they are named, the filters, a refresh. */
export interface UsersSpec {
  batchId: string;
  by: UserRefKind;
  filters?: BatchFilters | undefined;
  refresh?: boolean | undefined;
}

/** `<batchId>.<by>.<value in base64url>`: a one-user job's id (safe characters, unique per batch). */
export const userJobId = (batchId: string, by: UserRefKind, value: string): string =>
  `${batchId}.${by}.${Buffer.from(value).toString('base64url')}`;

/** What shows on the board for a users job: how many, and the first and the last. */
const usersJobName = (by: UserRefKind, values: readonly string[]): string =>
  values.length === 1
    ? `${by}:${values[0]}`
    : `${values.length} users: ${by} ${values[0]}…${values[values.length - 1]}`.slice(0, 200);

/**
 * Open and add the users jobs of `values` (users the batch already has are not added twice).
 * Returns how many users jobs it added, or 'cancelled' (nothing added) when the batch is.
 */
export async function queueUsers(
  accounting: BatchAccounting,
  queue: Queue<DiscoverJobData>,
  spec: UsersSpec,
  values: readonly string[],
  /** The job that queues them (an enumeration), if any: the reconciler waits while it runs. */
  opener?: string,
): Promise<number | 'cancelled'> {
  if (values.length === 0) return 0;
  const jobs = await accounting.registerUsers(spec.batchId, spec.by, values, {
    groupSize: USERS_PER_DISCOVER_JOB,
    jobIdBase: `${spec.batchId}.users`,
    ...(opener ? { opener } : {}),
  });
  if (jobs === 'cancelled') return jobs;
  const common = {
    batchId: spec.batchId,
    by: spec.by,
    ...(spec.filters ? { filters: spec.filters } : {}),
    ...(spec.refresh ? { refresh: true } : {}),
  };
  for (let i = 0; i < jobs.length; i += 1000) {
    await queue.addBulk(
      jobs.slice(i, i + 1000).map(({ jobId, values }) => ({
        name: usersJobName(spec.by, values),
        data: { kind: 'users' as const, ...common, values },
        opts: { jobId },
      })),
    );
  }
  return jobs.length;
}

/** Add the one-user jobs a users job handed its users to (opened by its settle). */
export async function addHandoffs(
  queue: Queue<DiscoverJobData>,
  spec: UsersSpec,
  handoffs: readonly { value: string; jobId: string }[],
): Promise<void> {
  if (handoffs.length === 0) return;
  await queue.addBulk(
    handoffs.map(({ value, jobId }) => ({
      name: `${spec.by}:${value}`,
      data: {
        kind: 'user' as const,
        batchId: spec.batchId,
        by: spec.by,
        value,
        ...(spec.filters ? { filters: spec.filters } : {}),
        ...(spec.refresh ? { refresh: true } : {}),
      },
      opts: { jobId },
    })),
  );
}
