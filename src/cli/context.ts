import type { Redis } from 'ioredis';
import { loadConfig, type Config, type ConfigNeed } from '../config/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { BatchTracker, connectRedis, openQueues, type CertharvestQueues } from '../queue/index.ts';

/** What most commands start from: the config (parsed once), a logger, Redis and the queues. */
export interface CommandContext {
  config: Config;
  logger: Logger;
  redis: Redis;
  queues: CertharvestQueues;
  tracker: BatchTracker;
  close(): Promise<void>;
}

export async function openContext(
  needs: readonly ConfigNeed[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<CommandContext> {
  const config = loadConfig({ needs, ...(env ? { env } : {}) });
  const logger = createLogger({ level: config.logLevel });
  const redis = await connectRedis(config.redisUrl);
  const queues = openQueues(redis, config.queuePrefix);
  return {
    config,
    logger,
    redis,
    queues,
    tracker: new BatchTracker(redis, config.queuePrefix),
    async close() {
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
