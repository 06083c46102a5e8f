import { Command } from 'commander';

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
      const { run } = await import('./worker-run.ts');
      await run(opts);
    });
}
