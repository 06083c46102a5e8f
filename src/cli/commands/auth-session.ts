import { Command, Option } from 'commander';
import { UsageError } from '../../errors/index.ts';
import type * as SessionRun from './auth-session-run.ts';

/** A subcommand's action: auth-session-run.ts is loaded when it runs, never for the help. */
const whenRun =
  <A>(pick: (run: typeof SessionRun) => (arg: A) => Promise<void>) =>
  async (arg: A): Promise<void> =>
    pick(await import('./auth-session-run.ts'))(arg);

export function registerAuthSessionCommand(auth: Command): void {
  const session = auth
    .command('session')
    .description("the fleet's web session (import one a person captured, capture one, status)");

  session
    .command('import')
    .argument('<file>', 'a Playwright storage state (JSON) captured on the LMS')
    .description("make a browser storage state captured by a person the fleet's web session")
    .addHelpText(
      'after',
      `
For SSO tenants a person can log in once in a real browser and hand the
session over. The cookies for LMS_URL's host are checked against
LMS_LOGIN_LANDING, sealed with SECRETS_KEY and shared with every worker.

Examples:
  certharvest auth session capture --out state.json   # where a display exists
  certharvest auth session import state.json`,
    )
    .action(whenRun<string>((run) => run.importFile));

  session
    .command('capture')
    .description('open a visible browser on the LMS login; save the session when you close it')
    .option('--out <file>', 'also write the storage state to this file')
    // For the test suite, which drives the window under Xvfb through the DevTools protocol.
    .addOption(new Option('--remote-debugging-port <port>').hideHelp().argParser(parsePort))
    .addHelpText(
      'after',
      `
Log in as the service user (SSO, two-factor, whatever the tenant asks), then
close the window: the session becomes the fleet's.

Examples:
  certharvest auth session capture                     # on a desktop
  certharvest auth session capture --out state.json    # and keep a copy to import elsewhere`,
    )
    .action(whenRun<SessionRun.CaptureOptions>((run) => run.runCapture));

  session
    .command('status')
    .description("show the fleet's web session: generation, age, origin (never a cookie)")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  certharvest auth session status
  certharvest auth session status --json`,
    )
    .action(whenRun<{ json?: boolean }>((run) => run.runStatus));
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`--remote-debugging-port: expected a port number, got "${raw}"`);
  }
  return port;
}
