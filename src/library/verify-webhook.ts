/**
 * The batch webhook's signature, by the Standard Webhooks spec (https://www.standardwebhooks.com):
 * headers `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`). Signing and checking are the
 * `standardwebhooks` library's; this module only turns our secret into its key and refuses a
 * timestamp that is not plain decimal digits before the library's 5-minute tolerance applies.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { BatchState } from '../queue/index.ts';

export { WebhookVerificationError };

/** The spec's secret prefix: the rest is the key in base64. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** A state nothing changes any more: the states an ended batch is announced with. */
export type FinalBatchState = Extract<BatchState, 'done' | 'done-with-failures' | 'cancelled'>;

/** What the webhook receives (the signed body, JSON). docs/api.md lists every field. */
export interface BatchWebhookBody {
  /** The version of this JSON (`SCHEMA_VERSION`): raised when a field is renamed or removed. */
  schemaVersion: number;
  event: 'batch.done';
  batchId: string;
  /** When the batch ended (ISO 8601). */
  finishedAt: string;
  /**
   * `done`: every certificate stored; `done-with-failures`: see `GET /api/batches/:id/failures`;
   * `cancelled`: cancelled before it finished (the counts say how far it got).
   */
  state: FinalBatchState;
  /** The batch whose failures this one retried, or null. */
  retryOf: string | null;
  usersTotal: number;
  usersFailed: number;
  /** Users whose discovery the cancel removed from the queue. */
  usersCancelled: number;
  certsFound: number;
  certsStored: number;
  certsAlreadyStored: number;
  certsFailed: number;
  /** Certificates left undownloaded because the batch was cancelled. */
  certsCancelled: number;
  /** Where the batch's manifest (one row per certificate and per failed user) is. */
  certificates: {
    /** `/api/batches/<id>/certificates?format=csv`: on the board (its batch API), as CSV. */
    url: string;
    /** `_batches/<id>.csv` under OUTPUT_DIR; null when BATCH_MANIFEST is off (or it could not be written). */
    file: string | null;
  };
}

/** The signature headers of one delivery. */
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/**
 * The HMAC key of BATCH_WEBHOOK_SECRET: `whsec_<base64>` is the base64-decoded bytes (the spec's
 * format); a plain secret (the format before it, still accepted) is its UTF-8 bytes — the same key
 * as `whsec_` + base64 of it, which is what a receiver's own Standard Webhooks library takes.
 */
export function webhookKey(secret: string): Uint8Array {
  return secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? new Uint8Array(Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64'))
    : new Uint8Array(Buffer.from(secret, 'utf8'));
}

function webhook(secret: string): Webhook {
  return new Webhook(webhookKey(secret), { format: 'raw' });
}

/** The three headers for `body` sent as delivery `id` at `at`. */
export function signWebhook(secret: string, id: string, at: Date, body: string): WebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhook(secret).sign(id, at, body),
  };
}

/**
 * For receivers written in Node: check a delivery and return its body. Throws
 * `WebhookVerificationError` when a header is missing, the timestamp is not decimal seconds or is
 * more than 5 minutes from now (a replay), or no signature matches (constant-time comparison).
 * `headers` may be Node's `req.headers` as is; `body` must be the raw text, not re-serialised JSON.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): BatchWebhookBody {
  const one = (name: keyof WebhookHeaders): string => {
    const v = headers[name] ?? headers[name.toUpperCase()];
    return typeof v === 'string' ? v : '';
  };
  const given = {
    'webhook-id': one('webhook-id'),
    'webhook-timestamp': one('webhook-timestamp'),
    'webhook-signature': one('webhook-signature'),
  };
  // The library reads the timestamp with parseInt ("0x…", "1700000000abc" pass); digits only here.
  if (given['webhook-timestamp'] !== '' && !/^\d{1,12}$/.test(given['webhook-timestamp'])) {
    throw new WebhookVerificationError('Invalid Signature Headers');
  }
  return webhook(secret).verify(body, given) as BatchWebhookBody;
}
