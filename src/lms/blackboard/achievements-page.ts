import { load, type CheerioAPI } from 'cheerio';
import { LmsDataError } from '../errors.ts';
import { readItem } from './achievement-item.ts';
import type { AchievementsPage, ItemReading, PageContext } from './achievement-reading.ts';
import type { SiteProfile } from './site-profile-shape.ts';
import { fillTemplate } from './url-template.ts';

export type {
  AchievementsPage,
  FieldReading,
  ItemReading,
  ListedAward,
  PageContext,
} from './achievement-reading.ts';
export { parseDate } from './page-text.ts';

/**
 * Learn has no REST route for achievements (reference §6.4): certificates are found on a listing
 * page of each course, read with the fleet's web session, the way the site profile says. This
 * module turns such a page into award entries, each with the URL its PDF is fetched from: the link
 * the page shows, or the profile's certificate URL when it shows none. Everything on the page is
 * hostile until checked: titles are text only, values are bounded, ids must be safe, a link must be
 * http(s) on the LMS's own host and about this user and course, and a page is read up to a byte
 * limit, never whole. One item is read by achievement-item.ts, its fields by item-readings.ts.
 */

/** The listing page of one user in one course (achievements.url). */
export function achievementsPageUrl(
  lmsUrl: string,
  profile: SiteProfile,
  ids: { userRef: string; courseRef: string },
): URL {
  return fillTemplate(profile.achievements.url, ids, lmsUrl, `${profile.source}: achievements.url`);
}

/** Read every item of a page the profile's way. A password field means the login page. */
export function readAchievementsPage(
  html: string,
  context: PageContext,
): { kind: 'login' } | { kind: 'achievements'; items: ItemReading[] } {
  const pageUrl = new URL(context.pageUrl);
  const { profile } = context;
  if (html.length > profile.maxPageBytes) {
    throw new LmsDataError(
      `GET ${pageUrl.pathname} (course ${context.courseRef})`,
      '',
      `the page is over the ${profile.maxPageBytes}-byte limit`,
    );
  }
  const $ = load(html);
  if (looksLikeLogin($)) return { kind: 'login' };
  const items: ItemReading[] = [];
  $.root()
    .find(profile.achievements.item)
    .each((index, element) => {
      items.push(readItem($(element), index + 1, pageUrl, context));
    });
  return { kind: 'achievements', items };
}

/**
 * The awards of one listing page. An item with a certificate link, or whose kind says certificate,
 * is a certificate; otherwise a badge or another award, yielded when it can be named (the discover
 * job counts and skips those). A malformed or hostile item is `{ ok: false }` for that item alone.
 */
export function parseAchievementsPage(html: string, context: PageContext): AchievementsPage {
  const read = readAchievementsPage(html, context);
  if (read.kind === 'login') return read;
  return { kind: 'achievements', awards: read.items.flatMap((i) => (i.award ? [i.award] : [])) };
}

/** A login form where the listing should be: a password field. */
function looksLikeLogin($: CheerioAPI): boolean {
  return $('input[type="password" i]').length > 0;
}
