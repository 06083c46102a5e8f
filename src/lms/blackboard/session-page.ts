import type { SessionCredentials } from '../../browser/session-fetch.ts';
import { answersAsLoggedIn, OffHostRedirectError } from '../../browser/session-fetch.ts';
import {
  chooseTransport,
  describeHttpError,
  exchange,
  followSameHost,
  InPlaceRetry,
  parseRetryAfter,
  readBounded,
  redirectTarget,
  type TimedAnswer,
} from '../../http/index.ts';
import { LmsDataError, LmsRequestError, LmsUnavailableError, RateLimitedError } from '../errors.ts';
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
  /** A fetch-compatible function to send through (tests). Default: the process's undici pool. */
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
  const origin = new URL(options.lmsUrl).origin;
  const loginPatterns = options.loginUrlPatterns ?? LEARN_LOGIN_URL_PATTERNS;
  const isLogin = (u: URL) => loginPatterns.some((p) => p.test(`${u.pathname}${u.search}`) || p.test(u.href));
  if (url.origin !== origin) throw new LmsDataError(route, '', `URL outside ${origin}`);
  if (isLogin(url)) return 'logged-out';
  const maxRedirects = options.maxRedirects ?? 3;
  const end = await followSameHost(url, sendRetrying(session, route, options), {
    maxRedirects,
    stopAt: isLogin,
  });
  if (end.kind !== 'answer') await end.answer.discard();
  if (end.kind === 'off-host') throw new OffHostRedirectError(end.answer.url.href, end.to.href);
  if (end.kind === 'too-many') {
    throw new LmsRequestError(`${route}: more than ${maxRedirects} redirects`, end.answer.status);
  }
  return pageOf(end.answer, session, route, options);
}

/**
 * One GET of a page with the session, retried in place after a network failure or a 5xx (but a
 * 503 that says when to come back: that is a throttle, decided by the caller).
 */
function sendRetrying(
  session: SessionCredentials,
  route: string,
  options: SessionPageOptions,
): (url: URL) => Promise<TimedAnswer> {
  const transport = chooseTransport(options);
  const transient = new InPlaceRetry(options.transientRetries ?? 2);
  return async (url) => {
    for (;;) {
      let answer: TimedAnswer;
      try {
        answer = await exchange(transport, url, {
          headers: {
            cookie: session.cookieHeader,
            'user-agent': session.userAgent,
            accept: 'text/html,application/xhtml+xml',
          },
          timeoutMs: options.timeoutMs ?? 30_000,
        });
      } catch (cause) {
        await transient.after(
          new LmsUnavailableError(`${route}: ${describeHttpError(cause)}`, undefined, { cause }),
        );
        continue;
      }
      const { status } = answer;
      const throttled = status === 503 && parseRetryAfter(answer.headers.get('retry-after')) !== undefined;
      if (status < 500 || throttled) return answer;
      await answer.discard();
      await transient.after(new LmsUnavailableError(`${route}: the LMS answered ${status}`, status));
    }
  };
}

/** The page, or what its answer means: logged out, throttled, forbidden, not a page. */
async function pageOf(
  answer: TimedAnswer,
  session: SessionCredentials,
  route: string,
  options: SessionPageOptions,
): Promise<SessionPage> {
  const { status } = answer;
  if (status !== 200) await answer.discard();
  if (status >= 300 && status < 400) return redirectMeaning(answer, route);
  const retryAfter = parseRetryAfter(answer.headers.get('retry-after'));
  if (status === 429 || (status === 503 && retryAfter !== undefined)) {
    const wait = retryAfter ?? options.defaultRetryAfterMs ?? 5_000;
    throw new RateLimitedError(
      `${route}: the LMS answered ${status} (rate limited); try again in ${Math.ceil(wait / 1000)} s`,
      wait,
    );
  }
  if (status === 401 || status === 403) {
    const landing = options.landingPath ?? LEARN_LANDING_PATH;
    if (!(await answersAsLoggedIn(options.lmsUrl, landing, session, options.fetch))) return 'logged-out';
    throw new LmsRequestError(
      `${route}: ${status} although the web session works: the service user may not view this user's ` +
        "achievements in this course (give its role the permission to view students' achievements)",
      status,
      'ACHIEVEMENTS_FORBIDDEN',
    );
  }
  if (status !== 200) throw new LmsRequestError(`${route}: the LMS answered ${status}`, status);
  const type = (answer.headers.get('content-type') ?? '').toLowerCase();
  if (type !== '' && !/html|xml|text\/plain/.test(type)) {
    await answer.discard();
    throw new LmsDataError(route, '', `expected an HTML page, got ${JSON.stringify(type.slice(0, 80))}`);
  }
  const html = await readPage(answer, route, options.maxBytes);
  return { kind: 'page', url: answer.url, html };
}

/** A redirect not followed: to the login page (logged out), or one without a usable Location. */
function redirectMeaning(answer: TimedAnswer, route: string): 'logged-out' {
  const location = answer.headers.get('location');
  if (!location) {
    throw new LmsRequestError(
      `${route}: the LMS answered ${answer.status} without a Location`,
      answer.status,
    );
  }
  if (redirectTarget(answer) === undefined) {
    throw new LmsDataError(
      route,
      '',
      `redirected to a malformed URL ${JSON.stringify(location.slice(0, 200))}`,
    );
  }
  return 'logged-out';
}

/** The body as UTF-8 text, cut and refused past `maxBytes` (LmsDataError); a broken body is LmsUnavailableError. */
async function readPage(answer: TimedAnswer, route: string, maxBytes: number): Promise<string> {
  const bytes = await readBounded(answer, {
    maxBytes,
    tooLarge: (size) =>
      new LmsDataError(route, '', `the page (${size} bytes) is over the ${maxBytes}-byte limit`),
    readFailed: (cause) =>
      new LmsUnavailableError(
        `${route}: reading the page failed (${describeHttpError(cause, answer.signal)})`,
        200,
        { cause },
      ),
  });
  return new TextDecoder().decode(bytes);
}
