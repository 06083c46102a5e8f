import type { RateStateStore, SharedRateState } from './fleet-rate-state.ts';

export interface RateBudgetOptions {
  /**
   * Keep this many requests' worth of credits unspent: when fewer would remain, wait for the
   * bucket to reset. Default 3.
   */
  reserveRequests?: number;
  /** Cost assumed per request until the LMS reports `X-Request-Cost`. Default 10 (Brightspace). */
  defaultCost?: number;
  /** Longest wait for a reset, whatever the LMS says. Default 60 000 ms. */
  maxWaitMs?: number;
  /** Wait used when the budget is low but no reset time was given. Default 1 000 ms. */
  fallbackWaitMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * The fleet's shared view of the budget (Redis): what any worker learns — the credits left, a
   * 429's pause — slows every worker, not just the one that saw it. Default: this process alone.
   */
  shared?: RateStateStore;
  /** How often the shared view is read and written at most. Default 250 ms. */
  syncEveryMs?: number;
}

/** The rate-limit headers of one response (Brightspace: per-minute credits per app). */
export interface RateHeaders {
  remaining?: number;
  resetSec?: number;
  cost?: number;
}

/**
 * The LMS's request budget as this client last saw it, shared by all concurrent calls: slows
 * down before the budget is spent, not after. Requests in flight count against the budget,
 * since their cost is already committed even though no header has reported it yet.
 */
export class RateBudget {
  readonly #reserve: number;
  readonly #maxWaitMs: number;
  readonly #fallbackWaitMs: number;
  readonly #now: () => number;
  #cost: number;
  #remaining: number | undefined;
  #resetAt: number | undefined;
  #pausedUntil = 0;
  #inFlight = 0;
  #observedAt = 0;
  #throttled = 0;
  readonly #shared: RateStateStore | undefined;
  readonly #syncEveryMs: number;
  #pulledAt = -Infinity;
  #pushedAt = -Infinity;
  #pulling: Promise<void> | undefined;

  constructor(options: RateBudgetOptions = {}) {
    this.#reserve = options.reserveRequests ?? 3;
    this.#cost = options.defaultCost ?? 10;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#fallbackWaitMs = options.fallbackWaitMs ?? 1_000;
    this.#now = options.now ?? Date.now;
    this.#shared = options.shared;
    this.#syncEveryMs = options.syncEveryMs ?? 250;
  }

  /** Wait until a request may go, then count it in flight. Call the returned function when it is answered. */
  async acquire(): Promise<() => void> {
    await this.sync();
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
      await sleep(wait);
      await this.sync();
    }
    this.#inFlight++;
    let done = false;
    return () => {
      if (!done) this.#inFlight--;
      done = true;
    };
  }

  /** How long the next request should wait now (0: go). */
  waitMs(): number {
    const now = this.#now();
    if (this.#pausedUntil > now) return this.#pausedUntil - now;
    if (this.#remaining === undefined) return 0;
    if (this.#resetAt !== undefined && now >= this.#resetAt) {
      // The bucket has refilled; the next response tells us where we stand.
      this.#remaining = undefined;
      this.#resetAt = undefined;
      return 0;
    }
    const left = this.#remaining - (this.#inFlight + 1) * this.#cost;
    if (left >= this.#reserve * this.#cost) return 0;
    this.#resetAt ??= now + this.#fallbackWaitMs;
    return this.#resetAt - now;
  }

  /** Record what a response said about the budget. */
  update(headers: RateHeaders): void {
    if (headers.cost !== undefined && headers.cost > 0) this.#cost = headers.cost;
    if (headers.remaining === undefined) return;
    this.#remaining = headers.remaining;
    this.#observedAt = this.#now();
    // Capped, so a wild reset value cannot stall the worker: after maxWaitMs we try again anyway.
    this.#resetAt =
      headers.resetSec !== undefined
        ? this.#now() + Math.min(headers.resetSec * 1000, this.#maxWaitMs)
        : undefined;
    // Tell the fleet at most every syncEveryMs, and at once when the budget runs low.
    if (this.#now() - this.#pushedAt >= this.#syncEveryMs || this.waitMs() > 0) {
      this.#push({
        remaining: this.#remaining,
        observedAt: this.#observedAt,
        cost: this.#cost,
        ...(this.#resetAt !== undefined ? { resetAt: this.#resetAt } : {}),
      });
    }
  }

  /** 429 answers this process got (each one paused the fleet's requests). */
  get throttled(): number {
    return this.#throttled;
  }

  /** Hold every request until `ms` from now (after a 429), in every worker of the fleet. */
  pause(ms: number): void {
    this.#throttled++;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + ms);
    this.#push({ pausedUntil: this.#pausedUntil });
  }

  /** Send what we learned to the fleet; a Redis hiccup must never hold up an LMS request. */
  #push(state: SharedRateState): void {
    if (!this.#shared) return;
    this.#pushedAt = this.#now();
    void this.#shared.write(state).catch(() => undefined);
  }

  /** Adopt what the fleet learned since this process last looked (read at most every syncEveryMs). */
  async sync(): Promise<void> {
    const shared = this.#shared;
    if (!shared || this.#now() - this.#pulledAt < this.#syncEveryMs) return;
    this.#pulling ??= (async () => {
      this.#pulledAt = this.#now();
      const state = await shared.read().catch(() => undefined);
      if (!state) return;
      if (state.pausedUntil !== undefined) this.#pausedUntil = Math.max(this.#pausedUntil, state.pausedUntil);
      if (state.cost !== undefined && state.cost > 0) this.#cost = state.cost;
      const fresh = state.resetAt === undefined || state.resetAt > this.#now();
      if (state.remaining !== undefined && (state.observedAt ?? 0) > this.#observedAt && fresh) {
        this.#remaining = state.remaining;
        this.#observedAt = state.observedAt ?? this.#now();
        this.#resetAt = state.resetAt;
      }
    })().finally(() => (this.#pulling = undefined));
    await this.#pulling;
  }

  /** For logs and tests. */
  snapshot(): { remaining: number | undefined; cost: number; inFlight: number } {
    return { remaining: this.#remaining, cost: this.#cost, inFlight: this.#inFlight };
  }
}

/** Parse the Brightspace headers; absent or garbled values are left out. */
export function readRateHeaders(headers: Pick<Headers, 'get'>): RateHeaders {
  const num = (name: string) => {
    const raw = headers.get(name);
    if (raw === null || raw.trim() === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  const remaining = num('x-rate-limit-remaining');
  const resetSec = num('x-rate-limit-reset');
  const cost = num('x-request-cost');
  return {
    ...(remaining !== undefined ? { remaining } : {}),
    ...(resetSec !== undefined ? { resetSec } : {}),
    ...(cost !== undefined ? { cost } : {}),
  };
}

export { parseRetryAfter } from '../http/retry.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
