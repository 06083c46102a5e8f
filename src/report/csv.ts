import type { BatchFailure } from '../queue/batch-accounting.ts';

/** RFC 4180: quoted when needed, quotes doubled; a leading = + - @ is neutralised for spreadsheets. */
export function toCsv(rows: readonly (readonly string[])[]): string {
  const cell = (v: string) => {
    const safe = /^[=+\-@]/.test(v) ? `'${v}` : v;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return rows.map((r) => r.map(cell).join(',')).join('\n');
}

/** The columns of a batch's failures as CSV (`status --failed --csv`, `GET /api/batches/:id/failures?format=csv`). */
export const FAILURE_COLUMNS = ['kind', 'ref', 'code', 'reason', 'at'] as const;

/** One failure as a CSV row, in `FAILURE_COLUMNS` order. */
export function failureRow(f: BatchFailure): string[] {
  return [f.kind, f.ref, f.code, f.reason, f.at];
}
