import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  entryTime,
  startStreamConsumer,
  streamFields,
  type StreamFields,
} from '../../src/util/stream-consumer.ts';
import { connectRedis } from '../../src/queue/index.ts';
import { startRedisServer } from '../../src/util/redis-server.ts';
import { captureLogger, sleepUntil, withRedis } from '../helpers/index.ts';

let redis: RedisConnection;
let prefix: string;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ redis, prefix, close } = await withRedis('stream-consumer'));
});
afterAll(async () => {
  await close();
});

describe('streamFields and entryTime', () => {
  it('turn a flat field list into an object, and an entry id into its time', () => {
    expect(streamFields(['event', 'batch.done', 'batchId', 'b1'])).toEqual({
      event: 'batch.done',
      batchId: 'b1',
    });
    expect(streamFields(null)).toEqual({});
    expect(streamFields(['odd'])).toEqual({});
    expect(entryTime('1700000000000-3')).toBe(1_700_000_000_000);
  });
});

describe('startStreamConsumer', () => {
  it('hands each new entry to one consumer of the group, not the history, and survives a lost group', async () => {
    const key = `${prefix}:events`;
    await redis.xadd(key, '*', 'n', 'before');
    const seen: StreamFields[] = [];
    const periodic: number[] = [];
    const log = captureLogger();
    const consumer = await startStreamConsumer({
      redis,
      key,
      group: 'g',
      logger: log.logger,
      name: 'test consumer',
      blockMs: 100,
      onEntry: async (id, fields) => {
        seen.push(fields);
        await redis.xack(key, 'g', id);
      },
      periodic: { everyMs: 50, run: async () => void periodic.push(Date.now()) },
    });
    try {
      await redis.xadd(key, '*', 'n', 'one');
      await redis.xadd(key, '*', 'n', 'two');
      await sleepUntil(() => seen.length >= 2, 5_000);
      expect(seen).toEqual([{ n: 'one' }, { n: 'two' }]);
      expect(periodic.length).toBeGreaterThan(0);

      // The stream deleted under the reader: the group is recreated and later entries arrive.
      await redis.del(key);
      await sleepUntil(() => /was lost; recreated/.test(log.text()), 5_000);
      await sleepUntil(async () => (await redis.exists(key)) === 1, 5_000);
      await redis.xadd(key, '*', 'n', 'three');
      await sleepUntil(() => seen.length >= 3, 5_000);
      expect(seen[2]).toEqual({ n: 'three' });
      expect(log.text()).toMatch(/test consumer: the events stream or its group was lost; recreated/);
    } finally {
      await consumer.stop();
      await redis.del(key);
    }
  });

  it('stops at once while Redis is down (a command waiting for it does not hold the shutdown)', async () => {
    const server = await startRedisServer();
    const own = await connectRedis(server.url);
    own.on('error', () => undefined);
    try {
      const consumer = await startStreamConsumer({
        redis: own,
        key: 'events',
        group: 'g',
        logger: captureLogger().logger,
        name: 'test consumer',
        blockMs: 200,
        onEntry: async () => undefined,
      });
      await server.stop();
      await new Promise((r) => setTimeout(r, 1_500)); // its reads now wait for Redis to come back
      const started = Date.now();
      await consumer.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      own.disconnect();
      await server.stop().catch(() => undefined);
    }
  });
});
