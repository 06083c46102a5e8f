import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLock } from '../../src/auth/index.ts';
import { connectRedis, type RedisConnection } from '../../src/queue/index.ts';
import { testRedisTarget, uniquePrefix } from '../helpers/index.ts';

describe('RedisLock', () => {
  let redis: RedisConnection;
  beforeAll(async () => void (redis = await connectRedis(testRedisTarget())));
  afterAll(() => redis.quit());

  it('admits one holder; only that holder can release it', async () => {
    const key = `${uniquePrefix('lock')}:lock`;
    const a = new RedisLock(redis, key);
    const b = new RedisLock(redis, key);
    const held = await a.tryAcquire();
    expect(held).toBeTypeOf('string');
    expect(await b.tryAcquire()).toBeUndefined();
    expect(await b.release('not-the-holder')).toBe(false);
    expect(await b.tryAcquire()).toBeUndefined();
    expect(await a.release(held!)).toBe(true);
    expect(await b.tryAcquire()).toBeTypeOf('string');
  });

  it('expires when its holder never releases it, and the old holder cannot free the new one', async () => {
    const key = `${uniquePrefix('lock')}:lock`;
    const lock = new RedisLock(redis, key, { ttlMs: 100 });
    const first = await lock.tryAcquire();
    await new Promise((r) => setTimeout(r, 150));
    const second = await lock.tryAcquire();
    expect(second).toBeTypeOf('string');
    expect(await lock.release(first!)).toBe(false);
    expect(await redis.get(key)).toBe(second);
  });

  it('validates its ttl', () => {
    expect(() => new RedisLock(redis, 'k', { ttlMs: 0 })).toThrow(/ttlMs must be a positive integer/);
  });
});
