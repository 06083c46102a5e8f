import { LuaScript } from '../util/lua-script.ts';
import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { sleep } from '../util/with-timeout.ts';

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
 * Not a fair queue: waiters poll (`runExclusive`, below, is how every caller takes it).
 */
export class RedisLock {
  readonly #redis: RedisConnection;
  readonly #key: string;
  readonly #ttlMs: number;

  constructor(redis: RedisConnection, key: string, options: RedisLockOptions = {}) {
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

/** The lock, while `runExclusive`'s work holds it. */
export interface HeldLock {
  /** The holder token (what `release` takes). */
  readonly token: string;
  /** Keep the lock alive while a long piece of work runs (see `RedisLock.hold`); call the result to stop. */
  hold(): () => void;
  /** Do not release it at the end: it stays until its TTL runs out (or someone releases `token`). */
  keep(): void;
}

export interface ExclusiveOptions<T, B> {
  /** How long to wait for the lock; 0 tries once. */
  waitMs: number;
  /** How often a waiter tries again. Default 50 ms. */
  pollMs?: number;
  /** What the caller gets when the lock stayed busy past `waitMs`: throw an error, or return a value (skip). */
  onBusy: () => B;
  /**
   * Asked before each try: a value ends the wait without taking the lock (another holder did the
   * work meanwhile); it may throw to stop waiting. Default: never.
   */
  ready?: () => Promise<T | undefined>;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * The one way certharvest takes a lock: try, and while another holder has it, poll until
 * `waitMs` has passed (asking `ready` first each time); run `work` holding it, then release it
 * (unless the work said `keep()`), whatever the work did.
 */
export async function runExclusive<T, B = never>(
  lock: RedisLock,
  options: ExclusiveOptions<T, B>,
  work: (held: HeldLock) => Promise<T>,
): Promise<T | B> {
  const now = options.now ?? Date.now;
  const started = now();
  for (;;) {
    const done = await options.ready?.();
    if (done !== undefined) return done;
    const token = await lock.tryAcquire();
    if (token !== undefined) {
      let kept = false;
      const held: HeldLock = { token, hold: () => lock.hold(token), keep: () => void (kept = true) };
      try {
        return await work(held);
      } finally {
        if (!kept) await lock.release(token).catch(() => undefined);
      }
    }
    if (now() - started >= options.waitMs) return options.onBusy();
    await sleep(options.pollMs ?? 50);
  }
}
