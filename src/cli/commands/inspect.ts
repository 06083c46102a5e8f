import { Command } from 'commander';
import { createTokenProvider } from '../../auth/index.ts';
import { parseUserReference } from '../../doctor/index.ts';
import { UsageError } from '../../errors/index.ts';
import { RedisRateStateStore } from '../../lms/index.ts';
import { createWebSession } from '../../../jobs/worker.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';

interface InspectCommandOptions {
  user: string;
  course?: string;
  issuedId?: string;
  json?: boolean;
}

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
      const user = parseUserReference(opts.user, { anyId: true });
      if (!user) {
        throw new UsageError(
          `--user "${opts.user}" is not valid: expected the LMS's user id, userName:NAME or orgDefinedId:ID`,
        );
      }
      const ctx = await openContext(['lms', 'secrets-key'], { quiet: true });
      const { config, redis, logger } = ctx;
      const session = config.webLogin
        ? createWebSession({
            config,
            webLogin: config.webLogin,
            redis,
            breaker: ctx.breaker,
            logger: logger.child({ component: 'browser' }),
          })
        : undefined;
      try {
        const tokens = await createTokenProvider({
          config,
          redis,
          logger: logger.child({ component: 'auth' }),
          ...(session ? { session } : {}),
        });
        const report = await config.lms.site.inspect(
          {
            lmsUrl: config.lms.url,
            tokens,
            webSession: session,
            downloadStrategy: config.downloadStrategy,
            logger,
            redis,
            prefix: config.queuePrefix,
            rateState: new RedisRateStateStore(redis, config.queuePrefix, config.lms.host),
          },
          {
            user,
            ...(opts.course !== undefined ? { course: opts.course } : {}),
            ...(opts.issuedId !== undefined ? { issuedId: opts.issuedId } : {}),
          },
        );
        if (opts.json) console.log(JSON.stringify({ matched: report.matched, ...report.data }, null, 2));
        else {
          // On a terminal, lines fit its width; piped, they stay whole (for grep, and URLs to copy).
          const width = process.stdout.isTTY ? process.stdout.columns || 80 : undefined;
          for (const line of report.lines) console.log(width ? wrapLine(line, width) : line);
        }
        process.exitCode = report.matched ? EXIT.OK : EXIT.SOME_FAILED;
      } finally {
        await session?.close();
        await ctx.close();
      }
    });
}

/**
 * `line` wrapped at spaces to `width`, its indentation kept, continuation lines indented a little
 * more. A word longer than the width (a URL) is never cut: it stays whole, to be copied.
 */
export function wrapLine(line: string, width: number): string {
  const indent = /^\s*/.exec(line)?.[0] ?? '';
  const room = Math.max(20, width - indent.length - 4);
  const out: string[] = [];
  let current = '';
  for (const word of line.trim().split(/\s+/)) {
    if (current && current.length + 1 + word.length > room) {
      out.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  out.push(current);
  return out.map((l, i) => `${indent}${i === 0 ? '' : '    '}${l}`).join('\n');
}
