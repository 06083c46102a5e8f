import type { BatchStatus } from '../queue/index.ts';

/** One progress line: plain text, for logs and non-TTY output. */
export function progressLine(s: BatchStatus): string {
  const certsDone = s.certsStored + s.certsSkipped + s.certsFailed;
  return (
    `batch ${s.batchId}: users ${s.usersDone + s.usersFailed}/${s.usersTotal}${s.enumerating ? '+' : ''}` +
    ` · certificates ${certsDone}/${s.certsFound} (stored ${s.certsStored}, already present ${s.certsSkipped}, failed ${s.certsFailed})`
  );
}

/** A progress bar for a TTY, redrawn in place. */
export function progressBar(s: BatchStatus, width = 28): string {
  const total = s.usersTotal + s.certsFound;
  const done = s.usersDone + s.usersFailed + s.certsStored + s.certsSkipped + s.certsFailed;
  const ratio = total === 0 ? 0 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${progressLine(s).replace(/^batch \S+: /, '')}`;
}

/** The closing summary of a batch. */
export function summary(s: BatchStatus): string {
  const lines = [
    `Batch ${s.batchId}${s.done ? '' : ' (still running)'}`,
    `  users:                ${s.usersTotal} (${s.usersDone} done, ${s.usersFailed} failed)`,
    `  certificates found:   ${s.certsFound}${s.badgesIgnored ? ` (badges ignored: ${s.badgesIgnored})` : ''}`,
    `  stored:               ${s.certsStored}`,
    `  already present:      ${s.certsSkipped}`,
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
