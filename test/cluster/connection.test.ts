/**
 * The connection to a Redis Cluster (run by `npm run test:cluster` only): the seed node finds
 * every master, what is refused is refused naming the fix (test/queue/redis-connection.test.ts
 * has the refusals a single server can show), an ACL user's login reaches every
 * node, and the doctor checks each master. The queue, accounting, fleet, webhook and pipeline
 * suites run on the same cluster (vitest.cluster.config.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { runDoctor } from '../../src/doctor/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { connectCertharvest } from '../../src/library/client.ts';
import {
  BatchTracker,
  connectRedis,
  dataNodes,
  isCluster,
  nodeName,
  openQueues,
  submitBatch,
  type RedisConnection,
} from '../../src/queue/index.ts';
import { byName } from '../doctor/harness.ts';
import { tempDir, testRedisEnv, testRedisTarget, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

let redis: RedisConnection;
beforeAll(async () => {
  redis = await connectRedis(testRedisTarget());
});
afterAll(() => redis.quit());

describe('a Redis Cluster', () => {
  it('is found whole from one seed node: three masters, each Redis 6.2 or newer', async () => {
    expect(isCluster(redis)).toBe(true);
    const masters = dataNodes(redis).map(nodeName).sort();
    expect(masters).toHaveLength(3);
    expect(await redis.ping()).toBe('PONG');
  });

  it('refuses an untagged prefix at start-up, naming the fix: configuration, queues and library', async () => {
    const load = () => loadConfig({ env: { ...testRedisEnv(), QUEUE_PREFIX: 'harvest' }, envFile: false });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow('set QUEUE_PREFIX={harvest}');
    expect(() => loadConfig({ env: { ...testRedisEnv() }, envFile: false })).toThrow(
      'set QUEUE_PREFIX={certharvest}',
    );
    expect(() => openQueues(redis, 'harvest')).toThrow('set QUEUE_PREFIX={harvest}');
    await expect(
      connectCertharvest({ redisUrl: testRedisUrl(), cluster: true, prefix: 'harvest' }),
    ).rejects.toThrow('set QUEUE_PREFIX={harvest}');
  });

  it('reached as a single server (REDIS_CLUSTER unset) is refused, naming REDIS_CLUSTER', async () => {
    await expect(connectRedis(testRedisUrl())).rejects.toThrow(
      /is a Redis Cluster node: set REDIS_CLUSTER=true/,
    );
  });

  it("an ACL user's login (REDIS_URL redis://user:password@…) is used on every node", async () => {
    const user = `ch-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    // ACL users are per node: a managed service creates them on each; here, by hand.
    const everyNode = redis.isCluster ? (redis as import('ioredis').Cluster).nodes('all') : [];
    for (const node of everyNode) {
      await node.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
    }
    const url = new URL(testRedisUrl());
    url.username = user;
    url.password = password;
    const prefix = uniquePrefix('acl');
    const [seed] = testRedisTarget().redisCluster!.nodes;
    const client = await connectRedis({ redisUrl: url.href, redisCluster: { nodes: [seed!] } });
    try {
      for (const node of dataNodes(client)) expect(await node.call('ACL', 'WHOAMI')).toBe(user);
      const queues = openQueues(client, prefix);
      const { batchId } = await submitBatch(
        { by: 'userId', users: [1, 2] },
        { queues, redis: client, prefix },
      );
      expect((await new BatchTracker(client, prefix).status(batchId))?.usersTotal).toBe(2);
      await queues.close();
      url.password = 'wrong';
      await expect(
        connectRedis({ redisUrl: url.href, redisCluster: { nodes: [seed!] } }, 3_000),
      ).rejects.toThrow(/cannot reach Redis at the Redis Cluster/);
    } finally {
      await client.quit();
      for (const node of everyNode) await node.call('ACL', 'DELUSER', user);
    }
  });

  it('the doctor checks every master and names the one that would evict keys', async () => {
    const out = await tempDir('cluster-doctor');
    const env = { ...testRedisEnv(), QUEUE_PREFIX: uniquePrefix('doctor'), OUTPUT_DIR: out.dir };
    const doctor = async () => byName(await runDoctor({ env, envFile: false })).redis!;
    const [first, second] = dataNodes(redis);
    try {
      const fine = await doctor();
      expect(fine.ok).toBe(true);
      expect(fine.found).toContain('Redis Cluster (3 masters)');
      for (const node of dataNodes(redis)) expect(fine.found).toContain(nodeName(node));
      expect(fine.found).toContain('AOF (appendonly yes)');

      await second!.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const evicting = await doctor();
      expect(evicting.ok).toBe(false);
      expect(evicting.found).toContain(`evicting: ${nodeName(second!)} (allkeys-lru)`);
      expect(evicting.fix).toContain(`set maxmemory-policy noeviction on ${nodeName(second!)}`);
      expect(evicting.fix).not.toContain(nodeName(first!));
    } finally {
      await second!.config('SET', 'maxmemory-policy', 'noeviction');
      await out.cleanup();
    }
  });
});
