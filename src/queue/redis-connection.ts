import { Redis } from 'ioredis';
import type { Secret } from '../config/secret.ts';
import { EnvironmentError } from '../errors/index.ts';
import { withTimeout } from '../util/with-timeout.ts';

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
 * Connect to Redis and check it answers. `maxRetriesPerRequest: null` is what BullMQ workers
 * need (commands wait through a reconnect instead of failing); a first PING with a time limit
 * turns "Redis is not there" into one clear error instead of endless reconnect logs.
 */
export async function connectRedis(url: Secret | string, timeoutMs = 5_000): Promise<Redis> {
  const raw = typeof url === 'string' ? url : url.reveal();
  const redis = new Redis(raw, { maxRetriesPerRequest: null, lazyConnect: true });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
      'Redis connection',
    );
  } catch (err) {
    redis.disconnect();
    const reason = (lastError ?? (err as Error)).message;
    throw new EnvironmentError(
      `cannot reach Redis at ${describeRedisUrl(raw)} (REDIS_URL): ${reason}. Start redis-server or fix REDIS_URL.`,
      { cause: err },
    );
  }
  const info = await redis.info('server');
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  if (version && (Number(version[1]) < 6 || (Number(version[1]) === 6 && Number(version[2]) < 2))) {
    redis.disconnect();
    throw new EnvironmentError(
      `Redis ${version[1]}.${version[2]} at ${describeRedisUrl(raw)} is too old: 6.2 or newer is needed`,
    );
  }
  return redis;
}
