import { UsageError } from '../errors/index.ts';
import type { BatchFilters } from '../queue/index.ts';

/** The filter flags `submit` and `schedule add` share. */
export interface FilterFlags {
  skipExpired?: boolean;
  orgUnit?: string;
  issuedAfter?: string;
  issuedBefore?: string;
}

/** The filter flags as a batch's filters, checked here so a typo is a usage error naming the flag. */
export function filtersFrom(opts: FilterFlags): { filters?: BatchFilters } {
  const filters: BatchFilters = {};
  if (opts.skipExpired) filters.includeExpired = false;
  if (opts.orgUnit !== undefined) {
    const ids = opts.orgUnit.split(',').map((v) => v.trim());
    if (ids.some((v) => !/^[1-9]\d{0,14}$/.test(v)))
      throw new UsageError(
        `--org-unit: expected comma-separated org unit ids such as 6606,6610 (got "${opts.orgUnit}")`,
      );
    filters.orgUnitIds = ids.map(Number);
  }
  if (opts.issuedAfter !== undefined) filters.issuedAfter = isoTime('--issued-after', opts.issuedAfter);
  if (opts.issuedBefore !== undefined) filters.issuedBefore = isoTime('--issued-before', opts.issuedBefore);
  return Object.keys(filters).length > 0 ? { filters } : {};
}

/** `2026-09-01` (midnight UTC) or a full ISO 8601 time, as ISO 8601 UTC. */
function isoTime(flag: string, value: string): string {
  const v = value.trim();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`) : new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(date.getTime()))
    throw new UsageError(
      `${flag}: expected a date such as 2026-09-01 or 2026-09-01T08:00:00Z (got "${value}")`,
    );
  return date.toISOString();
}
