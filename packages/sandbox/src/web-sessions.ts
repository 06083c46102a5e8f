import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KnobBox } from './knobs.ts';
import type { SandboxStats } from './stats.ts';

export const SESSION_COOKIE = 'd2lSessionVal';
export const SECURE_SESSION_COOKIE = 'd2lSecureSessionVal';
/** [I] Carries a login between the password and the session (two-factor step); never a session. */
export const PENDING_LOGIN_COOKIE = 'd2lPendingLogin';

interface WebSession {
  userId: number;
  secureVal: string;
  lastSeen: number;
  requests: number;
  /** Not usable until the terms-of-use page is accepted (`termsInterstitial`). */
  termsPending: boolean;
  /** Where the login was headed, for after the terms page. */
  target: string | undefined;
}

/**
 * The web UI's login sessions, keyed by the `d2lSessionVal` cookie. [I] A request is
 * authenticated only when both cookies are present and belong together (clients are seen sending
 * both). A session ends after `sessionIdleSeconds` without a request, or on the request after its
 * `sessionMaxRequests`-th authenticated one. Expiry is checked when a session is used: no timers.
 * A session created with `termsPending` authenticates nothing until `acceptTerms`.
 */
export class WebSessionStore {
  readonly #sessions = new Map<string, WebSession>();
  readonly #knobs: KnobBox;
  readonly #stats: SandboxStats;

  constructor(knobs: KnobBox, stats: SandboxStats) {
    this.#knobs = knobs;
    this.#stats = stats;
  }

  /** Start a session; returns the two cookie values. */
  create(
    userId: number,
    options: { termsPending?: boolean; target?: string | undefined } = {},
  ): { sessionVal: string; secureVal: string } {
    const sessionVal = randomBytes(18).toString('base64url');
    const secureVal = randomBytes(18).toString('base64url');
    this.#forgetIdle();
    this.#sessions.set(sessionVal, {
      userId,
      secureVal,
      lastSeen: Date.now(),
      requests: 0,
      termsPending: options.termsPending ?? false,
      target: options.target,
    });
    return { sessionVal, secureVal };
  }

  /**
   * The user id of the request's live session, counting this request against it; undefined when
   * there is none (missing, unknown, idle too long, out of requests, or awaiting the terms).
   */
  authenticate(req: IncomingMessage): number | undefined {
    const session = this.#find(req);
    if (!session || session.termsPending) return undefined;
    session.requests++;
    session.lastSeen = Date.now();
    return session.userId;
  }

  /** The user id of the request's session if it is waiting for the terms to be accepted. */
  awaitingTerms(req: IncomingMessage): number | undefined {
    const session = this.#find(req);
    return session?.termsPending ? session.userId : undefined;
  }

  /**
   * Accept the terms for the request's waiting session, which becomes usable; returns where the
   * login was headed (undefined: home), or false when no session was waiting.
   */
  acceptTerms(req: IncomingMessage): { target: string | undefined } | false {
    const session = this.#find(req);
    if (!session?.termsPending) return false;
    session.termsPending = false;
    session.lastSeen = Date.now();
    return { target: session.target };
  }

  /** The request's session, ending it (and counting why) if it has expired; uncounted use. */
  #find(req: IncomingMessage): WebSession | undefined {
    const cookies = parseCookies(req.headers.cookie);
    const sessionVal = cookies.get(SESSION_COOKIE);
    if (!sessionVal) return undefined;
    const session = this.#sessions.get(sessionVal);
    if (!session || cookies.get(SECURE_SESSION_COOKIE) !== session.secureVal) return undefined;
    const { sessionIdleSeconds, sessionMaxRequests } = this.#knobs.current;
    if (Date.now() - session.lastSeen > sessionIdleSeconds * 1000) {
      this.#sessions.delete(sessionVal);
      this.#stats.sessionsExpired.idle++;
      return undefined;
    }
    if (sessionMaxRequests > 0 && session.requests >= sessionMaxRequests) {
      this.#sessions.delete(sessionVal);
      this.#stats.sessionsExpired.maxRequests++;
      return undefined;
    }
    return session;
  }

  /** Log out: forget the request's session, if any. */
  destroy(req: IncomingMessage): void {
    const sessionVal = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (sessionVal) this.#sessions.delete(sessionVal);
  }

  /** Logins are rare, so each one drops the sessions nobody came back to. */
  #forgetIdle(): void {
    const cutoff = Date.now() - this.#knobs.current.sessionIdleSeconds * 1000;
    for (const [val, session] of this.#sessions) if (session.lastSeen < cutoff) this.#sessions.delete(val);
  }
}

interface PendingLogin {
  userId: number;
  target: string | undefined;
  /** The two-factor code was right; `ProcessLoginActions.d2l` may now start the session. */
  verified: boolean;
  created: number;
}

/** [I] A login's two-factor step may take this long, from the password on. */
const PENDING_LOGIN_MS = 5 * 60_000;

/**
 * Logins that passed the password and wait for their two-factor code, keyed by the
 * `d2lPendingLogin` cookie. They authenticate nothing; the session starts only after the code.
 */
export class PendingLoginStore {
  readonly #pending = new Map<string, PendingLogin>();

  /** Start a pending login; returns its cookie value. */
  create(userId: number, target: string | undefined): string {
    const now = Date.now();
    for (const [val, login] of this.#pending)
      if (now - login.created > PENDING_LOGIN_MS) this.#pending.delete(val);
    const val = randomBytes(18).toString('base64url');
    this.#pending.set(val, { userId, target, verified: false, created: now });
    return val;
  }

  /** The request's pending login, if any and not too old. */
  get(req: IncomingMessage): PendingLogin | undefined {
    const val = parseCookies(req.headers.cookie).get(PENDING_LOGIN_COOKIE);
    const login = val === undefined ? undefined : this.#pending.get(val);
    if (!login || Date.now() - login.created > PENDING_LOGIN_MS) return undefined;
    return login;
  }

  /** Forget the request's pending login (it became a session). */
  delete(req: IncomingMessage): void {
    const val = parseCookies(req.headers.cookie).get(PENDING_LOGIN_COOKIE);
    if (val !== undefined) this.#pending.delete(val);
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
