import { Command } from 'commander';
import type { InspectCommandOptions } from './inspect-run.ts';

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      "show what certharvest reads from the LMS for one user (and course or certificate), with the fleet's token and web session",
    )
    .requiredOption(
      '--user <ref>',
      "the user: the LMS's user id, userName:NAME or orgDefinedId:ID (a bare name is a user name)",
    )
    .option(
      '--course <id>',
      "one course, the LMS's own id (e.g. _7_1); default: the user's first courses (sites that list certificates per course)",
    )
    .option('--issued-id <id>', "one certificate of the user's, the LMS's own id (default: the first found)")
    .option('--json', 'print JSON instead of text')
    .addHelpText(
      'after',
      `
For a site read from its web pages (LMS_SITE_PROFILE), inspect fetches the
listing page of the user in each course, prints every item the profile
finds with each field's value (or why it is refused) and the link the PDF
would come from, then what that link answers (status, type, first bytes).
When nothing matches, it lists candidates: the element shapes that repeat on
the page, their attributes, and the page's links, to fit the profile to.
For an LMS with an awards API, it prints the awards listing and what the
bearer PDF route and the render URL answer for one certificate.

Nothing is stored, and no batch is queued. It uses the fleet's web session
(logging in once for the fleet when there is none).

Examples:
  certharvest inspect --user userName:jane.doe
  certharvest inspect --user _45_1 --course _7_1
  certharvest inspect --user 2401 --issued-id 10017
  certharvest inspect --user userName:jane.doe --json | jq '.pages[].candidates'

Exit codes: 0 something harvestable matched, 1 nothing did, 2 usage or
configuration error.`,
    )
    .action(async (opts: InspectCommandOptions) => {
      const { run } = await import('./inspect-run.ts');
      await run(opts);
    });
}
