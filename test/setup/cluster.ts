import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const SCRIPT = 'scripts/redis-cluster.sh';
/** The first node of scripts/redis-cluster.sh's cluster. */
export const CLUSTER_URL = 'redis://127.0.0.1:7001';

/** Whether a cluster already answers there, in `cluster_state:ok`. */
async function clusterUp(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return /cluster_state:ok/.test(String(await probe.call('CLUSTER', 'INFO')));
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * The Redis Cluster of the cluster run (`npm run test:cluster`): the one at TEST_REDIS_CLUSTER_URL,
 * or one already up on 7001-7006 (left running), or one started here with scripts/redis-cluster.sh
 * and stopped at the end.
 */
export default async function startCluster(project: TestProject) {
  project.provide('redisCluster', true);
  const given = process.env.TEST_REDIS_CLUSTER_URL;
  if (given) return void project.provide('redisUrl', given);
  project.provide('redisUrl', CLUSTER_URL);
  if (await clusterUp(CLUSTER_URL)) return;
  await run('bash', [SCRIPT, 'start'], { timeout: 60_000 });
  return async () => {
    await run('bash', [SCRIPT, 'stop'], { timeout: 60_000 });
  };
}
