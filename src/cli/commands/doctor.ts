import { Command } from 'commander';
import type { DoctorCommandOptions } from './doctor-run.ts';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the configuration against the live LMS step by step, and name the fix for each failure',
    )
    .option(
      '--user <ref>',
      'the user whose awards are probed: a UserId, userName:NAME or orgDefinedId:ID ' +
        '(default: the first users the LMS lists, until one has a certificate)',
    )
    .option('--issued-id <id>', "the certificate probed, one of --user's (default: the user's first)")
    .option('--json', 'print JSON instead of text')
    .addHelpText(
      'after',
      `
Checks, in order: the configuration; Redis (version, maxmemory-policy,
persistence); the fleet (paused? logins held?); the token (a refresh, the
scopes granted); the API versions; whoami; a user lookup; one awards listing;
the bearer /pdf route on one certificate; Chromium; the web login (landing,
two-factor); one render as a whole PDF; OUTPUT_DIR. A check whose prerequisite
failed is skipped. The web login posts the password once; it is not tried
while the fleet holds logins back, and it leaves the fleet's session alone
(unless there is none yet: then it becomes the fleet's).

Examples:
  certharvest doctor
  certharvest doctor --user 2401 --issued-id 10017
  certharvest doctor --user userName:jane.doe
  certharvest doctor --json | jq '.checks[] | select(.ok == false)'

Exit codes: 0 every check passed (warnings allowed), 1 a check failed,
2 usage error.`,
    )
    .action(async (opts: DoctorCommandOptions) => {
      const { run } = await import('./doctor-run.ts');
      await run(opts);
    });
}
