import { LuaScript } from '../util/lua-script.ts';
import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { Logger } from '../log/index.ts';
import { PAUSE_REASONS, type PauseReason, type PauseRecord } from './pause-reason.ts';

/** A condition that hit this process, reported to the breaker. */
export interface Trip {
  reason: PauseReason;
  message: string;
  fix: string;
}

/** Delete the record only if it still holds the reason we resume for (compare-and-delete). */
const RESUME_IF_SCRIPT = LuaScript.fromFile(new URL('./lua/resume-if.lua', import.meta.url));

/**
 * The fleet's breaker: one pause record in Redis and BullMQ's queue-level pause, so every worker on
 * every machine stops taking jobs at once. The first process to trip it writes the record and logs
 * the one error line; later trips (other jobs, other processes) find it there and say nothing.
 */
export class FleetBreaker {
  readonly key: string;
  /** Set while the fleet must not post the password (a refused login); see `holdLogins`. */
  readonly loginHoldKey: string;
  readonly #redis: RedisConnection;
  readonly #queues: readonly Queue[];
  readonly #logger: Logger;
  readonly #me = `${hostname()}:${process.pid}`;

  constructor(options: { redis: RedisConnection; prefix: string; queues: readonly Queue[]; logger: Logger }) {
    this.key = fleetPauseKey(options.prefix);
    this.loginHoldKey = `${options.prefix}:fleet:login-held`;
    this.#redis = options.redis;
    this.#queues = options.queues;
    this.#logger = options.logger;
  }

  /** Pause the fleet for `trip`. Returns true when this call paused it (false: it already was). */
  async trip(trip: Trip): Promise<boolean> {
    const record: PauseRecord = { ...trip, since: new Date().toISOString(), by: this.#me };
    const created = (await this.#redis.set(this.key, JSON.stringify(record), 'NX')) === 'OK';
    await Promise.all(this.#queues.map((q) => q.pause()));
    // A resume may have lifted the record between our SET and our pause: never leave the queues
    // paused without a record saying why (nobody would ever resume them).
    if (!created && !(await this.#redis.exists(this.key))) {
      await Promise.all(this.#queues.map((q) => q.resume()));
      return false;
    }
    if (created) {
      this.#logger.error(
        { pauseReason: trip.reason, fix: trip.fix, detail: trip.message },
        `fleet paused (${trip.reason}): ${trip.message} — fix: ${trip.fix}`,
      );
    }
    return created;
  }

  /** The current pause, or null when the fleet runs. */
  async current(): Promise<PauseRecord | null> {
    return readFleetPause(this.#redis, this.key);
  }

  /**
   * Make the queues agree with the record: a record whose queues run (a resume raced with a trip)
   * pauses them again. Queues paused without a record are left alone: an operator may have paused
   * them from the board on purpose.
   */
  async enforce(): Promise<void> {
    if (!(await this.#redis.exists(this.key))) return;
    for (const q of this.#queues) if (!(await q.isPaused())) await q.pause();
  }

  /**
   * Hold every login of the fleet: the LMS refused the password. Kept apart from the pause record,
   * so an earlier pause for another reason cannot hide it; lifted by `certharvest resume` or a
   * successful probe login (`releaseLogins`).
   */
  async holdLogins(message: string): Promise<void> {
    await this.#redis.set(this.loginHoldKey, message);
  }

  /** Why logins are held, or null. */
  async loginHold(): Promise<string | null> {
    return this.#redis.get(this.loginHoldKey);
  }

  async releaseLogins(): Promise<void> {
    await this.#redis.del(this.loginHoldKey);
  }

  /** Resume whatever the reason (`certharvest resume`). Returns the pause that was lifted, if any. */
  async resume(by: string): Promise<PauseRecord | null> {
    await this.releaseLogins();
    const lifted = parseRecord(await this.#redis.getdel(this.key));
    await Promise.all(this.#queues.map((q) => q.resume()));
    this.#logger.warn({ pauseReason: lifted?.reason, by }, 'fleet resumed');
    return lifted;
  }

  /** Resume only if the fleet is paused for one of `reasons` (its cause is known to be gone). */
  async resumeIf(reasons: readonly PauseReason[], by: string): Promise<boolean> {
    if (reasons.length === 0) return false;
    const done = (await RESUME_IF_SCRIPT.run(this.#redis, [this.key], reasons)) === 1;
    if (done) {
      await Promise.all(this.#queues.map((q) => q.resume()));
      this.#logger.warn({ reasons, by }, 'fleet resumed: the cause of the pause is gone');
    }
    return done;
  }
}

/** Where the fleet's pause record lives. */
export const fleetPauseKey = (prefix: string): string => `${prefix}:fleet:pause`;

/**
 * The fleet's pause record, read without a breaker (`status` changes nothing, so it needs neither
 * queues nor a logger). `key` is `fleetPauseKey(prefix)`.
 */
export async function readFleetPause(redis: RedisConnection, key: string): Promise<PauseRecord | null> {
  return parseRecord(await redis.get(key));
}

function parseRecord(text: string | null): PauseRecord | null {
  if (!text) return null;
  try {
    const r = JSON.parse(text) as Partial<PauseRecord>;
    if (typeof r.reason === 'string' && (PAUSE_REASONS as readonly string[]).includes(r.reason)) {
      return {
        reason: r.reason as PauseReason,
        message: String(r.message ?? ''),
        fix: String(r.fix ?? ''),
        since: String(r.since ?? ''),
        by: String(r.by ?? ''),
      };
    }
  } catch {
    // fall through: an unreadable record still means "paused"
  }
  return {
    reason: 'LMS_UNREACHABLE',
    message: 'unreadable pause record',
    fix: 'certharvest resume',
    since: '',
    by: '',
  };
}
