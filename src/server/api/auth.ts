/**
 * Who may call the API. Clients authenticate with an API key (API_KEYS) in
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`. A key carries scopes: `submit` (POST),
 * `read:own` (GETs of the batches that key submitted) or `read:all` (GETs of every batch); outside
 * them the answer is 403 OUT_OF_SCOPE. Cancel and retry need `submit`, and act on the key's own
 * batches unless it has `read:all`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DEFAULT_API_SCOPES } from '../../config/shape.ts';
import type { Logger } from '../../log/index.ts';
import type { BatchTracker } from '../../queue/index.ts';
import { clientAddress, refuseIfThrottled } from '../basic-auth.ts';
import { ApiError, apiDisabled, notFound, outOfScope, sendError, unauthenticated } from './errors.ts';
import type { ApiClient, ApiKey, BatchApiOptions } from './options.ts';
import { redactUrl } from './redact-url.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Who sent the request, or null. The given key is compared with every configured one, always all
 * of them, as SHA-256 digests with `timingSafeEqual`: equal lengths, so neither a key's length
 * nor how much of it matched shows in the time taken.
 */
function authenticator(apiKeys: readonly ApiKey[]): (given: string) => ApiClient | null {
  const known = apiKeys.map((k) => ({
    client: { name: k.name, scopes: k.scopes ?? DEFAULT_API_SCOPES },
    digest: sha256(k.key.reveal()),
  }));
  return (given) => {
    const digest = sha256(given);
    let match: ApiClient | null = null;
    for (const k of known) if (timingSafeEqual(digest, k.digest) && match === null) match = k.client;
    return match;
  };
}

/** The key a request carries: `Authorization: Bearer <key>`, else `X-API-Key`. Never HTTP Basic. */
function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.get('authorization') ?? '')?.[1];
  return bearer ?? (req.get('x-api-key')?.trim() || undefined);
}

/** API answers are about one client's batches: never cached, never sniffed into something else. */
export function noStore(res: Response): void {
  res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
}

/**
 * The middleware ahead of every route: the client is known (`res.locals.apiClient`, its name in
 * `res.locals.client`) or the request is refused (401, or 429 while its address is throttled).
 */
export function authenticate(options: BatchApiOptions, log: Logger): RequestHandler {
  const whoIs = authenticator(options.apiKeys);
  const tooManyFailures = (res: Response) =>
    sendError(
      res,
      new ApiError(
        429,
        'TOO_MANY_FAILED_LOGINS',
        'too many requests with a wrong key from this address; try again later',
      ),
    );
  return (req: Request, res: Response, next: NextFunction) => {
    noStore(res);
    if (options.apiKeys.length === 0) throw apiDisabled();
    if (refuseIfThrottled(options.throttle, req, res, () => tooManyFailures(res))) return;
    const given = presentedKey(req);
    if (given === undefined) {
      throw unauthenticated(
        'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    }
    const client = whoIs(given);
    if (client === null) {
      // Counted and logged per address and window by the throttle, never the key tried.
      if (options.throttle) options.throttle.failed(clientAddress(req), 'api');
      else {
        log.warn(
          { ip: req.ip, method: req.method, path: req.originalUrl.split('?')[0] },
          'batch API: a request with an unknown key',
        );
      }
      throw unauthenticated('the API key is not valid', 'invalid_token');
    }
    res.locals.client = client.name;
    res.locals.apiClient = client;
    log.debug(
      { client: client.name, method: req.method, path: redactUrl(req.originalUrl) },
      'batch API request',
    );
    next();
  };
}

/** The client `authenticate` found. */
export const clientOf = (res: Response): ApiClient => res.locals.apiClient as ApiClient;

/** A GET of a batch: `read:all`, or `read:own` for a batch this key submitted. */
export async function mayRead(tracker: BatchTracker, client: ApiClient, batchId: string): Promise<void> {
  if (client.scopes.includes('read:all')) return;
  if (!client.scopes.includes('read:own')) throw outOfScope(client, 'read:own or read:all');
  const creator = await tracker.submittedBy(batchId);
  if (creator === null) throw notFound(batchId);
  if (creator !== client.name)
    throw outOfScope(client, 'read:all (this batch was submitted by another client)');
}

/**
 * Cancel or retry a batch: `submit`, on a batch this key submitted (`read:own` rules), or on any
 * batch with `read:all` too.
 */
export async function mayControl(tracker: BatchTracker, client: ApiClient, batchId: string): Promise<void> {
  if (!client.scopes.includes('submit')) throw outOfScope(client, 'submit');
  const creator = await tracker.submittedBy(batchId);
  if (creator === null) throw notFound(batchId);
  if (creator !== client.name && !client.scopes.includes('read:all'))
    throw outOfScope(client, 'submit and read:all (this batch was submitted by another client)');
}
