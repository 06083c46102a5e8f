import type { Redis } from 'ioredis';
import { loadConfig, type ConfigNeed, type ConfigWith } from '../config/index.ts';
import { FleetBreaker } from '../fleet/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { BatchTracker, connectRedis, openQueues, type CertharvestQueues } from '../queue/index.ts';

/** What most commands start from: the config (parsed once), a logger, Redis, the queues, the breaker. */
export interface CommandContext<N extends ConfigNeed = never> {
  config: ConfigWith<N>;
  logger: Logger;
  redis: Redis;
  queues: CertharvestQueues;
  tracker: BatchTracker;
  breaker: FleetBreaker;
  close(): Promise<void>;
}

export async function openContext<N extends ConfigNeed = never>(
  needs: readonly N[] = [],
  options: {
    env?: NodeJS.ProcessEnv;
    /** Log `warn` and above when LOG_LEVEL is the default `info`: the command's output is the point. */
    quiet?: boolean;
    /**
     * The command may start Chromium (a web session): apply CHROMIUM_NO_SANDBOX. Default false, so
     * that a command that never starts it does not load Playwright.
     */
    browser?: boolean;
  } = {},
): Promise<CommandContext<N>> {
  const config = loadConfig<N>({ needs, ...(options.env ? { env: options.env } : {}) });
  if (options.browser) {
    const { useChromiumSandbox } = await import('../browser/index.ts');
    useChromiumSandbox(!config.chromiumNoSandbox);
  }
  const level = options.quiet && config.logLevel === 'info' ? 'warn' : config.logLevel;
  const logger = createLogger({ level, ...(config.logFormat ? { format: config.logFormat } : {}) });
  const redis = await connectRedis(config.redisUrl);
  const queues = openQueues(redis, config.queuePrefix);
  return {
    config,
    logger,
    redis,
    queues,
    tracker: new BatchTracker(redis, config.queuePrefix),
    breaker: new FleetBreaker({
      redis,
      prefix: config.queuePrefix,
      queues: [queues.discover, queues.download],
      logger,
    }),
    async close() {
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
