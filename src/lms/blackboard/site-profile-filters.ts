/** Which batch filters a site's pages can serve, as its profile reads them. */
import { CertharvestError } from '../../errors/index.ts';
import type { SiteProfile } from './site-profile-shape.ts';

/** A batch's filters, as far as a profile is concerned. */
export interface HarvestFilters {
  includeExpired?: boolean | undefined;
  issuedAfter?: string | undefined;
  issuedBefore?: string | undefined;
}

/**
 * The filters this site's pages cannot serve, each as a sentence saying what the pages do not
 * carry and how to declare it; empty when every filter can be applied.
 */
export function unsupportedFilters(profile: SiteProfile, filters: HarvestFilters): string[] {
  const out: string[] = [];
  const fields = profile.achievements.fields;
  if (filters.includeExpired === false && !fields.expires) {
    out.push(
      `includeExpired: false needs each certificate's expiry date, and the site profile (${profile.source}) ` +
        'reads none from the Achievements page: declare achievements.fields.expires (e.g. ' +
        '{selector: "time.expires", from: {attribute: datetime}}) in LMS_SITE_PROFILE, or submit without --skip-expired',
    );
  }
  for (const key of ['issuedAfter', 'issuedBefore'] as const) {
    if (filters[key] !== undefined && !fields.issued) {
      out.push(
        `${key} needs each certificate's issue date, and the site profile (${profile.source}) reads none ` +
          'from the Achievements page: declare achievements.fields.issued (e.g. ' +
          '{selector: "time.issued", from: {attribute: datetime}}) in LMS_SITE_PROFILE, or submit without it',
      );
    }
  }
  return out;
}

/**
 * A batch filter this site's pages cannot serve (FILTER_UNSUPPORTED): the same batch would fail
 * the same way on every attempt, so it is not retried. The message says what to declare.
 */
export class FilterUnsupportedError extends CertharvestError {
  readonly retryable = false;

  constructor(message: string) {
    super('FILTER_UNSUPPORTED', message);
  }
}
