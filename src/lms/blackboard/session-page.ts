import type { SessionCredentials } from '../../browser/session-fetch.ts';
import { answersAsLoggedIn, OffHostRedirectError } from '../../browser/session-fetch.ts';
import { LmsDataError, LmsRequestError, LmsUnavailableError, RateLimitedError } from '../errors.ts';
import { parseRetryAfter } from '../rate-budget.ts';
import { LEARN_WEB_PROFILE } from './web-profile.ts';

/** Learn's login form: a redirect here means the session is gone (the web profile's). */
export const LEARN_LOGIN_URL_PATTERNS: readonly RegExp[] = LEARN_WEB_PROFILE.loggedOutPaths;
/** The page a logged-in Learn user gets (the web profile's landing). */
export const LEARN_LANDING_PATH = LEARN_WEB_PROFILE.landingPath;

export interface SessionPageOptions {
  /** LMS base URL: the page, and every redirect followed, stay on its origin. */
  lmsUrl: string;
  /** Largest body read; more is LmsDataError, and the rest is never read. */
  maxBytes: number;
  /** Patterns of the login page, matched against the URL's path and query, and against the whole URL. */
  loginUrlPatterns?: readonly RegExp[];
  /** Probed after a 401/403 to tell an expired session from a forbidden page. */
  landingPath?: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Per request, covering the body. Default 30 000 ms. */
  timeoutMs?: number;
  /** Same-origin redirects followed. Default 3. */
  maxRedirects?: number;
  /** 5xx and network failures retried in place. Default 2. */
  transientRetries?: number;
  /** Wait after a 429 without Retry-After. Default 5 000 ms. */
  defaultRetryAfterMs?: number;
}

/** An HTML page read with the session, or 'logged-out' (the LMS wants a login first). */
export type SessionPage = { kind: 'page'; url: URL; html: string } | 'logged-out';

/**
 * GET a session-only HTML page with the fleet's cookies, for WebSession.withSession: redirects are
 * not followed blindly (a redirect to the login page is 'logged-out', one to another host is an
 * OffHostRedirectError and no cookie goes there), a 401/403 is probed (expired session, or a page
 * the service user may not see), and the body is read up to `maxBytes`.
 *
 * Errors: network, timeout, 5xx → LmsUnavailableError (after brief retries in place); 429 and a
 * 503 with Retry-After → RateLimitedError; 401/403 with a working session, 404 and other 4xx →
 * LmsRequestError (code ACHIEVEMENTS_FORBIDDEN for 401/403); not HTML, or too large → LmsDataError.
 */
export async function getSessionPage(
  url: URL,
  session: SessionCredentials,
  route: string,
  options: SessionPageOptions,
): Promise<SessionPage> {
  const doFetch = options.fetch ?? fetch;
  const origin = new URL(options.lmsUrl).origin;
  const loginPatterns = options.loginUrlPatterns ?? LEARN_LOGIN_URL_PATTERNS;
  const isLogin = (u: URL) => loginPatterns.some((p) => p.test(`${u.pathname}${u.search}`) || p.test(u.href));
  const retries = options.transientRetries ?? 2;
  if (url.origin !== origin) throw new LmsDataError(route, '', `URL outside ${origin}`);
  if (isLogin(url)) return 'logged-out';
  let current = url;
  let hops = 0;
  let failures = 0;
  const transient = async (error: LmsUnavailableError) => {
    if (failures >= retries) throw error;
    const delay = 250 * 3 ** failures * (0.75 + Math.random() / 2);
    failures++;
    await new Promise((resolve) => setTimeout(resolve, delay));
  };
  for (;;) {
    let response: Response;
    try {
      response = await doFetch(current, {
        headers: {
          cookie: session.cookieHeader,
          'user-agent': session.userAgent,
          accept: 'text/html,application/xhtml+xml',
        },
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (cause) {
      await transient(
        new LmsUnavailableError(`${route}: ${describeFetchError(cause)}`, undefined, { cause }),
      );
      continue;
    }
    const { status } = response;
    if (status >= 300 && status < 400) {
      await discard(response);
      const location = response.headers.get('location');
      if (!location)
        throw new LmsRequestError(`${route}: the LMS answered ${status} without a Location`, status);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new LmsDataError(
          route,
          '',
          `redirected to a malformed URL ${JSON.stringify(location.slice(0, 200))}`,
        );
      }
      if (isLogin(next)) return 'logged-out';
      if (next.origin !== origin) throw new OffHostRedirectError(current.href, next.href);
      if (hops >= (options.maxRedirects ?? 3)) {
        throw new LmsRequestError(`${route}: more than ${hops} redirects`, status);
      }
      hops++;
      current = next;
      continue;
    }
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    if (status === 429 || (status === 503 && retryAfter !== undefined)) {
      await discard(response);
      const wait = retryAfter ?? options.defaultRetryAfterMs ?? 5_000;
      throw new RateLimitedError(
        `${route}: the LMS answered ${status} (rate limited); try again in ${Math.ceil(wait / 1000)} s`,
        wait,
      );
    }
    if (status >= 500) {
      await discard(response);
      await transient(new LmsUnavailableError(`${route}: the LMS answered ${status}`, status));
      continue;
    }
    if (status === 401 || status === 403) {
      await discard(response);
      const landing = options.landingPath ?? LEARN_LANDING_PATH;
      if (!(await answersAsLoggedIn(options.lmsUrl, landing, session, options.fetch))) return 'logged-out';
      throw new LmsRequestError(
        `${route}: ${status} although the web session works: the service user may not view this user's ` +
          "achievements in this course (give its role the permission to view students' achievements)",
        status,
        'ACHIEVEMENTS_FORBIDDEN',
      );
    }
    if (status !== 200) {
      await discard(response);
      throw new LmsRequestError(`${route}: the LMS answered ${status}`, status);
    }
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    if (type !== '' && !/html|xml|text\/plain/.test(type)) {
      await discard(response);
      throw new LmsDataError(route, '', `expected an HTML page, got ${JSON.stringify(type.slice(0, 80))}`);
    }
    const html = await readCapped(response, route, options.maxBytes);
    return { kind: 'page', url: current, html };
  }
}

/** The body as UTF-8 text, cut and refused past `maxBytes` (LmsDataError); a broken body is LmsUnavailableError. */
export async function readCapped(response: Response, route: string, maxBytes: number): Promise<string> {
  const tooLarge = (size: string) =>
    new LmsDataError(route, '', `the page (${size} bytes) is over the ${maxBytes}-byte limit`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await discard(response);
    throw tooLarge(String(declared));
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (cause) {
      throw new LmsUnavailableError(`${route}: reading the page failed (${describeFetchError(cause)})`, 200, {
        cause,
      });
    }
    if (next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${maxBytes}`);
    }
    chunks.push(next.value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

function describeFetchError(cause: unknown): string {
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError') return 'timed out';
    const inner = (cause as { cause?: unknown }).cause;
    const code = inner && typeof inner === 'object' && 'code' in inner ? String(inner.code) : undefined;
    return code ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
