import { lmsIdSchema, type LmsId } from '../certificate/index.ts';
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
    const ids = opts.orgUnit.split(',').map(orgUnitId);
    if (ids.some((id) => id === undefined))
      throw new UsageError(
        `--org-unit: expected comma-separated org unit ids such as 6606,6610 or _7_1,_9_1 (got "${opts.orgUnit}")`,
      );
    filters.orgUnitIds = ids as LmsId[];
  }
  if (opts.issuedAfter !== undefined) filters.issuedAfter = isoTime('--issued-after', opts.issuedAfter);
  if (opts.issuedBefore !== undefined) filters.issuedBefore = isoTime('--issued-before', opts.issuedBefore);
  return Object.keys(filters).length > 0 ? { filters } : {};
}

/**
 * One `--org-unit` id as the LMS gives it: digits are a number (Brightspace's `6606`), anything
 * else a string id (Learn's `_7_1`); undefined when it is no id at all (empty, a control character).
 */
function orgUnitId(value: string): LmsId | undefined {
  const v = value.trim();
  const id: LmsId = /^[1-9]\d{0,15}$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
  return lmsIdSchema.safeParse(id).success ? id : undefined;
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
