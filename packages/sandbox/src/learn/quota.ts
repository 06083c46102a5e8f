const WINDOW_MS = 24 * 60 * 60 * 1000;

/** What the quota says about one REST call; the numbers go out as the X-Rate-Limit-* headers. */
export interface QuotaDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the 24-hour window resets (at least 1). */
  resetSeconds: number;
}

/**
 * Learn's REST quota: so many calls per site per 24 hours (Anthology's default 10 000, reference
 * §6.2). [I] The window starts at the first call after the previous one ran out, not at a fixed
 * time of day, as the Brightspace bucket does; a change of `learnDailyQuota` starts a fresh one.
 */
export class DailyQuota {
  #windowStart = 0;
  #spent = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Count one call against `limit`; refused (not counted) when the window's calls are spent. */
  charge(limit: number): QuotaDecision {
    const decision = this.peek(limit);
    if (decision.allowed) {
      this.#spent++;
      decision.remaining = Math.max(0, limit - this.#spent);
    }
    return decision;
  }

  /** The headers' numbers without counting a call (for answers that are not the app's). */
  peek(limit: number): QuotaDecision {
    const now = this.#now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#spent = 0;
    }
    const resetSeconds = Math.max(1, Math.ceil((this.#windowStart + WINDOW_MS - now) / 1000));
    const remaining = Math.max(0, limit - this.#spent);
    return { allowed: this.#spent < limit, limit, remaining, resetSeconds };
  }

  reset(): void {
    this.#windowStart = 0;
    this.#spent = 0;
  }
}
