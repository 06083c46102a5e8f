/**
 * The batch webhook (BATCH_WEBHOOK_URL): every finished batch, announced once on the fleet's batch
 * events stream, is POSTed to the URL, signed by the Standard Webhooks spec (src/library/
 * verify-webhook.ts). The workers read the stream as one consumer group, so each event goes to one
 * worker.
 *
 * Durable: all delivery state is in Redis. An event not acknowledged (the POST failed, the worker
 * died) stays in the group's pending list with its delivery count; it is claimed again after a
 * backoff that doubles per attempt (retryBaseMs … retryMaxMs), by whichever worker gets to it,
 * until the event is older than retryForMs (BATCH_WEBHOOK_RETRY_FOR, default 24 h): then it moves
 * to the dead-letter list (`<prefix>:webhook:dead`, shown by `certharvest status`). A lost stream
 * or group (NOGROUP: deleted, evicted) is recreated on the fly.
 *
 * The request: `POST <url>` with a JSON body (`BatchWebhookBody`, built by `batchWebhookBody`)
 * and the headers `webhook-id` (the stream entry id: the same on every retry),
 * `webhook-timestamp`, `webhook-signature` and `x-certharvest-event: batch.done`. A 2xx answer
 * acknowledges it; redirects are not followed.
 */
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { SCHEMA_VERSION } from '../certificate/index.ts';
import type { Secret } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { batchEventsKey, BatchTracker, isFinal, type BatchStatus } from '../queue/index.ts';
import { manifestFileName } from '../report/manifest-file.ts';
import {
  signWebhook,
  WEBHOOK_SECRET_PREFIX,
  type BatchWebhookBody,
  type FinalBatchState,
} from '../library/verify-webhook.ts';

export {
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type BatchWebhookBody,
  type FinalBatchState,
  type WebhookHeaders,
} from '../library/verify-webhook.ts';

/** `/api/batches/<id>/certificates?format=csv`: the manifest on the board's batch API. */
export const certificatesUrl = (batchId: string): string =>
  `/api/batches/${encodeURIComponent(batchId)}/certificates?format=csv`;

/**
 * The body announcing an ended batch: its state as the queue decided it (`status.state`, never
 * decided again here), its counts, and where its manifest is. `file` is the manifest file under
 * OUTPUT_DIR, or null when there is none (BATCH_MANIFEST=false, or it could not be written).
 */
export function batchWebhookBody(
  status: BatchStatus & { state: FinalBatchState },
  facts: { finishedAt?: string | undefined; file: string | null },
): BatchWebhookBody {
  return {
    schemaVersion: SCHEMA_VERSION,
    event: 'batch.done',
    batchId: status.batchId,
    finishedAt: status.finishedAt ?? facts.finishedAt ?? new Date().toISOString(),
    state: status.state,
    retryOf: status.retryOf ?? null,
    usersTotal: status.usersTotal,
    usersFailed: status.usersFailed,
    usersCancelled: status.usersCancelled,
    certsFound: status.certsFound,
    certsStored: status.certsStored,
    certsAlreadyStored: status.certsAlreadyStored,
    certsFailed: status.certsFailed,
    certsCancelled: status.certsCancelled,
    certificates: { url: certificatesUrl(status.batchId), file: facts.file },
  };
}

export const WEBHOOK_GROUP = 'webhook';
/** Dead letters kept (the newest). */
export const DEAD_LETTERS_KEPT = 1_000;

export const webhookDeadKey = (prefix: string): string => `${prefix}:webhook:dead`;
/** Epoch ms of the first failure since the last successful delivery (absent: not failing). */
export const webhookFailingKey = (prefix: string): string => `${prefix}:webhook:failing-since`;

export type WebhookOutcome = 'delivered' | 'retried' | 'dead';
export const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = ['delivered', 'retried', 'dead'];

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

export interface BatchWebhookOptions {
  redis: Redis;
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

/** The URL as logs may show it: origin only (no credentials, no path token, no query). */
export function webhookTarget(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** Start delivering. Throws when the URL carries credentials (without echoing them). */
export async function startBatchWebhook(options: BatchWebhookOptions): Promise<BatchWebhook> {
  const { redis, prefix, logger } = options;
  const url = new URL(options.url);
  if (url.username || url.password) {
    throw new Error('BATCH_WEBHOOK_URL: expected a URL without user:password@ (value hidden)');
  }
  if (!options.secret.reveal().startsWith(WEBHOOK_SECRET_PREFIX)) {
    logger.warn(
      'BATCH_WEBHOOK_SECRET is a plain key (the format before whsec_): it still signs, but a new one is better: echo "whsec_$(openssl rand -base64 32)" (docs/producers.md)',
    );
  }
  const key = batchEventsKey(prefix);
  const consumer = `${hostname()}:${process.pid}`;
  const tracker = new BatchTracker(redis, prefix);
  const retryForMs = options.retryForMs ?? 24 * 3_600_000;
  const retryBaseMs = options.retryBaseMs ?? 30_000;
  const retryMaxMs = options.retryMaxMs ?? 3_600_000;
  const alertAfterMs = options.alertAfterMs ?? 15 * 60_000;
  const target = webhookTarget(options.url);
  const outcome = (o: WebhookOutcome) => options.onOutcome?.(o);
  /** The wait after attempt n (1-based) before the next. */
  const backoff = (deliveries: number) =>
    Math.min(retryBaseMs * 2 ** Math.max(0, deliveries - 1), retryMaxMs);

  // The last entry read: a group recreated after NOGROUP starts there, so nothing after it is lost.
  let lastSeen = '$';
  const ensureGroup = async (from: string) => {
    await redis.xgroup('CREATE', key, WEBHOOK_GROUP, from, 'MKSTREAM').catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
  };
  // Only events from now on: a new webhook is not sent the history.
  await ensureGroup('$');
  // Blocking reads get their own connection, so they never hold up the worker's commands.
  const reader = redis.duplicate();
  let running = true;

  const deadLetter = async (id: string, batchId: string, attempts: number, reason: string) => {
    const letter: WebhookDeadLetter = {
      delivery: id,
      batchId,
      announcedAt: new Date(entryTime(id)).toISOString(),
      deadAt: new Date().toISOString(),
      attempts,
      reason,
    };
    await redis
      .multi()
      .xack(key, WEBHOOK_GROUP, id)
      .lpush(webhookDeadKey(prefix), JSON.stringify(letter))
      .ltrim(webhookDeadKey(prefix), 0, DEAD_LETTERS_KEPT - 1)
      .exec();
    outcome('dead');
    logger.error(
      { batchId, delivery: id, attempts, reason },
      'batch webhook given up: moved to the dead letters (certharvest status shows them)',
    );
  };

  /** `_batches/<id>.csv` once it is on disk (it appears whole, by rename), else null. */
  const manifestFile = async (batchId: string): Promise<string | null> => {
    const m = options.manifestFile;
    if (!m) return null;
    let name: string;
    try {
      name = manifestFileName(batchId);
    } catch {
      return null;
    }
    const file = path.join(m.outputDir, ...name.split('/'));
    const deadline = Date.now() + (m.waitMs ?? 10_000);
    for (;;) {
      if (
        await access(file).then(
          () => true,
          () => false,
        )
      )
        return name;
      if (Date.now() >= deadline || !running) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const deliver = async (id: string, fields: string[]): Promise<void> => {
    const event = Object.fromEntries(pairs(fields));
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
    const text = JSON.stringify(body);
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'certharvest-webhook',
          'x-certharvest-event': 'batch.done',
          ...signWebhook(options.secret.reveal(), id, new Date(), text),
        },
        body: text,
      });
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) throw new Error(`the webhook answered ${res.status}`);
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

  /** Pending events whose backoff has passed: sent again, or dead-lettered past the retry window. */
  const retryDue = async (): Promise<void> => {
    const pending = (await redis.xpending(key, WEBHOOK_GROUP, '-', '+', 100)) as [
      string,
      string,
      number,
      number,
    ][];
    for (const [id, , idle, deliveries] of pending) {
      const wait = backoff(deliveries);
      if (idle < wait) continue;
      // XCLAIM with the same minimum idle: of several workers, one wins; the claim resets idle.
      const claimed = (await redis.xclaim(key, WEBHOOK_GROUP, consumer, wait, id)) as [
        string,
        string[] | null,
      ][];
      const entry = claimed[0];
      if (!entry) {
        const exists = (await redis.xrange(key, id, id)).length > 0;
        if (!exists)
          await deadLetter(id, '', deliveries, 'the event is gone from the stream (trimmed or deleted)');
        continue;
      }
      const [, fields] = entry;
      if (!fields) {
        await deadLetter(id, '', deliveries, 'the event is gone from the stream (trimmed or deleted)');
      } else if (Date.now() - entryTime(id) > retryForMs) {
        const batchId = Object.fromEntries(pairs(fields)).batchId ?? '';
        await deadLetter(id, batchId, deliveries, `not delivered within ${Math.round(retryForMs / 1000)}s`);
      } else {
        await deliver(id, fields);
      }
    }
  };

  const loop = (async () => {
    let lastRetry = 0;
    while (running) {
      try {
        if (Date.now() - lastRetry >= Math.min(retryBaseMs, 5_000)) {
          lastRetry = Date.now();
          await retryDue();
        }
        const reply = (await reader.xreadgroup(
          'GROUP',
          WEBHOOK_GROUP,
          consumer,
          'COUNT',
          10,
          'BLOCK',
          Math.min(options.blockMs ?? 5_000, Math.max(retryBaseMs, 100)),
          'STREAMS',
          key,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastSeen = id;
            await deliver(id, fields);
          }
        }
      } catch (err) {
        if (!running) break;
        if (/NOGROUP/.test((err as Error).message)) {
          // The stream or the group was deleted or evicted: recreate it where this worker left off.
          logger.warn(
            { from: lastSeen },
            'batch webhook: the events stream or its group was lost; recreated',
          );
          // A stream gone altogether holds only new events once recreated: read it from the start.
          const streamExists = (await redis.exists(key).catch(() => 1)) === 1;
          await ensureGroup(streamExists ? lastSeen : '0').catch((e: unknown) =>
            logger.warn({ err: e }, 'batch webhook: recreating the group failed; trying again'),
          );
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        logger.warn(
          { reason: scrub((err as Error).message) },
          'batch webhook: reading the events failed; trying again',
        );
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();

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
      reader.disconnect();
      await loop;
    },
  };
}

const isFinalStatus = (s: BatchStatus): s is BatchStatus & { state: FinalBatchState } => isFinal(s.state);

/** The newest dead letters first, and how many there are. */
export async function readWebhookDeadLetters(
  redis: Redis,
  prefix: string,
  limit: number,
): Promise<{ count: number; letters: WebhookDeadLetter[] }> {
  const [count, raw] = await Promise.all([
    redis.llen(webhookDeadKey(prefix)),
    redis.lrange(webhookDeadKey(prefix), 0, limit - 1),
  ]);
  return { count, letters: raw.map((r) => JSON.parse(r) as WebhookDeadLetter) };
}

/** A stream entry id's time (`<ms>-<seq>`). */
function entryTime(id: string): number {
  return Number(id.split('-')[0]);
}

/** Credentials in any URL a message quotes (fetch's errors quote the URL) are cut out. */
function scrub(message: string): string {
  return message.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
}

function* pairs(fields: string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < fields.length; i += 2) yield [fields[i]!, fields[i + 1]!];
}
