/**
 * Reading one field of one item the profile's way: the first alternative that yields a value,
 * from the element's text, an attribute, or a part of a link; bounded, the regex applied.
 */
import type { CheerioAPI } from 'cheerio';
import { cleanText, shown } from './page-text.ts';
import type { FieldSpec, LinkPart } from './site-profile-shape.ts';

/** Longest value read from a field before it is parsed. */
export const RAW_MAX = 2048;

/** A selection of elements (cheerio's `Cheerio<Element>`, without importing domhandler). */
export type Item = ReturnType<ReturnType<CheerioAPI['root']>['find']>;

/**
 * The first value any alternative finds (regex applied), bounded; null when none does, with
 * `emptyOn` naming the first element that was found but gave no value.
 */
export function readField(
  item: Item,
  specs: readonly FieldSpec[],
  pageUrl: URL,
): { value: string | null; emptyOn?: string } {
  let emptyOn: string | undefined;
  for (const spec of specs) {
    const element = spec.selector === undefined ? item : item.find(spec.selector).first();
    if (element.length === 0) continue;
    let value = valueOf(element, spec, pageUrl);
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

/** What the element gives for the spec's source, before bounds and regex. */
function valueOf(element: Item, { from }: FieldSpec, pageUrl: URL): string | undefined {
  if (from.kind === 'text') return cleanText(element.text(), RAW_MAX);
  if (from.kind === 'attribute') return element.attr(from.name)?.trim();
  const href = element.attr(from.link)?.trim();
  let url: URL | undefined;
  try {
    url = href ? new URL(href, pageUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) return undefined;
  return linkPart(url, from.kind === 'query' ? from : { kind: 'segment', index: from.index });
}

/** A query parameter or path segment of a link (decoded), or undefined when it has none. */
export function linkPart(url: URL, part: LinkPart): string | undefined {
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
export function checkLink(href: string, pageUrl: URL): URL | string {
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

export function describeSpecs(specs: readonly FieldSpec[]): string {
  return specs
    .map((s) => `${describeSource(s)} of ${s.selector === undefined ? 'the item' : s.selector}`)
    .join(', or ');
}

export function describeSource({ from }: FieldSpec): string {
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
