import { Command, CommanderError } from 'commander';
import { CertharvestError, ConfigError, EnvironmentError, UsageError } from '../errors/index.ts';
import {
  BatchExistsError,
  BatchNotFoundError,
  BatchStillRunningError,
  InvalidBatchError,
} from '../queue/index.ts';
import { OutputDirOtherLmsError, OutputMarkerInvalidError } from '../storage/index.ts';
import { registerAuthCommand } from './commands/auth.ts';
import { registerBoardCommand } from './commands/board.ts';
import { registerCancelCommand } from './commands/cancel.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerResumeCommand } from './commands/resume.ts';
import { registerRetryCommand } from './commands/retry.ts';
import { registerSandboxCommand } from './commands/sandbox.ts';
import { registerSchemaCommand } from './commands/schema.ts';
import { registerScheduleCommand } from './commands/schedule.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerSubmitCommand } from './commands/submit.ts';
import { registerWorkerCommand } from './commands/worker.ts';
import { lmsRegistry } from '../lms/registry.ts';
import { EXIT } from './exit-codes.ts';
import { registerInspectCommand } from './commands/inspect.ts';

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
        'Configuration comes from the environment or a .env file; see the README.',
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
    return reportError(err);
  }
}

function reportError(err: unknown): number {
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
  if (err instanceof ConfigError) {
    console.error(`certharvest: ${err.message}`);
    return EXIT.USAGE;
  }
  if (err instanceof UsageError || err instanceof InvalidBatchError || err instanceof BatchExistsError) {
    console.error(`certharvest: ${err.message}`);
    return EXIT.USAGE;
  }
  // `cancel`/`retry` of a batch that is not there, or `retry` of one still running: wrong usage.
  if (err instanceof BatchNotFoundError || err instanceof BatchStillRunningError) {
    console.error(`certharvest: ${err.message}`);
    return EXIT.USAGE;
  }
  // OUTPUT_DIR belongs to another LMS, or its marker is not one: a setting to fix, like a ConfigError.
  if (err instanceof OutputDirOtherLmsError || err instanceof OutputMarkerInvalidError) {
    console.error(`certharvest: ${err.message}`);
    return EXIT.USAGE;
  }
  if (err instanceof EnvironmentError) {
    console.error(`certharvest: ${err.message}`);
    return EXIT.USAGE;
  }
  if (err instanceof CertharvestError) {
    console.error(`certharvest: ${err.message}`);
    return EXIT.SOME_FAILED;
  }
  console.error('certharvest: unexpected error:', err);
  return EXIT.SOME_FAILED;
}
