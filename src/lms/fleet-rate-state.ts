import type { RedisConnection } from '../util/redis-nodes.ts';
import { LuaScript } from '../util/lua-script.ts';

/**
 * What one process of the fleet last learned about the LMS's request budget. The budget belongs
 * to the app (Brightspace counts credits per app, not per process), so what one worker learns —
 * a nearly spent budget, a 429 — holds for every worker.
 */
export interface SharedRateState {
  /** Credits left, as the LMS last reported them. */
  remaining?: number;
  /** When the budget refills (epoch ms). */
  resetAt?: number;
  /** When `remaining` was observed (epoch ms): the newest observation wins. */
  observedAt?: number;
  /** Credits per request. */
  cost?: number;
  /** No request before this instant (epoch ms): a 429's Retry-After, for the whole fleet. */
  pausedUntil?: number;
}

/** Where the fleet keeps its shared view of the budget. */
export interface RateStateStore {
  read(): Promise<SharedRateState>;
  write(state: SharedRateState): Promise<void>;
}

/**
 * The shared view in one Redis hash per LMS host (`<prefix>:lms:rate:<host>`), expiring two
 * minutes after its last write: stale budget facts are worse than none. Writes keep the newest
 * observation and the latest pause (a Lua script, so two workers cannot undo each other).
 */
export class RedisRateStateStore implements RateStateStore {
  readonly key: string;
  readonly #redis: RedisConnection;

  constructor(redis: RedisConnection, prefix: string, host: string) {
    this.#redis = redis;
    this.key = `${prefix}:lms:rate:${host}`;
  }

  async read(): Promise<SharedRateState> {
    const h = await this.#redis.hgetall(this.key);
    const n = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
    const state: SharedRateState = {};
    for (const field of ['remaining', 'resetAt', 'observedAt', 'cost', 'pausedUntil'] as const) {
      const value = n(h[field]);
      if (value !== undefined && Number.isFinite(value)) state[field] = value;
    }
    return state;
  }

  async write(state: SharedRateState): Promise<void> {
    await MERGE.run(
      this.#redis,
      [this.key],
      [
        String(state.remaining ?? ''),
        String(state.resetAt ?? ''),
        String(state.observedAt ?? ''),
        String(state.cost ?? ''),
        String(state.pausedUntil ?? ''),
      ],
    );
  }
}

// ARGV: remaining, resetAt, observedAt, cost, pausedUntil ('' = not given).
const MERGE = LuaScript.fromFile(new URL('./lua/merge-rate-state.lua', import.meta.url));
