import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { untilSignal } from '../signals.ts';
import { loadSandboxPackage, type SandboxCommandIo } from './sandbox-package.ts';

export type { SandboxCommandIo } from './sandbox-package.ts';

/**
 * `certharvest sandbox [flags]`: the flags, their help and the run belong to the sandbox package
 * (`@certharvest/sandbox`), loaded when the command runs; `--help` is its help. Without the
 * package, the command says how to get it (exit 2).
 */
export function registerSandboxCommand(program: Command, io: SandboxCommandIo = {}): void {
  program
    .command('sandbox')
    .description(
      'run the simulated LMS (Brightspace, or Learn with --lms blackboard) on its own and print the .env block to use it\n' +
        '(a development package, not in the production image; its flags: certharvest sandbox --help)',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: unknown, command: Command) => {
      const sandbox = await loadSandboxPackage();
      await sandbox
        .runSandboxCommand(command.args, { untilStop: untilSignal, ...io })
        .catch((err: unknown) => {
          // The package's bad-flag error is certharvest's usage error (exit 2, the message as it is).
          if ((err as { code?: unknown } | null)?.code === 'SANDBOX_FLAG')
            throw new UsageError((err as Error).message);
          throw err;
        });
    });
}
