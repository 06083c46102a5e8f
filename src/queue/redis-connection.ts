import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import {
  hashTagOf,
  untaggedPrefixProblem,
  type RedisClusterConfig,
  type RedisNode,
} from '../config/redis-values.ts';
import type { Secret } from '../config/secret.ts';
import { ConfigError, EnvironmentError } from '../errors/index.ts';
import { dataNodes, isCluster, nodeName, type RedisConnection } from '../util/redis-nodes.ts';
import { withTimeout } from '../util/with-timeout.ts';

export { dataNodes, isCluster, nodeName, type RedisConnection } from '../util/redis-nodes.ts';

/** Where the fleet's Redis is: the configuration's two fields (`Config` is one), or a URL alone. */
export interface RedisTarget {
  /** REDIS_URL: the server, or for a cluster the TLS setting (`rediss:`) and login of its nodes. */
  redisUrl: Secret | string;
  /** Seed nodes of a Redis Cluster; absent: one server. */
  redisCluster?: RedisClusterConfig | undefined;
}

/**
 * Refuse an untagged prefix on a cluster connection (a client, or BullMQ's connection options)
 * before anything runs: every BullMQ script would fail with CROSSSLOT. The configuration refuses
 * it at load; this catches a library caller or a connection made by hand.
 */
export function requireSlotPrefix(connection: unknown, prefix: string): void {
  if (connection instanceof Cluster && !hashTagOf(prefix)) {
    throw new ConfigError([untaggedPrefixProblem(prefix)]);
  }
}

/** The Redis URL with any password replaced, for messages. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/**
 * The options of a cluster client, from REDIS_URL: its login (`user:password@`, an ACL user or
 * the default one) and TLS (`rediss:`) for every node. Node addresses are used as the cluster
 * announces them, unresolved: the certificate of a managed service's TLS endpoint (ElastiCache's)
 * names the host, not its address. A failover (a replica promoted: `cluster-node-timeout` and an
 * election, a few seconds) is waited through: commands are retried for about 30 s before failing.
 */
function clusterOptions(url: URL): ClusterOptions {
  const redisOptions: RedisOptions = { maxRetriesPerRequest: null };
  if (url.username) redisOptions.username = decodeURIComponent(url.username);
  if (url.password) redisOptions.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') redisOptions.tls = {};
  return {
    redisOptions,
    lazyConnect: true,
    dnsLookup: (address, callback) => callback(null, address),
    retryDelayOnFailover: 500,
    retryDelayOnClusterDown: 500,
    retryDelayOnTryAgain: 500,
    maxRedirections: 60,
  };
}

/** A client for `target`, not connected yet. */
function createClient(target: RedisTarget): RedisConnection {
  const raw = typeof target.redisUrl === 'string' ? target.redisUrl : target.redisUrl.reveal();
  if (!target.redisCluster) return new Redis(raw, { maxRetriesPerRequest: null, lazyConnect: true });
  return new Cluster([...target.redisCluster.nodes], clusterOptions(new URL(raw)));
}

/**
 * Connect to Redis and check it answers. `maxRetriesPerRequest: null` is what BullMQ workers
 * need (commands wait through a reconnect instead of failing); a first PING with a time limit
 * turns "Redis is not there" into one clear error instead of endless reconnect logs. Every server
 * that holds data (each master of a cluster) must be Redis 6.2 or newer; a cluster node reached
 * as a single server is refused, naming the setting that is missing.
 *
 * A cluster client reconnects through its seed nodes, and so does each copy BullMQ makes of it
 * for its blocking commands: once the cluster answers, the client is made again with every node
 * it knows as a seed, so that losing the node REDIS_URL names (a failover) loses no client.
 */
export async function connectRedis(url: Secret | string, timeoutMs?: number): Promise<Redis>;
export async function connectRedis(target: RedisTarget, timeoutMs?: number): Promise<RedisConnection>;
export async function connectRedis(
  target: RedisTarget | Secret | string,
  timeoutMs = 5_000,
): Promise<RedisConnection> {
  const t: RedisTarget = typeof target === 'object' && 'redisUrl' in target ? target : { redisUrl: target };
  let redis = await connectOnce(t, timeoutMs);
  const seeds = t.redisCluster?.nodes ?? [];
  const known = allNodes(redis).filter((n) => !seeds.some((s) => s.host === n.host && s.port === n.port));
  if (known.length > 0) {
    redis.disconnect();
    redis = await connectOnce({ ...t, redisCluster: { nodes: [...seeds, ...known] } }, timeoutMs);
  }
  try {
    for (const node of dataNodes(redis)) await checkServer(node, t.redisCluster !== undefined);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/** Every node of a cluster (masters and replicas) as the client found them; none for one server. */
function allNodes(redis: RedisConnection): RedisNode[] {
  if (!isCluster(redis)) return [];
  return redis.nodes('all').map((n) => ({ host: n.options.host ?? '', port: n.options.port ?? 6379 }));
}

/** A client for `target`, connected and answering PING within `timeoutMs`. */
async function connectOnce(t: RedisTarget, timeoutMs: number): Promise<RedisConnection> {
  const raw = typeof t.redisUrl === 'string' ? t.redisUrl : t.redisUrl.reveal();
  const redis = createClient(t);
  let lastError: Error | undefined;
  redis.on('error', (err: Error & { lastNodeError?: Error }) => (lastError = err.lastNodeError ?? err));
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
      'Redis connection',
    );
    return redis;
  } catch (err) {
    redis.disconnect();
    const where = t.redisCluster
      ? `the Redis Cluster of ${t.redisCluster.nodes.map((n) => `${n.host}:${n.port}`).join(', ')} (REDIS_URL, REDIS_CLUSTER)`
      : `${describeRedisUrl(raw)} (REDIS_URL)`;
    const reason = (lastError ?? (err as Error)).message;
    const fix = /cluster support disabled/i.test(reason)
      ? 'The server is not a Redis Cluster: unset REDIS_CLUSTER and REDIS_CLUSTER_NODES.'
      : 'Start redis-server or fix REDIS_URL.';
    throw new EnvironmentError(`cannot reach Redis at ${where}: ${reason}. ${fix}`, { cause: err });
  }
}

/** A server's version, and whether it is a cluster node reached as a single server. */
async function checkServer(node: Redis, asCluster: boolean): Promise<void> {
  const info = await node.info();
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  if (version && (Number(version[1]) < 6 || (Number(version[1]) === 6 && Number(version[2]) < 2))) {
    throw new EnvironmentError(
      `Redis ${version[1]}.${version[2]} at ${nodeName(node)} is too old: 6.2 or newer is needed`,
    );
  }
  if (!asCluster && /cluster_enabled:1/.test(info)) {
    throw new EnvironmentError(
      `Redis at ${nodeName(node)} is a Redis Cluster node: set REDIS_CLUSTER=true (or REDIS_CLUSTER_NODES) and a hash-tagged QUEUE_PREFIX such as {certharvest}`,
    );
  }
}
