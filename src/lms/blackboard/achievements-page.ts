import { load, type CheerioAPI } from 'cheerio';
import type { Certificate } from '../../certificate/index.ts';
import { LmsDataError } from '../errors.ts';
import type { AwardEntry, AwardKind } from '../ports.ts';
import { parseLearnId } from './ids.ts';
import {
  fillTemplate,
  TemplateError,
  type FieldName,
  type FieldSpec,
  type LinkPart,
  type SiteProfile,
} from './site-profile.ts';

/**
 * Learn has no REST route for achievements (reference §6.4): certificates are found on a listing
 * page of each course, read with the fleet's web session, the way the site profile says. This
 * module turns such a page into award entries, each with the URL its PDF is fetched from: the link
 * the page shows, or the profile's certificate URL when it shows none. Everything on the page is
 * hostile until checked: titles are text only, values are bounded, ids must be safe, a link must be
 * http(s) on the LMS's own host and about this user and course, and a page is read up to a byte
 * limit, never whole.
 */

const TITLE_MAX = 1000;
/** Longest value read from a field before it is parsed. */
const RAW_MAX = 2048;

/** Where the page was read and for whom. */
export interface PageContext {
  /** Where the page was read from: relative links resolve against it; its origin is the LMS's. */
  pageUrl: URL | string;
  /** The user and course the page was asked for, as the LMS names them (`_7_1`, a UUID…). */
  userRef: string;
  courseRef: string;
  profile: SiteProfile;
}

/** One achievement of a page: the entry, and for a certificate where its PDF is. */
export interface ListedAward {
  entry: AwardEntry;
  /** The PDF's URL (the page's link, else the profile's template); certificates only. */
  download: URL | undefined;
  /** When it expires (ISO 8601, UTC), when the profile reads an expiry date. */
  expires: string | null;
}

/** A parsed page: its awards, or the login form (the session is not logged in). */
export type AchievementsPage = { kind: 'login' } | { kind: 'achievements'; awards: ListedAward[] };

/** What one field of one item read: the raw text, and the parsed value or why it is refused. */
export interface FieldReading {
  /** As found (bounded), or null when no alternative found a value. */
  raw: string | null;
  /** Parsed (an id, a title, an ISO date, an absolute URL, a kind), or null. */
  value: string | null;
  error?: string;
}

/** Everything read from one item: for the adapter and for `inspect`. */
export interface ItemReading {
  /** 1-based position on the page. */
  index: number;
  fields: Partial<Record<FieldName, FieldReading>>;
  /** The item's outcome; undefined for an award that cannot be named (skipped, not counted). */
  award: ListedAward | undefined;
}

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

/** A selection of elements (cheerio's `Cheerio<Element>`, without importing domhandler). */
type Item = ReturnType<ReturnType<CheerioAPI['root']>['find']>;

function readItem(item: Item, index: number, pageUrl: URL, context: PageContext): ItemReading {
  const { profile, userRef, courseRef } = context;
  const spec = profile.achievements.fields;
  const fields: ItemReading['fields'] = {};
  const raw = (name: FieldName) => {
    const specs = spec[name];
    if (!specs) return undefined;
    const found = readField(item, specs, pageUrl);
    const reading: FieldReading = { raw: found.value, value: null };
    // A link element that is there but empty is a broken item, not a missing field.
    if (found.value === null && found.emptyOn !== undefined && name === 'link') {
      reading.error = `${found.emptyOn} has no value`;
    }
    fields[name] = reading;
    return reading;
  };

  const id = raw('id') as FieldReading;
  if (id.raw === null) id.error = `not found (${describeSpecs(spec.id)})`;
  else if ((id.value = parseLearnId(id.raw) ?? null) === null)
    id.error = `${shown(id.raw)} is not a usable id`;

  const award = raw('awardId');
  if (award?.raw != null && (award.value = parseLearnId(award.raw) ?? null) === null) {
    award.error = `${shown(award.raw)} is not a usable id`;
  }

  const title = raw('title');
  if (title) title.value = title.raw === null ? null : cleanText(title.raw, TITLE_MAX);

  for (const name of ['issued', 'expires'] as const) {
    const date = raw(name);
    if (date?.raw != null && (date.value = parseDate(date.raw) ?? null) === null) {
      date.error = `${shown(date.raw)} is not a date (ISO 8601, or like "1 March 2026")`;
    }
  }

  const kind = raw('kind');
  let kindOf: AwardKind | undefined;
  if (kind?.raw != null) {
    const value = kind.raw.trim().toLowerCase();
    const is = (list: string[]) => list.some((k) => k.toLowerCase() === value);
    kindOf = is(profile.achievements.kinds.certificate)
      ? 'certificate'
      : is(profile.achievements.kinds.badge)
        ? 'badge'
        : 'other';
    kind.value = kindOf;
  }

  const link = raw('link');
  let linkUrl: URL | undefined;
  if (link?.error !== undefined) link.error = `the certificate link has no ${describeSource(spec.link![0]!)}`;
  else if (link?.raw != null) {
    const checked = checkLink(link.raw, pageUrl);
    if (typeof checked === 'string') link.error = checked;
    else {
      linkUrl = checked;
      link.value = checked.href;
    }
  }

  const ref = `course ${courseRef} achievement ${id.raw === null ? `#${index}` : shown(id.raw)}`.slice(
    0,
    160,
  );
  const refuse = (reason: string): ListedAward => ({
    entry: {
      ok: false,
      ref,
      code: 'LMS_DATA_INVALID',
      reason: `GET ${pageUrl.pathname} (course ${courseRef}): ${reason}`,
    },
    download: undefined,
    expires: null,
  });
  const isCertificate = link?.raw != null || link?.error !== undefined || kindOf === 'certificate';
  const result = (award: ListedAward | undefined): ItemReading => ({ index, fields, award });

  if (link?.error !== undefined) return result(refuse(link.error));
  if (!isCertificate) {
    // A badge or another award: yielded when it can be named, else simply not counted.
    if (id.value === null || award?.error || fields.issued?.error) return result(undefined);
    return result({
      entry: {
        ok: true,
        kind: kindOf ?? 'other',
        certificate: certificateOf(context, id.value, award?.value ?? id.value, title, fields.issued),
      },
      download: undefined,
      expires: fields.expires?.value ?? null,
    });
  }
  if (id.raw === null) return result(refuse(`no achievement id (${describeSpecs(spec.id)})`));
  if (id.value === null) {
    return result(refuse(`the achievement id ${shown(id.raw)} is not a usable Learn id`));
  }
  if (award?.error) return result(refuse(`the award id ${shown(award.raw)} is not a usable Learn id`));
  if (fields.issued?.error) return result(refuse(`the issued date ${fields.issued.error}`));
  if (fields.expires?.error) return result(refuse(`the expiry date ${fields.expires.error}`));

  let download: URL;
  if (linkUrl) {
    // The link must be about this achievement, course and user, when it names them: a page
    // that lists someone else's certificate is not believed.
    const checks = profile.achievements.linkChecks;
    const mismatch = (
      [
        ['achievement', checks.id, id.value],
        ['course', checks.course, courseRef],
        ['user', checks.user, userRef],
      ] as const
    ).find(([, part, expected]) => {
      const said = part && linkPart(linkUrl, part);
      return said !== undefined && said !== expected;
    });
    if (mismatch) {
      const [what, part, expected] = mismatch;
      const said = linkPart(linkUrl, part!) as string;
      return result(
        refuse(
          what === 'achievement'
            ? `the link is for achievement ${shown(said)}, the item says ${shown(expected)}`
            : `the link is for ${what} ${shown(said)}, not ${expected}`,
        ),
      );
    }
    download = linkUrl;
  } else {
    const template = profile.certificate.url;
    if (template === undefined) {
      return result(
        refuse(
          `a certificate without a download link, and the site profile (${profile.source}) has no certificate.url to build one`,
        ),
      );
    }
    try {
      download = fillTemplate(
        template,
        { userRef, courseRef, issuedRef: id.value, awardRef: award?.value ?? id.value },
        pageUrl.origin,
        `${profile.source}: certificate.url`,
      );
    } catch (error) {
      if (error instanceof TemplateError) return result(refuse(error.message));
      throw error;
    }
  }
  return result({
    entry: {
      ok: true,
      kind: 'certificate',
      certificate: certificateOf(context, id.value, award?.value ?? id.value, title, fields.issued),
    },
    download,
    expires: fields.expires?.value ?? null,
  });
}

function certificateOf(
  context: PageContext,
  issuedId: string,
  awardId: string,
  title: FieldReading | undefined,
  issued: FieldReading | undefined,
): Certificate {
  return {
    userId: context.userRef,
    orgUnitId: context.courseRef,
    issuedId,
    awardId,
    title: title?.value ?? '',
    issuedDate: issued?.value ?? null,
  };
}

/**
 * The first value any alternative finds (regex applied), bounded; null when none does, with
 * `emptyOn` naming the first element that was found but gave no value.
 */
function readField(
  item: Item,
  specs: readonly FieldSpec[],
  pageUrl: URL,
): { value: string | null; emptyOn?: string } {
  let emptyOn: string | undefined;
  for (const spec of specs) {
    const element = spec.selector === undefined ? item : item.find(spec.selector).first();
    if (element.length === 0) continue;
    let value: string | undefined;
    const { from } = spec;
    if (from.kind === 'text') value = cleanText(element.text(), RAW_MAX);
    else if (from.kind === 'attribute') value = element.attr(from.name)?.trim();
    else {
      const href = element.attr(from.link)?.trim();
      let url: URL | undefined;
      try {
        url = href ? new URL(href, pageUrl) : undefined;
      } catch {
        url = undefined;
      }
      if (url) value = linkPart(url, from.kind === 'query' ? from : { kind: 'segment', index: from.index });
    }
    if (value !== undefined && value !== '') value = value.slice(0, RAW_MAX);
    if (value !== undefined && value !== '' && spec.regex) {
      const match = spec.regex.exec(value);
      value = match ? (match[1] ?? match[0]).trim() : undefined;
    }
    if (value === undefined || value === '') {
      emptyOn ??= spec.selector ?? 'the item';
      continue;
    }
    return { value };
  }
  return emptyOn === undefined ? { value: null } : { value: null, emptyOn };
}

/** A query parameter or path segment of a link (decoded), or undefined when it has none. */
function linkPart(url: URL, part: LinkPart): string | undefined {
  if (part.kind === 'query') return url.searchParams.get(part.name) ?? undefined;
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const segment = segments.at(part.index);
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The link as an absolute URL on the page's host, or why it is refused. */
function checkLink(href: string, pageUrl: URL): URL | string {
  let url: URL;
  try {
    url = new URL(href, pageUrl);
  } catch {
    return `the certificate link is not a URL (${shown(href)})`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `the certificate link is not http(s) (${shown(href)})`;
  }
  if (url.origin !== pageUrl.origin) {
    return `the certificate link leads to another host (${url.origin}); refused`;
  }
  return url;
}

function describeSpecs(specs: readonly FieldSpec[]): string {
  return specs
    .map((s) => `${describeSource(s)} of ${s.selector === undefined ? 'the item' : s.selector}`)
    .join(', or ');
}

function describeSource({ from }: FieldSpec): string {
  switch (from.kind) {
    case 'text':
      return 'text';
    case 'attribute':
      return from.name;
    case 'query':
      return `${from.name} in the link`;
    case 'segment':
      return `path segment ${from.index} of the link`;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u001f\u007f\s]+/g;

/** Text on one line (control characters and runs of space collapsed), bounded. */
function cleanText(text: string, max: number): string {
  const flat = text.replace(CONTROL_OR_SPACE, ' ').trim();
  return flat.length > max ? flat.slice(0, max) : flat;
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/**
 * A date as UTC ISO: ISO 8601 (a time without a zone is UTC), or a day written out, "1 March 2026"
 * or "March 1, 2026" (midnight UTC); undefined when it is neither.
 */
export function parseDate(raw: string): string | undefined {
  let text = raw.trim();
  const written =
    /^(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})$/i.exec(text) ?? /^([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$/i.exec(text);
  if (written) {
    const [day, month] = /^\d/.test(written[1]!) ? [written[1]!, written[2]!] : [written[2]!, written[1]!];
    const m = MONTHS.findIndex((name) => month.length >= 3 && name.startsWith(month.toLowerCase()));
    const d = Number(day);
    const y = Number(written[3]);
    const date = new Date(Date.UTC(y, m, d));
    if (m < 0 || date.getUTCDate() !== d || date.getUTCMonth() !== m) return undefined;
    return date.toISOString();
  }
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
