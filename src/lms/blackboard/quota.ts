import type { RedisConnection } from '../../util/redis-nodes.ts';
import type { Logger } from '../../log/index.ts';
import { RateLimitedError } from '../errors.ts';
import type { LearnQuota } from './types.ts';

/**
 * Learn's REST quota: by default 10,000 calls per 24 h per developer group (reference §6.2),
 * reported, when the LMS does, by `X-Rate-Limit-Limit/Remaining/Reset`.
 */
export const LEARN_DAILY_QUOTA = 10_000;

/** `<prefix>:lms:learn-calls:<UTC date>`: the fleet's Learn REST calls on that UTC day. */
export const learnCallsKey = (prefix: string, at: Date = new Date()): string =>
  `${prefix}:lms:learn-calls:${at.toISOString().slice(0, 10)}`;

/** Kept two days, so yesterday's count can still be read after midnight UTC. */
const COUNTER_TTL_SECONDS = 2 * 24 * 3600;

/** The fleet's Learn REST calls today (UTC), as counted in Redis; 0 when none were counted. */
export async function learnCallsToday(
  redis: RedisConnection,
  prefix: string,
  at: Date = new Date(),
): Promise<number> {
  const value = await redis.get(learnCallsKey(prefix, at));
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export interface LearnCallCounterOptions {
  logger: Logger;
  /** With a Redis handle (and `prefix`), the count is the fleet's; without, this process's. */
  redis?: RedisConnection | undefined;
  prefix?: string | undefined;
  /** The quota warned about at 80 % and 100 %. Default LEARN_DAILY_QUOTA. */
  dailyQuota?: number | undefined;
  now?: () => number;
}

/**
 * Counts every REST request this client sends (retries and refused ones too: the LMS counts
 * them). In Redis: INCR + EXPIRE in one pipeline per call, never awaited by the request (a Redis
 * hiccup must not hold up the LMS call). The process that takes the count to 80 % and to 100 %
 * of the quota logs it (INCR is atomic: exactly one process sees each value).
 */
export class LearnCallCounter {
  readonly #opts: LearnCallCounterOptions;
  readonly #quota: number;
  readonly #now: () => number;
  #day = '';
  #local = 0;
  #pending = new Set<Promise<unknown>>();
  #redisWarned = false;

  constructor(options: LearnCallCounterOptions) {
    this.#opts = options;
    this.#quota = options.dailyQuota ?? LEARN_DAILY_QUOTA;
    this.#now = options.now ?? Date.now;
    if (options.redis && !options.prefix)
      throw new TypeError('LearnCallCounter: a Redis handle needs a prefix');
  }

  /** Count one call. */
  count(): void {
    const at = new Date(this.#now());
    const day = at.toISOString().slice(0, 10);
    if (day !== this.#day) {
      this.#day = day;
      this.#local = 0;
    }
    this.#local++;
    const { redis, prefix } = this.#opts;
    if (!redis || !prefix) return this.#check(this.#local);
    const key = learnCallsKey(prefix, at);
    const done = redis
      .pipeline()
      .incr(key)
      .expire(key, COUNTER_TTL_SECONDS)
      .exec()
      .then((results) => {
        const value = Number(results?.[0]?.[1]);
        if (Number.isFinite(value)) this.#check(value);
      })
      .catch((error: unknown) => {
        if (this.#redisWarned) return;
        this.#redisWarned = true;
        this.#opts.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'could not count a Learn REST call in Redis; the daily count shown by `auth status` may be low',
        );
      })
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  /**
   * Calls today (UTC): the fleet's, from Redis, when a Redis handle was given; else this
   * process's. Show it against `dailyQuota` (10,000 unless the contract says otherwise).
   */
  async today(): Promise<number> {
    const { redis, prefix } = this.#opts;
    if (!redis || !prefix) {
      return new Date(this.#now()).toISOString().slice(0, 10) === this.#day ? this.#local : 0;
    }
    await Promise.all(this.#pending);
    return learnCallsToday(redis, prefix, new Date(this.#now()));
  }

  get dailyQuota(): number {
    return this.#quota;
  }

  #check(value: number): void {
    const warnAt = Math.floor(this.#quota * 0.8);
    if (value === warnAt || value === this.#quota) {
      this.#opts.logger.warn(
        { callsToday: value, dailyQuota: this.#quota },
        value === this.#quota
          ? `${value} Learn REST calls today (UTC): the app's daily quota is spent; calls are refused (429) until its window resets`
          : `${value} Learn REST calls today (UTC): 80 % of the app's daily quota of ${this.#quota}`,
      );
    }
  }
}

export interface LearnQuotaGateOptions {
  logger: Logger;
  /** A spent quota that resets within this long is waited out in place. Default 60 000 ms. */
  maxWaitMs?: number;
  now?: () => number;
}

/**
 * What the LMS last said about the quota (`X-Rate-Limit-*`, when it sends them; reference §6.2
 * says not to rely on them). A spent quota (`Remaining: 0`) is honoured like a 429 with
 * `Retry-After: <Reset>`: a short wait in place, a long one as a RateLimitedError, whose
 * `retryAfterMs` lets the queue put the job off without spending an attempt — and no request is
 * sent meanwhile.
 */
export class LearnQuotaGate {
  readonly #log: Logger;
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  #limit: number | undefined;
  #remaining: number | undefined;
  #resetAt: number | undefined;
  #spentWarnedFor: number | undefined;

  constructor(options: LearnQuotaGateOptions) {
    this.#log = options.logger;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Record the quota headers of an answer (absent or garbled ones change nothing). */
  observe(headers: { get(name: string): string | null }): void {
    const limit = count(headers.get('x-rate-limit-limit'));
    const remaining = count(headers.get('x-rate-limit-remaining'));
    const reset = count(headers.get('x-rate-limit-reset'));
    if (limit !== undefined) this.#limit = limit;
    if (remaining === undefined) return;
    this.#remaining = remaining;
    this.#resetAt = reset === undefined ? undefined : this.#now() + reset * 1000;
    if (remaining === 0 && this.#spentWarnedFor !== this.#resetAt) {
      this.#spentWarnedFor = this.#resetAt;
      this.#log.warn(
        { limit: this.#limit, resetInSeconds: reset },
        "Learn's REST quota for this app is spent (X-Rate-Limit-Remaining: 0); no REST call until it resets",
      );
    }
  }

  /**
   * Learn refused a call for longer than is waited in place (a 429 with a long Retry-After): the
   * quota is spent for that long, and this process sends nothing more until then.
   */
  refused(retryAfterMs: number): void {
    if (!(retryAfterMs > this.#maxWaitMs)) return;
    this.#remaining = 0;
    this.#resetAt = Math.max(this.#resetAt ?? 0, this.#now() + retryAfterMs);
  }

  /** Wait (briefly) or throw RateLimitedError while the quota is known to be spent. */
  async admit(route: string): Promise<void> {
    if (this.#remaining === undefined || this.#remaining > 0 || this.#resetAt === undefined) return;
    const wait = this.#resetAt - this.#now();
    if (wait > this.#maxWaitMs) {
      throw new RateLimitedError(
        `${route}: Learn's REST quota for this app is spent` +
          `${this.#limit !== undefined ? ` (${this.#limit} calls per window)` : ''}; it resets in ${describeWait(wait)}`,
        wait,
      );
    }
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // The window has turned over: the next answer says where we stand.
    this.#remaining = undefined;
    this.#resetAt = undefined;
  }

  snapshot(): LearnQuota {
    return { limit: this.#limit, remaining: this.#remaining, resetAt: this.#resetAt };
  }
}

function count(raw: string | null): number | undefined {
  if (raw === null || !/^\s*\d+(\.\d+)?\s*$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

function describeWait(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 2) return `${Math.ceil(ms / 1000)} s`;
  return minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
