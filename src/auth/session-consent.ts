import { beginAuthorization, validateCallback, type AuthorizationRequest } from './bootstrap.ts';
import { load } from 'cheerio';
import {
  chooseTransport,
  exchange,
  readFirstChunks,
  redirectTarget,
  type HttpTransport,
  type TimedAnswer,
} from '../http/index.ts';
import type { Logger } from '../log/index.ts';
import { AuthorizationFailedError, ConsentRequiredError } from './errors.ts';
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

/**
 * How to recognise the LMS's consent page ("this app wants to access your account: Allow / Deny")
 * and which button allows. CSS selectors, matched with cheerio; the values live with each LMS
 * (`src/lms/<kind>/consent.ts`), so this module never names one.
 */
export interface ConsentForm {
  /** The consent form: a 200 page holding it (with the allow button inside) is the consent page. */
  formSelector: string;
  /** The allow button inside the form; its `name`/`value`, when it has a name, are posted too. */
  allowSelector: string;
  /** The deny button inside the form: never pressed; when given, the page must have it as well. */
  denySelector?: string;
}

export interface WalkOptions {
  /** The LMS origin: the only one that gets the session's cookies. */
  lmsUrl: string;
  session: WebSessionCredentials;
  /**
   * The LMS's consent page. When given, the walk allows the app once as the service user (one form
   * submission per walk); a second prompt, a refusal after it, or any other page stops it with a
   * `ConsentRequiredError`. Default: none, so a consent page stops the walk.
   */
  consent?: ConsentForm;
  /** Says (at info) that consent was given, and where. Default: silent. */
  logger?: Logger;
  /** Redirects followed before giving up. Default 12. */
  maxHops?: number;
  /** Per request. Default 20 000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Follow an authorization request the way the service user's browser would, with the web
 * session's cookies, until the LMS redirects to the redirect URI with the answer (`code` or
 * `error`). When the LMS shows its consent page (`options.consent`), the walk allows the app once,
 * as the service user would by pressing "Allow"; any other page is an error naming where it
 * stopped.
 *
 * The session cookies go to the LMS origin only. The authorization server (auth.brightspace.com on
 * real tenants) gets the cookies it sets itself during the walk, nothing else; a redirect to any
 * third origin is refused, and the consent form is posted only to the page's own origin.
 *
 * @returns the redirect URI with its parameters, or 'logged-out' when the LMS asked for a login.
 */
export async function walkAuthorization(
  request: AuthorizationRequest,
  options: WalkOptions,
): Promise<string | 'logged-out'> {
  const walk = new AuthorizationWalk(request, options);
  let url = new URL(request.url);
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < (options.maxHops ?? 12); hop++) {
    const answer = await walk.send(url, form);
    form = undefined;
    const next = redirectTarget(answer);
    if (next) {
      await answer.discard();
      if (walk.isRedirectUri(next)) return walk.answered(next);
      walk.assertAllowed(next);
      url = next;
      continue;
    }
    const step = await walk.page(answer);
    if (step === 'logged-out') return step;
    url = step.action;
    form = step.method === 'POST' ? step.fields : undefined;
  }
  throw new AuthorizationFailedError(
    `the authorization through the web session went through more than ${options.maxHops ?? 12} redirects`,
  );
}

/**
 * The walk's state: a cookie jar per origin (the LMS's starts with the session's cookies), the
 * origins allowed, and the consent page answered, once it was.
 */
class AuthorizationWalk {
  readonly #options: WalkOptions;
  readonly #transport: HttpTransport;
  readonly #lms: string;
  readonly #authServer: string;
  readonly #target: URL;
  readonly #jars: Map<string, Map<string, string>>;
  /** The consent page the walk answered (origin + path), once it did. */
  #consentedAt: string | undefined;

  constructor(request: AuthorizationRequest, options: WalkOptions) {
    this.#options = options;
    this.#transport = chooseTransport(options);
    this.#lms = new URL(options.lmsUrl).origin;
    this.#authServer = new URL(request.url).origin;
    this.#target = new URL(request.redirectUri);
    this.#jars = new Map([[this.#lms, parseCookieHeader(options.session.cookieHeader)]]);
  }

  /** One request with the cookies of `url`'s origin (and the form, posted), keeping what it sets. */
  async send(url: URL, form: URLSearchParams | undefined): Promise<TimedAnswer> {
    const jar = this.#jars.get(url.origin) ?? new Map<string, string>();
    this.#jars.set(url.origin, jar);
    const headers: Record<string, string> = {
      cookie: serialize(jar),
      'user-agent': this.#options.session.userAgent,
    };
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = url.origin;
    }
    const answer = await exchange(this.#transport, url, {
      method: form ? 'POST' : 'GET',
      headers,
      ...(form ? { body: form.toString() } : {}),
      timeoutMs: this.#options.timeoutMs ?? 20_000,
    });
    for (const line of answer.headers.getSetCookie()) storeCookie(jar, line);
    return answer;
  }

  isRedirectUri(next: URL): boolean {
    return next.origin === this.#target.origin && next.pathname === this.#target.pathname;
  }

  /** The LMS's answer at the redirect URI; a refusal right after certharvest allowed the app is an error. */
  answered(next: URL): string {
    if (this.#consentedAt && next.searchParams.get('error') === 'access_denied') {
      throw new ConsentRequiredError(
        'denied',
        this.#consentedAt,
        `the LMS turned the app down (access_denied) after certharvest allowed it at ${this.#consentedAt} as the service user`,
      );
    }
    return next.href;
  }

  /** Only the LMS and its authorization server are walked to: no third origin gets a request. */
  assertAllowed(next: URL): void {
    if (next.origin === this.#lms || next.origin === this.#authServer) return;
    throw new AuthorizationFailedError(
      `the authorization through the web session was redirected to ${next.origin}, outside the LMS and its authorization server; ` +
        'an SSO tenant needs `certharvest auth bootstrap` in a browser',
    );
  }

  /** A page that is not a redirect: the login (logged out), the consent form (allowed once), or an error. */
  async page(answer: TimedAnswer): Promise<'logged-out' | ConsentSubmission> {
    const { status } = answer;
    const url = answer.url;
    const body = status === 200 ? await readPage(answer) : (await answer.discard(), '');
    if (looksLikeLogin(url, body)) return 'logged-out';
    const page = `${url.origin}${url.pathname}`;
    const descriptor = this.#options.consent;
    const consent = descriptor && status === 200 ? findConsentForm(body, url, descriptor) : undefined;
    if (consent) return this.#allow(consent, page);
    if (descriptor && status === 200) {
      throw new ConsentRequiredError(
        'unknown-page',
        page,
        `the authorization through the web session stopped at ${page} (HTTP 200), a page that is neither the LMS's login nor its consent form`,
      );
    }
    throw new AuthorizationFailedError(
      `the authorization through the web session stopped at ${page} (HTTP ${status}) ` +
        'instead of returning to the redirect URI: grant the app consent once as the service user ' +
        '(`certharvest auth bootstrap`), and check that OAUTH_REDIRECT_URI is the registered one',
    );
  }

  /** Allow the app once, as the service user would; a second prompt, or a form posting elsewhere, stops. */
  #allow(consent: ConsentSubmission, page: string): ConsentSubmission {
    if (this.#consentedAt) {
      throw new ConsentRequiredError(
        'asked-again',
        page,
        `the LMS asked for consent again at ${page} after certharvest allowed the app once as the service user`,
      );
    }
    if (consent.action.origin !== new URL(page).origin) {
      throw new ConsentRequiredError(
        'unknown-page',
        page,
        `the consent form at ${page} posts to ${consent.action.origin}, another host: certharvest sends the session's cookies to none`,
      );
    }
    this.#options.logger?.info(
      { event: 'auth:consent', page },
      'the LMS asked for consent: allowed the app once as the service user',
    );
    this.#consentedAt = page;
    return consent;
  }
}

/** A consent form filled in as a click on "Allow" would send it. */
type ConsentSubmission = { action: URL; method: 'GET' | 'POST'; fields: URLSearchParams };

/**
 * The consent form on this page, ready to submit as a browser would after a click on "Allow":
 * its fields (hidden ones included: a CSRF token, the request's parameters) plus the allow
 * button's name and value. Undefined when the page is not the consent page.
 */
export function findConsentForm(
  html: string,
  pageUrl: URL,
  descriptor: ConsentForm,
): ConsentSubmission | undefined {
  const $ = load(html);
  const form = $(descriptor.formSelector).first();
  if (form.length === 0 || !form.is('form')) return undefined;
  const allow = form.find(descriptor.allowSelector).first();
  if (allow.length === 0) return undefined;
  if (descriptor.denySelector && form.find(descriptor.denySelector).length === 0) return undefined;
  const fields = new URLSearchParams();
  form.find('input, select, textarea').each((_i, el) => {
    const field = $(el);
    const name = field.attr('name');
    if (!name || field.is('[disabled]')) return;
    if (field.is('select')) {
      const option = field.find('option[selected]').first().length
        ? field.find('option[selected]').first()
        : field.find('option').first();
      if (option.length) fields.append(name, option.attr('value') ?? option.text());
      return;
    }
    if (field.is('textarea')) {
      fields.append(name, field.text());
      return;
    }
    const type = (field.attr('type') ?? 'text').toLowerCase();
    if (['submit', 'button', 'image', 'reset', 'file'].includes(type)) return;
    if ((type === 'checkbox' || type === 'radio') && !field.is('[checked]')) return;
    fields.append(name, field.attr('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : ''));
  });
  const buttonName = allow.attr('name');
  if (buttonName) fields.append(buttonName, allow.attr('value') ?? '');
  const action = new URL(form.attr('action') || pageUrl.href, pageUrl);
  const method = (form.attr('method') ?? 'get').toLowerCase() === 'post' ? 'POST' : 'GET';
  // A GET form replaces the action's query with its fields, as a browser does.
  if (method === 'GET') action.search = fields.toString();
  return { action, method, fields };
}

/** A login form (a password field) or a login path: the session is not logged in. */
function looksLikeLogin(url: URL, body: string): boolean {
  return /\/login\b/i.test(url.pathname) || /<input[^>]+type\s*=\s*["']?password/i.test(body);
}

/** The first 256 KiB of a page, as text: enough for a login or a consent form. */
async function readPage(answer: TimedAnswer, limit = 256 * 1024): Promise<string> {
  const chunks = await readFirstChunks(answer, limit, (cause) => cause as Error);
  await answer.discard();
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
  /** The LMS's consent page, answered once as the service user (see `WalkOptions.consent`). */
  consent?: ConsentForm;
  /** Says that consent was given. Default: silent. */
  logger?: Logger;
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
      ...(options.consent ? { consent: options.consent } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  );
  return { request, callback };
}

/**
 * The token provider's `heal`: a new pair through the web session, exchanged at the token
 * endpoint, without a person (a consent page, if the LMS shows one, is answered as in bootstrap).
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
