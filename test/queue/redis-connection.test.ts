/**
 * What the connection refuses before anything runs, checked on single servers (the cluster run
 * repeats the suites on a real cluster): a cluster node reached as a single server, a single
 * server reached as a cluster, an untagged prefix on a cluster client. And a worker's close
 * that never ends (BullMQ after a cluster failover) is given up in time.
 */
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.ts';
import { connectCertharvest } from '../../src/library/client.ts';
import { closeWorker, connectRedis, openQueues } from '../../src/queue/index.ts';
import { getFreePort } from '../../src/util/free-port.ts';
import { startRedisServer } from '../../src/util/redis-server.ts';

describe('connectRedis', () => {
  it('refuses a Redis Cluster node reached as a single server, naming REDIS_CLUSTER and the tagged prefix', async () => {
    const bus = await getFreePort();
    const node = await startRedisServer({
      args: [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-port',
        String(bus),
      ],
    });
    try {
      await expect(connectRedis(node.url)).rejects.toThrow(
        `Redis at 127.0.0.1:${node.port} is a Redis Cluster node: set REDIS_CLUSTER=true (or REDIS_CLUSTER_NODES) and a hash-tagged QUEUE_PREFIX such as {certharvest}`,
      );
    } finally {
      await node.stop();
    }
  });

  it('refuses a single server reached as a cluster, naming what to unset', async () => {
    const server = await startRedisServer();
    try {
      const nodes = [{ host: '127.0.0.1', port: server.port }];
      await expect(connectRedis({ redisUrl: server.url, redisCluster: { nodes } }, 3_000)).rejects.toThrow(
        /cannot reach Redis at the Redis Cluster of 127\.0\.0\.1:\d+ .*not a Redis Cluster: unset REDIS_CLUSTER/,
      );
    } finally {
      await server.stop();
    }
  });
});

describe('an untagged prefix on a cluster client', () => {
  it('is refused by openQueues before any command, naming the prefix to set', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    try {
      expect(() => openQueues(cluster, 'certharvest')).toThrow(ConfigError);
      expect(() => openQueues(cluster, 'certharvest')).toThrow('set QUEUE_PREFIX={certharvest}');
    } finally {
      cluster.disconnect();
    }
  });

  it('is refused by the library before it connects', async () => {
    await expect(
      connectCertharvest({ redisUrl: 'redis://127.0.0.1:1', cluster: true, prefix: 'school' }),
    ).rejects.toThrow('set QUEUE_PREFIX={school}');
  });
});

describe('closeWorker', () => {
  it('gives up a close that never ends, and says so', async () => {
    const started = Date.now();
    expect(await closeWorker({ close: () => new Promise<void>(() => {}) }, { timeoutMs: 100 })).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    let forced: boolean | undefined;
    const closing = { close: async (force?: boolean) => void (forced = force) };
    expect(await closeWorker(closing, { force: true })).toBe(true);
    expect(forced).toBe(true);
  });
});
