/**
 * The token keep-alive's record: the scheduler's id and the health each run leaves in Redis, read
 * by `auth status`. The runs themselves are jobs/maintenance.ts.
 */
import { Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { MAINTENANCE_QUEUE } from '../queue/names.ts';

/** The one scheduler of the fleet (same id from every worker: BullMQ keeps one). */
export const KEEPALIVE_SCHEDULER_ID = 'token-keepalive';

/** What `auth status` shows about the keep-alive. Never a secret. */
export interface KeepAliveHealth {
  /** The interval the scheduler runs at, as last set by a worker; undefined: never scheduled. */
  everyMs?: number;
  /** The last run: when, whether it worked, and why not. */
  last?: { at: Date; ok: boolean; error?: string };
  /** When the scheduler runs next (from BullMQ). */
  next?: Date;
  /** Runs that worked since the record was created. */
  runs: number;
}

/** Where each run records its health (a hash: lastAt, lastOk, lastError, runs). */
export const keepAliveHealthKey = (prefix: string) => `${prefix}:auth:keepalive`;

/** Read the keep-alive's record and the scheduler's next run (for `auth status`). */
export async function readKeepAliveHealth(redis: RedisConnection, prefix: string): Promise<KeepAliveHealth> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix });
  try {
    const [fields, scheduler] = await Promise.all([
      redis.hgetall(keepAliveHealthKey(prefix)),
      queue.getJobScheduler(KEEPALIVE_SCHEDULER_ID),
    ]);
    const at = Number(fields.lastAt);
    return {
      ...(scheduler?.every ? { everyMs: Number(scheduler.every) } : {}),
      ...(Number.isFinite(at) && at > 0
        ? {
            last: {
              at: new Date(at),
              ok: fields.lastOk === '1',
              ...(fields.lastError ? { error: fields.lastError } : {}),
            },
          }
        : {}),
      ...(scheduler?.next ? { next: new Date(scheduler.next) } : {}),
      runs: Number(fields.runs ?? 0) || 0,
    };
  } finally {
    await queue.close();
  }
}
