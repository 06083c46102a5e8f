import {
  BatchAccounting,
  type CertharvestQueues,
  type RedisConnection,
  type UserRefKind,
} from '../../src/queue/index.ts';

/**
 * Settle one user of a submitted batch as its discover job would (without a worker): the users
 * job that holds it settles that user alone (the job closes with its last user). With `queues`, a
 * job closed so is taken out of the queue, as if a worker had taken it.
 */
export async function settleUser(
  t: { redis: RedisConnection; prefix: string; queues?: CertharvestQueues },
  batchId: string,
  user: string | number,
  outcome: { status: 'done' } | { status: 'failed'; code: string; reason: string },
  by: UserRefKind = 'userId',
): Promise<void> {
  const value = String(user);
  const jobId = await t.redis.hget(`${t.prefix}:batch:${batchId}:users`, `${by}:${value}`);
  if (!jobId) throw new Error(`settleUser: batch ${batchId} has no ${by} ${value} in a discover job`);
  const settled =
    outcome.status === 'done'
      ? { status: 'done' as const, value, badges: 0, rejected: [], rejectedCount: 0 }
      : { ...outcome, value };
  await new BatchAccounting(t.redis, t.prefix).settleUsers(jobId, batchId, by, [settled]);
  if (t.queues && !(await t.redis.hexists(`${t.prefix}:acct:discover`, jobId)))
    await t.queues.discover.remove(jobId);
}

/** The discover job that holds `user` of `batchId` (its users job, or a one-user job). */
export async function discoverJobOf(
  t: { redis: RedisConnection; prefix: string },
  batchId: string,
  user: string | number,
  by: UserRefKind = 'userId',
): Promise<string | null> {
  return t.redis.hget(`${t.prefix}:batch:${batchId}:users`, `${by}:${String(user)}`);
}
