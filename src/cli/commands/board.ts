import { Command } from 'commander';

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
      const { run } = await import('./board-run.ts');
      await run(opts);
    });
}
