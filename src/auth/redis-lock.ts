import { LuaScript } from '../util/lua-script.ts';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// Delete the key only if it still holds our token: a holder whose lock expired must not free
// the lock a newer holder took in the meantime.
const RELEASE_SCRIPT = LuaScript.fromFile(new URL('./lua/release-lock.lua', import.meta.url));

// Push the expiry out only while the key still holds our token.
const EXTEND_SCRIPT = LuaScript.fromFile(new URL('./lua/extend-lock.lua', import.meta.url));

export interface RedisLockOptions {
  /**
   * How long the lock lives if its holder dies without releasing it. Default 30 000 ms; keep it
   * well above the token endpoint timeout so a slow but live holder keeps it.
   */
  ttlMs?: number;
}

/**
 * A single-holder lock across processes: `SET key token NX PX ttl`, released by a compare-and-delete.
 * Not a fair queue: waiters poll `tryAcquire`.
 */
export class RedisLock {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, key: string, options: RedisLockOptions = {}) {
    const ttlMs = options.ttlMs ?? 30_000;
    if (!Number.isInteger(ttlMs) || ttlMs < 1)
      throw new TypeError(`RedisLock: ttlMs must be a positive integer, got ${ttlMs}`);
    this.#redis = redis;
    this.#key = key;
    this.#ttlMs = ttlMs;
  }

  /** @returns the holder token when the lock was free, undefined when someone else holds it. */
  async tryAcquire(): Promise<string | undefined> {
    const token = randomBytes(16).toString('hex');
    const ok = await this.#redis.set(this.#key, token, 'PX', this.#ttlMs, 'NX');
    return ok === 'OK' ? token : undefined;
  }

  /**
   * Keep the lock while a long piece of work runs (a login inside a token renewal): its expiry is
   * pushed out every third of the TTL until the returned function is called. A holder that dies
   * still loses the lock one TTL later.
   */
  hold(token: string): () => void {
    const timer = setInterval(
      () => {
        void EXTEND_SCRIPT.run(this.#redis, [this.#key], [token, String(this.#ttlMs)]).catch(() => undefined);
      },
      Math.max(1, Math.floor(this.#ttlMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** @returns whether we still held the lock (false: it had expired and maybe passed on). */
  async release(token: string): Promise<boolean> {
    const deleted = await RELEASE_SCRIPT.run(this.#redis, [this.#key], [token]);
    return deleted === 1;
  }
}
