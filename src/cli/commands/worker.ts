import { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createLogger } from '../../log/index.ts';
import { connectRedis } from '../../queue/index.ts';
import { startWorker } from '../../worker/start-worker.ts';
import { untilSignal } from '../signals.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the discover and download workers until SIGTERM/SIGINT, then drain gracefully')
    .option('--grace <seconds>', 'how long to let active jobs finish on shutdown', '60')
    .addHelpText(
      'after',
      `
Needs: LMS_URL, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET (or a private key), SECRETS_KEY, REDIS_URL,
and LMS_USERNAME/LMS_PASSWORD unless DOWNLOAD_STRATEGY=api. Concurrency: DISCOVER_CONCURRENCY (4),
DOWNLOAD_CONCURRENCY (4). Run several workers (processes or machines) against one Redis to scale.`,
    )
    .action(async (opts: { grace: string }) => {
      const probe = loadConfig();
      const config = loadConfig({
        needs:
          probe.downloadStrategy === 'api' ? ['lms', 'secrets-key'] : ['lms', 'secrets-key', 'browser-login'],
      });
      const logger = createLogger({ level: config.logLevel });
      const redis = await connectRedis(config.redisUrl);
      const worker = await startWorker({ config, logger, redis });
      const signal = await untilSignal();
      logger.info({ signal }, 'shutting down');
      await worker.stop(Math.max(1, Number(opts.grace) || 60) * 1000);
      await redis.quit().catch(() => redis.disconnect());
    });
}
