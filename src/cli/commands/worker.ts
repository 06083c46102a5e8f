import { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createLogger } from '../../log/index.ts';
import { connectRedis } from '../../queue/index.ts';
import { startWorker } from '../../../jobs/worker.ts';
import { closeRedis, stopWithin, untilSignal } from '../signals.ts';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run the discover and download workers until SIGTERM/SIGINT, then drain gracefully')
    .option(
      '--grace <seconds>',
      'how long to let active jobs finish on shutdown; the process exits at most 5 s later, whatever Redis does',
      '60',
    )
    .addHelpText(
      'after',
      `
Before taking jobs it checks Redis (6.2+), OUTPUT_DIR, the token store and a
first access token, and that Chromium starts (unless DOWNLOAD_STRATEGY=api).
A configuration problem exits 2 naming the variable; a paused fleet whose
cause is now gone is resumed.

Needs: LMS_URL, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET (or a private key),
SECRETS_KEY, REDIS_URL, and LMS_USERNAME/LMS_PASSWORD unless
DOWNLOAD_STRATEGY=api. Concurrency: DISCOVER_CONCURRENCY (4),
DOWNLOAD_CONCURRENCY (4). Run several workers (processes or machines) against
one Redis to scale.

Examples:
  certharvest worker
  LOG_LEVEL=debug DOWNLOAD_CONCURRENCY=16 certharvest worker --grace 120`,
    )
    .action(async (opts: { grace: string }) => {
      const probe = loadConfig();
      const config =
        probe.downloadStrategy === 'api'
          ? loadConfig({ needs: ['lms', 'secrets-key'] })
          : loadConfig({ needs: ['lms', 'secrets-key', 'browser-login'] });
      const logger = createLogger({
        level: config.logLevel,
        ...(config.logFormat ? { format: config.logFormat } : {}),
      });
      const redis = await connectRedis(config.redisUrl);
      const graceMs = Math.max(1, Number(opts.grace) || 60) * 1000;
      let worker;
      try {
        worker = await startWorker({ config, logger, redis, checks: true });
      } catch (err) {
        await closeRedis(redis);
        throw err;
      }
      const signal = await untilSignal();
      logger.info({ signal }, 'shutting down');
      // The jobs get the grace; closing the connections a few seconds more, then the process
      // exits whatever Redis does.
      await stopWithin(graceMs + 5_000, async () => {
        await worker.stop(graceMs);
        await closeRedis(redis);
      });
    });
}
