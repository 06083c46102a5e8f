import type { PdfResponseFacts, PdfSink } from '../pdf/index.ts';
import { runExclusive, type RedisLock } from '../auth/redis-lock.ts';
import type { Logger } from '../log/index.ts';
import type { BrowserLogin } from './browser-login.ts';
import {
  BrowserFailedError,
  CertificateForbiddenError,
  CertificateHttpError,
  LoginFailedError,
  SessionExpiredError,
} from './errors.ts';
import {
  answersAsLoggedIn,
  cookieHeader,
  fetchWithSession,
  sessionStatus,
  type SessionCredentials,
} from './session-fetch.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';
import type { WebProfile } from './web-profile.ts';

export interface WebSessionOptions {
  /** LMS base URL, e.g. https://school.brightspace.com */
  lmsUrl: string;
  /** Does the Chromium login when the fleet needs a new session. */
  login: BrowserLogin;
  /** The fleet's session, sealed in Redis. */
  store: SessionStore;
  /** Admits one login at a time across the fleet (on `store.lockKey`). */
  lock: RedisLock;
  logger: Logger;
  /** Largest certificate accepted (MAX_PDF_BYTES). */
  maxPdfBytes: number;
  /**
   * The site's web login: its landing page (probed to tell "expired" from "forbidden"), the URLs
   * that mean "logged out" and the request that extends an idle session.
   */
  profile: Pick<WebProfile, 'landingPath' | 'loggedOutPaths' | 'extend'>;
  /** How long a worker waits for another worker's login. Default 90 000 ms. */
  loginWaitMs?: number;
  /** Fleet-wide guard against posting a refused password again. */
  loginGate?: LoginGate;
  /**
   * Told of every download request with the session (route `render`): its outcome and time, for
   * the LMS request metrics. A failing observer never fails a download.
   */
  observe?: (route: 'render', outcome: SessionRequestOutcome, seconds: number) => void;
  /** A fetch-compatible function for the session's page requests (tests). Default: the process's undici pool (src/http). */
  fetch?: typeof fetch;
}

/**
 * `heldBack()` returns an error while logins are held back (the LMS refused the password);
 * `refused()` is told before the refusal reaches any caller.
 */
export interface LoginGate {
  heldBack(): Promise<LoginFailedError | undefined>;
  refused(error: LoginFailedError): Promise<void>;
}

export interface WebSessionStats {
  /** Chromium launches by this process. */
  readonly launches: number;
  /** Logins this process did for the fleet. */
  logins: number;
  downloads: number;
  expiredAnswers: number;
}

/** How a session download ended, for the metrics (the LMS request outcomes' names). */
export type SessionRequestOutcome =
  'ok' | 'client-error' | 'unauthorized' | 'throttled' | 'server-error' | 'network';
const OUTCOME_OF: Partial<Record<string, SessionRequestOutcome>> = {
  pdf: 'ok',
  expired: 'unauthorized',
  ambiguous: 'client-error',
  throttled: 'throttled',
};

/** Sessions one download may go through before it gives up (and BullMQ retries it later). */
const MAX_SESSION_ATTEMPTS = 3;

/**
 * The fleet's one web session. Chromium logs in (in one process of the fleet, under a Redis lock);
 * the cookies are sealed into Redis with a generation number; every worker downloads with them
 * over plain HTTP. A download that meets an expired session asks for the generation after the one
 * it used: the first process to ask logs in, the others wait for that generation and reuse it. A
 * worker that never needs a login never starts Chromium.
 */
export class WebSession {
  readonly stats: WebSessionStats;
  readonly #opts: WebSessionOptions;
  #cached: SessionRecord | undefined;
  #renewing: Promise<SessionRecord> | undefined;

  constructor(options: WebSessionOptions) {
    this.#opts = options;
    const login = options.login;
    this.stats = {
      get launches() {
        return login.stats.launches;
      },
      logins: 0,
      downloads: 0,
      expiredAnswers: 0,
    };
  }

  /**
   * Fetch a session-only URL that should answer a PDF. An expired session is renewed (once for the
   * fleet) and the request retried; a 401/403 page is probed: if the session still works, this
   * certificate is forbidden to the service user (`CertificateForbiddenError`). The PDF's body is
   * streamed into `sink`.
   */
  async fetchPdf(
    url: string,
    sink: PdfSink,
    log: (line: string) => void = () => {},
  ): Promise<PdfResponseFacts> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.#current(log);
      const started = Date.now();
      const answer = await fetchWithSession(url, credentials(session), {
        sink,
        maxBytes: this.#opts.maxPdfBytes,
        loggedOutPaths: this.#opts.profile.loggedOutPaths,
      }).catch((err: unknown) => {
        this.#observed('network', started);
        throw err;
      });
      this.#observed(
        answer.kind === 'error'
          ? answer.status >= 500
            ? 'server-error'
            : 'client-error'
          : (OUTCOME_OF[answer.kind] ?? 'client-error'),
        started,
      );
      this.stats.downloads++;
      if (answer.kind === 'pdf') {
        return { contentType: answer.contentType, contentLength: answer.contentLength };
      }
      if (answer.kind === 'throttled' || answer.kind === 'error') {
        throw new CertificateHttpError(answer.status, url, answer.retryAfterSeconds);
      }
      if (answer.kind === 'ambiguous' && (await this.#stillLoggedIn(session))) {
        throw new CertificateForbiddenError(url, answer.status);
      }
      this.stats.expiredAnswers++;
      if (attempt >= MAX_SESSION_ATTEMPTS) {
        throw new SessionExpiredError(
          `the LMS refused ${attempt} sessions in a row for ${new URL(url).pathname} (${answer.status})`,
        );
      }
      log(`the web session (generation ${session.generation}) expired; asking the fleet for a new one`);
      await this.#renew(session.generation, log);
    }
  }

  /**
   * Log in now, even while the gate holds logins back (the start-up probe after an operator fixed
   * the password), and share the new session with the fleet.
   */
  async probeLogin(): Promise<void> {
    const stored = await this.#opts.store.read();
    this.#cached = undefined;
    await this.#renewFleetWide(stored?.generation ?? 0, () => {}, { bypassGate: true });
  }

  /**
   * Run `use` with the fleet's session (logging in for the fleet when there is none). When `use`
   * says the session is logged out, it is renewed once for the fleet and `use` runs again; a fresh
   * session that is logged out too is a SessionExpiredError.
   */
  async withSession<T>(
    use: (session: SessionCredentials) => Promise<T | 'logged-out'>,
    log: (line: string) => void = () => {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.#current(log);
      const result = await use(credentials(session));
      if (result !== 'logged-out') return result;
      if (attempt >= 2) {
        throw new SessionExpiredError('the LMS asked a freshly logged-in web session to log in again');
      }
      await this.#renew(session.generation, log);
    }
  }

  /**
   * Keep the session from idling out (the profile's `extend` request) with its cookies.
   * Returns false when there is no session or the LMS did not take it (it is renewed on demand).
   */
  async extend(): Promise<boolean> {
    const session = this.#cached ?? (await this.#opts.store.read().catch(() => undefined));
    if (!session) return false;
    const extend = this.#opts.profile.extend;
    const status = await sessionStatus(this.#opts.lmsUrl, extend.path, credentials(session), {
      method: extend.method,
      ...(this.#opts.fetch ? { fetch: this.#opts.fetch } : {}),
    });
    return status !== undefined && status >= 200 && status < 300;
  }

  /** Close the browser, if one runs. */
  async close(): Promise<void> {
    await this.#opts.login.close();
  }

  async #current(log: (line: string) => void): Promise<SessionRecord> {
    if (this.#cached) return this.#cached;
    const stored = await this.#opts.store.read();
    if (stored) return (this.#cached = stored);
    return this.#renew(0, log);
  }

  /** A session newer than `seenGeneration`: one renewal at a time in this process. */
  #renew(seenGeneration: number, log: (line: string) => void): Promise<SessionRecord> {
    if (this.#cached && this.#cached.generation > seenGeneration) return Promise.resolve(this.#cached);
    this.#renewing ??= this.#renewFleetWide(seenGeneration, log).finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renewFleetWide(
    seenGeneration: number,
    log: (line: string) => void,
    options: { bypassGate?: boolean } = {},
  ): Promise<SessionRecord> {
    const { store, lock, loginGate, logger } = this.#opts;
    const newer = (record: SessionRecord | undefined) =>
      !options.bypassGate && record !== undefined && record.generation > seenGeneration;
    const ready = async (): Promise<SessionRecord | undefined> => {
      const stored = await store.read();
      if (stored && newer(stored)) return (this.#cached = stored);
      const held = options.bypassGate ? undefined : await loginGate?.heldBack();
      if (held) throw held;
      return undefined;
    };
    const onBusy = () => {
      throw new BrowserFailedError('another worker has been logging in for too long; trying again later');
    };
    return runExclusive(
      lock,
      { waitMs: this.#opts.loginWaitMs ?? 90_000, pollMs: 250, ready, onBusy },
      async () => {
        try {
          const latest = await store.read();
          if (latest && newer(latest)) return (this.#cached = latest);
          const record = await this.#loginOnce(latest?.generation ?? 0);
          await store.write(record);
          this.stats.logins++;
          logger.info({ generation: record.generation }, 'logged in to the LMS web session for the fleet');
          log(`logged in to the LMS web session for the fleet (generation ${record.generation})`);
          return (this.#cached = record);
        } catch (err) {
          // Tell the fleet before anyone else can try: no process posts a refused password again.
          if (err instanceof LoginFailedError) await loginGate?.refused(err).catch(() => {});
          throw err;
        }
      },
    );
  }

  /** One Chromium login, accepted only if the landing page then answers as a logged-in user. */
  async #loginOnce(previousGeneration: number): Promise<SessionRecord> {
    const result = await this.#opts.login.login();
    const record: SessionRecord = {
      v: 1,
      generation: previousGeneration + 1,
      cookies: result.cookies,
      userAgent: result.userAgent,
      obtainedAt: Date.now(),
      source: 'login',
    };
    if (!(await this.#stillLoggedIn(record))) {
      throw new LoginFailedError(
        `the login reached ${this.#landingPath()}, but a request with its cookies was not answered as a logged-in user`,
      );
    }
    return record;
  }

  /** GET the landing page with the session: 200 means the session is alive. */
  #stillLoggedIn(session: SessionRecord): Promise<boolean> {
    return answersAsLoggedIn(this.#opts.lmsUrl, this.#landingPath(), credentials(session), this.#opts.fetch);
  }

  #observed(outcome: SessionRequestOutcome, started: number): void {
    try {
      this.#opts.observe?.('render', outcome, (Date.now() - started) / 1000);
    } catch {
      // a failing observer never fails a download
    }
  }

  #landingPath(): string {
    return this.#opts.profile.landingPath;
  }
}

export function credentials(session: SessionRecord): SessionCredentials {
  return { cookieHeader: cookieHeader(session.cookies), userAgent: session.userAgent };
}
