import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { SCHEMA_VERSION } from '../certificate/index.ts';
import type { Secret } from '../config/index.ts';
import { DEFAULT_API_SCOPES, type ApiScope } from '../config/shape.ts';
import type { PauseRecord } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import { CertharvestError } from '../errors/index.ts';
import {
  BatchExistsError,
  batchIdSchema,
  BatchNotFoundError,
  BatchStillRunningError,
  BatchTracker,
  cancelBatch,
  InvalidBatchError,
  NothingToRetryError,
  parseBatchSubmission,
  retryBatch,
  submitBatch,
  type BatchFailure,
  type BatchFilters,
  type CertharvestQueues,
} from '../queue/index.ts';
import { FAILURE_COLUMNS, failureRow, toCsv } from '../report/csv.ts';
import { manifestCsvHeader, manifestCsvRows } from '../report/manifest.ts';
import { clientAddress, refuseIfThrottled, type LoginThrottle } from './basic-auth.ts';

/**
 * The batch HTTP API, mounted at `/api` of the board:
 *
 *   POST /api/batches                   submit a batch (the body `certharvest schema` describes)
 *   GET  /api/batches/:id               its counts, state and the fleet's pause
 *   GET  /api/batches/:id/failures      its failures, JSON or `?format=csv`, `?offset=&limit=`
 *   GET  /api/batches/:id/certificates  its manifest, JSON pages or the whole as CSV
 *   POST /api/batches/:id/cancel        cancel it
 *   POST /api/batches/:id/retry         retry its failures as a new batch
 *
 * Clients authenticate with an API key (API_KEYS) in `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`. A key carries scopes: `submit` (POST), `read:own` (GETs of the batches that
 * key submitted) or `read:all` (GETs of every batch); outside them the answer is 403 OUT_OF_SCOPE.
 * Cancel and retry need `submit`, and act on the key's own batches unless it has `read:all`.
 * Every answer is JSON (but the CSV), and every JSON about a batch carries `schemaVersion`; every
 * error is `{"error":{"code","message"}}`, plus `problems` when the input was checked piece by
 * piece. docs/api.md is the reference.
 */

/** A client of the API: the name goes to the logs, the key nowhere. */
export interface ApiKey {
  name: string;
  key: Secret;
  /** Default `submit` + `read:own` (DEFAULT_API_SCOPES). */
  scopes?: readonly ApiScope[];
}

/** Who sent a request: the key's name and what it may do. */
interface ApiClient {
  name: string;
  scopes: readonly ApiScope[];
}

export interface BatchApiOptions {
  /** API_KEYS (at least one; without any, mount `disabledBatchApi()`). */
  apiKeys: readonly ApiKey[];
  queues: CertharvestQueues;
  redis: Redis;
  /** QUEUE_PREFIX. */
  prefix: string;
  logger: Logger;
  /** Failed keys count against the client's address (shared with the board's login). */
  throttle?: LoginThrottle;
  /** The fleet's pause, when it is paused (shown with a batch's status). */
  pause?: () => Promise<PauseRecord | null>;
  /**
   * The filters this site cannot apply, each with the reason (the configured LMS's
   * `unsupportedFilters`); a batch asking for one is refused whole. Default: every filter applies.
   */
  unsupportedFilters?: (filters: BatchFilters) => string[];
  /** The configured LMS's own rule for user ids (`site.userIdRule`), as `certharvest submit` applies it. */
  userIdRule?: { test: RegExp; expected: string } | undefined;
}

/** The largest request body: 100,000 user references of up to ~40 characters fit. */
export const API_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
/** Failures shown with a batch's status; all of them are at `/failures`. */
export const STATUS_FAILURES = 20;
/** Failures read from Redis at a time while a failures answer streams. */
const FAILURES_CHUNK = 5_000;
/** Manifest rows in a JSON page when `limit` is not given, and the most a page may ask for. */
export const CERTIFICATES_PAGE = 1_000;
export const CERTIFICATES_PAGE_MAX = 10_000;
/** Manifest rows read from Redis at a time while the CSV streams. */
const CERTIFICATES_CHUNK = 2_000;
/** The largest body of `POST /api/batches/:id/retry` (`{"batchId": …}`). */
const RETRY_BODY_LIMIT_BYTES = 4 * 1024;

/** An error the API answers with: its status, a stable code and words for the client. */
class ApiError extends Error {
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

function sendError(res: Response, err: ApiError): void {
  res
    .status(err.status)
    .set(err.headers)
    .json({
      error: { code: err.code, message: err.message, ...(err.problems ? { problems: err.problems } : {}) },
    });
}

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

/** Query parameters whose values are credentials: shown as `[redacted]` in any logged URL. */
const SECRET_PARAM = /key|token|secret|password|passwd|pwd|auth|signature|sig|session|code/i;

/** A URL for a log line: the path as sent, every credential-like query value redacted. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed name is judged as sent.
      }
      return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

const outOfScope = (client: ApiClient, needed: string) =>
  new ApiError(
    403,
    'OUT_OF_SCOPE',
    `the API key "${client.name}" (scopes: ${client.scopes.join('+')}) may not do this: it needs ${needed}`,
  );

/** A GET of a batch: `read:all`, or `read:own` for a batch this key submitted. */
async function mayRead(tracker: BatchTracker, client: ApiClient, batchId: string): Promise<void> {
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
async function mayControl(tracker: BatchTracker, client: ApiClient, batchId: string): Promise<void> {
  if (!client.scopes.includes('submit')) throw outOfScope(client, 'submit');
  const creator = await tracker.submittedBy(batchId);
  if (creator === null) throw notFound(batchId);
  if (creator !== client.name && !client.scopes.includes('read:all'))
    throw outOfScope(client, 'submit and read:all (this batch was submitted by another client)');
}

/** The key a request carries: `Authorization: Bearer <key>`, else `X-API-Key`. Never HTTP Basic. */
function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.get('authorization') ?? '')?.[1];
  return bearer ?? (req.get('x-api-key')?.trim() || undefined);
}

const unauthenticated = (message: string, error?: 'invalid_token') =>
  new ApiError(401, 'UNAUTHENTICATED', message, undefined, {
    'WWW-Authenticate': `Bearer realm="certharvest"${error ? `, error="${error}"` : ''}`,
  });

const wholeNumber = (what: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `expected a whole number (${what})`)
    .transform(Number);

const failuresQuerySchema = z
  .object({
    format: z.enum(['json', 'csv'], { error: 'expected "json" or "csv"' }).default('json'),
    offset: wholeNumber('failures to skip').default(0),
    limit: wholeNumber('failures to return at most; default: all')
      .refine((n) => n >= 1, 'expected a whole number of at least 1')
      .optional(),
  })
  .strict();

const certificatesQuerySchema = z
  .object({
    format: z.enum(['json', 'csv'], { error: 'expected "json" or "csv"' }).optional(),
    offset: wholeNumber('rows to skip').default(0),
    limit: wholeNumber(`rows to return at most, 1-${CERTIFICATES_PAGE_MAX}`)
      .refine(
        (n) => n >= 1 && n <= CERTIFICATES_PAGE_MAX,
        `expected a whole number from 1 to ${CERTIFICATES_PAGE_MAX}`,
      )
      .optional(),
  })
  .strict();

const retryBodySchema = z
  .object({ batchId: batchIdSchema.optional().describe("The new batch's id; generated when absent.") })
  .strict();

const problemsOf = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(query)'}: ${i.message}`);

function parseBatchId(raw: string | undefined): string {
  const parsed = batchIdSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError(
      400,
      'INVALID_BATCH_ID',
      'a batch id is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return parsed.data;
}

const batchPath = (batchId: string) => `/api/batches/${encodeURIComponent(batchId)}`;

/** The links of a batch's answers: itself and what can be read of it. */
const batchLinks = (batchId: string) => {
  const self = batchPath(batchId);
  return { self, failures: `${self}/failures`, certificates: `${self}/certificates` };
};

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

/** Write a chunk, waiting while the client reads slower than Redis answers. */
async function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The batch API as an express router, to be mounted at `/api` ahead of the board. */
export function batchApiRouter(options: BatchApiOptions): express.Router {
  const router = express.Router();
  const tracker = new BatchTracker(options.redis, options.prefix);
  const whoIs = authenticator(options.apiKeys);
  const log = options.logger.child({ component: 'batch-api' });
  const control = { queues: options.queues, redis: options.redis, prefix: options.prefix };

  router.use('/batches', (req, res, next) => {
    noStore(res);
    if (options.apiKeys.length === 0) throw apiDisabled();
    const tooMany = refuseIfThrottled(options.throttle, req, res, () =>
      sendError(
        res,
        new ApiError(
          429,
          'TOO_MANY_FAILED_LOGINS',
          'too many requests with a wrong key from this address; try again later',
        ),
      ),
    );
    if (tooMany) return;
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
  });

  // Only once the client is known is a body read (up to the limit, gzip included).
  router.post(
    '/batches',
    (req, res, next) => {
      const client = res.locals.apiClient as ApiClient;
      if (!client.scopes.includes('submit')) throw outOfScope(client, 'submit');
      if (!req.is('application/json')) {
        throw new ApiError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'send the batch as JSON with "Content-Type: application/json"',
        );
      }
      next();
    },
    express.json({ limit: API_BODY_LIMIT_BYTES, strict: true }),
    async (req, res) => {
      const client = res.locals.client as string;
      let result;
      try {
        const batch = parseBatchSubmission(req.body);
        const unsupported = batch.filters ? (options.unsupportedFilters?.(batch.filters) ?? []) : [];
        if (unsupported.length > 0) throw new InvalidBatchError(unsupported.map((p) => `filters: ${p}`));
        result = await submitBatch(batch, { ...options, client });
      } catch (err) {
        if (err instanceof InvalidBatchError) {
          throw new ApiError(
            422,
            'BATCH_INVALID',
            `the batch is not valid (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}); nothing was queued`,
            err.problems,
          );
        }
        if (err instanceof BatchExistsError) {
          const id = (req.body as { batchId: string }).batchId;
          throw new ApiError(
            409,
            'BATCH_EXISTS',
            `batch "${id}" already exists: choose another batchId, or omit it to have one generated (on a retry of your own request, GET ${batchPath(id)}: the first one went through)`,
          );
        }
        throw err;
      }
      const links = batchLinks(result.batchId);
      log.info(
        {
          client,
          batchId: result.batchId,
          queued: result.queued,
          rejected: result.rejected.length,
          duplicates: result.duplicates,
          allUsers: result.allUsers,
        },
        'batch submitted through the API',
      );
      res
        .status(201)
        .location(links.self)
        .json({ schemaVersion: SCHEMA_VERSION, ...result, links });
    },
  );

  router.get('/batches/:id', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    await mayRead(tracker, res.locals.apiClient as ApiClient, batchId);
    const [status, page, pause] = await Promise.all([
      tracker.status(batchId, STATUS_FAILURES),
      tracker.failures(batchId, 0, 0),
      options.pause?.() ?? Promise.resolve(null),
    ]);
    if (!status) throw notFound(batchId);
    res.json({
      schemaVersion: SCHEMA_VERSION,
      ...status,
      failuresTotal: Math.max(page?.total ?? 0, status.failures.length),
      fleetPause: pause,
      links: batchLinks(batchId),
    });
  });

  router.get('/batches/:id/failures', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    const query = failuresQuerySchema.safeParse(req.query);
    if (!query.success) {
      throw new ApiError(400, 'INVALID_QUERY', 'the query string is not valid', problemsOf(query.error));
    }
    const { format, offset, limit } = query.data;
    await mayRead(tracker, res.locals.apiClient as ApiClient, batchId);
    const first = await tracker.failures(batchId, offset, Math.min(limit ?? FAILURES_CHUNK, FAILURES_CHUNK));
    if (!first) throw notFound(batchId);
    // The list only grows: the window [offset, end) fixed now is read whole, chunk by chunk.
    const { total } = first;
    const end = limit === undefined ? total : Math.min(total, offset + limit);
    const next =
      end < total
        ? `${batchPath(batchId)}/failures?offset=${end}${limit === undefined ? '' : `&limit=${limit}`}${format === 'csv' ? '&format=csv' : ''}`
        : null;
    res.set('X-Total-Count', String(total));
    if (next) res.set('Link', `<${next}>; rel="next"`);
    if (format === 'csv') {
      res.type('text/csv; charset=utf-8').attachment(`${batchId}-failures.csv`).status(200);
    } else {
      res.type('application/json; charset=utf-8').status(200);
    }
    // CSV: one line a failure. JSON: the array's items, a comma before all but the very first.
    const encode = (list: readonly BatchFailure[], leading: boolean): string =>
      format === 'csv'
        ? `${toCsv(list.map(failureRow))}\n`
        : list.map((f, i) => `${leading && i === 0 ? '' : ','}${JSON.stringify(f)}`).join('');
    await write(
      res,
      format === 'csv'
        ? `${toCsv([FAILURE_COLUMNS])}\n`
        : `{"schemaVersion":${SCHEMA_VERSION},"batchId":${JSON.stringify(batchId)},"total":${total},"offset":${offset},"limit":${limit ?? null},"next":${JSON.stringify(next)},"failures":[`,
    );
    let at = offset;
    let list = first.failures.slice(0, Math.max(0, end - at));
    let leading = true;
    while (list.length > 0 && !res.destroyed) {
      await write(res, encode(list, leading));
      leading = false;
      at += list.length;
      if (at >= end) break;
      const page = await tracker.failures(batchId, at, Math.min(FAILURES_CHUNK, end - at));
      list = page?.failures ?? [];
    }
    res.end(format === 'csv' ? '' : ']}');
  });

  router.get('/batches/:id/certificates', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    const query = certificatesQuerySchema.safeParse(req.query);
    if (!query.success) {
      throw new ApiError(400, 'INVALID_QUERY', 'the query string is not valid', problemsOf(query.error));
    }
    const { offset, limit } = query.data;
    // `?format=` decides; without it, `Accept: text/csv` (preferred to JSON) asks for the CSV.
    const csv =
      (query.data.format ??
        (req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json')) === 'csv';
    await mayRead(tracker, res.locals.apiClient as ApiClient, batchId);
    if (!csv) {
      const size = limit ?? CERTIFICATES_PAGE;
      const page = await tracker.manifest(batchId, offset, size);
      if (!page) throw notFound(batchId);
      const next = offset + size < page.total ? offset + size : null;
      res.set('X-Total-Count', String(page.total));
      if (next !== null)
        res.set('Link', `<${batchPath(batchId)}/certificates?offset=${next}&limit=${size}>; rel="next"`);
      res.json({ schemaVersion: SCHEMA_VERSION, batchId, total: page.total, offset, rows: page.rows, next });
      return;
    }
    // The CSV: every row from `offset` (the whole manifest by default), read a chunk at a time and
    // written as the client takes it. Rows are only ever added at the end: the window fixed by
    // the first read is read whole.
    const first = await tracker.manifest(
      batchId,
      offset,
      Math.min(limit ?? CERTIFICATES_CHUNK, CERTIFICATES_CHUNK),
    );
    if (!first) throw notFound(batchId);
    const end = limit === undefined ? first.total : Math.min(first.total, offset + limit);
    res.set('X-Total-Count', String(first.total));
    res.type('text/csv; charset=utf-8').attachment(`${batchId}-certificates.csv`).status(200);
    await write(res, manifestCsvHeader());
    let at = offset;
    let rows = first.rows;
    while (at < end && !res.destroyed) {
      const want = Math.min(CERTIFICATES_CHUNK, end - at);
      await write(res, manifestCsvRows(rows.slice(0, want)));
      at += want;
      if (at >= end) break;
      rows = (await tracker.manifest(batchId, at, Math.min(CERTIFICATES_CHUNK, end - at)))?.rows ?? [];
    }
    res.end();
  });

  router.post('/batches/:id/cancel', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    const client = res.locals.apiClient as ApiClient;
    await mayControl(tracker, client, batchId);
    let result;
    try {
      result = await cancelBatch(batchId, control);
    } catch (err) {
      if (err instanceof BatchNotFoundError) throw notFound(batchId);
      throw err;
    }
    const { status, ...counts } = result;
    if (result.outcome === 'already-ended') {
      throw new ApiError(
        409,
        'BATCH_ENDED',
        `batch "${batchId}" had already ended (${status.state}${status.finishedAt ? ` at ${status.finishedAt}` : ''}): there is nothing to cancel`,
      );
    }
    log.info({ client: client.name, ...counts, state: status.state }, 'batch cancelled through the API');
    res.json({
      schemaVersion: SCHEMA_VERSION,
      ...counts,
      state: status.state,
      cancelledAt: status.cancelledAt ?? null,
      links: batchLinks(batchId),
    });
  });

  // The body is optional: none, or `{"batchId": "<the new batch's id>"}` as JSON.
  router.post(
    '/batches/:id/retry',
    (req, _res, next) => {
      const length = req.get('content-length');
      const hasBody = req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
      if (hasBody && !req.is('application/json')) {
        throw new ApiError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'send no body, or {"batchId": "<new id>"} as JSON with "Content-Type: application/json"',
        );
      }
      next();
    },
    express.json({ limit: RETRY_BODY_LIMIT_BYTES, strict: true }),
    async (req, res) => {
      const batchId = parseBatchId(req.params.id);
      const client = res.locals.apiClient as ApiClient;
      const body = retryBodySchema.safeParse(req.body ?? {});
      if (!body.success) {
        throw new ApiError(
          422,
          'RETRY_INVALID',
          'the body is not valid; nothing was queued',
          problemsOf(body.error),
        );
      }
      await mayControl(tracker, client, batchId);
      let result;
      try {
        result = await retryBatch(
          batchId,
          { ...control, client: client.name },
          body.data.batchId ? { batchId: body.data.batchId } : {},
        );
      } catch (err) {
        throw retryError(err, batchId);
      }
      log.info({ client: client.name, ...result }, 'batch retried through the API');
      const links = { ...batchLinks(result.batchId), retryOf: batchPath(batchId) };
      res
        .status(201)
        .location(links.self)
        .json({ schemaVersion: SCHEMA_VERSION, ...result, links });
    },
  );

  // Anything else under /batches: a JSON 404 (or 405 for a known path), not the board's.
  router.all('/batches', (req, _res) => {
    throw methodNotAllowed(req, 'POST');
  });
  router.all(['/batches/:id', '/batches/:id/failures', '/batches/:id/certificates'], (req, _res) => {
    throw methodNotAllowed(req, 'GET, HEAD');
  });
  router.all(['/batches/:id/cancel', '/batches/:id/retry'], (req, _res) => {
    throw methodNotAllowed(req, 'POST');
  });
  return finish(router, log);
}

/**
 * The API where API_KEYS is not set: every request under /api/batches answers 404 API_DISABLED
 * (not 503: nothing will change until the board restarts with keys; a client should not retry).
 */
export function disabledBatchApi(): express.Router {
  const router = express.Router();
  router.use('/batches', (_req, res) => {
    noStore(res);
    throw apiDisabled();
  });
  return finish(router);
}

/** The API's last handlers: a JSON 404 for any other path under /batches, and the error handler. */
function finish(router: express.Router, log?: Logger): express.Router {
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

/** API answers are about one client's batches: never cached, never sniffed into something else. */
function noStore(res: Response): void {
  res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
}

const apiDisabled = () =>
  new ApiError(
    404,
    'API_DISABLED',
    'the batch API is off on this board: API_KEYS is not set (see docs/api.md)',
  );

/** What `retryBatch`'s typed errors mean for the client. */
function retryError(err: unknown, batchId: string): unknown {
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

const notFound = (batchId: string) =>
  new ApiError(404, 'BATCH_NOT_FOUND', `no batch "${batchId}" (batches are kept 30 days)`);

const methodNotAllowed = (req: Request, allow: string) =>
  new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: ${allow}`, undefined, {
    Allow: allow,
  });
