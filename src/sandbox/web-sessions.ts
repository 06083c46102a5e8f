import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KnobBox } from './knobs.ts';
import type { SandboxStats } from './stats.ts';

export const SESSION_COOKIE = 'd2lSessionVal';
export const SECURE_SESSION_COOKIE = 'd2lSecureSessionVal';

interface WebSession {
  userId: number;
  secureVal: string;
  lastSeen: number;
  requests: number;
}

/**
 * The web UI's login sessions, keyed by the `d2lSessionVal` cookie. [I] A request is
 * authenticated only when both cookies are present and belong together (clients are seen sending
 * both). A session ends after `sessionIdleSeconds` without a request, or on the request after its
 * `sessionMaxRequests`-th authenticated one. Expiry is checked when a session is used: no timers.
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
  create(userId: number): { sessionVal: string; secureVal: string } {
    const sessionVal = randomBytes(18).toString('base64url');
    const secureVal = randomBytes(18).toString('base64url');
    this.#forgetIdle();
    this.#sessions.set(sessionVal, { userId, secureVal, lastSeen: Date.now(), requests: 0 });
    return { sessionVal, secureVal };
  }

  /**
   * The user id of the request's live session, counting this request against it; undefined when
   * there is none (missing, unknown, idle too long, or out of requests).
   */
  authenticate(req: IncomingMessage): number | undefined {
    const cookies = parseCookies(req.headers.cookie);
    const sessionVal = cookies.get(SESSION_COOKIE);
    if (!sessionVal) return undefined;
    const session = this.#sessions.get(sessionVal);
    if (!session || cookies.get(SECURE_SESSION_COOKIE) !== session.secureVal) return undefined;
    const { sessionIdleSeconds, sessionMaxRequests } = this.#knobs.current;
    const now = Date.now();
    if (now - session.lastSeen > sessionIdleSeconds * 1000) {
      this.#sessions.delete(sessionVal);
      this.#stats.sessionsExpired.idle++;
      return undefined;
    }
    if (sessionMaxRequests > 0 && session.requests >= sessionMaxRequests) {
      this.#sessions.delete(sessionVal);
      this.#stats.sessionsExpired.maxRequests++;
      return undefined;
    }
    session.requests++;
    session.lastSeen = now;
    return session.userId;
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
