import { Command } from 'commander';
import { startSandbox, type Sandbox } from '../sandbox.ts';
import { describeSandbox } from './describe.ts';
import { addSandboxFlags, type SandboxFlags } from './flags.ts';
import { parseSandboxFlags, SandboxFlagError } from './parse-flags.ts';

/** What `certharvest sandbox` writes to and waits for; certharvest passes its own, tests their seams. */
export interface SandboxCommandIo {
  /** Where the header and the `.env` block go. Default: stdout. */
  write?: (text: string) => void;
  /** Resolves when the sandbox should stop (with the signal's name, if a signal stopped it). */
  untilStop: () => Promise<unknown>;
  /** Called once the sandbox serves. */
  onStarted?: (sandbox: Sandbox) => void;
}

/**
 * `certharvest sandbox [flags]`: starts the sandbox, prints the header and the `.env` block, serves
 * until `io.untilStop()` resolves, then closes. A bad flag rejects with a SandboxFlagError;
 * commander's own errors (an unknown flag) and `--help` reject with its CommanderError.
 */
export async function runSandboxCommand(args: readonly string[], io: SandboxCommandIo): Promise<void> {
  // Under a parent named certharvest, so its help reads "Usage: certharvest sandbox [options]".
  const program = new Command('certharvest').exitOverride().addCommand(createSandboxCommand(io));
  await program.parseAsync(['sandbox', ...args], { from: 'user' });
}

/** The command with its flags and help (exits through exceptions, never `process.exit`). */
export function createSandboxCommand(io: SandboxCommandIo): Command {
  return addSandboxFlags(new Command('sandbox'))
    .description(SANDBOX_DESCRIPTION)
    .exitOverride()
    .action(async (raw: SandboxFlags) => {
      const options = parseSandboxFlags(raw);
      const lms = raw.lms ?? 'brightspace';
      if (lms !== 'brightspace' && lms !== 'blackboard') {
        throw new SandboxFlagError(`--lms: expected "brightspace" or "blackboard", got "${lms}"`);
      }
      const write = io.write ?? ((text: string) => void process.stdout.write(text));
      const sandbox = await startSandbox(options);
      try {
        write(describeSandbox(sandbox, lms));
        io.onStarted?.(sandbox);
        const signal = await io.untilStop();
        if (typeof signal === 'string') console.error(`certharvest sandbox: ${signal}, stopping`);
      } finally {
        await sandbox.close();
      }
    });
}

const SANDBOX_DESCRIPTION =
  'run the bundled simulated LMS (Brightspace, or Learn with --lms blackboard) on its own and print the .env block to use it\n' +
  '(OAuth2 with one-use refresh tokens, Valence routes, web login, certificate PDFs; knobs inject faults)';
