import type { RedisConnection } from '../util/redis-nodes.ts';
import { loadConfig } from '../config/load.ts';
import type { ConfigNeed, ConfigWith } from '../config/shape.ts';
import { BatchTracker } from '../queue/batch-tracker.ts';
import { connectRedis } from '../queue/redis-connection.ts';

/**
 * What a command that only reads starts from: the config (parsed once), Redis and the batch
 * records. No queues and no logger, so that such a command (`status`) loads neither BullMQ nor
 * pino; `openContext` (context.ts) adds them for the commands that act.
 */
export interface ReadContext<N extends ConfigNeed = never> {
  config: ConfigWith<N>;
  redis: RedisConnection;
  tracker: BatchTracker;
  close(): Promise<void>;
}

export interface ContextOptions {
  env?: NodeJS.ProcessEnv;
  /** Log `warn` and above when LOG_LEVEL is the default `info`: the command's output is the point. */
  quiet?: boolean;
  /**
   * The command may start Chromium (a web session): apply CHROMIUM_NO_SANDBOX. Default false, so
   * that a command that never starts it does not load Playwright.
   */
  browser?: boolean;
}

export async function openReadContext<N extends ConfigNeed = never>(
  needs: readonly N[] = [],
  options: Pick<ContextOptions, 'env'> = {},
): Promise<ReadContext<N>> {
  const config = loadConfig<N>({ needs, ...(options.env ? { env: options.env } : {}) });
  const redis = await connectRedis(config);
  return {
    config,
    redis,
    tracker: new BatchTracker(redis, config.queuePrefix),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
