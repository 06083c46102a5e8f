/**
 * The batch webhook (BATCH_WEBHOOK_URL): every finished batch, announced once on the fleet's batch
 * events stream, is POSTed to the URL, signed. The workers read the stream as one consumer group,
 * so each event goes to one worker; an event not acknowledged (the POST failed, the worker died)
 * is claimed again after a while and retried, up to MAX_DELIVERIES times.
 *
 * The request: `POST <url>` with a JSON body (`BatchWebhookBody`) and the headers
 *   X-Certharvest-Event: batch.done
 *   X-Certharvest-Delivery: <the stream entry id; the same on a retry>
 *   X-Certharvest-Timestamp: <unix seconds>
 *   X-Certharvest-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with BATCH_WEBHOOK_SECRET>
 * A 2xx answer acknowledges it; redirects are not followed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Secret } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { batchEventsKey, BatchTracker } from '../queue/index.ts';

export const WEBHOOK_GROUP = 'webhook';
/** Deliveries of one event before it is given up (logged as an error). */
export const MAX_DELIVERIES = 8;

export interface BatchWebhookOptions {
  redis: Redis;
  prefix: string;
  url: string;
  secret: Secret;
  logger: Logger;
  /** An unacknowledged event is retried after this long. Default 60 000 ms. */
  retryAfterMs?: number;
  /** How long one POST may take. Default 10 000 ms. */
  timeoutMs?: number;
  /** How long a read waits for new events. Default 5 000 ms. */
  blockMs?: number;
}

/** What the webhook receives. */
export interface BatchWebhookBody {
  event: 'batch.done';
  batchId: string;
  finishedAt: string;
  /** `done`: every certificate stored; `done-with-failures`: see `GET /api/batches/:id/failures`. */
  state: 'done' | 'done-with-failures';
  usersTotal: number;
  usersFailed: number;
  certsFound: number;
  certsStored: number;
  certsAlreadyStored: number;
  certsFailed: number;
}

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers written in Node: check a delivery's signature in constant time. */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Start delivering; `stop()` ends the loop (an event in flight is retried by another worker). */
export async function startBatchWebhook(options: BatchWebhookOptions): Promise<{ stop(): Promise<void> }> {
  const { redis, prefix, logger } = options;
  const key = batchEventsKey(prefix);
  const consumer = `${hostname()}:${process.pid}`;
  const tracker = new BatchTracker(redis, prefix);
  const retryAfterMs = options.retryAfterMs ?? 60_000;
  // Only events from now on: a new webhook is not sent the history.
  await redis.xgroup('CREATE', key, WEBHOOK_GROUP, '$', 'MKSTREAM').catch((err: Error) => {
    if (!/BUSYGROUP/.test(err.message)) throw err;
  });
  // Blocking reads get their own connection, so they never hold up the worker's commands.
  const reader = redis.duplicate();
  let running = true;

  const deliver = async (id: string, fields: string[]): Promise<void> => {
    const event = Object.fromEntries(pairs(fields));
    const batchId = event.batchId ?? '';
    const status = await tracker.status(batchId, 1);
    if (!status) {
      logger.warn({ batchId, delivery: id }, 'batch webhook: the batch is gone; event dropped');
      await redis.xack(key, WEBHOOK_GROUP, id);
      return;
    }
    const body: BatchWebhookBody = {
      event: 'batch.done',
      batchId,
      finishedAt: status.finishedAt ?? event.at ?? new Date().toISOString(),
      state: status.usersFailed === 0 && status.certsFailed === 0 ? 'done' : 'done-with-failures',
      usersTotal: status.usersTotal,
      usersFailed: status.usersFailed,
      certsFound: status.certsFound,
      certsStored: status.certsStored,
      certsAlreadyStored: status.certsAlreadyStored,
      certsFailed: status.certsFailed,
    };
    const text = JSON.stringify(body);
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'certharvest-webhook',
          'x-certharvest-event': 'batch.done',
          'x-certharvest-delivery': id,
          'x-certharvest-timestamp': String(timestamp),
          'x-certharvest-signature': signWebhook(options.secret.reveal(), timestamp, text),
        },
        body: text,
      });
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) throw new Error(`the webhook answered ${res.status}`);
      await redis.xack(key, WEBHOOK_GROUP, id);
      logger.info({ batchId, delivery: id }, 'batch webhook delivered');
    } catch (err) {
      // Left pending: claimed again after retryAfterMs (by this or another worker).
      logger.warn(
        { batchId, delivery: id, reason: (err as Error).message },
        'batch webhook not delivered; retried later',
      );
    }
  };

  /** Events left pending too long: given up past MAX_DELIVERIES, else claimed and sent again. */
  const retryStale = async (): Promise<void> => {
    const stale = (await redis.xpending(key, WEBHOOK_GROUP, 'IDLE', retryAfterMs, '-', '+', 20)) as [
      string,
      string,
      number,
      number,
    ][];
    for (const [id, , , deliveries] of stale) {
      if (deliveries >= MAX_DELIVERIES) {
        await redis.xack(key, WEBHOOK_GROUP, id);
        logger.error({ delivery: id, deliveries }, 'batch webhook given up after repeated failures');
        continue;
      }
      const claimed = (await redis.xclaim(key, WEBHOOK_GROUP, consumer, retryAfterMs, id)) as [
        string,
        string[],
      ][];
      for (const [claimedId, fields] of claimed) if (fields) await deliver(claimedId, fields);
    }
  };

  const loop = (async () => {
    let lastRetry = 0;
    while (running) {
      try {
        if (Date.now() - lastRetry >= Math.min(retryAfterMs, 30_000)) {
          lastRetry = Date.now();
          await retryStale();
        }
        const reply = (await reader.xreadgroup(
          'GROUP',
          WEBHOOK_GROUP,
          consumer,
          'COUNT',
          10,
          'BLOCK',
          options.blockMs ?? 5_000,
          'STREAMS',
          key,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) await deliver(id, fields);
        }
      } catch (err) {
        if (!running) break;
        logger.warn({ err }, 'batch webhook: reading the events failed; trying again');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();

  return {
    async stop() {
      running = false;
      reader.disconnect();
      await loop;
    },
  };
}

function* pairs(fields: string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < fields.length; i += 2) yield [fields[i]!, fields[i + 1]!];
}
