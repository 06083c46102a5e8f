import type { LocalFaultRecord, PauseRecord } from '../fleet/index.ts';

/** How a paused fleet is shown by `status`, `auth status`, `submit --wait` and `resume`. */
export function describePause(p: PauseRecord): string {
  return [
    `The fleet is PAUSED since ${p.since} (${p.reason}): ${p.message}`,
    `  fix: ${p.fix}`,
    '  It resumes by itself once the cause is gone; `certharvest resume` resumes it by hand.',
  ].join('\n');
}

/** Workers out of service for a fault of their own (the fleet goes on without them). */
export function describeOutOfService(out: readonly LocalFaultRecord[], live: number): string {
  const lines = [`${out.length} of ${live} live worker(s) OUT OF SERVICE (the others go on):`];
  for (const f of out) {
    lines.push(`  ${f.by} since ${f.since} (${f.reason}): ${f.message}`, `    fix: ${f.fix}`);
  }
  lines.push('  Each rejoins by itself once its cause is gone.');
  return lines.join('\n');
}
