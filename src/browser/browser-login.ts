import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright';
import type { Logger } from '../log/index.ts';
import { TimeoutError, withTimeout } from '../util/with-timeout.ts';
import { launchChromium } from './chromium.ts';
import { BrowserFailedError, LoginFailedError } from './errors.ts';
import { isLoggedOutUrl, isLoginFailedUrl, type TwoFactorStep, type WebProfile } from './web-profile.ts';

export interface BrowserLoginOptions {
  lmsUrl: string;
  username: string;
  /** A function, so the password is read only when a login needs it. */
  password: () => string;
  logger: Logger;
  chromiumPath?: string | undefined;
  /** The site's web login: the form's path and fields, the landing page, the login and refusal URLs. */
  profile: WebProfile;
  /** Per-operation time limits in ms. Defaults: launch 30 s, login 30 s, close 10 s. */
  timeouts?: Partial<Record<'launch' | 'login' | 'close', number>>;
  /** Close the browser when no login needed it for this long. Default 180 000 ms. */
  idleCloseMs?: number;
  /** The current one-time code of the service user's native two-factor login, when configured. */
  totp?: (() => string) | undefined;
  /** An ES module exporting `login(page, credentials)` that replaces the form fill (SSO tenants). */
  script?: string | undefined;
}

/** What a login script (`LMS_LOGIN_SCRIPT`) receives besides the page. */
export interface LoginScriptCredentials {
  lmsUrl: string;
  username: string;
  password: string;
  /** The current one-time code, or undefined without LMS_TOTP_SECRET. */
  totp: () => string | undefined;
}

/** What a login yields: the cookies for the LMS host and the browser's user agent. */
export interface LoginResult {
  cookies: { name: string; value: string }[];
  userAgent: string;
}

/**
 * The only part of certharvest that drives Chromium: a login. The browser is launched on the first
 * login and closed again when idle; each login uses a fresh context that is closed as soon as its
 * cookies are read. A login counts only when the browser lands on the known landing page.
 */
export class BrowserLogin {
  readonly stats = { launches: 0, logins: 0 };
  readonly #opts: BrowserLoginOptions;
  readonly #timeouts: Record<'launch' | 'login' | 'close', number>;
  #browser: Browser | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: BrowserLoginOptions) {
    this.#opts = options;
    this.#timeouts = { launch: 30_000, login: 30_000, close: 10_000, ...options.timeouts };
  }

  /** Whether a browser is running now (a worker that never logs in never starts one). */
  get running(): boolean {
    return this.#browser?.isConnected() === true;
  }

  async login(): Promise<LoginResult> {
    this.#cancelIdleClose();
    try {
      const browser = await this.#launch();
      // Every step has its own limit; this one covers a step Playwright never settles (a
      // `newPage()` on a browser killed mid-call can stay pending for good).
      const { launch, login, close } = this.#timeouts;
      return await withTimeout(this.#login(browser), launch + 4 * login + close, 'the login').catch(
        (err: unknown) => {
          if (err instanceof TimeoutError) {
            this.#discard(browser);
            throw new BrowserFailedError(`login did not complete: ${err.message}`, { cause: err });
          }
          throw err;
        },
      );
    } finally {
      this.#scheduleIdleClose();
    }
  }

  /** Close the browser; never hangs (a close that does not finish in time is abandoned). */
  async close(): Promise<void> {
    this.#cancelIdleClose();
    const browser = this.#browser;
    this.#browser = undefined;
    if (browser) await withTimeout(browser.close(), this.#timeouts.close, 'browser close').catch(() => {});
  }

  async #login(browser: Browser): Promise<LoginResult> {
    const { lmsUrl, username } = this.#opts;
    const context = await withTimeout(
      browser.newContext({ acceptDownloads: false }),
      this.#timeouts.launch,
      'new context',
    ).catch((err: unknown) => {
      this.#discard(browser);
      throw new BrowserFailedError(`login did not start: ${(err as Error).message.split('\n')[0]}`, {
        cause: err,
      });
    });
    const { profile } = this.#opts;
    const selectors = profile.selectors;
    const loginUrl = new URL(profile.loginPath, `${lmsUrl}/`).toString();
    try {
      const page = await withTimeout(context.newPage(), this.#timeouts.launch, 'new page');
      const timeout = this.#timeouts.login;
      if (this.#opts.script) {
        await this.#runScript(page, this.#opts.script, timeout);
      } else {
        await page.goto(loginUrl, { timeout, waitUntil: 'domcontentloaded' });
        await page.waitForSelector(selectors.username, { timeout: Math.min(timeout, 5_000) }).catch(() => {
          throw new LoginFailedError(
            `the login page ${new URL(page.url()).pathname} has no field ${selectors.username} ` +
              '(an SSO redirect? set LMS_LOGIN_URL to the local form, the LMS_LOGIN_*_SELECTOR variables, or LMS_LOGIN_SCRIPT)',
            'LOGIN_PAGE_UNKNOWN',
          );
        });
        await page.fill(selectors.username, username, { timeout });
        await page.fill(selectors.password, this.#opts.password(), { timeout });
        await Promise.all([
          page.waitForURL(
            (u) => !this.#isLoginFormUrl(u.toString()) || this.#isLoginFailedUrl(u.toString()),
            { timeout, waitUntil: 'domcontentloaded' },
          ),
          page.click(selectors.submit, { timeout }),
        ]);
      }
      if (profile.twoFactor?.urlPattern.test(page.url()))
        await this.#twoFactor(page, profile.twoFactor, timeout);
      const landed = page.url();
      if (this.#isLoginFailedUrl(landed) || this.#isLoginFormUrl(landed)) {
        throw new LoginFailedError(`the LMS answered ${new URL(landed).pathname}`);
      }
      // Leaving the form is not success: a two-factor step, terms of use or a password-change
      // prompt also leave it. Only the known landing page counts.
      const landing = profile.landingPath;
      if (!new URL(landed).pathname.startsWith(landing)) {
        throw new LoginFailedError(
          `the login stopped at ${new URL(landed).pathname}, not at the landing page ${landing} ` +
            '(a two-factor step, terms of use or a password-change prompt? set LMS_LOGIN_LANDING if the landing page differs)',
        );
      }
      const cookies = (await withTimeout(context.cookies(lmsUrl), timeout, 'reading the cookies')).map(
        (c) => ({ name: c.name, value: c.value }),
      );
      const userAgent = await withTimeout(
        page.evaluate(() => navigator.userAgent),
        timeout,
        'reading the user agent',
      );
      this.stats.logins++;
      return { cookies, userAgent };
    } catch (err) {
      if (err instanceof LoginFailedError) throw err;
      // A browser that failed a step is not trusted with the next login: after a crash Playwright
      // may still call it connected while its calls never settle.
      this.#discard(browser);
      throw new BrowserFailedError(`login did not complete: ${(err as Error).message.split('\n')[0]}`, {
        cause: err,
      });
    } finally {
      await withTimeout(context.close(), this.#timeouts.close, 'context close').catch(() => {});
    }
  }

  /** The site's native two-factor step: fill the current code, or stop with what to configure. */
  async #twoFactor(page: Page, step: TwoFactorStep, timeout: number): Promise<void> {
    const totp = this.#opts.totp;
    if (!totp) {
      throw new LoginFailedError(
        "the LMS asks for a two-factor code (native two-factor is on for the service user): set LMS_TOTP_SECRET to the base32 secret of the service user's authenticator, or turn two-factor off for it",
        'LOGIN_TWO_FACTOR_REQUIRED',
      );
    }
    await page.fill(step.codeSelector, totp(), { timeout });
    await Promise.all([
      page.waitForURL((u) => !step.urlPattern.test(u.toString()), {
        timeout,
        waitUntil: 'domcontentloaded',
      }),
      page.click(step.submitSelector, { timeout }),
    ]).catch((err: unknown) => {
      if (step.urlPattern.test(page.url())) {
        throw new LoginFailedError(
          'the LMS refused the two-factor code (is LMS_TOTP_SECRET right, and the clock of this machine?)',
          'LOGIN_TWO_FACTOR_REFUSED',
        );
      }
      throw err;
    });
  }

  /** `LMS_LOGIN_SCRIPT`: the institution's own login steps (SSO/SAML), run in the same guarded login. */
  async #runScript(page: Page, script: string, timeout: number): Promise<void> {
    const mod = (await import(pathToFileURL(path.resolve(script)).href)) as { login?: unknown };
    if (typeof mod.login !== 'function') {
      throw new LoginFailedError(`LMS_LOGIN_SCRIPT ${script} exports no login(page, credentials) function`);
    }
    const credentials: LoginScriptCredentials = {
      lmsUrl: this.#opts.lmsUrl,
      username: this.#opts.username,
      password: this.#opts.password(),
      totp: () => this.#opts.totp?.(),
    };
    await withTimeout(
      Promise.resolve((mod.login as (p: Page, c: LoginScriptCredentials) => unknown)(page, credentials)),
      timeout * 2,
      'the login script',
    );
  }

  /** Stop using `browser`: the next login launches a new one; closing it never waits. */
  #discard(browser: Browser): void {
    if (this.#browser === browser) this.#browser = undefined;
    void withTimeout(browser.close(), this.#timeouts.close, 'browser close').catch(() => {});
  }

  async #launch(): Promise<Browser> {
    if (this.#browser?.isConnected()) return this.#browser;
    const browser = await launchChromium(this.#opts.chromiumPath, this.#timeouts.launch);
    this.stats.launches++;
    browser.on('disconnected', () => {
      if (this.#browser === browser) {
        this.#opts.logger.warn('the browser disconnected; it is launched again for the next login');
        this.#browser = undefined;
      }
    });
    this.#browser = browser;
    return browser;
  }

  #scheduleIdleClose(): void {
    this.#cancelIdleClose();
    this.#idleTimer = setTimeout(() => {
      this.#opts.logger.debug('closing the idle browser');
      void this.close();
    }, this.#opts.idleCloseMs ?? 180_000);
    this.#idleTimer.unref();
  }

  #cancelIdleClose(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #isLoginFormUrl(url: string): boolean {
    return isLoggedOutUrl(this.#opts.profile, url) && !this.#isLoginFailedUrl(url);
  }

  #isLoginFailedUrl(url: string): boolean {
    return isLoginFailedUrl(this.#opts.profile, url);
  }
}
