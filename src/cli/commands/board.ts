import { Command } from 'commander';
import { startBoardServer } from '../../server/index.ts';
import { openContext } from '../context.ts';
import { closeRedis, stopWithin, untilSignal } from '../signals.ts';

export const QUEUE_DESCRIPTIONS: Record<string, string> = {
  discover: 'one job per user: resolve the user, list issued awards, queue certificate downloads',
  download: 'one job per certificate: fetch the PDF, validate it, store it with a sidecar',
  maintenance: "the fleet's token keep-alive: one job per TOKEN_KEEPALIVE, whatever the number of workers",
  schedules:
    "recurring batches (certharvest schedule): one job per firing for the fleet, which submits that firing's batch",
};

export function registerBoardCommand(program: Command): void {
  program
    .command('board')
    .description(
      'serve Bull Board (basic auth: BOARD_USER/BOARD_PASSWORD) with the batch pages on /batches, /healthz, /readyz and /metrics, and the batch HTTP API on /api/batches (API_KEYS)',
    )
    .option('--grace <seconds>', 'how long the shutdown may take before the process exits anyway', '10')
    .addHelpText(
      'after',
      `
Read-only unless BOARD_READ_ONLY=false (then write actions are taken only from
the board's own pages). BOARD_ENV_LABEL puts a label in its header.

/batches lists the recent batches; /batches/<id> shows one with its failures
and manifest CSV, and, unless read-only, Cancel and Retry failures buttons.

BOARD_PASSWORD needs 12+ characters when BOARD_HOST is not loopback or the
board is read-write. Failed logins (password or API key) are throttled per
address: 10 a minute, then 429 until the minute ends, one warn line each.

With API_KEYS=name:key[:scopes],... (random keys of 24+ characters, e.g.
openssl rand -hex 32; scopes submit, read:own, read:all joined by "+",
default submit+read:own) it also serves the batch HTTP API: POST /api/batches, GET /api/batches/<id>,
GET /api/batches/<id>/failures[?format=csv] (docs/api.md).

Examples:
  BOARD_USER=ops BOARD_PASSWORD=... certharvest board
  BOARD_HOST=0.0.0.0 BOARD_PORT=8080 BOARD_ENV_LABEL=production certharvest board
  curl -s http://127.0.0.1:3000/readyz     # 503 with the reason while the fleet is paused
  API_KEYS="sis:$(openssl rand -hex 32)" BOARD_USER=ops BOARD_PASSWORD=... certharvest board
  curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
    -d '{"batchId":"spring-2026","users":[1001,1002]}' http://127.0.0.1:3000/api/batches`,
    )
    .action(async (opts: { grace: string }) => {
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
    });
}
