import { beginAuthorization, validateCallback, type AuthorizationRequest } from './bootstrap.ts';
import { AuthorizationFailedError } from './errors.ts';
import type { TokenEndpoint, TokenResponse } from './token-endpoint.ts';

/** The web session's cookies for the LMS host and the browser's user agent. */
export interface WebSessionCredentials {
  cookieHeader: string;
  userAgent: string;
}

/**
 * Runs a piece of work with the fleet's web session: when the work says the session is logged
 * out, the session is renewed once for the fleet (one login) and the work runs again.
 */
export interface SessionRunner {
  withSession<T>(use: (session: WebSessionCredentials) => Promise<T | 'logged-out'>): Promise<T>;
}

export interface WalkOptions {
  /** The LMS origin: the only one that gets the session's cookies. */
  lmsUrl: string;
  session: WebSessionCredentials;
  /** Redirects followed before giving up. Default 12. */
  maxHops?: number;
  /** Per request. Default 20 000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Follow an authorization request the way the service user's browser would, with the web
 * session's cookies, until the LMS redirects to the redirect URI with the answer (`code` or
 * `error`). Nothing is posted: this works only once consent was granted (at bootstrap); a consent
 * or other page is an error naming where it stopped.
 *
 * The session cookies go to the LMS origin only. The authorization server (auth.brightspace.com on
 * real tenants) gets the cookies it sets itself during the walk, nothing else; a redirect to any
 * third origin is refused.
 *
 * @returns the redirect URI with its parameters, or 'logged-out' when the LMS asked for a login.
 */
export async function walkAuthorization(
  request: AuthorizationRequest,
  options: WalkOptions,
): Promise<string | 'logged-out'> {
  const doFetch = options.fetch ?? fetch;
  const lms = new URL(options.lmsUrl).origin;
  const authServer = new URL(request.url).origin;
  const target = new URL(request.redirectUri);
  const jars = new Map<string, Map<string, string>>([[lms, parseCookieHeader(options.session.cookieHeader)]]);
  let url = new URL(request.url);
  for (let hop = 0; hop < (options.maxHops ?? 12); hop++) {
    const jar = jars.get(url.origin) ?? new Map<string, string>();
    jars.set(url.origin, jar);
    const res = await doFetch(url, {
      headers: { cookie: serialize(jar), 'user-agent': options.session.userAgent },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    for (const line of res.headers.getSetCookie()) storeCookie(jar, line);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.origin === target.origin && next.pathname === target.pathname) return next.href;
      if (next.origin !== lms && next.origin !== authServer) {
        throw new AuthorizationFailedError(
          `the authorization through the web session was redirected to ${next.origin}, outside the LMS and its authorization server; ` +
            'an SSO tenant needs `certharvest auth bootstrap` in a browser',
        );
      }
      url = next;
      continue;
    }
    const body = res.status === 200 ? await readSome(res) : (await res.body?.cancel(), '');
    if (looksLikeLogin(url, body)) return 'logged-out';
    throw new AuthorizationFailedError(
      `the authorization through the web session stopped at ${url.origin}${url.pathname} (HTTP ${res.status}) ` +
        'instead of returning to the redirect URI: grant the app consent once as the service user ' +
        '(`certharvest auth bootstrap`), and check that OAUTH_REDIRECT_URI is the registered one',
    );
  }
  throw new AuthorizationFailedError(
    `the authorization through the web session went through more than ${options.maxHops ?? 12} redirects`,
  );
}

/** A login form (a password field) or a login path: the session is not logged in. */
function looksLikeLogin(url: URL, body: string): boolean {
  return /\/login\b/i.test(url.pathname) || /<input[^>]+type\s*=\s*["']?password/i.test(body);
}

async function readSome(res: Response, limit = 256 * 1024): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).toString('utf8');
}

function parseCookieHeader(header: string): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) jar.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return jar;
}

function storeCookie(jar: Map<string, string>, line: string): void {
  const [pair = ''] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const expired = /;\s*max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
  if (value === '' || expired) jar.delete(name);
  else jar.set(name, value);
}

const serialize = (jar: Map<string, string>) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

export interface SessionAuthorizationOptions {
  authorizeUrl: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  lmsUrl: string;
  fetch?: typeof fetch;
}

/**
 * Start an authorization request and walk it through the fleet's web session (logging in once
 * for the fleet when the session is missing or logged out).
 * @returns the request and the redirect URI the LMS sent back, ready for the code exchange.
 */
export async function authorizeThroughSession(
  runner: SessionRunner,
  options: SessionAuthorizationOptions,
): Promise<{ request: AuthorizationRequest; callback: string }> {
  const request = await beginAuthorization(options);
  const callback = await runner.withSession((session) =>
    walkAuthorization(request, {
      lmsUrl: options.lmsUrl,
      session,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  );
  return { request, callback };
}

/**
 * The token provider's `heal`: a new pair through the web session, exchanged at the token
 * endpoint, without a person (consent was granted once at bootstrap).
 */
export function createSessionHealer(
  runner: SessionRunner,
  endpoint: TokenEndpoint,
  options: SessionAuthorizationOptions,
): () => Promise<TokenResponse> {
  return async () => {
    const { request, callback } = await authorizeThroughSession(runner, options);
    const params = validateCallback(endpoint, request, callback);
    return endpoint.authorizationCode(params, request.redirectUri, request.codeVerifier);
  };
}
