import { FleetBreaker } from '../fleet/breaker.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { openQueues, type CertharvestQueues } from '../queue/queues.ts';
import type { ConfigNeed } from '../config/shape.ts';
import { openReadContext, type ContextOptions, type ReadContext } from './read-context.ts';

/** What most commands start from: the config (parsed once), a logger, Redis, the queues, the breaker. */
export interface CommandContext<N extends ConfigNeed = never> extends ReadContext<N> {
  logger: Logger;
  queues: CertharvestQueues;
  breaker: FleetBreaker;
}

export async function openContext<N extends ConfigNeed = never>(
  needs: readonly N[] = [],
  options: ContextOptions = {},
): Promise<CommandContext<N>> {
  const base = await openReadContext(needs, options);
  const { config, redis } = base;
  if (options.browser) {
    const { useChromiumSandbox } = await import('../browser/index.ts');
    useChromiumSandbox(!config.chromiumNoSandbox);
  }
  const level = options.quiet && config.logLevel === 'info' ? 'warn' : config.logLevel;
  const queues = openQueues(redis, config.queuePrefix);
  // Made on first use: a command that neither logs nor pauses (`submit`) never loads pino.
  let logger: Logger | undefined;
  let breaker: FleetBreaker | undefined;
  const loggerOf = (): Logger =>
    (logger ??= createLogger({ level, ...(config.logFormat ? { format: config.logFormat } : {}) }));
  return {
    ...base,
    get logger() {
      return loggerOf();
    },
    queues,
    get breaker() {
      return (breaker ??= new FleetBreaker({
        redis,
        prefix: config.queuePrefix,
        queues: [queues.discover, queues.download],
        logger: loggerOf(),
      }));
    },
    async close() {
      await queues.close();
      await base.close();
    },
  };
}
