/** What the bucket decided for one request. */
export type RateDecision =
  | { allowed: true; remaining: number; resetSeconds: number; cost: number }
  | { allowed: false; retryAfterSeconds: number };

const WINDOW_MS = 60_000;

/**
 * Brightspace's per-app credit bucket (D2L KB 1191 and 1195: https://community.d2l.com/brightspace/kb/articles/1195-rate-limiting-and-api-response-headers): so many credits a minute, each
 * call costs `X-Request-Cost`. There is one registered app in the sandbox, so one bucket.
 *
 * [I] The minute starts with the first call after the previous minute ran out, not on the
 * wall-clock minute: the real alignment is not documented, and an anchored window keeps tests
 * from failing when they happen to straddle a minute boundary.
 */
export class RateLimitBucket {
  #windowStart = 0;
  #spent = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  charge(credits: number, cost: number): RateDecision {
    const now = this.#now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#spent = 0;
    }
    const resetSeconds = Math.max(1, Math.ceil((this.#windowStart + WINDOW_MS - now) / 1000));
    if (this.#spent + cost > credits) return { allowed: false, retryAfterSeconds: resetSeconds };
    this.#spent += cost;
    return { allowed: true, remaining: credits - this.#spent, resetSeconds, cost };
  }

  /** Start a fresh minute (used when the credits knob changes). */
  reset(): void {
    this.#windowStart = 0;
    this.#spent = 0;
  }
}
