import { load, type CheerioAPI } from 'cheerio';
import { certificateSchema, type Certificate } from '../../certificate/index.ts';
import { LmsDataError } from '../errors.ts';
import type { AwardEntry } from '../ports.ts';
import { fromLearnId, toLearnId } from './ids.ts';

/**
 * Learn has no REST route for achievements (reference §6.4): certificates are found on the
 * Achievements tool's page of each course, read with the fleet's web session. This module turns
 * such a page into AwardEntry items. Everything on the page is hostile until checked: titles are
 * taken as text only, ids must be `_N_1`, a certificate link must stay on the LMS host, and a page
 * is read up to a byte limit, never whole.
 */

/** CSS selectors of the Achievements page (BB_* settings). */
export interface AchievementSelectors {
  /** One achievement [BB_ACHIEVEMENT_SELECTOR]. Default `li.achievement`. */
  achievement: string;
  /** Its certificate download link, inside it; none = not a certificate [BB_CERTIFICATE_LINK_SELECTOR]. */
  certificateLink: string;
  /** Its title, inside it (text only) [BB_TITLE_SELECTOR]. */
  title: string;
  /** When it was issued, inside it: the `datetime` attribute [BB_ISSUED_SELECTOR]. */
  issued: string;
}

export const DEFAULT_ACHIEVEMENT_SELECTORS: AchievementSelectors = {
  achievement: 'li.achievement',
  certificateLink: 'a.achievement-certificate',
  title: '.achievement-title',
  issued: 'time.achievement-issued',
};

/** The setting that names each selector, for error messages. */
const SELECTOR_SETTINGS: Record<keyof AchievementSelectors, string> = {
  achievement: 'BB_ACHIEVEMENT_SELECTOR',
  certificateLink: 'BB_CERTIFICATE_LINK_SELECTOR',
  title: 'BB_TITLE_SELECTOR',
  issued: 'BB_ISSUED_SELECTOR',
};

/**
 * [BB_ACHIEVEMENTS_URL] The Achievements page of one user in one course. `{courseId}` and
 * `{userId}` are Learn primary ids (`_N_1`), URL-encoded.
 */
export const DEFAULT_ACHIEVEMENTS_URL =
  '/webapps/achievements/studentViewAchievements.form?course_id={courseId}&user_id={userId}';

/**
 * [BB_CERTIFICATE_URL] A certificate's download URL, rebuilt from the Certificate's integer ids:
 * `{issuedId}`, `{orgUnitId}`, `{userId}`, `{awardId}` are the N of `_N_1`.
 */
export const DEFAULT_CERTIFICATE_URL =
  '/webapps/achievements/certificate/download.form?achievement_id=_{issuedId}_1&course_id=_{orgUnitId}_1&user_id=_{userId}_1';

/** Largest Achievements page read. */
export const DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024;

/** The attributes the ids are read from. */
const ACHIEVEMENT_ID_ATTRIBUTE = 'data-achievement-id';
const AWARD_ID_ATTRIBUTE = 'data-award-id';
const TYPE_ATTRIBUTE = 'data-type';
const TITLE_MAX = 1000;

/** Check selectors once, at start-up: a CSS syntax error names its setting. */
export function checkSelectors(selectors: Partial<AchievementSelectors> = {}): AchievementSelectors {
  const merged = { ...DEFAULT_ACHIEVEMENT_SELECTORS, ...selectors };
  const $ = load('<p></p>');
  for (const key of Object.keys(SELECTOR_SETTINGS) as (keyof AchievementSelectors)[]) {
    const selector = merged[key];
    if (typeof selector !== 'string' || selector.trim() === '') {
      throw new TypeError(
        `${SELECTOR_SETTINGS[key]} must be a CSS selector, got ${JSON.stringify(selector)}`,
      );
    }
    try {
      $(selector);
    } catch (error) {
      throw new TypeError(
        `${SELECTOR_SETTINGS[key]} ${JSON.stringify(selector)} is not a valid CSS selector: ${(error as Error).message}`,
      );
    }
  }
  return merged;
}

/**
 * `template` with each `{name}` replaced by `values[name]`, URL-encoded, resolved against the
 * LMS. An unknown placeholder, or a URL off the LMS's origin, is a TypeError (a setting's fault).
 */
export function fillTemplate(
  template: string,
  values: Readonly<Record<string, string | number>>,
  lmsUrl: string,
  setting: string,
): URL {
  const filled = template.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new TypeError(
        `${setting}: unknown placeholder {${name}} (known: ${Object.keys(values)
          .map((k) => `{${k}}`)
          .join(', ')})`,
      );
    }
    return encodeURIComponent(String(value));
  });
  const lms = new URL(lmsUrl);
  let url: URL;
  try {
    url = new URL(filled, lms);
  } catch {
    throw new TypeError(`${setting}: ${JSON.stringify(template)} does not make a URL`);
  }
  if (url.origin !== lms.origin) {
    throw new TypeError(`${setting}: ${JSON.stringify(template)} leads off the LMS (${url.origin})`);
  }
  return url;
}

/** The Achievements page of user N in course C (BB_ACHIEVEMENTS_URL). */
export function achievementsPageUrl(
  lmsUrl: string,
  template: string,
  ids: { userId: number; orgUnitId: number },
): URL {
  return fillTemplate(
    template,
    { courseId: toLearnId(ids.orgUnitId), userId: toLearnId(ids.userId) },
    lmsUrl,
    'BB_ACHIEVEMENTS_URL',
  );
}

/** A certificate's download URL from its integer ids (BB_CERTIFICATE_URL). */
export function certificateDownloadUrl(
  lmsUrl: string,
  template: string,
  certificate: Pick<Certificate, 'userId' | 'orgUnitId' | 'issuedId' | 'awardId'>,
): URL {
  return fillTemplate(
    template,
    {
      issuedId: certificate.issuedId,
      orgUnitId: certificate.orgUnitId,
      userId: certificate.userId,
      awardId: certificate.awardId,
    },
    lmsUrl,
    'BB_CERTIFICATE_URL',
  );
}

export interface AchievementsPageContext {
  /** Where the page was read from: relative links resolve against it, and its origin is the LMS's. */
  pageUrl: URL | string;
  /** The user the page was asked for. */
  userId: number;
  /** The course the page was asked for. */
  orgUnitId: number;
  selectors?: Partial<AchievementSelectors>;
  /** Refuse a page over this size (characters of the decoded text). Default 5 MiB. */
  maxBytes?: number;
}

/** A parsed page: its entries, or the login form (the session is not logged in). */
export type AchievementsPage = { kind: 'login' } | { kind: 'achievements'; entries: AwardEntry[] };

/**
 * The certificates (and badges) of one Achievements page. An item with a certificate link is a
 * certificate; without one it is a badge (`data-type="badge"`) or another award, yielded when its
 * ids are sound (the discover job counts and skips them), and refused when it calls itself a
 * certificate. A malformed or hostile item is `{ ok: false }` for that item alone.
 */
export function parseAchievementsPage(html: string, context: AchievementsPageContext): AchievementsPage {
  const pageUrl = new URL(context.pageUrl);
  const route = `GET ${pageUrl.pathname} (course ${toLearnId(context.orgUnitId)})`;
  const maxBytes = context.maxBytes ?? DEFAULT_MAX_PAGE_BYTES;
  if (html.length > maxBytes) {
    throw new LmsDataError(route, '', `the page is over the ${maxBytes}-byte limit`);
  }
  const selectors = { ...DEFAULT_ACHIEVEMENT_SELECTORS, ...context.selectors };
  const $ = load(html);
  if (looksLikeLogin($)) return { kind: 'login' };
  const entries: AwardEntry[] = [];
  $.root()
    .find(selectors.achievement)
    .each((index, element) => {
      const entry = readItem($(element), index, selectors, pageUrl, context);
      if (entry) entries.push(entry);
    });
  return { kind: 'achievements', entries };
}

/** A login form where the Achievements page should be: a password field. */
function looksLikeLogin($: CheerioAPI): boolean {
  return $('input[type="password" i]').length > 0;
}

/** A selection of elements (cheerio's `Cheerio<Element>`, without importing domhandler). */
type Item = ReturnType<ReturnType<CheerioAPI['root']>['find']>;

function readItem(
  item: Item,
  index: number,
  selectors: AchievementSelectors,
  pageUrl: URL,
  context: AchievementsPageContext,
): AwardEntry | undefined {
  const course = toLearnId(context.orgUnitId);
  const user = toLearnId(context.userId);
  const attrId = attribute(item, ACHIEVEMENT_ID_ATTRIBUTE);
  const link = item.find(selectors.certificateLink).first();
  const href = link.length > 0 ? attribute(link, 'href') : undefined;
  let linkUrl: URL | undefined;
  let linkError: string | undefined;
  if (link.length > 0) {
    if (href === undefined || href === '') linkError = 'the certificate link has no href';
    else {
      try {
        linkUrl = new URL(href, pageUrl);
      } catch {
        linkError = `the certificate link is not a URL (${shown(href)})`;
      }
      if (linkUrl && linkUrl.protocol !== 'http:' && linkUrl.protocol !== 'https:') {
        linkError = `the certificate link is not http(s) (${shown(href)})`;
      } else if (linkUrl && linkUrl.origin !== pageUrl.origin) {
        linkError = `the certificate link leads to another host (${linkUrl.origin}); refused`;
      }
    }
  }
  const linkId =
    linkError === undefined ? (linkUrl?.searchParams.get('achievement_id') ?? undefined) : undefined;
  const rawId = attrId ?? linkId;
  const ref = `course ${course} achievement ${rawId === undefined ? `#${index + 1}` : shown(rawId)}`.slice(
    0,
    160,
  );
  const refuse = (reason: string): AwardEntry => ({
    ok: false,
    ref,
    code: 'LMS_DATA_INVALID',
    reason: `GET ${pageUrl.pathname} (course ${course}): ${reason}`,
  });
  if (linkError !== undefined) return refuse(linkError);

  const type = (attribute(item, TYPE_ATTRIBUTE) ?? '').toLowerCase();
  const isCertificate = link.length > 0;
  if (!isCertificate && type === 'certificate') {
    return refuse('a certificate without a download link');
  }

  const issuedId = fromLearnId(rawId);
  if (issuedId === undefined) {
    if (!isCertificate) return undefined; // a badge we could not name is simply not counted
    return refuse(
      rawId === undefined
        ? `no achievement id (${ACHIEVEMENT_ID_ATTRIBUTE}, or achievement_id in the link)`
        : `the achievement id ${shown(rawId)} is not a Learn id of the form _N_1`,
    );
  }
  const rawAward = attribute(item, AWARD_ID_ATTRIBUTE);
  const awardId = rawAward === undefined ? issuedId : fromLearnId(rawAward);
  if (awardId === undefined) {
    if (!isCertificate) return undefined;
    return refuse(`the award id ${shown(rawAward)} is not a Learn id of the form _N_1`);
  }

  if (linkUrl) {
    // The link must be about this achievement, course and user: a page that lists someone
    // else's certificate is not believed.
    if (attrId !== undefined && linkId !== undefined && attrId !== linkId) {
      return refuse(`the link is for achievement ${shown(linkId)}, the item says ${shown(attrId)}`);
    }
    const linkCourse = linkUrl.searchParams.get('course_id');
    if (linkCourse !== null && linkCourse !== course) {
      return refuse(`the link is for course ${shown(linkCourse)}, not ${course}`);
    }
    const linkUser = linkUrl.searchParams.get('user_id');
    if (linkUser !== null && linkUser !== user) {
      return refuse(`the link is for user ${shown(linkUser)}, not ${user}`);
    }
  }

  let issuedDate: string | null = null;
  const time = item.find(selectors.issued).first();
  const datetime = time.length > 0 ? attribute(time, 'datetime') : undefined;
  if (datetime !== undefined && datetime !== '') {
    const parsed = parseDate(datetime);
    if (parsed === undefined) {
      if (!isCertificate) return undefined;
      return refuse(`the issued date ${shown(datetime)} is not an ISO 8601 date`);
    }
    issuedDate = parsed;
  }

  const certificate = certificateSchema.safeParse({
    userId: context.userId,
    orgUnitId: context.orgUnitId,
    issuedId,
    awardId,
    title: textOf(item.find(selectors.title).first()),
    issuedDate,
  });
  if (!certificate.success) {
    if (!isCertificate) return undefined;
    return refuse(certificate.error.issues[0]?.message ?? 'invalid');
  }
  return {
    ok: true,
    kind: isCertificate ? 'certificate' : type === 'badge' ? 'badge' : 'other',
    certificate: certificate.data,
  };
}

function attribute(node: Item, name: string): string | undefined {
  const value = node.attr(name);
  return value === undefined ? undefined : value.trim();
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u001f\u007f\s]+/g;

/** An element's text (markup inside it dropped, entities decoded), on one line, bounded. */
function textOf(node: Item): string {
  if (node.length === 0) return '';
  const text = node.text().replace(CONTROL_OR_SPACE, ' ').trim();
  return text.length > TITLE_MAX ? text.slice(0, TITLE_MAX) : text;
}

/** An ISO 8601 date (a time without a zone is UTC), as UTC ISO; undefined when it is not one. */
function parseDate(raw: string): string | undefined {
  let text = raw.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text))
    return undefined;
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const shown = (input: unknown): string => {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
