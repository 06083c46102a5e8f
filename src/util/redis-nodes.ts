import type { Cluster, Redis } from 'ioredis';

/**
 * The fleet's Redis: one server, or a Redis Cluster (every key of a fleet in one slot, thanks to
 * its hash-tagged prefix). Everything that talks to Redis takes this type; `connectRedis`
 * (src/queue/redis-connection.ts) makes one.
 */
export type RedisConnection = Redis | Cluster;

export const isCluster = (redis: RedisConnection): redis is Cluster => redis.isCluster;

/**
 * The servers that hold the data: every master of a cluster, or the one server. What is asked of
 * a server rather than of a key (INFO, CONFIG, SCAN, KEYS) is asked of each of these: a cluster
 * sends it to a random node otherwise.
 */
export const dataNodes = (redis: RedisConnection): Redis[] =>
  isCluster(redis) ? redis.nodes('master') : [redis];

/** `host:port` of one server, for messages. */
export const nodeName = (node: Redis): string => `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
