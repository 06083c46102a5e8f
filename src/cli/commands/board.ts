import { Command } from 'commander';
import { startBoardServer } from '../../server/index.ts';
import { openContext } from '../context.ts';
import { untilSignal } from '../signals.ts';

export const QUEUE_DESCRIPTIONS: Record<string, string> = {
  discover: 'one job per user: resolve the user, list issued awards, queue certificate downloads',
  download: 'one job per certificate: fetch the PDF, validate it, store it with a sidecar',
  maintenance: "the fleet's token keep-alive: one job per TOKEN_KEEPALIVE, whatever the number of workers",
};

export function registerBoardCommand(program: Command): void {
  program
    .command('board')
    .description(
      'serve Bull Board (basic auth: BOARD_USER/BOARD_PASSWORD) with /healthz, /readyz and /metrics',
    )
    .addHelpText(
      'after',
      `
Read-only unless BOARD_READ_ONLY=false (then write actions are taken only from
the board's own pages). BOARD_ENV_LABEL puts a label in its header.

Examples:
  BOARD_USER=ops BOARD_PASSWORD=... certharvest board
  BOARD_HOST=0.0.0.0 BOARD_PORT=8080 BOARD_ENV_LABEL=production certharvest board
  curl -s http://127.0.0.1:3000/readyz     # 503 with the reason while the fleet is paused`,
    )
    .action(async () => {
      const ctx = await openContext(['board-auth']);
      const { board } = ctx.config;
      const server = await startBoardServer({
        queues: [ctx.queues.discover, ctx.queues.download, ctx.queues.maintenance],
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
      });
      console.log(
        `Bull Board: ${server.url} (user ${board.user})  health: ${server.url}healthz  metrics: ${server.url}metrics`,
      );
      await untilSignal();
      await server.close();
      await ctx.close();
    });
}
