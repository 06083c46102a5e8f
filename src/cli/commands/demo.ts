import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';

interface DemoOptions {
  users: string;
  keepOpen?: boolean;
  latencyMs: string;
  lms: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole product on the bundled sandbox LMS: starts the sandbox, a private Redis (unless REDIS_URL is set), ' +
        'a worker and Bull Board, submits every sandbox student, shows progress, prints where the PDFs are',
    )
    .option('--users <n>', 'students in the sandbox institution', '40')
    .option('--latency-ms <ms>', 'latency the sandbox adds to every answer', '0')
    .option('--keep-open', 'keep the sandbox, worker and board running after the batch, until Ctrl-C')
    .option('--lms <kind>', 'the LMS the sandbox plays: brightspace or blackboard (Learn)', 'brightspace')
    .addHelpText(
      'after',
      `
Output goes to OUTPUT_DIR (default ./certificates; ./certificates-blackboard for
--lms blackboard). The sandbox listens on port 4470 (4471 for Learn) so that its
host, which OUTPUT_DIR's marker records, is the same every run; when that port is
taken and OUTPUT_DIR is not set, this run's PDFs go to a new temporary folder.
Exit code 0 when every certificate is stored.

Examples:
  certharvest demo
  certharvest demo --lms blackboard    # the sandbox plays Blackboard Learn
  certharvest demo --users 400 --latency-ms 200 --keep-open   # watch the board`,
    )
    .action(async (opts: DemoOptions) => {
      const userCount = Number(opts.users);
      if (!Number.isInteger(userCount) || userCount < 1 || userCount > 100_000) {
        throw new UsageError(`--users: expected a whole number from 1 to 100000, got "${opts.users}"`);
      }
      const latencyMs = Number(opts.latencyMs);
      if (!Number.isFinite(latencyMs) || latencyMs < 0)
        throw new UsageError(`--latency-ms: expected a number ≥ 0, got "${opts.latencyMs}"`);
      if (opts.lms !== 'brightspace' && opts.lms !== 'blackboard') {
        throw new UsageError(`--lms: expected "brightspace" or "blackboard", got "${opts.lms}"`);
      }
      // The whole product and the sandbox package, loaded when the demo runs.
      const { runDemo } = await import('./demo-run.ts');
      process.exitCode = await runDemo({
        userCount,
        latencyMs,
        keepOpen: opts.keepOpen === true,
        lms: opts.lms,
      });
    });
}
