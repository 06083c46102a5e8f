/**
 * What the batch webhook keeps in Redis beside the events stream: its consumer group, the
 * dead-letter list of events given up (`<prefix>:webhook:dead`, shown by `certharvest status`),
 * and since when deliveries fail (`<prefix>:webhook:failing-since`, for readiness).
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import { entryTime } from '../util/stream-consumer.ts';

export const WEBHOOK_GROUP = 'webhook';
/** Dead letters kept (the newest). */
export const DEAD_LETTERS_KEPT = 1_000;

export const webhookDeadKey = (prefix: string): string => `${prefix}:webhook:dead`;
/** Epoch ms of the first failure since the last successful delivery (absent: not failing). */
export const webhookFailingKey = (prefix: string): string => `${prefix}:webhook:failing-since`;

/** One event given up, as the dead-letter list keeps it. */
export interface WebhookDeadLetter {
  /** The `webhook-id` it was sent with. */
  delivery: string;
  batchId: string;
  /** When the event was announced, and when it was given up (ISO). */
  announcedAt: string;
  deadAt: string;
  attempts: number;
  reason: string;
}

/** Acknowledge event `id` (stream `key`) and keep it as a dead letter, the newest first. */
export async function moveToDeadLetters(
  redis: RedisConnection,
  where: { key: string; prefix: string },
  id: string,
  facts: Pick<WebhookDeadLetter, 'batchId' | 'attempts' | 'reason'>,
): Promise<void> {
  const letter: WebhookDeadLetter = {
    delivery: id,
    batchId: facts.batchId,
    announcedAt: new Date(entryTime(id)).toISOString(),
    deadAt: new Date().toISOString(),
    attempts: facts.attempts,
    reason: facts.reason,
  };
  await redis
    .multi()
    .xack(where.key, WEBHOOK_GROUP, id)
    .lpush(webhookDeadKey(where.prefix), JSON.stringify(letter))
    .ltrim(webhookDeadKey(where.prefix), 0, DEAD_LETTERS_KEPT - 1)
    .exec();
}

/** The newest dead letters first, and how many there are. */
export async function readWebhookDeadLetters(
  redis: RedisConnection,
  prefix: string,
  limit: number,
): Promise<{ count: number; letters: WebhookDeadLetter[] }> {
  const [count, raw] = await Promise.all([
    redis.llen(webhookDeadKey(prefix)),
    redis.lrange(webhookDeadKey(prefix), 0, limit - 1),
  ]);
  return { count, letters: raw.map((r) => JSON.parse(r) as WebhookDeadLetter) };
}
