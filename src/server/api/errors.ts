/**
 * The API's errors, decided in one place: `ApiError` (a status, a stable code and words for the
 * client), the answers every route shares, and what the queue's and body-parser's errors mean for
 * the client. Every error is `{"error":{"code","message"}}`, plus `problems` when the input was
 * checked piece by piece.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { CertharvestError } from '../../errors/index.ts';
import type { Logger } from '../../log/index.ts';
import {
  BatchExistsError,
  BatchStillRunningError,
  BatchNotFoundError,
  InvalidBatchError,
  NothingToRetryError,
} from '../../queue/index.ts';
import { API_BODY_LIMIT_BYTES, type ApiClient } from './options.ts';
import { batchPath } from './links.ts';

/** An error the API answers with: its status, a stable code and words for the client. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems?: readonly string[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendError(res: Response, err: ApiError): void {
  res
    .status(err.status)
    .set(err.headers)
    .json({
      error: { code: err.code, message: err.message, ...(err.problems ? { problems: err.problems } : {}) },
    });
}

export const outOfScope = (client: ApiClient, needed: string): ApiError =>
  new ApiError(
    403,
    'OUT_OF_SCOPE',
    `the API key "${client.name}" (scopes: ${client.scopes.join('+')}) may not do this: it needs ${needed}`,
  );

export const unauthenticated = (message: string, error?: 'invalid_token'): ApiError =>
  new ApiError(401, 'UNAUTHENTICATED', message, undefined, {
    'WWW-Authenticate': `Bearer realm="certharvest"${error ? `, error="${error}"` : ''}`,
  });

export const notFound = (batchId: string): ApiError =>
  new ApiError(404, 'BATCH_NOT_FOUND', `no batch "${batchId}" (batches are kept 30 days)`);

export const methodNotAllowed = (req: Request, allow: string): ApiError =>
  new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: ${allow}`, undefined, {
    Allow: allow,
  });

export const apiDisabled = (): ApiError =>
  new ApiError(
    404,
    'API_DISABLED',
    'the batch API is off on this board: API_KEYS is not set (see docs/api.md)',
  );

/** What body-parser's errors mean for the client (`err.type`). */
function bodyError(err: { type?: unknown; status?: unknown; message?: unknown }): ApiError | null {
  switch (err.type) {
    case 'entity.too.large':
      return new ApiError(
        413,
        'BODY_TOO_LARGE',
        `the request body is larger than the limit of ${API_BODY_LIMIT_BYTES} bytes (5 MB, about 100,000 users); split the batch`,
      );
    case 'entity.parse.failed':
      return new ApiError(400, 'INVALID_JSON', `the body is not valid JSON: ${String(err.message)}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `${String(err.message)}; send UTF-8 JSON`);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError(400, 'BAD_REQUEST', String(err.message));
    default:
      return typeof err.status === 'number' && err.status >= 400 && err.status < 500
        ? new ApiError(err.status, 'BAD_REQUEST', String(err.message))
        : null;
  }
}

/** What `submitBatch`'s typed errors mean for the client (`batchId`: the one asked for). */
export function submitError(err: unknown, batchId: string): unknown {
  if (err instanceof InvalidBatchError) {
    return new ApiError(
      422,
      'BATCH_INVALID',
      `the batch is not valid (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}); nothing was queued`,
      err.problems,
    );
  }
  if (err instanceof BatchExistsError) {
    return new ApiError(
      409,
      'BATCH_EXISTS',
      `batch "${batchId}" already exists: choose another batchId, or omit it to have one generated (on a retry of your own request, GET ${batchPath(batchId)}: the first one went through)`,
    );
  }
  return err;
}

/** What `retryBatch`'s typed errors mean for the client. */
export function retryError(err: unknown, batchId: string): unknown {
  if (err instanceof BatchNotFoundError) return notFound(batchId);
  if (err instanceof BatchStillRunningError) {
    return new ApiError(
      409,
      'BATCH_RUNNING',
      `batch "${batchId}" is still running: retry it once it has ended (GET ${batchPath(batchId)} says when), or cancel it first`,
    );
  }
  if (err instanceof NothingToRetryError) {
    return new ApiError(
      422,
      'NOTHING_TO_RETRY',
      `batch "${batchId}" has no failure to retry (references refused as malformed are not retried: submit them corrected)`,
    );
  }
  if (err instanceof CertharvestError && err.code === 'BATCH_EXISTS') {
    return new ApiError(409, 'BATCH_EXISTS', err.message);
  }
  return err;
}

/** The API's last handlers: a JSON 404 for any other path under /batches, and the error handler. */
export function finish(router: Router, log?: Logger): Router {
  router.use('/batches', (req, _res) => {
    throw new ApiError(404, 'NOT_FOUND', `no such API route: ${req.method} ${req.originalUrl.split('?')[0]}`);
  });
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const known =
      err instanceof ApiError
        ? err
        : err && typeof err === 'object'
          ? bodyError(err as Record<string, unknown>)
          : null;
    if (known && !res.headersSent) return sendError(res, known);
    log?.error(
      {
        client: res.locals.client as string | undefined,
        method: req.method,
        path: req.path,
        err,
      },
      'batch API: the request failed',
    );
    // Mid-stream, the status is sent: express cuts the connection, so a client never takes a
    // truncated answer for a whole one.
    if (res.headersSent) return next(err);
    sendError(res, new ApiError(500, 'INTERNAL', 'the request failed on the server; its log has the cause'));
  });
  return router;
}
