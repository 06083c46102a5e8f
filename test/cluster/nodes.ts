/**
 * The cluster of scripts/redis-cluster.sh seen node by node, for the tests that attack it: which
 * master holds a prefix's slot, its replica, killing a node and bringing it back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { sleepUntil } from '../helpers/index.ts';

const run = promisify(execFile);

/** A node of the cluster, as `CLUSTER NODES` lists it. */
export interface ClusterNode {
  id: string;
  host: string;
  port: number;
  role: 'master' | 'replica';
  /** A replica's master (its id). */
  masterId: string | undefined;
}

/** A short-lived connection to one node (not a cluster client: it answers for itself). */
export async function withNode<T>(port: number, use: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  node.on('error', () => {});
  try {
    await node.connect();
    return await use(node);
  } finally {
    node.disconnect();
  }
}

/** The cluster's nodes as the node at `port` sees them (failed ones left out). */
export async function clusterNodes(port: number): Promise<ClusterNode[]> {
  const text = String(await withNode(port, (n) => n.call('CLUSTER', 'NODES')));
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => !/fail|handshake|noaddr/.test(f[2]!))
    .map((f) => {
      const [host, ports] = f[1]!.split('@')[0]!.split(/:(?=\d+$)/);
      return {
        id: f[0]!,
        host: host!,
        port: Number(ports),
        role: f[2]!.includes('master') ? ('master' as const) : ('replica' as const),
        masterId: f[3] === '-' ? undefined : f[3],
      };
    });
}

/** The master that holds the slot of `prefix`'s hash tag, and its replica (none after a failover). */
export async function ownerOf(
  port: number,
  prefix: string,
): Promise<{ slot: number; master: ClusterNode; replica: ClusterNode | undefined }> {
  const slot = Number(await withNode(port, (n) => n.call('CLUSTER', 'KEYSLOT', `${prefix}:x`)));
  const slots = (await withNode(port, (n) => n.call('CLUSTER', 'SLOTS'))) as [
    number,
    number,
    [string, number, string],
  ][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no master holds slot ${slot}`);
  const nodes = await clusterNodes(port);
  const master = nodes.find((n) => n.id === range[2][2]);
  const replica = nodes.find((n) => n.masterId === range[2][2]);
  if (!master) throw new Error(`slot ${slot}: its master ${range[2][2]} is not in CLUSTER NODES`);
  return { slot, master, replica };
}

/** Kill a node as a crash would (SIGKILL: no shutdown, no last save); resolves once it is gone. */
export async function killNode(port: number): Promise<void> {
  const pid = Number(/process_id:(\d+)/.exec(await withNode(port, (n) => n.info('server')))?.[1]);
  process.kill(pid, 'SIGKILL');
  await sleepUntil(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 5_000);
}

/** The client ports of scripts/redis-cluster.sh's nodes. */
export const CLUSTER_PORTS = [7001, 7002, 7003, 7004, 7005, 7006] as const;

const answers = (port: number) =>
  withNode(port, (n) => n.ping()).then(
    () => true,
    () => false,
  );

/**
 * Start every node of the cluster that is down (a killed one rejoins as a replica) and wait until
 * each node sees all six and `cluster_state:ok`.
 */
export async function makeWhole(): Promise<void> {
  for (const port of CLUSTER_PORTS) {
    if (await answers(port)) continue;
    await run('bash', ['scripts/redis-cluster.sh', 'start-node', String(port)], { timeout: 30_000 });
  }
  await sleepUntil(
    async () => {
      for (const p of CLUSTER_PORTS) {
        const info = String(await withNode(p, (n) => n.call('CLUSTER', 'INFO')).catch(() => ''));
        if (!info.includes('cluster_state:ok')) return false;
        if ((await clusterNodes(p)).length !== CLUSTER_PORTS.length) return false;
      }
      return true;
    },
    30_000,
    200,
  );
}

/** The node's replication role: `master` or `slave`. */
export async function roleOf(port: number): Promise<string> {
  const role = (await withNode(port, (n) => n.call('ROLE'))) as [string, ...unknown[]];
  return role[0];
}
