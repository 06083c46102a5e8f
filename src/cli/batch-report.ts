import type { BatchStatus } from '../queue/index.ts';

/** One progress line: plain text, for logs and non-TTY output. */
export function progressLine(s: BatchStatus): string {
  const certsDone = s.certsStored + s.certsAlreadyStored + s.certsFailed;
  return (
    `batch ${s.batchId}: users ${s.usersDone + s.usersFailed}/${s.usersTotal}${s.enumerating ? '+' : ''}` +
    ` · certificates ${certsDone}/${s.certsFound} (stored ${s.certsStored}, already stored ${s.certsAlreadyStored}, failed ${s.certsFailed})`
  );
}

/**
 * A one-line bar for a TTY, redrawn in place; it never wraps (a wrapped line cannot be redrawn
 * and stacks up), so it is cut to the terminal's width.
 */
export function progressBar(s: BatchStatus, columns = 80): string {
  const total = s.usersTotal + s.certsFound;
  const done = s.usersDone + s.usersFailed + s.certsStored + s.certsAlreadyStored + s.certsFailed;
  const ratio = total === 0 ? 0 : Math.min(1, done / total);
  const certsDone = s.certsStored + s.certsAlreadyStored + s.certsFailed;
  const text =
    ` ${String(Math.round(ratio * 100)).padStart(3)}% users ${s.usersDone + s.usersFailed}/${s.usersTotal}${s.enumerating ? '+' : ''}` +
    ` certs ${certsDone}/${s.certsFound}${s.certsFailed ? ` (${s.certsFailed} failed)` : ''}`;
  const width = Math.max(10, Math.min(30, columns - 1 - text.length - 2));
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${text}`.slice(0, Math.max(20, columns - 1));
}

/** The closing summary of a batch. */
export function summary(s: BatchStatus): string {
  const lines = [
    `Batch ${s.batchId}${s.done ? '' : ' (still running)'}`,
    `  users:                ${s.usersTotal} (${s.usersDone} done, ${s.usersFailed} failed)`,
    `  certificates found:   ${s.certsFound}${s.badgesIgnored ? ` (badges ignored: ${s.badgesIgnored})` : ''}`,
    `  stored:               ${s.certsStored}`,
    `  already stored:       ${s.certsAlreadyStored}`,
    `  failed:               ${s.certsFailed}`,
  ];
  if (s.failures.length > 0) {
    lines.push('  failures:');
    for (const f of s.failures) lines.push(`    - ${f.kind} ${f.ref}: [${f.code}] ${f.reason}`);
  }
  return lines.join('\n');
}

export const batchSucceeded = (s: BatchStatus): boolean =>
  s.done && s.usersFailed === 0 && s.certsFailed === 0;
