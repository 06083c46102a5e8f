/**
 * The Redis side of the configuration: the queue prefix (plain, or a Redis Cluster hash tag) and
 * the seed nodes of a cluster. A cluster places each key by a hash of its name; a prefix written
 * `{certharvest}` makes Redis hash only `certharvest`, so every key of the fleet lands in one
 * slot and BullMQ's scripts and our own (which touch several keys at once) may run there.
 */
import { z } from 'zod';

/** A Redis server's address, as a cluster's seed node. */
export interface RedisNode {
  host: string;
  port: number;
}

/** A Redis Cluster: the nodes to learn its layout from. */
export interface RedisClusterConfig {
  nodes: readonly RedisNode[];
}

/**
 * `certharvest` or `{certharvest}`: letters, digits, `-` and `_`, optionally wrapped whole in a
 * hash tag. A colon would blur the keys' structure (`<prefix>:<queue>:<id>`); any other brace
 * would make Redis hash something else than the name.
 */
export const queuePrefix = z
  .string()
  .trim()
  .regex(
    /^(?:[A-Za-z0-9_-]+|\{[A-Za-z0-9_-]+\})$/,
    'expected letters, digits, "-" or "_", optionally wrapped in {} as a Redis Cluster hash tag, e.g. certharvest or {certharvest}',
  );

/** The hash tag of a prefix (`{certharvest}` → `certharvest`), or undefined when it has none. */
export function hashTagOf(prefix: string): string | undefined {
  return /^\{([^{}]+)\}/.exec(prefix)?.[1];
}

/** The line that refuses an untagged prefix on a Redis Cluster, naming the fix. */
export function untaggedPrefixProblem(prefix: string): string {
  return (
    `QUEUE_PREFIX: a Redis Cluster needs a hash-tagged prefix, so that every key of the fleet hashes ` +
    `to one slot (BullMQ's scripts and the batch accounting touch several keys at once); ` +
    `set QUEUE_PREFIX={${prefix}} (got "${prefix}")`
  );
}

/** `host:port,host:port` → the seed nodes of a cluster (IPv6 hosts in brackets: `[::1]:7001`). */
export const clusterNodes = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const nodes: RedisNode[] = [];
    for (const part of v.split(',').map((p) => p.trim())) {
      const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(part);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535) {
        ctx.addIssue({
          code: 'custom',
          message: `expected host:port seed nodes separated by commas, e.g. 10.0.0.1:6379,10.0.0.2:6379 ("${part}" is not one)`,
        });
        return z.NEVER;
      }
      nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
    }
    return nodes;
  });

/** The seed node a `redis://` or `rediss://` URL names (port 6379 when it names none). */
export function nodeOfUrl(url: string): RedisNode {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379 };
}
