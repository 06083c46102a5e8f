import type { Redis } from 'ioredis';
import { EnvironmentError } from '../errors/index.ts';
import { connectRedis, dataNodes, describeRedisUrl, isCluster, nodeName } from '../queue/index.ts';
import { fail, pass, warn, type CheckOutcome } from './check.ts';
import type { DoctorState } from './state.ts';

/** What one server that holds data says of itself. */
interface NodeFacts {
  name: string;
  version: string;
  policy: string;
  persistence: string;
  /** AOF on, or RDB snapshots configured. */
  persistent: boolean;
}

/**
 * Redis answers, is 6.2 or newer, never evicts keys, and keeps them across a restart: on the one
 * server, or on every master of a cluster (each holds a part of the slots, so each must hold all
 * of these), naming the node that fails.
 */
export async function checkRedis(s: DoctorState): Promise<CheckOutcome> {
  const { base } = s.need('base');
  const where = base.redisCluster
    ? `the Redis Cluster of ${base.redisCluster.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}`
    : describeRedisUrl(base.redisUrl.reveal());
  let redis;
  try {
    redis = await connectRedis(base);
  } catch (err) {
    if (err instanceof EnvironmentError) {
      return fail(
        err.message,
        /too old/.test(err.message)
          ? 'upgrade Redis to 6.2 or newer (BullMQ needs it)'
          : /REDIS_CLUSTER/.test(err.message)
            ? 'set REDIS_CLUSTER=true and QUEUE_PREFIX={certharvest} (a hash tag), or point REDIS_URL at a single server'
            : 'start redis-server, or set REDIS_URL to a Redis this machine can reach',
      );
    }
    throw err;
  }
  s.provide('redis', redis);
  s.onClose(() => redis.quit().catch(() => redis.disconnect()));

  const facts = await Promise.all(dataNodes(redis).map(readNode));
  const cluster = isCluster(redis);
  const found = cluster
    ? `Redis Cluster (${facts.length} masters) at ${where}: ` +
      facts.map((f) => `${f.name} Redis ${f.version}, ${f.policy}, ${f.persistence}`).join('; ')
    : `Redis ${facts[0]!.version} at ${where}; maxmemory-policy ${facts[0]!.policy}; persistence: ${facts[0]!.persistence}`;
  const on = (bad: readonly NodeFacts[]) => (cluster ? ` on ${bad.map((f) => f.name).join(', ')}` : '');
  const evicting = facts.filter((f) => f.policy !== 'noeviction');
  if (evicting.length > 0) {
    return fail(
      cluster ? `${found} — evicting: ${evicting.map((f) => `${f.name} (${f.policy})`).join(', ')}` : found,
      `set maxmemory-policy noeviction${on(evicting)} (redis.conf, or CONFIG SET maxmemory-policy noeviction; ` +
        'a managed service: its parameter group): an evicted key loses jobs, batch records or the sealed token',
    );
  }
  const volatile = facts.filter((f) => !f.persistent);
  if (volatile.length > 0) {
    return warn(
      cluster ? `${found} — no persistence: ${volatile.map((f) => f.name).join(', ')}` : found,
      `turn on appendonly yes${on(volatile)} (redis.conf, or CONFIG SET appendonly yes and CONFIG REWRITE): ` +
        'without it a restart loses the queues, the batch records and the token store',
    );
  }
  return pass(found);
}

async function readNode(node: Redis): Promise<NodeFacts> {
  const info = parseInfo(await node.info());
  const aof = info.get('aof_enabled') === '1';
  // Managed services often refuse CONFIG; then only AOF (from INFO) can be seen.
  const save = await node
    .config('GET', 'save')
    .then((r) => (Array.isArray(r) ? String(r[1] ?? '') : undefined))
    .catch(() => undefined);
  return {
    name: nodeName(node),
    version: info.get('redis_version') ?? '?',
    policy: info.get('maxmemory_policy') ?? 'unknown',
    persistence: aof
      ? 'AOF (appendonly yes)'
      : save
        ? `RDB snapshots (save ${save})`
        : save === ''
          ? 'none'
          : 'unknown (CONFIG GET is refused; AOF is off)',
    persistent: aof || Boolean(save),
  };
}

function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}
