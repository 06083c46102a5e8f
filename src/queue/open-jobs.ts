/**
 * Read-only views of the accounting's open jobs for one batch (what `cancel` looks at): the
 * discover jobs it still has open, and the downloads it may wait for.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import { parseOpenJob } from './accounting-scripts.ts';

/** The open download jobs `batchId` may wait for (read from the accounting, in pages). */
export async function openDownloadsOf(
  redis: RedisConnection,
  prefix: string,
  batchId: string,
): Promise<string[]> {
  const key = `${prefix}:acct:download`;
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(key, cursor, 'COUNT', 1000);
    cursor = next;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const info = parseOpenJob(flat[i + 1]!);
      if (!info || info.b === batchId || info.j || info.b === undefined) out.push(flat[i]!);
    }
  } while (cursor !== '0');
  return [...new Set(out)];
}

/** The open discover jobs of `batchId` (users still to discover, and an enumeration). */
export async function openDiscoversOf(
  redis: RedisConnection,
  prefix: string,
  batchId: string,
): Promise<string[]> {
  const ids = await redis.smembers(`${prefix}:batch:${batchId}:jobs`);
  const open: string[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const infos = await redis.hmget(`${prefix}:acct:discover`, ...chunk);
    chunk.forEach((id, k) => infos[k] && open.push(id));
  }
  return open;
}
