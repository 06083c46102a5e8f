/**
 * The batch webhook's retry schedule. An event not acknowledged (the POST failed, the worker died)
 * stays in the group's pending list with its delivery count; it is claimed again after a backoff
 * that doubles per attempt (retryBaseMs … retryMaxMs), by whichever worker gets to it, until the
 * event is older than retryForMs: then it is given up (dead-lettered).
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import { entryTime, streamFields, type StreamFields } from '../util/stream-consumer.ts';
import { WEBHOOK_GROUP } from './webhook-state.ts';

export interface RetrySchedule {
  /** How long after its announcement an event is retried. */
  retryForMs: number;
  /** The wait before the first retry; doubled per attempt. */
  retryBaseMs: number;
  /** The longest wait between two attempts. */
  retryMaxMs: number;
}

/** The wait after attempt `deliveries` (1-based) before the next. */
export const retryDelay = (deliveries: number, s: RetrySchedule): number =>
  Math.min(s.retryBaseMs * 2 ** Math.max(0, deliveries - 1), s.retryMaxMs);

export interface DueRetries {
  redis: RedisConnection;
  /** The events stream. */
  key: string;
  /** This worker's name in the group. */
  consumer: string;
  schedule: RetrySchedule;
  /** Send a claimed event again. */
  deliver: (id: string, event: StreamFields) => Promise<void>;
  /** Give a claimed event up. */
  giveUp: (id: string, facts: { batchId: string; attempts: number; reason: string }) => Promise<void>;
}

const GONE = 'the event is gone from the stream (trimmed or deleted)';

/** Pending events whose backoff has passed: sent again, or given up past the retry window. */
export async function retryDue(d: DueRetries): Promise<void> {
  const { redis, key, schedule } = d;
  const pending = (await redis.xpending(key, WEBHOOK_GROUP, '-', '+', 100)) as [
    string,
    string,
    number,
    number,
  ][];
  for (const [id, , idle, deliveries] of pending) {
    const wait = retryDelay(deliveries, schedule);
    if (idle < wait) continue;
    // XCLAIM with the same minimum idle: of several workers, one wins; the claim resets idle.
    const claimed = (await redis.xclaim(key, WEBHOOK_GROUP, d.consumer, wait, id)) as [
      string,
      string[] | null,
    ][];
    const entry = claimed[0];
    if (!entry) {
      const exists = (await redis.xrange(key, id, id)).length > 0;
      if (!exists) await d.giveUp(id, { batchId: '', attempts: deliveries, reason: GONE });
      continue;
    }
    const [, fields] = entry;
    if (!fields) {
      await d.giveUp(id, { batchId: '', attempts: deliveries, reason: GONE });
    } else if (Date.now() - entryTime(id) > schedule.retryForMs) {
      await d.giveUp(id, {
        batchId: streamFields(fields).batchId ?? '',
        attempts: deliveries,
        reason: `not delivered within ${Math.round(schedule.retryForMs / 1000)}s`,
      });
    } else {
      await d.deliver(id, streamFields(fields));
    }
  }
}
