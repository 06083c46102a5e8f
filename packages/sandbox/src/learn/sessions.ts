import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KnobBox } from '../knobs.ts';
import type { SandboxStats } from '../stats.ts';
import { parseCookies } from '../web-sessions.ts';

/** Learn's session cookie, "the only cookie used for session management" (reference §6.4). */
export const LEARN_SESSION_COOKIE = 'BbRouter';
/** The `timeout:` field of the cookie (seconds), as Learn SaaS writes it. Informational only. */
const COOKIE_TIMEOUT_SECONDS = 10_800;

interface LearnSession {
  userId: number;
  signature: string;
  lastSeen: number;
  requests: number;
}

/**
 * The Learn web sessions, keyed by the `id:` field of the `BbRouter` cookie, whose value looks
 * like Learn's: `expires:<epoch s>,id:<random>,signature:<hex>,site:<uuid>,timeout:10800,user:<hex>`.
 * A request is authenticated only when the id is known and the signature matches. Sessions end as
 * Brightspace's do (`sessionIdleSeconds`, `sessionMaxRequests`, counted in `stats.sessionsExpired`).
 */
export class LearnSessionStore {
  readonly #sessions = new Map<string, LearnSession>();
  readonly #knobs: KnobBox;
  readonly #stats: SandboxStats;
  readonly #key = randomBytes(32);
  readonly #siteUuid: string;

  constructor(knobs: KnobBox, stats: SandboxStats, siteUuid: string) {
    this.#knobs = knobs;
    this.#stats = stats;
    this.#siteUuid = siteUuid;
  }

  /** Start a session for a user (`userUuid` goes into the cookie); returns the cookie value. */
  create(userId: number, userUuid: string): string {
    this.#forgetIdle();
    const id = randomBytes(16).toString('hex').toUpperCase();
    const expires = Math.floor(Date.now() / 1000) + COOKIE_TIMEOUT_SECONDS;
    const signed = `expires:${expires},id:${id},site:${this.#siteUuid},timeout:${COOKIE_TIMEOUT_SECONDS},user:${userUuid}`;
    const signature = createHmac('sha256', this.#key).update(signed).digest('hex');
    this.#sessions.set(id, { userId, signature, lastSeen: Date.now(), requests: 0 });
    return `expires:${expires},id:${id},signature:${signature},site:${this.#siteUuid},timeout:${COOKIE_TIMEOUT_SECONDS},user:${userUuid}`;
  }

  /** The user id of the request's live session, counting this request; undefined when none. */
  authenticate(req: IncomingMessage): number | undefined {
    const found = this.#find(req);
    if (!found) return undefined;
    const { id, session } = found;
    const { sessionIdleSeconds, sessionMaxRequests } = this.#knobs.current;
    if (Date.now() - session.lastSeen > sessionIdleSeconds * 1000) {
      this.#sessions.delete(id);
      this.#stats.sessionsExpired.idle++;
      return undefined;
    }
    if (sessionMaxRequests > 0 && session.requests >= sessionMaxRequests) {
      this.#sessions.delete(id);
      this.#stats.sessionsExpired.maxRequests++;
      return undefined;
    }
    session.requests++;
    session.lastSeen = Date.now();
    return session.userId;
  }

  /** Log out: forget the request's session, if any. */
  destroy(req: IncomingMessage): void {
    const found = this.#find(req);
    if (found) this.#sessions.delete(found.id);
  }

  #find(req: IncomingMessage): { id: string; session: LearnSession } | undefined {
    const value = parseCookies(req.headers.cookie).get(LEARN_SESSION_COOKIE);
    if (!value) return undefined;
    const fields = new Map<string, string>();
    for (const part of value.split(',')) {
      const colon = part.indexOf(':');
      if (colon > 0) fields.set(part.slice(0, colon), part.slice(colon + 1));
    }
    const id = fields.get('id');
    const session = id === undefined ? undefined : this.#sessions.get(id);
    if (!id || !session) return undefined;
    const given = Buffer.from(fields.get('signature') ?? '');
    const expected = Buffer.from(session.signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return { id, session };
  }

  #forgetIdle(): void {
    const cutoff = Date.now() - this.#knobs.current.sessionIdleSeconds * 1000;
    for (const [id, session] of this.#sessions) if (session.lastSeen < cutoff) this.#sessions.delete(id);
  }
}

/** A login form's nonce is good for this long after the GET that issued it [spec]. */
const NONCE_MS = 5 * 60_000;

/**
 * `blackboard.platform.security.NonceUtil.nonce`: one per GET of the login page, single use,
 * valid 5 minutes. [I] Not bound to any cookie (the spec does not ask for it).
 */
export class NonceStore {
  readonly #nonces = new Map<string, number>();

  issue(): string {
    const now = Date.now();
    for (const [nonce, issued] of this.#nonces) if (now - issued > NONCE_MS) this.#nonces.delete(nonce);
    const nonce = randomUUID();
    this.#nonces.set(nonce, now);
    return nonce;
  }

  /** Whether the nonce was issued, is fresh and unused; it is used up either way. */
  consume(nonce: unknown): boolean {
    if (typeof nonce !== 'string') return false;
    const issued = this.#nonces.get(nonce);
    this.#nonces.delete(nonce);
    return issued !== undefined && Date.now() - issued <= NONCE_MS;
  }
}
