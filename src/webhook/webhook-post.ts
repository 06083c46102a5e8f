/**
 * The batch webhook's one HTTP request: `POST <url>` with the JSON body and the Standard Webhooks
 * signature headers, through the HTTP core's `postOnce` (src/http): a 2xx answer is a delivery,
 * redirects are not followed, the answer's body is read up to 4 KiB. Every other part of
 * the webhook goes through `postWebhook`, so the transport is changed here alone.
 */
import type { Secret } from '../config/secret.ts';
import { postOnce } from '../http/post-once.ts';
import { signWebhook } from '../library/verify-webhook.ts';

export interface WebhookRequest {
  url: string;
  secret: Secret;
  /** How long the POST may take. Default 10 000 ms. */
  timeoutMs?: number | undefined;
}

/** Send one delivery (`id`: the `webhook-id`, the same on every retry); throws unless 2xx. */
export async function postWebhook(request: WebhookRequest, id: string, body: string): Promise<void> {
  const answer = await postOnce(request.url, {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'certharvest-webhook',
      'x-certharvest-event': 'batch.done',
      ...signWebhook(request.secret.reveal(), id, new Date(), body),
    },
    body,
    timeoutMs: request.timeoutMs ?? 10_000,
    maxResponseBytes: 4096,
  });
  if (answer.status < 200 || answer.status >= 300) throw new Error(`the webhook answered ${answer.status}`);
}

/** The URL as logs may show it: origin only (no credentials, no path token, no query). */
export function webhookTarget(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** Credentials in any URL a message quotes (fetch's errors quote the URL) are cut out. */
export function scrub(message: string): string {
  return message.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
}
