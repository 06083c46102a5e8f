/**
 * The LMS's request budget belongs to the app, so the fleet spends it together: what one worker
 * learns (credits nearly spent, a 429's Retry-After) holds back the others, through Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/lms/rate-budget.ts';
import { RedisRateStateStore } from '../../src/lms/index.ts';
import { connectRedis, type RedisConnection } from '../../src/queue/index.ts';
import { testRedisTarget, uniquePrefix } from '../helpers/index.ts';

let redis: RedisConnection;
beforeAll(async () => {
  redis = await connectRedis(testRedisTarget());
});
afterAll(async () => {
  await redis.quit();
});

/** Two workers' budgets on one shared store; syncing on every call. */
function twoWorkers() {
  const store = new RedisRateStateStore(redis, uniquePrefix('rate'), 'school.example');
  const make = () => new RateBudget({ shared: store, syncEveryMs: 0, reserveRequests: 3 });
  return { store, a: make(), b: make() };
}
const settle = () => new Promise((r) => setTimeout(r, 50)); // writes are fire-and-forget

describe('the fleet-shared rate budget', () => {
  it('a 429 seen by one worker holds back the other for the same Retry-After', async () => {
    const { a, b } = twoWorkers();
    expect(b.waitMs()).toBe(0);
    a.pause(5_000);
    await settle();
    await b.sync();
    expect(b.waitMs()).toBeGreaterThan(4_000);
    expect(b.waitMs()).toBeLessThanOrEqual(5_000);
  });

  it('credits nearly spent, as one worker heard, slow the other down until the reset', async () => {
    const { a, b } = twoWorkers();
    a.update({ remaining: 25, resetSec: 10, cost: 10 }); // under the reserve of 3 requests
    await settle();
    await b.sync();
    expect(b.snapshot()).toMatchObject({ remaining: 25, cost: 10 });
    expect(b.waitMs()).toBeGreaterThan(9_000);
  });

  it('the newest observation wins; an older one does not overwrite it', async () => {
    const { store, a, b } = twoWorkers();
    b.update({ remaining: 400, resetSec: 60 });
    await settle();
    await store.write({ remaining: 9_999, observedAt: 1, resetAt: Date.now() + 60_000 });
    expect((await store.read()).remaining).toBe(400);
    await a.sync();
    expect(a.snapshot().remaining).toBe(400);
  });

  it('Redis down: the budget keeps working on what this process knows', async () => {
    const broken = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const budget = new RateBudget({ shared: new RedisRateStateStore(broken, 'x', 'h'), syncEveryMs: 0 });
    const release = await budget.acquire();
    budget.update({ remaining: 1000 });
    release();
    expect(budget.waitMs()).toBe(0);
    broken.disconnect();
  });
});
