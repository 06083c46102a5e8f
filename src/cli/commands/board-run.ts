/** What `certharvest board` does, loaded when it runs (its options and help: board.ts). */
import { startBoardServer } from '../../server/index.ts';
import { openContext } from '../context.ts';
import { closeRedis, stopWithin, untilSignal } from '../signals.ts';
import { QUEUE_DESCRIPTIONS } from '../queue-descriptions.ts';

export async function run(opts: { grace: string }): Promise<void> {
  const ctx = await openContext(['board-auth']);
  const { board } = ctx.config;
  const server = await startBoardServer({
    queues: [ctx.queues.discover, ctx.queues.download, ctx.queues.maintenance, ctx.queues.schedules],
    redis: ctx.redis,
    user: board.user,
    password: board.password.reveal(),
    breaker: ctx.breaker,
    host: board.host,
    port: board.port,
    logger: ctx.logger,
    descriptions: QUEUE_DESCRIPTIONS,
    readOnly: board.readOnly,
    ...(board.envLabel ? { envLabel: board.envLabel } : {}),
    batchApi: {
      apiKeys: board.apiKeys,
      queues: ctx.queues,
      prefix: ctx.config.queuePrefix,
      ...(ctx.config.lms
        ? {
            unsupportedFilters: ctx.config.lms.site.unsupportedFilters,
            userIdRule: ctx.config.lms.site.userIdRule,
          }
        : {}),
    },
    batchPages: { queues: ctx.queues, prefix: ctx.config.queuePrefix },
  });
  // Allowed (the password is long enough, config checked it), but worth a line in the log.
  if (!/^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i.test(board.host) || !board.readOnly) {
    ctx.logger.warn(
      { host: board.host, readOnly: board.readOnly },
      'the board is reachable beyond this machine or can change jobs: serve it through TLS and keep BOARD_PASSWORD long',
    );
  }
  console.log(
    `Bull Board: ${server.url} (user ${board.user})  batches: ${server.url}batches  health: ${server.url}healthz  metrics: ${server.url}metrics`,
  );
  console.log(
    board.apiKeys.length > 0
      ? `Batch API: ${server.url}api/batches (clients: ${board.apiKeys.map((k) => k.name).join(', ')}; docs/api.md)`
      : 'Batch API: off (set API_KEYS to serve /api/batches)',
  );
  const signal = await untilSignal();
  ctx.logger.info({ signal }, 'shutting down');
  await stopWithin(Math.max(1, Number(opts.grace) || 10) * 1000, async () => {
    await server.close();
    // The queues and QUIT when Redis answers; a Redis that is away is dropped, not waited for.
    await closeRedis(ctx.redis, { close: () => ctx.close() });
  });
}
