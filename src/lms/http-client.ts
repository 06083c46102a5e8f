import type { Dispatcher } from 'undici';
import {
  chooseTransport,
  describeHttpError,
  exchange,
  HttpExchangeError,
  InPlaceRetry,
  readBounded,
  throttledWaitMs,
  type HttpAnswer,
  type HttpTransport,
  type TimedAnswer,
} from '../http/index.ts';
import { drainInto, type PdfSink } from '../pdf/index.ts';
import type { Logger } from '../log/index.ts';
import { LmsDataError, LmsRequestError, LmsUnavailableError, RateLimitedError } from './errors.ts';
import { RateBudget, readRateHeaders, type RateBudgetOptions } from './rate-budget.ts';

/** An LMS answer whose body is still to be read (`json`, `bytes`, `drain`) or discarded. */
export type LmsAnswer = TimedAnswer;

/** Where an API client gets bearer tokens (a TokenProvider, in production). */
export interface AccessTokenSource {
  getAccessToken(): Promise<string>;
  /** Called with the token the LMS answered 401 to. */
  invalidate(accessToken?: string): void | Promise<void>;
}

/**
 * How one LMS request ended, for metrics: `ok` (2xx/3xx), `client-error` (4xx but 401/429),
 * `unauthorized` (401), `throttled` (429), `server-error` (5xx), `network` (no answer, timeout).
 */
export type LmsRequestOutcome =
  'ok' | 'client-error' | 'unauthorized' | 'throttled' | 'server-error' | 'network';

/**
 * Hears every request sent to the LMS (each retry and renewal included). `route` is a bounded
 * kind (`routeKind`), never an id, so a metric labelled with it stays small.
 */
export type LmsRequestObserver = (route: string, outcome: LmsRequestOutcome, seconds: number) => void;

/** The outcome of an answer's status. */
export function outcomeOfStatus(status: number): LmsRequestOutcome {
  if (status === 401) return 'unauthorized';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server-error';
  if (status >= 400) return 'client-error';
  return 'ok';
}

/**
 * A request path as a bounded kind: `pdf` (a certificate's bytes), `awards` (issued awards),
 * `courses` (a user's courses, a course), `users`, `versions`, `token`, else `other`. Ids never
 * reach a label.
 */
export function routeKind(pathname: string): string {
  const path = pathname.toLowerCase();
  if (/\/pdf\/?$|\/certificates?\/|\.pdf$/.test(path)) return 'pdf';
  if (/\/issued\/|\/awards?\b|\/achievements?\b/.test(path)) return 'awards';
  if (/\/courses?\b/.test(path)) return 'courses';
  if (/\/users?\b/.test(path)) return 'users';
  if (/\/versions\b/.test(path)) return 'versions';
  if (/\/token\b|\/oauth2?\//.test(path)) return 'token';
  return 'other';
}

export interface LmsHttpClientOptions {
  /** LMS base URL, e.g. https://school.brightspace.com. Requests never leave its origin. */
  baseUrl: string;
  tokens: AccessTokenSource;
  logger: Logger;
  /** A fetch-compatible function to send through instead (tests). Default: the process's undici pool. */
  fetch?: typeof fetch;
  /** Default: the process's undici pool. */
  dispatcher?: Dispatcher;
  /** Sends each request (wins over `fetch` and `dispatcher`): to count what leaves, say. */
  transport?: HttpTransport;
  /** Per-request timeout, covering the body. Default 30 000 ms. */
  timeoutMs?: number;
  /** Shared request budget (see RateBudget). */
  rateLimit?: RateBudgetOptions;
  /** A longer `Retry-After` is capped to this. Default 60 000 ms. */
  maxRetryAfterMs?: number;
  /** Total time one call may wait out 429s in place before it throws RateLimitedError. Default 120 000 ms. */
  maxRateLimitWaitMs?: number;
  /** Hears each request's route kind, outcome and time (the worker's metrics). Default: none. */
  observe?: LmsRequestObserver;
}

export interface LmsRequestOptions {
  /** Default `application/json`. */
  accept?: string;
  /** Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Statuses returned to the caller instead of becoming errors (e.g. 501 on an optional route). */
  passStatuses?: readonly number[];
}

/**
 * Authenticated GETs against one LMS: bearer token, shared rate budget, 429s waited out in
 * place, one retry after a 401 with a fresh token, 5xx / network / timeout as a retryable
 * LmsUnavailableError. Never logs the token or the Authorization header.
 */
/** 5xx and network failures retried in place per request before giving up. */
const TRANSIENT_RETRIES = 2;

export class LmsHttpClient {
  readonly base: URL;
  readonly budget: RateBudget;
  readonly #tokens: AccessTokenSource;
  readonly #log: Logger;
  readonly #transport: HttpTransport;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxRateLimitWaitMs: number;
  readonly #observe: LmsRequestObserver | undefined;

  constructor(options: LmsHttpClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`LmsHttpClient: baseUrl must be an absolute URL, got "${options.baseUrl}"`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new TypeError(`LmsHttpClient: baseUrl must be http(s), got "${options.baseUrl}"`);
    }
    this.base = new URL(base.origin);
    this.budget = new RateBudget(options.rateLimit);
    this.#tokens = options.tokens;
    this.#log = options.logger;
    this.#transport = options.transport ?? chooseTransport(options);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 120_000;
    this.#observe = options.observe;
  }

  /** Tell the observer; a failing observer never fails a request. */
  #observed(url: URL, outcome: LmsRequestOutcome, started: number): void {
    try {
      this.#observe?.(routeKind(url.pathname), outcome, (Date.now() - started) / 1000);
    } catch {
      // metrics are best effort
    }
  }

  /**
   * Resolve a path or a URL the LMS handed us (e.g. a `Next` link) against the base.
   * @throws LmsDataError when it points to another origin: the bearer token must not follow it.
   */
  resolve(pathOrUrl: string, route: string, field = ''): URL {
    let url: URL;
    try {
      url = new URL(pathOrUrl, this.base);
    } catch {
      throw new LmsDataError(route, field, `not a URL: ${JSON.stringify(pathOrUrl.slice(0, 200))}`);
    }
    if (url.origin !== this.base.origin) {
      throw new LmsDataError(route, field, `refusing to follow a link to another host (${url.origin})`);
    }
    return url;
  }

  /** GET `url` and return the answer of any status the caller handles (2xx, 3xx, 4xx other than 401/429). */
  async get(url: URL, route: string, options: LmsRequestOptions = {}): Promise<LmsAnswer> {
    if (url.origin !== this.base.origin) throw new LmsDataError(route, '', `URL outside ${this.base.origin}`);
    const waits = { rateLimited: 0, renewalsAfter401: 0 };
    // A GET is idempotent: a passing 5xx or dropped connection is retried here, briefly, before
    // it costs the whole job an attempt (and a discover job its paging so far).
    const transient = new InPlaceRetry(TRANSIENT_RETRIES, (error, delayMs) =>
      this.#log.debug({ route, delayMs }, `${error.message}: retrying in place`),
    );
    for (let attempt = 0; ; attempt++) {
      const sent = await this.#send(url, route, options);
      if (sent instanceof LmsUnavailableError) {
        await transient.after(sent);
        continue;
      }
      const { answer, token } = sent;
      const { status } = answer;
      if (status === 429) {
        await answer.discard();
        await this.#waitOutThrottle(answer, route, attempt, waits);
        continue;
      }
      if (status === 401) {
        await answer.discard();
        await this.#renewAfter401(token, route, waits);
        continue;
      }
      if (status >= 500 && !options.passStatuses?.includes(status)) {
        await answer.discard();
        await transient.after(new LmsUnavailableError(`${route}: the LMS answered ${status}`, status));
        continue;
      }
      return answer;
    }
  }

  /** One request under the rate budget: its answer, or the LmsUnavailableError of no answer. */
  async #send(
    url: URL,
    route: string,
    options: LmsRequestOptions,
  ): Promise<{ answer: LmsAnswer; token: string } | LmsUnavailableError> {
    const release = await this.budget.acquire();
    let token: string;
    try {
      token = await this.#tokens.getAccessToken();
    } catch (error) {
      release();
      throw error;
    }
    const started = Date.now();
    let answer: LmsAnswer;
    try {
      answer = await exchange(this.#transport, url, {
        headers: { authorization: `Bearer ${token}`, accept: options.accept ?? 'application/json' },
        timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      });
    } catch (cause) {
      this.#observed(url, 'network', started);
      const detail = cause instanceof HttpExchangeError ? cause.detail : describeHttpError(cause);
      return new LmsUnavailableError(`${route}: ${detail}`, undefined, { cause: unwrap(cause) });
    } finally {
      release();
    }
    const rate = readRateHeaders(answer.headers);
    this.budget.update(rate);
    this.#observed(url, outcomeOfStatus(answer.status), started);
    this.#log.debug(
      { route, status: answer.status, ms: Date.now() - started, rateRemaining: rate.remaining },
      'lms request',
    );
    return { answer, token };
  }

  /** Wait out a 429 in place, or throw RateLimitedError once this call has waited long enough. */
  async #waitOutThrottle(
    answer: HttpAnswer,
    route: string,
    attempt: number,
    waits: { rateLimited: number },
  ): Promise<void> {
    const wait = throttledWaitMs(answer.headers, attempt, this.#maxRetryAfterMs);
    if (waits.rateLimited + wait > this.#maxRateLimitWaitMs) {
      throw new RateLimitedError(
        `${route}: the LMS is still rate limiting after ${Math.round(waits.rateLimited / 1000)} s of waiting; ` +
          `try again in ${Math.ceil(wait / 1000)} s`,
        wait,
      );
    }
    this.#log.info({ route, waitMs: wait }, 'rate limited by the LMS (429): waiting before retrying');
    this.budget.pause(wait);
    waits.rateLimited += wait;
  }

  /**
   * Renew twice after a 401: the first "fresh" token may be one another process obtained just
   * before an admin revoked them all; the second renewal then meets the refusal itself.
   */
  async #renewAfter401(token: string, route: string, waits: { renewalsAfter401: number }): Promise<void> {
    if (waits.renewalsAfter401 >= 2) {
      throw new LmsRequestError(
        `${route}: 401 even with a fresh access token; check the app's scopes and the service user's role`,
        401,
        'LMS_UNAUTHORIZED',
      );
    }
    waits.renewalsAfter401++;
    await this.#tokens.invalidate(token);
  }

  /** Read a body within the request's timeout; a broken or timed-out body is LmsUnavailableError. */
  async bytes(answer: LmsAnswer, route: string, maxBytes: number): Promise<Uint8Array> {
    return readBounded(answer, {
      maxBytes,
      tooLarge: (size) => tooLarge(route, size, maxBytes),
      readFailed: (cause) => readFailed(answer, route, cause),
    });
  }

  /**
   * Stream a body into `sink`, cut past `maxBytes` (LmsDataError, never read whole); a broken or
   * timed-out body is LmsUnavailableError.
   */
  async drain(answer: LmsAnswer, route: string, sink: PdfSink, maxBytes: number): Promise<void> {
    const declared = Number(answer.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await answer.discard();
      throw tooLarge(route, String(declared), maxBytes);
    }
    await drainInto(answer.body, sink, {
      maxBytes,
      tooLarge: () => tooLarge(route, 'more than ' + maxBytes, maxBytes),
      readFailed: (cause) => readFailed(answer, route, cause),
    });
  }

  async json(answer: LmsAnswer, route: string, maxBytes = 20 * 1024 * 1024): Promise<unknown> {
    const text = new TextDecoder().decode(await this.bytes(answer, route, maxBytes));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new LmsDataError(
        route,
        '',
        `the body is not JSON (starts with ${JSON.stringify(text.slice(0, 60))})`,
      );
    }
  }
}

function tooLarge(route: string, size: string, maxBytes: number): LmsDataError {
  return new LmsDataError(route, '', `body of ${size} bytes is over the ${maxBytes}-byte limit`);
}

function readFailed(answer: LmsAnswer, route: string, cause: unknown): LmsUnavailableError {
  return new LmsUnavailableError(
    `${route}: reading the body failed (${describeHttpError(cause, answer.signal)})`,
    answer.status,
    { cause },
  );
}

/** The transport's own error, for `cause` (the exchange error only wraps it). */
function unwrap(cause: unknown): unknown {
  return cause instanceof HttpExchangeError ? (cause.cause ?? cause) : cause;
}
