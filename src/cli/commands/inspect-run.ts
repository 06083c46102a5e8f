/** What `certharvest inspect` does, loaded when it runs (its options and help: inspect.ts). */
import { createFleetTokens, createWebSession, fleetAdapterContext } from '../../assembly/fleet.ts';
import { parseUserReference } from '../../doctor/index.ts';
import { UsageError } from '../../errors/index.ts';
import { openContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';

export interface InspectCommandOptions {
  user: string;
  course?: string;
  issuedId?: string;
  json?: boolean;
}

export async function run(opts: InspectCommandOptions): Promise<void> {
  const user = parseUserReference(opts.user, { anyId: true });
  if (!user) {
    throw new UsageError(
      `--user "${opts.user}" is not valid: expected the LMS's user id, userName:NAME or orgDefinedId:ID`,
    );
  }
  const ctx = await openContext(['lms', 'secrets-key'], { quiet: true, browser: true });
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
    const tokens = await createFleetTokens(config, redis, logger, session);
    const report = await config.lms.site.inspect(
      fleetAdapterContext({ config, redis, logger, tokens, webSession: session }),
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
