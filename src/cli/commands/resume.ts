import { Command } from 'commander';
import { describePause } from '../pause-report.ts';
import { openContext } from '../context.ts';

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
      const ctx = await openContext();
      try {
        const lifted = await ctx.breaker.resume(`cli:${process.pid}`);
        if (lifted) {
          console.log(`resumed the fleet (it was paused for ${lifted.reason} since ${lifted.since}).`);
          console.log('If the cause is still there, the first job that meets it pauses the fleet again:');
          console.log(describePause(lifted).split('\n')[1]);
        } else {
          console.log('the fleet was not paused (the queues are resumed anyway).');
        }
      } finally {
        await ctx.close();
      }
    });
}
