/**
 * The batch webhook (BATCH_WEBHOOK_URL): every finished batch, announced once on the fleet's batch
 * events stream, is POSTed to the URL, signed by the Standard Webhooks spec (src/library/
 * verify-webhook.ts). The workers read the stream as one consumer group (src/util/
 * stream-consumer.ts), so each event goes to one worker.
 *
 * Durable: all delivery state is in Redis. An event not acknowledged (the POST failed, the worker
 * died) stays in the group's pending list and is claimed again on the retry schedule
 * (webhook-retry.ts) until the event is older than retryForMs (BATCH_WEBHOOK_RETRY_FOR, default
 * 24 h): then it moves to the dead-letter list (webhook-state.ts, shown by `certharvest status`).
 * A lost stream or group (NOGROUP: deleted, evicted) is recreated on the fly.
 *
 * The request (webhook-post.ts): `POST <url>` with a JSON body (`BatchWebhookBody`, built by
 * `batchWebhookBody`) and the headers `webhook-id` (the stream entry id: the same on every retry),
 * `webhook-timestamp`, `webhook-signature` and `x-certharvest-event: batch.done`. A 2xx answer
 * acknowledges it; redirects are not followed.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { Secret } from '../config/secret.ts';
import { WEBHOOK_SECRET_PREFIX } from '../library/verify-webhook.ts';
import type { Logger } from '../log/index.ts';
import { batchEventsKey, BatchTracker } from '../queue/index.ts';
import { consumerName, startStreamConsumer, type StreamFields } from '../util/stream-consumer.ts';
import { awaitManifestFile, batchWebhookBody, isFinalStatus } from './webhook-body.ts';
import { postWebhook, scrub, webhookTarget } from './webhook-post.ts';
import { retryDue, type RetrySchedule } from './webhook-retry.ts';
import { moveToDeadLetters, WEBHOOK_GROUP, webhookFailingKey } from './webhook-state.ts';

export {
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type BatchWebhookBody,
  type FinalBatchState,
  type WebhookHeaders,
} from '../library/verify-webhook.ts';
export { batchWebhookBody, certificatesUrl } from './webhook-body.ts';
export { webhookTarget } from './webhook-post.ts';
export {
  DEAD_LETTERS_KEPT,
  readWebhookDeadLetters,
  WEBHOOK_GROUP,
  webhookDeadKey,
  webhookFailingKey,
  type WebhookDeadLetter,
} from './webhook-state.ts';

export type WebhookOutcome = 'delivered' | 'retried' | 'dead';
export const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = ['delivered', 'retried', 'dead'];

export interface BatchWebhookOptions {
  redis: RedisConnection;
  prefix: string;
  url: string;
  secret: Secret;
  logger: Logger;
  /** How long after its announcement an event is retried before it is dead-lettered. Default 24 h. */
  retryForMs?: number;
  /** The wait before the first retry; doubled per attempt. Default 30 000 ms. */
  retryBaseMs?: number;
  /** The longest wait between two attempts. Default 3 600 000 ms (1 h). */
  retryMaxMs?: number;
  /** Failing for longer than this, `warning()` says so (readiness). Default 15 min; 0: never. */
  alertAfterMs?: number;
  /** How long one POST may take. Default 10 000 ms. */
  timeoutMs?: number;
  /** How long a read waits for new events. Default 5 000 ms. */
  blockMs?: number;
  /** Each attempt's outcome (the metric). */
  onOutcome?: (outcome: WebhookOutcome) => void;
  /**
   * OUTPUT_DIR when BATCH_MANIFEST is on: a delivery names the batch's manifest file once it is
   * there, waiting for it up to `waitMs` (default 10 000 ms: a worker writes it as the batch ends).
   * Undefined: `certificates.file` is null.
   */
  manifestFile?: { outputDir: string; waitMs?: number };
}

export interface BatchWebhook {
  /** A readiness warning when deliveries have failed for longer than alertAfterMs, else undefined. */
  warning(): Promise<string | undefined>;
  /** End the loop (an event in flight is retried later, by this or another worker). */
  stop(): Promise<void>;
}

/** Refuse a URL with credentials (without echoing them); warn of a pre-`whsec_` secret. */
function checkSettings(options: BatchWebhookOptions): void {
  const url = new URL(options.url);
  if (url.username || url.password) {
    throw new Error('BATCH_WEBHOOK_URL: expected a URL without user:password@ (value hidden)');
  }
  if (!options.secret.reveal().startsWith(WEBHOOK_SECRET_PREFIX)) {
    options.logger.warn(
      'BATCH_WEBHOOK_SECRET is a plain key (the format before whsec_): it still signs, but a new one is better: echo "whsec_$(openssl rand -base64 32)" (docs/producers.md)',
    );
  }
}

/** The settings with their defaults. */
function scheduleOf(options: BatchWebhookOptions): RetrySchedule {
  return {
    retryForMs: options.retryForMs ?? 24 * 3_600_000,
    retryBaseMs: options.retryBaseMs ?? 30_000,
    retryMaxMs: options.retryMaxMs ?? 3_600_000,
  };
}

/** One event's delivery: its batch's status read, the body built, the POST, the outcome recorded. */
function deliverer(options: BatchWebhookOptions, isRunning: () => boolean) {
  const { redis, prefix, logger } = options;
  const key = batchEventsKey(prefix);
  const tracker = new BatchTracker(redis, prefix);
  const target = webhookTarget(options.url);
  const outcome = (o: WebhookOutcome) => options.onOutcome?.(o);
  const manifestFile = (batchId: string) =>
    options.manifestFile ? awaitManifestFile(batchId, options.manifestFile, isRunning) : null;

  return async (id: string, event: StreamFields): Promise<void> => {
    const batchId = event.batchId ?? '';
    const status = await tracker.status(batchId, 1);
    if (!status) {
      logger.warn({ batchId, delivery: id }, 'batch webhook: the batch is gone; event dropped');
      await redis.xack(key, WEBHOOK_GROUP, id);
      return;
    }
    if (!isFinalStatus(status)) {
      // Announced, yet its record says it runs: left pending, looked at again after the backoff.
      logger.warn(
        { batchId, delivery: id, state: status.state },
        'batch webhook: the batch has not ended yet',
      );
      return;
    }
    const body = batchWebhookBody(status, { finishedAt: event.at, file: await manifestFile(batchId) });
    try {
      await postWebhook(options, id, JSON.stringify(body));
      await redis.multi().xack(key, WEBHOOK_GROUP, id).del(webhookFailingKey(prefix)).exec();
      outcome('delivered');
      logger.info({ batchId, delivery: id }, 'batch webhook delivered');
    } catch (err) {
      // Left pending: claimed again after its backoff (by this or another worker).
      await redis.set(webhookFailingKey(prefix), String(Date.now()), 'NX');
      outcome('retried');
      logger.warn(
        { batchId, delivery: id, target, reason: scrub((err as Error).message) },
        'batch webhook not delivered; retried later',
      );
    }
  };
}

/** Start delivering. Throws when the URL carries credentials (without echoing them). */
export async function startBatchWebhook(options: BatchWebhookOptions): Promise<BatchWebhook> {
  checkSettings(options);
  const { redis, prefix, logger } = options;
  const key = batchEventsKey(prefix);
  const schedule = scheduleOf(options);
  const alertAfterMs = options.alertAfterMs ?? 15 * 60_000;
  const target = webhookTarget(options.url);
  let running = true;
  const deliver = deliverer(options, () => running);

  const giveUp = async (id: string, facts: { batchId: string; attempts: number; reason: string }) => {
    await moveToDeadLetters(redis, { key, prefix }, id, facts);
    options.onOutcome?.('dead');
    logger.error(
      { batchId: facts.batchId, delivery: id, attempts: facts.attempts, reason: facts.reason },
      'batch webhook given up: moved to the dead letters (certharvest status shows them)',
    );
  };

  // Only events from now on: a new webhook is not sent the history.
  const consumer = await startStreamConsumer({
    redis,
    key,
    group: WEBHOOK_GROUP,
    logger,
    name: 'batch webhook',
    blockMs: Math.min(options.blockMs ?? 5_000, Math.max(schedule.retryBaseMs, 100)),
    onEntry: deliver,
    periodic: {
      everyMs: Math.min(schedule.retryBaseMs, 5_000),
      run: () => retryDue({ redis, key, consumer: consumerName(), schedule, deliver, giveUp }),
    },
    reason: (err) => scrub(err.message),
  });

  return {
    async warning() {
      if (alertAfterMs <= 0) return undefined;
      const since = Number(await redis.get(webhookFailingKey(prefix)));
      if (!since || Date.now() - since < alertAfterMs) return undefined;
      const minutes = Math.round((Date.now() - since) / 60_000);
      return `batch webhook: deliveries to ${target} have failed for ${minutes} min (since ${new Date(since).toISOString()}); they are retried, then dead-lettered (certharvest status)`;
    },
    async stop() {
      running = false;
      await consumer.stop();
    },
  };
}
