import type { Dispatcher } from 'undici';
import { CertharvestError } from '../errors/index.ts';
import {
  chooseTransport,
  classifyAnswer,
  describeHttpError,
  exchange,
  followSameHost,
  isLoginPageUrl,
  parseRetryAfter,
  readFirstChunks,
  type AnswerKind,
  type TimedAnswer,
} from '../http/index.ts';
import { drainInto, type PdfResponseFacts, type PdfSink } from '../pdf/index.ts';

/** The cookies and user agent of the fleet's web session, as a download sends them. */
export interface SessionCredentials {
  cookieHeader: string;
  userAgent: string;
}

export interface SessionFetchOptions {
  /** Where a PDF's body goes as it arrives (nothing else is written to it). */
  sink: PdfSink;
  /** Largest body accepted; a bigger or endless one is cut and refused. */
  maxBytes: number;
  /** Time until the response headers arrive. Default 30 000 ms. */
  headerTimeoutMs?: number;
  /** Time for the whole body. Default 120 000 ms. */
  bodyTimeoutMs?: number;
  /** Redirects followed (on the LMS origin only). Default 5. */
  maxRedirects?: number;
  /** The site's login page paths (its web profile's `loggedOutPaths`): an answer there is "expired". */
  loggedOutPaths: readonly RegExp[];
  /** Default: the process's keep-alive pool (src/http). */
  dispatcher?: Dispatcher;
}

export type SessionAnswer =
  | ({ kind: 'pdf' } & PdfResponseFacts)
  | {
      kind: Exclude<AnswerKind, 'pdf' | 'redirect'>;
      status: number;
      url: string;
      retryAfterSeconds?: number;
    };

/** A redirect to another origin: never followed, so the session's cookies never leave the LMS. */
export class OffHostRedirectError extends CertharvestError {
  readonly retryable = false;

  constructor(from: string, to: string) {
    super(
      'REDIRECT_OFF_HOST',
      `the LMS redirected ${new URL(from).pathname} to another host (${new URL(to).origin}); not followed, no cookie sent`,
    );
  }
}

/** A body over MAX_PDF_BYTES (or endless): cut, and that certificate is refused. */
export class PdfTooLargeError extends CertharvestError {
  readonly retryable = false;

  constructor(url: string, maxBytes: number) {
    super(
      'PDF_TOO_LARGE',
      `${new URL(url).pathname} sent more than MAX_PDF_BYTES (${maxBytes} bytes); the download was cut`,
    );
  }
}

/** The request itself failed (network, timeout): worth retrying. */
export class SessionRequestError extends CertharvestError {
  readonly retryable = true;

  constructor(url: string, detail: string, options?: { cause?: unknown }) {
    super('SESSION_REQUEST_FAILED', `${new URL(url).pathname}: ${detail}`, options);
  }
}

const SNIFF_BYTES = 1024;

/**
 * GET a session-only URL over plain HTTP with the session's cookies: redirects followed on the
 * same origin only, the answer classified from its first bytes (a login page is never read whole),
 * and a PDF's body streamed into `options.sink` with a byte limit and time limits.
 */
export async function fetchWithSession(
  url: string,
  session: SessionCredentials,
  options: SessionFetchOptions,
): Promise<SessionAnswer> {
  const transport = chooseTransport(options.dispatcher ? { dispatcher: options.dispatcher } : {});
  const headersTimeoutMs = options.headerTimeoutMs ?? 30_000;
  const send = (at: URL) =>
    exchange(transport, at, {
      headers: { cookie: session.cookieHeader, 'user-agent': session.userAgent, accept: '*/*' },
      headersTimeoutMs,
      timeoutMs: headersTimeoutMs + (options.bodyTimeoutMs ?? 120_000),
    }).catch((err: unknown) => {
      throw new SessionRequestError(at.href, describeHttpError(err), { cause: err });
    });
  const end = await followSameHost(new URL(url), send, {
    maxRedirects: options.maxRedirects ?? 5,
    // A redirect to the login page is the answer "expired", not a page to fetch.
    stopAt: (to) => isLoginPageUrl(options.loggedOutPaths, to),
  });
  if (end.kind !== 'answer') await end.answer.discard();
  if (end.kind === 'off-host') throw new OffHostRedirectError(end.answer.url.href, end.to.href);
  if (end.kind === 'too-many') return { kind: 'error', status: end.answer.status, url: end.answer.url.href };
  return readSessionAnswer(end.answer, options);
}

/** Classify the answer from its first bytes; a PDF's body then goes to the sink, anything else is dropped. */
async function readSessionAnswer(answer: TimedAnswer, options: SessionFetchOptions): Promise<SessionAnswer> {
  const at = answer.url.href;
  const readFailed = (err: unknown) =>
    new SessionRequestError(at, describeHttpError(err, answer.signal), { cause: err });
  const chunks = await readFirstChunks(answer, SNIFF_BYTES, readFailed);
  const { status, headers } = answer;
  const kind = classifyAnswer(
    { status, url: at, headers, firstBytes: Buffer.concat(chunks) },
    options.loggedOutPaths,
  );
  if (kind !== 'pdf') {
    await answer.discard();
    const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
    return {
      // A redirect still standing here had nowhere usable to go.
      kind: kind === 'redirect' ? 'error' : kind,
      status,
      url: at,
      ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
    };
  }
  try {
    const limits = {
      maxBytes: options.maxBytes,
      tooLarge: () => new PdfTooLargeError(at, options.maxBytes),
      readFailed,
    };
    await drainInto(answer.body, options.sink, limits, chunks);
  } catch (err) {
    // A full disk, say: the rest of the body is not wanted, and the connection is not reused.
    await answer.discard();
    throw err;
  }
  const length = headers.get('content-length');
  return {
    kind: 'pdf',
    contentType: headers.get('content-type') ?? undefined,
    contentLength: length === null ? undefined : Number(length),
  };
}

/** `name=value; name2=value2` from cookies (what a browser would send to the LMS host). */
export function cookieHeader(cookies: readonly { name: string; value: string }[]): string {
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

/**
 * One bodiless exchange with the session on an LMS path (not following redirects): its status, or
 * undefined when the LMS did not answer in time.
 */
export async function sessionStatus(
  lmsUrl: string,
  pathname: string,
  session: SessionCredentials,
  options: { method?: 'GET' | 'POST'; fetch?: typeof fetch } = {},
): Promise<number | undefined> {
  try {
    const answer = await exchange(chooseTransport(options), new URL(pathname, `${lmsUrl}/`), {
      method: options.method ?? 'GET',
      headers: { cookie: session.cookieHeader, 'user-agent': session.userAgent },
      timeoutMs: 30_000,
    });
    await answer.discard();
    return answer.status;
  } catch {
    return undefined;
  }
}

/** GET `landingPath` with the session: a 200 (not a redirect to the login) means it is logged in. */
export async function answersAsLoggedIn(
  lmsUrl: string,
  landingPath: string,
  session: SessionCredentials,
  doFetch?: typeof fetch,
): Promise<boolean> {
  return (await sessionStatus(lmsUrl, landingPath, session, doFetch ? { fetch: doFetch } : {})) === 200;
}
