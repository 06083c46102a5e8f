/**
 * Every field of one item read and parsed: ids that must be safe, a title that is text only,
 * dates, the kind as the profile names it, and a certificate link on the LMS's own host.
 */
import type { AwardKind } from '../ports.ts';
import type { FieldReading, ItemReading } from './achievement-reading.ts';
import { parseLearnId } from './ids.ts';
import { checkLink, describeSource, describeSpecs, readField, type Item } from './item-field.ts';
import { cleanText, parseDate, shown } from './page-text.ts';
import type { FieldName, SiteProfile } from './site-profile-shape.ts';

const TITLE_MAX = 1000;

/** One item's readings, with the parsed values the award is decided from. */
export interface ItemFields {
  /** Each field the profile declares, in the order read (what `inspect` shows). */
  fields: ItemReading['fields'];
  id: FieldReading;
  awardId: FieldReading | undefined;
  title: FieldReading | undefined;
  kind: AwardKind | undefined;
  link: FieldReading | undefined;
  /** The checked certificate link, when the item has one. */
  linkUrl: URL | undefined;
}

/** Read and parse each field of `item` the profile declares. */
export function readItemFields(item: Item, pageUrl: URL, profile: SiteProfile): ItemFields {
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

  const awardId = raw('awardId');
  if (awardId?.raw != null && (awardId.value = parseLearnId(awardId.raw) ?? null) === null) {
    awardId.error = `${shown(awardId.raw)} is not a usable id`;
  }

  const title = raw('title');
  if (title) title.value = title.raw === null ? null : cleanText(title.raw, TITLE_MAX);

  for (const name of ['issued', 'expires'] as const) {
    const date = raw(name);
    if (date?.raw != null && (date.value = parseDate(date.raw) ?? null) === null) {
      date.error = `${shown(date.raw)} is not a date (ISO 8601, or like "1 March 2026")`;
    }
  }

  const kind = readKind(raw('kind'), profile);
  const link = raw('link');
  const linkUrl = readLink(link, profile, pageUrl);
  return { fields, id, awardId, title, kind, link, linkUrl };
}

/** The item's kind as the profile names kinds (case-insensitive); undefined without a kind field. */
function readKind(kind: FieldReading | undefined, profile: SiteProfile): AwardKind | undefined {
  if (kind?.raw == null) return undefined;
  const value = kind.raw.trim().toLowerCase();
  const is = (list: string[]) => list.some((k) => k.toLowerCase() === value);
  const kindOf: AwardKind = is(profile.achievements.kinds.certificate)
    ? 'certificate'
    : is(profile.achievements.kinds.badge)
      ? 'badge'
      : 'other';
  kind.value = kindOf;
  return kindOf;
}

/** The certificate link checked (an absolute http(s) URL on the page's host); the reading says why not. */
function readLink(link: FieldReading | undefined, profile: SiteProfile, pageUrl: URL): URL | undefined {
  if (link?.error !== undefined) {
    link.error = `the certificate link has no ${describeSource(profile.achievements.fields.link![0]!)}`;
    return undefined;
  }
  if (link?.raw == null) return undefined;
  const checked = checkLink(link.raw, pageUrl);
  if (typeof checked === 'string') {
    link.error = checked;
    return undefined;
  }
  link.value = checked.href;
  return checked;
}
