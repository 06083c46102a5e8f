import type { Browser, BrowserContext } from 'playwright';
import { parseRetryAfter } from '../lms/rate-budget.ts';
import type { Logger } from '../log/index.ts';
import { looksLikeHtml } from '../pdf/index.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { launchChromium } from './chromium.ts';
import { BrowserFailedError, CertificateHttpError, LoginFailedError, SessionExpiredError } from './errors.ts';

/** CSS selectors of the LMS login form. Defaults match Brightspace's local login page. */
export interface LoginSelectors {
  /** Default `input[name="userName"]`. */
  username: string;
  /** Default `input[name="password"]`. */
  password: string;
  /** Default `button[type="submit"], input[type="submit"]`. */
  submit: string;
}

export const BRIGHTSPACE_LOGIN_SELECTORS: LoginSelectors = {
  username: 'input[name="userName"]',
  password: 'input[name="password"]',
  submit: 'button[type="submit"], input[type="submit"]',
};

export interface WebSessionOptions {
  /** LMS base URL, e.g. https://school.brightspace.com */
  lmsUrl: string;
  username: string;
  /** A function, so the password is read only when a login needs it. */
  password: () => string;
  logger: Logger;
  chromiumPath?: string | undefined;
  /** Path of the login form; default `/d2l/login?noredirect=1` (local form, not SSO). */
  loginPath?: string;
  /** Path the browser lands on after a successful login; default `/d2l/home`. */
  landingPath?: string;
  /** URL fragments that mean "this is the login page"; default Brightspace's. */
  loginUrlPatterns?: readonly RegExp[];
  /** URL fragments that mean "the login was refused". */
  loginFailedPatterns?: readonly RegExp[];
  selectors?: LoginSelectors;
  /** Per-operation time limits in ms. Defaults: launch 30 s, login 30 s, request 60 s, close 10 s. */
  timeouts?: Partial<Record<'launch' | 'login' | 'request' | 'close', number>>;
  /** Start a fresh context (new cookies, freed memory) after this many downloads; default 2000. */
  recycleAfter?: number;
  /**
   * Fleet-wide guard against posting a refused password again: `heldBack()` returns an error while
   * logins are held back (the fleet is paused for a refused login); `refused()` is told before the
   * refusal reaches any caller.
   */
  loginGate?: LoginGate;
}

export interface LoginGate {
  heldBack(): Promise<LoginFailedError | undefined>;
  refused(error: LoginFailedError): Promise<void>;
}

export interface FetchedPdf {
  bytes: Buffer;
  contentType: string | undefined;
  contentLength: number | undefined;
}

export interface WebSessionStats {
  launches: number;
  logins: number;
  downloads: number;
  expiredAnswers: number;
}

const DEFAULT_LANDING_PATH = '/d2l/home';

/** Logins one download may wait for before it gives up (and BullMQ retries it later). */
const MAX_SESSION_ATTEMPTS = 3;

const DEFAULT_LOGIN_URL_PATTERNS = [/\/d2l\/login\b/, /\/d2l\/lp\/auth\/login\//, /\/d2l\/lp\/auth\/saml\//];
const DEFAULT_LOGIN_FAILED_PATTERNS = [/loginFailed\.d2l/i];

/**
 * The worker's one logged-in browser session: one Chromium, one context, logged in by filling the
 * service user's form. Downloads go through `context.request`, which shares the context's cookies
 * without rendering a page. When the LMS answers the login page, the session is re-established
 * once for every job of this process that saw the same session die (single-flight by generation).
 */
export class WebSession {
  readonly stats: WebSessionStats = { launches: 0, logins: 0, downloads: 0, expiredAnswers: 0 };
  readonly #opts: WebSessionOptions;
  readonly #timeouts: Record<'launch' | 'login' | 'request' | 'close', number>;
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;
  /** Bumped after each successful login; a job remembers which session it used. */
  #generation = 0;
  #loggingIn: Promise<void> | undefined;
  #downloadsInContext = 0;
  #closed = false;

  constructor(options: WebSessionOptions) {
    this.#opts = options;
    this.#timeouts = { launch: 30_000, login: 30_000, request: 60_000, close: 10_000, ...options.timeouts };
  }

  /**
   * Fetch a session-only URL that should answer a PDF. A login page answer triggers one re-login
   * (shared with concurrent callers) and one retry; a second login page is a `SessionExpiredError`.
   */
  async fetchPdf(url: string, log: (line: string) => void = () => {}): Promise<FetchedPdf> {
    for (let attempt = 1; ; attempt++) {
      const generation = await this.#ready(log);
      const context = this.#context;
      if (!context) throw new BrowserFailedError('no browser context after login');
      let response;
      try {
        response = await withTimeout(
          context.request.get(url, { failOnStatusCode: false, timeout: this.#timeouts.request }),
          this.#timeouts.request + 1_000,
          'certificate request',
        );
      } catch (err) {
        if (!this.#browser?.isConnected()) this.#forgetBrowser();
        throw new BrowserFailedError(`request failed: ${(err as Error).message.split('\n')[0]}`, {
          cause: err,
        });
      }
      const status = response.status();
      const headers = response.headers();
      const contentType = headers['content-type'];
      const finalUrl = response.url();
      const body = await response.body();
      // Playwright keeps every response body until the context closes unless it is disposed.
      await response.dispose().catch(() => {});
      this.stats.downloads++;
      this.#downloadsInContext++;
      if (status === 200 && !this.#isLoginUrl(finalUrl) && !looksLikeHtml(body, contentType)) {
        const length = headers['content-length'];
        return { bytes: body, contentType, contentLength: length === undefined ? undefined : Number(length) };
      }
      if (
        (status === 200 && looksLikeHtml(body, contentType)) ||
        this.#isLoginUrl(finalUrl) ||
        status === 401
      ) {
        this.stats.expiredAnswers++;
        // Another job's requests may have used up a short-lived session between our login and our
        // request, so a few re-logins are allowed; past that, something is wrong with the session.
        if (attempt >= MAX_SESSION_ATTEMPTS) {
          throw new SessionExpiredError(
            `login page answered ${attempt} times in a row, each after a fresh login (${status} ${finalUrl})`,
          );
        }
        log('the LMS answered its login page: the session expired; logging in again');
        await this.#relogin(generation, log);
        continue;
      }
      const retryAfterMs = parseRetryAfter(headers['retry-after'] ?? null);
      throw new CertificateHttpError(
        status,
        url,
        retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
      );
    }
  }

  /**
   * Log in now, even while the gate holds logins back (the start-up probe after an operator fixed
   * the password); throws what a download would see.
   */
  async probeLogin(log: (line: string) => void = () => {}): Promise<void> {
    // No generation is newer than infinity: this always logs in (once, shared with concurrent callers).
    await this.#relogin(Number.POSITIVE_INFINITY, log, { bypassGate: true });
  }

  /** Close the browser; never hangs (a close that does not finish in time is abandoned). */
  async close(): Promise<void> {
    this.#closed = true;
    const browser = this.#browser;
    this.#forgetBrowser();
    if (browser) await withTimeout(browser.close(), this.#timeouts.close, 'browser close').catch(() => {});
  }

  /** Ensure a browser and a logged-in context exist; returns the session generation. */
  async #ready(log: (line: string) => void): Promise<number> {
    if (this.#closed) throw new BrowserFailedError('the web session is closed');
    const recycle = this.#opts.recycleAfter ?? 2000;
    if (this.#context && this.#downloadsInContext >= recycle && !this.#loggingIn) {
      this.#opts.logger.info({ downloads: this.#downloadsInContext }, 'recycling the browser context');
      const old = this.#context;
      this.#context = undefined;
      await withTimeout(old.close(), this.#timeouts.close, 'context close').catch(() => {});
    }
    if (this.#context && this.#browser?.isConnected()) return this.#generation;
    await this.#relogin(this.#generation, log);
    return this.#generation;
  }

  async #relogin(
    seenGeneration: number,
    log: (line: string) => void,
    options: { bypassGate?: boolean } = {},
  ): Promise<void> {
    // Someone already logged in again after the session this caller saw die.
    if (this.#generation > seenGeneration && this.#context) return;
    if (!this.#loggingIn) {
      const gate = this.#opts.loginGate;
      this.#loggingIn = (async () => {
        const held = options.bypassGate ? undefined : await gate?.heldBack();
        if (held) throw held;
        try {
          await this.#login(log);
        } catch (err) {
          // Tell the fleet before anyone else can try: no process posts a refused password again.
          if (err instanceof LoginFailedError) await gate?.refused(err).catch(() => {});
          throw err;
        }
      })().finally(() => (this.#loggingIn = undefined));
    }
    await this.#loggingIn;
  }

  async #login(log: (line: string) => void): Promise<void> {
    const { logger, lmsUrl, username } = this.#opts;
    const browser = await this.#launch();
    const oldContext = this.#context;
    this.#context = undefined;
    if (oldContext)
      await withTimeout(oldContext.close(), this.#timeouts.close, 'context close').catch(() => {});
    const context = await withTimeout(
      browser.newContext({ acceptDownloads: false }),
      this.#timeouts.launch,
      'new context',
    );
    const selectors = this.#opts.selectors ?? BRIGHTSPACE_LOGIN_SELECTORS;
    const loginUrl = new URL(this.#opts.loginPath ?? '/d2l/login?noredirect=1', `${lmsUrl}/`).toString();
    const page = await context.newPage();
    try {
      const timeout = this.#timeouts.login;
      await page.goto(loginUrl, { timeout, waitUntil: 'domcontentloaded' });
      await page.fill(selectors.username, username, { timeout });
      await page.fill(selectors.password, this.#opts.password(), { timeout });
      await Promise.all([
        page.waitForURL((u) => !this.#isLoginFormUrl(u.toString()) || this.#isLoginFailedUrl(u.toString()), {
          timeout,
          waitUntil: 'domcontentloaded',
        }),
        page.click(selectors.submit, { timeout }),
      ]);
      const landed = page.url();
      if (this.#isLoginFailedUrl(landed) || this.#isLoginFormUrl(landed)) {
        throw new LoginFailedError(`the LMS answered ${new URL(landed).pathname}`);
      }
      // Leaving the form is not success: a two-factor step, terms of use or a password-change
      // prompt also leave it. Only the known landing page counts.
      const landing = this.#opts.landingPath ?? DEFAULT_LANDING_PATH;
      if (!new URL(landed).pathname.startsWith(landing)) {
        throw new LoginFailedError(
          `the login stopped at ${new URL(landed).pathname}, not at the landing page ${landing} ` +
            '(a two-factor step, terms of use or a password-change prompt? set LMS_LOGIN_LANDING if the landing page differs)',
        );
      }
    } catch (err) {
      await withTimeout(context.close(), this.#timeouts.close, 'context close').catch(() => {});
      if (err instanceof LoginFailedError) throw err;
      throw new BrowserFailedError(`login did not complete: ${(err as Error).message.split('\n')[0]}`, {
        cause: err,
      });
    } finally {
      await page.close().catch(() => {});
    }
    this.#context = context;
    this.#downloadsInContext = 0;
    this.#generation++;
    this.stats.logins++;
    logger.info(
      { generation: this.#generation, logins: this.stats.logins },
      'logged in to the LMS web session',
    );
    log(`logged in to the LMS web session (login #${this.stats.logins} of this worker)`);
  }

  async #launch(): Promise<Browser> {
    if (this.#browser?.isConnected()) return this.#browser;
    this.#forgetBrowser();
    const browser = await launchChromium(this.#opts.chromiumPath, this.#timeouts.launch);
    this.stats.launches++;
    browser.on('disconnected', () => {
      if (this.#browser === browser) {
        this.#opts.logger.warn('the browser disconnected; it will be relaunched on the next download');
        this.#forgetBrowser();
      }
    });
    this.#browser = browser;
    return browser;
  }

  #forgetBrowser(): void {
    this.#browser = undefined;
    this.#context = undefined;
  }

  #isLoginUrl(url: string): boolean {
    return (this.#opts.loginUrlPatterns ?? DEFAULT_LOGIN_URL_PATTERNS).some((p) => p.test(url));
  }

  #isLoginFormUrl(url: string): boolean {
    return this.#isLoginUrl(url) && !this.#isLoginFailedUrl(url);
  }

  #isLoginFailedUrl(url: string): boolean {
    return (this.#opts.loginFailedPatterns ?? DEFAULT_LOGIN_FAILED_PATTERNS).some((p) => p.test(url));
  }
}
