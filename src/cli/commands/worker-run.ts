/** What `certharvest worker` does, loaded when it runs (its options and help: worker.ts). */
import { startWorker } from '../../../jobs/worker.ts';
import { loadConfig } from '../../config/index.ts';
import { createLogger } from '../../log/index.ts';
import { connectRedis } from '../../queue/index.ts';
import { closeRedis, stopWithin, untilSignal } from '../signals.ts';

export async function run(opts: { grace: string }): Promise<void> {
  const probe = loadConfig();
  const config =
    probe.downloadStrategy === 'api'
      ? loadConfig({ needs: ['lms', 'secrets-key'] })
      : loadConfig({ needs: ['lms', 'secrets-key', 'browser-login'] });
  const logger = createLogger({
    level: config.logLevel,
    ...(config.logFormat ? { format: config.logFormat } : {}),
  });
  const redis = await connectRedis(config);
  const graceMs = Math.max(1, Number(opts.grace) || 60) * 1000;
  let worker;
  try {
    worker = await startWorker({ config, logger, redis, checks: true, processEnv: process.env });
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
}
