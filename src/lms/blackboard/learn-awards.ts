/**
 * A Learn user's awards: each course the user is enrolled in (REST), then that course's listing
 * page (the web session); its certificates carry the course's name when the membership listing
 * gave it.
 */
import type { WebSession } from '../../browser/index.ts';
import type { LmsId } from '../../certificate/index.ts';
import { LmsDataError, LmsRequestError } from '../errors.ts';
import type { AwardEntry, ListAwardsOptions } from '../ports.ts';
import type { ListedAward } from './achievement-reading.ts';
import type { LearnClient } from './client.ts';
import type { CoursePages } from './course-pages.ts';
import { FilterUnsupportedError, unsupportedFilters } from './site-profile-filters.ts';
import type { SiteProfile } from './site-profile-shape.ts';
import type { LearnMembership } from './types.ts';
import { TemplateError } from './url-template.ts';

export interface LearnAwardsSource {
  client: LearnClient;
  profile: SiteProfile;
  pages: CoursePages;
  /** The web session, or LoginFailedError when there is none. */
  session: (what: string) => WebSession;
}

/**
 * `includeExpired: false` leaves out the certificates whose expiry date (the profile's `expires`
 * field) has passed, and is refused (FilterUnsupportedError) when the profile reads no expiry. A
 * course whose page is refused (403, 404, not HTML, too large) is one rejected entry, and the
 * other courses go on; a session, rate-limit or outage error fails the listing (the job retries or
 * waits).
 */
export async function* listLearnAwards(
  source: LearnAwardsSource,
  userId: LmsId,
  listing: ListAwardsOptions = {},
): AsyncIterable<AwardEntry> {
  const includeExpired = listing.includeExpired ?? true;
  const [unsupported] = unsupportedFilters(source.profile, { includeExpired });
  if (unsupported !== undefined) throw new FilterUnsupportedError(unsupported);
  const session = source.session('lists certificates');
  const seen = new Set<string>();
  for await (const membership of source.client.listMemberships(userId)) {
    if (!membership.ok) {
      yield {
        ok: false,
        ref: `membership ${describeRaw(membership.raw)}`,
        code: membership.error.code,
        reason: membership.error.message,
      };
      continue;
    }
    const awards = await readCourse(source.pages, session, membership.value);
    if (!Array.isArray(awards)) {
      yield awards;
      continue;
    }
    yield* courseEntries(awards, membership.value, { includeExpired, seen });
  }
}

/** The course's awards, or one rejected entry when its page is refused. */
async function readCourse(
  pages: CoursePages,
  session: WebSession,
  { userId: userRef, orgUnitId: courseRef }: LearnMembership,
): Promise<ListedAward[] | AwardEntry> {
  try {
    return await pages.read(session, userRef, courseRef);
  } catch (error) {
    if (error instanceof LmsDataError || error instanceof LmsRequestError || error instanceof TemplateError) {
      return {
        ok: false,
        ref: `course ${courseRef}`,
        code: error instanceof TemplateError ? 'LMS_DATA_INVALID' : error.code,
        reason: error.message,
      };
    }
    throw error;
  }
}

/** A course's entries: expired ones left out when asked, each certificate once, named after its course. */
function* courseEntries(
  awards: ListedAward[],
  { orgUnitName }: LearnMembership,
  { includeExpired, seen }: { includeExpired: boolean; seen: Set<string> },
): Iterable<AwardEntry> {
  const now = new Date().toISOString();
  for (const { entry, expires } of awards) {
    if (!includeExpired && expires !== null && expires <= now) continue;
    if (entry.ok) {
      const key = JSON.stringify([entry.certificate.orgUnitId, entry.certificate.issuedId]);
      if (seen.has(key)) continue;
      seen.add(key);
      // The page names no course; the membership listing did (`expand=course`), when it could.
      if (orgUnitName !== undefined) {
        yield { ...entry, certificate: { ...entry.certificate, orgUnitName } };
        continue;
      }
    }
    yield entry;
  }
}

/** A short, safe label for a membership Learn sent in a shape we refuse. */
function describeRaw(raw: unknown): string {
  const r = raw as { courseId?: unknown } | null;
  return `course ${JSON.stringify(r?.courseId ?? '?')}`.slice(0, 120);
}
