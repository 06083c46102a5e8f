import type { RedisConnection } from '../util/redis-nodes.ts';

/** An outage not seen again for this long is over. */
const FORGET_AFTER_MS = 15 * 60_000;

/**
 * How long the LMS has gone without answering, fleet-wide: the first process that cannot reach it
 * starts the clock in Redis, any process that reaches it again stops it. The breaker pauses the
 * fleet once the clock passes LMS_OUTAGE_PAUSE_MINUTES.
 */
export class OutageClock {
  readonly key: string;
  readonly #redis: RedisConnection;
  /** Whether this process saw the outage (so a success only costs a Redis call after one). */
  #sawOutage = false;

  constructor(redis: RedisConnection, prefix: string) {
    this.#redis = redis;
    this.key = `${prefix}:fleet:lms-unreachable-since`;
  }

  /** Record that the LMS did not answer; returns how long it has been unreachable, in ms. */
  async unreachable(now = Date.now()): Promise<number> {
    this.#sawOutage = true;
    // The clock forgets an outage nobody has seen for a while (its witnesses may have died).
    const [, , [, since]] = (await this.#redis
      .multi()
      .set(this.key, String(now), 'NX')
      .pexpire(this.key, FORGET_AFTER_MS)
      .get(this.key)
      .exec()) as [unknown, unknown, [unknown, string | null]];
    return Number.isFinite(Number(since)) ? Math.max(0, now - Number(since)) : 0;
  }

  /** The LMS answered. */
  async reachable(): Promise<void> {
    if (!this.#sawOutage) return;
    this.#sawOutage = false;
    await this.#redis.del(this.key);
  }
}
