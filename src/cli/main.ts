import { Command, CommanderError } from 'commander';
import { CertharvestError, ConfigError, EnvironmentError, UsageError } from '../errors/index.ts';
import { lmsRegistry } from '../lms/registry.ts';
// Each command's registration (name, arguments, options, help) is cheap; what it runs is loaded by
// its action, so `--help` or `status` never loads Playwright, the board or the sandbox.
import { registerAuthCommand } from './commands/auth.ts';
import { registerBoardCommand } from './commands/board.ts';
import { registerCancelCommand } from './commands/cancel.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerInspectCommand } from './commands/inspect.ts';
import { registerResumeCommand } from './commands/resume.ts';
import { registerRetryCommand } from './commands/retry.ts';
import { registerSandboxCommand } from './commands/sandbox.ts';
import { registerSchemaCommand } from './commands/schema.ts';
import { registerScheduleCommand } from './commands/schedule-register.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerSubmitCommand } from './commands/submit.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { EXIT } from './exit-codes.ts';

/** The LMSes of the registry, e.g. "D2L Brightspace, Blackboard Learn". */
function lmsTitles(): string {
  return lmsRegistry
    .kinds()
    .map((k) => lmsRegistry.get(k)?.title ?? k)
    .join(', ');
}

export function buildProgram(): Command {
  const program = new Command('certharvest')
    .description(
      `Bulk-download the certificate PDFs an LMS (${lmsTitles()}) has issued to students.\n` +
        'Configuration comes from the environment or a .env file; see docs/configuration.md.',
    )
    .version('0.2.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDemoCommand(program);
  registerWorkerCommand(program);
  registerSubmitCommand(program);
  registerStatusCommand(program);
  registerCancelCommand(program);
  registerRetryCommand(program);
  registerScheduleCommand(program);
  registerBoardCommand(program);
  registerResumeCommand(program);
  registerAuthCommand(program);
  registerSandboxCommand(program);
  registerDoctorCommand(program);
  registerInspectCommand(program);
  registerSchemaCommand(program);
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

/** Run the CLI; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    return await reportError(err);
  }
}

async function reportError(err: unknown): Promise<number> {
  if (err instanceof CommanderError) {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      return EXIT.OK;
    }
    return EXIT.USAGE;
  }
  if (err instanceof CertharvestError) {
    console.error(`certharvest: ${err.message}`);
    return (await isUsageError(err)) ? EXIT.USAGE : EXIT.SOME_FAILED;
  }
  console.error('certharvest: unexpected error:', err);
  return EXIT.SOME_FAILED;
}

/**
 * Errors that exit 2: a wrong setting or command line, a missing program or service, a malformed
 * or taken batch id, `cancel`/`retry` of a batch that is not there or `retry` of one still
 * running, an OUTPUT_DIR that belongs to another LMS or whose marker is not one (a setting to fix,
 * like a ConfigError). The queue's and the storage's errors are defined beside the code that
 * throws them, which only a running command loads (and then has loaded already): they are looked
 * up last, so that a usage error does not load BullMQ.
 */
async function isUsageError(err: CertharvestError): Promise<boolean> {
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof EnvironmentError) return true;
  const queue = await import('../queue/index.ts');
  const storage = await import('../storage/index.ts');
  return (
    err instanceof queue.InvalidBatchError ||
    err instanceof queue.BatchExistsError ||
    err instanceof queue.BatchNotFoundError ||
    err instanceof queue.BatchStillRunningError ||
    err instanceof storage.OutputDirOtherLmsError ||
    err instanceof storage.OutputMarkerInvalidError
  );
}
