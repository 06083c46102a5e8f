import type { PauseRecord } from '../fleet/index.ts';

/** How a paused fleet is shown by `status`, `auth status`, `submit --wait` and `resume`. */
export function describePause(p: PauseRecord): string {
  return [
    `The fleet is PAUSED since ${p.since} (${p.reason}): ${p.message}`,
    `  fix: ${p.fix}`,
    '  It resumes by itself once the cause is gone; `certharvest resume` resumes it by hand.',
  ].join('\n');
}
