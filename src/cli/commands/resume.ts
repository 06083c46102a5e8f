import { Command } from 'commander';

export function registerResumeCommand(program: Command): void {
  program
    .command('resume')
    .description('resume a fleet paused by a fleet-wide condition, once its cause is fixed')
    .addHelpText(
      'after',
      `
The fleet pauses itself (every worker stops taking jobs, none is failed)
when something would fail every job: a refused refresh token or login, no
browser, OUTPUT_DIR not writable, the LMS down. It resumes by itself when it
can see the cause is gone; this command is for the rest.

Examples:
  certharvest status     # whether the fleet is paused, why, and the fix
  certharvest resume`,
    )
    .action(async () => {
      const { run } = await import('./resume-run.ts');
      await run();
    });
}
