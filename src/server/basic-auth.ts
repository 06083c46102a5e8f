import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log/index.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export interface LoginThrottleOptions {
  logger: Logger;
  /** Failed logins an address may make per window before it is refused outright. Default 10. */
  maxFailures?: number;
  /** The window, from an address's first failure. Default 60 s. */
  windowMs?: number;
}

interface AddressRecord {
  since: number;
  /** Wrong credentials, by where they were tried (`board`, `api`). */
  failures: Record<string, number>;
  /** Requests refused with 429 without looking at their credentials. */
  throttled: number;
}

/**
 * Failed logins per client address, the board's basic auth and the API's keys alike: past
 * `maxFailures` in a window the address is answered 429 (its credentials not even checked) until
 * the window ends. Each address with failures gets one warn line per window, with the counts,
 * written when the window ends; what was tried is never kept, so never logged.
 *
 * The address is the socket's (express's `trust proxy` is off): behind a reverse proxy every
 * client shares the proxy's address, and one client's failures throttle them all.
 */
export class LoginThrottle {
  readonly #log: Logger;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #addresses = new Map<string, AddressRecord>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: LoginThrottleOptions) {
    this.#max = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    if (!(this.#max >= 1) || !(this.#windowMs >= 1)) {
      throw new RangeError('LoginThrottle: maxFailures and windowMs must be at least 1');
    }
    this.#log = options.logger.child({ component: 'login-throttle' });
    this.#timer = setInterval(() => this.#sweep(Date.now()), Math.max(10, this.#windowMs / 4));
    this.#timer.unref();
  }

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfter(address: string): number {
    const r = this.#current(address, Date.now());
    const failed = r ? Object.values(r.failures).reduce((a, b) => a + b, 0) : 0;
    if (!r || failed < this.#max) return 0;
    r.throttled++;
    return Math.max(1, Math.ceil((r.since + this.#windowMs - Date.now()) / 1000));
  }

  /** Count one failed login (wrong password or unknown key) from `address` at `where`. */
  failed(address: string, where: string): void {
    const now = Date.now();
    let r = this.#current(address, now);
    if (!r) {
      r = { since: now, failures: {}, throttled: 0 };
      this.#addresses.set(address, r);
    }
    r.failures[where] = (r.failures[where] ?? 0) + 1;
  }

  /** Log what is pending and stop the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.#sweep(Infinity);
  }

  /** The address's record in its current window; an ended window is reported first. */
  #current(address: string, now: number): AddressRecord | undefined {
    const r = this.#addresses.get(address);
    if (r && now - r.since >= this.#windowMs) {
      this.#report(address, r);
      this.#addresses.delete(address);
      return undefined;
    }
    return r;
  }

  #sweep(now: number): void {
    for (const [address, r] of this.#addresses) {
      if (now - r.since < this.#windowMs) continue;
      this.#report(address, r);
      this.#addresses.delete(address);
    }
  }

  #report(address: string, r: AddressRecord): void {
    const failures = Object.values(r.failures).reduce((a, b) => a + b, 0);
    this.#log.warn(
      {
        ip: address,
        failures,
        byKind: r.failures,
        throttled: r.throttled,
        windowSeconds: Math.round(this.#windowMs / 1000),
        since: new Date(r.since).toISOString(),
      },
      r.throttled > 0
        ? 'failed logins from one address: throttled after too many'
        : 'failed logins from one address',
    );
  }
}

/** Answer 429 with Retry-After when the address is throttled; true when answered. */
export function refuseIfThrottled(
  throttle: LoginThrottle | undefined,
  req: Request,
  res: Response,
  body: () => void,
): boolean {
  const wait = throttle?.retryAfter(clientAddress(req)) ?? 0;
  if (wait === 0) return false;
  res.status(429).set('Retry-After', String(wait));
  body();
  return true;
}

/** The socket's address (no proxy headers are trusted). */
export const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * HTTP basic auth with a constant-time comparison; answers 401 with a realm otherwise. With a
 * throttle, wrong credentials count against the client's address, and a throttled address is
 * answered 429 whatever it sends.
 */
export function basicAuth(
  user: string,
  password: string,
  options: { realm?: string; throttle?: LoginThrottle } = {},
): RequestHandler {
  const realm = options.realm ?? 'certharvest';
  const expected = digest(`${user}:${password}`);
  return (req, res, next) => {
    const tooMany = refuseIfThrottled(options.throttle, req, res, () =>
      res.type('text/plain').send('too many failed logins from this address; try again later\n'),
    );
    if (tooMany) return;
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const given = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    if (given && timingSafeEqual(digest(given), expected)) return next();
    // A request without credentials is a browser's first visit, not a failed login.
    if (header !== '') options.throttle?.failed(clientAddress(req), 'board');
    res
      .set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`)
      .status(401)
      .type('text/plain')
      .send('authentication required\n');
  };
}
