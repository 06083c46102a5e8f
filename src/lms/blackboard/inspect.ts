import { load, type CheerioAPI } from 'cheerio';
import { readAchievementsPage, type FieldReading } from './achievements-page.ts';
import type { FieldName, SiteProfile } from './site-profile.ts';

/**
 * What a site profile reads from one listing page, for `certharvest inspect`: every item with each
 * field's raw and parsed value (or why it is refused) and the link the PDF would be fetched from;
 * and, when nothing usable matches, candidates an admin can fit the profile to — the element
 * shapes that repeat on the page, their attributes, and the page's links. Pure: HTML in, plain
 * JSON-serialisable data out, bounded in size whatever the page holds.
 */

/** Items shown in full; more are counted. */
const MAX_ITEMS = 50;
const MAX_SHAPES = 15;
const MAX_ATTRIBUTES = 12;
const MAX_SAMPLES = 3;
const MAX_LINK_GROUPS = 15;
const SAMPLE_CHARS = 120;

export interface InspectedItem {
  /** 1-based position on the page. */
  index: number;
  /** `certificate`, `badge`, `other`, `refused` (with `reason`), or `skipped` (a badge it cannot name). */
  outcome: 'certificate' | 'badge' | 'other' | 'refused' | 'skipped';
  reason?: string;
  fields: Partial<Record<FieldName, FieldReading>>;
  /** Where the PDF would be fetched from: the page's link, or the profile's certificate URL. */
  download: string | null;
}

/** An element shape that repeats or carries data-* attributes: `tag.class.class`, how often, and what it carries. */
export interface ShapeCandidate {
  shape: string;
  /** A CSS selector for it. */
  selector: string;
  count: number;
  /** Attributes seen on those elements (not `class`/`style`), with a few sample values. */
  attributes: { name: string; samples: string[] }[];
  /** The first one's text, cut short. */
  sampleText: string;
}

/** Links of one shape: the path with id-like segments as `{…}`, and the query's parameter names. */
export interface LinkCandidate {
  path: string;
  query: string[];
  count: number;
  samples: string[];
  /** A CSS selector of the first such link (tag and classes). */
  selector: string;
}

export interface InspectResult {
  pageUrl: string;
  profile: string;
  /** The page is the login form: the session is not logged in. */
  loginPage: boolean;
  itemSelector: string;
  itemsFound: number;
  /** The first items, in full. */
  items: InspectedItem[];
  /** Counts over every item. */
  summary: { certificates: number; badges: number; other: number; refused: number; skipped: number };
  /** True when at least one certificate has an id and a download URL. */
  matches: boolean;
  /** Present when nothing usable matched (no items, or items without id or link). */
  candidates?: { repeated: ShapeCandidate[]; links: LinkCandidate[] };
}

export interface InspectInput {
  html: string;
  pageUrl: string | URL;
  profile: SiteProfile;
  /** The user and course the page was asked for (the link checks compare with them). */
  userRef: string;
  courseRef: string;
}

/** What `profile` extracts from a listing page, and candidates when that is nothing usable. */
export function inspectAchievementsPage(input: InspectInput): InspectResult {
  const pageUrl = new URL(input.pageUrl);
  const base = {
    pageUrl: pageUrl.href,
    profile: input.profile.source,
    itemSelector: input.profile.achievements.item,
  };
  const read = readAchievementsPage(input.html, {
    pageUrl,
    userRef: input.userRef,
    courseRef: input.courseRef,
    profile: input.profile,
  });
  const summary = { certificates: 0, badges: 0, other: 0, refused: 0, skipped: 0 };
  if (read.kind === 'login') {
    return { ...base, loginPage: true, itemsFound: 0, items: [], summary, matches: false };
  }
  const items: InspectedItem[] = read.items.map((item) => {
    const award = item.award;
    let outcome: InspectedItem['outcome'];
    let reason: string | undefined;
    if (!award) outcome = 'skipped';
    else if (!award.entry.ok) {
      outcome = 'refused';
      reason = award.entry.reason;
    } else outcome = award.entry.kind;
    return {
      index: item.index,
      outcome,
      ...(reason === undefined ? {} : { reason }),
      fields: item.fields,
      download: award?.download?.href ?? null,
    };
  });
  for (const item of items) {
    if (item.outcome === 'certificate') summary.certificates++;
    else if (item.outcome === 'badge') summary.badges++;
    else summary[item.outcome === 'other' ? 'other' : item.outcome]++;
  }
  const matches = summary.certificates > 0;
  const incomplete =
    items.length === 0 ||
    items.some((i) => i.fields.id?.value == null || (i.outcome !== 'badge' && i.download === null));
  const result: InspectResult = {
    ...base,
    loginPage: false,
    itemsFound: items.length,
    items: items.slice(0, MAX_ITEMS),
    summary,
    matches,
  };
  if (!matches || incomplete) result.candidates = candidates(load(input.html), pageUrl);
  return result;
}

const SKIPPED_TAGS = new Set([
  'html',
  'head',
  'body',
  'script',
  'style',
  'meta',
  'link',
  'br',
  'hr',
  'option',
  'noscript',
  'template',
]);

/** Repeated element shapes and link shapes of a page, bounded. */
function candidates($: CheerioAPI, pageUrl: URL): { repeated: ShapeCandidate[]; links: LinkCandidate[] } {
  return { repeated: repeatedShapes($), links: linkShapes($, pageUrl) };
}

/** An element shape seen on the page, as it is being counted. */
interface ShapeTally {
  selector: string;
  count: number;
  attributes: Map<string, Set<string>>;
  sampleText: string;
  sampleHasData: boolean;
}

/** The element shapes (tag and classes) that repeat or carry data, those with data first. */
function repeatedShapes($: CheerioAPI): ShapeCandidate[] {
  const shapes = new Map<string, ShapeTally>();
  $('*').each((_i, element) => {
    const { tagName, attribs } = asElement(element);
    const tag = tagName.toLowerCase();
    if (SKIPPED_TAGS.has(tag)) return;
    const classes = ($(element).attr('class') ?? '')
      .split(/\s+/)
      .filter((c) => /^[A-Za-z_][\w-]*$/.test(c))
      .sort();
    const shape = [tag, ...classes].join('.');
    let entry = shapes.get(shape);
    if (!entry) {
      entry = {
        selector: [tag, ...classes.map((c) => `.${c}`)].join(''),
        count: 0,
        attributes: new Map(),
        sampleText: clip(spacedText($, element)),
        sampleHasData: false,
      };
      if (shapes.size >= 2000) return; // a page of endless distinct shapes is not worth more
      shapes.set(shape, entry);
    }
    entry.count++;
    // The sample text of a shape is that of its first element carrying data (a header row has none).
    if (!entry.sampleHasData && Object.keys(attribs).some((a) => a.startsWith('data-'))) {
      entry.sampleHasData = true;
      entry.sampleText = clip(spacedText($, element));
    }
    for (const [name, value] of Object.entries(attribs)) {
      if (name === 'class' || name === 'style') continue;
      let samples = entry.attributes.get(name);
      if (!samples) {
        if (entry.attributes.size >= MAX_ATTRIBUTES) continue;
        samples = new Set();
        entry.attributes.set(name, samples);
      }
      if (samples.size < MAX_SAMPLES) samples.add(clip(value));
    }
  });
  return (
    [...shapes.entries()]
      // Repeated shapes, and any carrying data-* attributes (a page with one achievement has one row).
      .filter(([, e]) => e.count >= 2 || [...e.attributes.keys()].some((a) => a.startsWith('data-')))
      // The shapes that carry data first: attributes beyond the generic ones, then how often.
      .sort(([, a], [, b]) => b.attributes.size - a.attributes.size || b.count - a.count)
      .slice(0, MAX_SHAPES)
      .map(([shape, e]) => ({
        shape,
        selector: e.selector,
        count: e.count,
        attributes: [...e.attributes.entries()].map(([name, samples]) => ({ name, samples: [...samples] })),
        sampleText: e.sampleText,
      }))
  );
}

/** The page's same-site links grouped by shape (ids as `{id}`), those carrying ids first. */
function linkShapes($: CheerioAPI, pageUrl: URL): LinkCandidate[] {
  const groups = new Map<string, LinkCandidate>();
  $('a[href], [data-href], [data-url]').each((_i, element) => {
    const node = $(element);
    const href = node.attr('href') ?? node.attr('data-href') ?? node.attr('data-url') ?? '';
    let url: URL;
    try {
      url = new URL(href, pageUrl);
    } catch {
      return;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== pageUrl.origin) return;
    const path = url.pathname.split('/').map(segmentShape).join('/');
    const query = [...new Set(url.searchParams.keys())].sort();
    const key = `${path}?${query.join('&')}`;
    let group = groups.get(key);
    if (!group) {
      if (groups.size >= 500) return;
      const tag = asElement(element).tagName.toLowerCase();
      const classes = (node.attr('class') ?? '').split(/\s+/).filter((c) => /^[A-Za-z_][\w-]*$/.test(c));
      group = {
        path,
        query,
        count: 0,
        samples: [],
        selector: [tag, ...classes.map((c) => `.${c}`)].join(''),
      };
      groups.set(key, group);
    }
    group.count++;
    if (group.samples.length < MAX_SAMPLES) group.samples.push(clip(`${url.pathname}${url.search}`));
  });
  return (
    [...groups.values()]
      // Links that carry ids (in the query or the path) first, then the most frequent.
      .sort((a, b) => idWeight(b) - idWeight(a) || b.count - a.count)
      .slice(0, MAX_LINK_GROUPS)
  );
}

const idWeight = (l: LinkCandidate) => l.query.length + (l.path.includes('{id}') ? 1 : 0);

/** A path segment with a digit in it looks like an id: `{id}`, keeping an extension (`{id}.pdf`). */
function segmentShape(segment: string): string {
  if (!/\d/.test(segment)) return segment;
  return `{id}${/\.[a-z]{2,5}$/i.exec(segment)?.[0] ?? ''}`;
}

/** An element's text with its pieces apart ("Fire safety 1 March 2026", not "Fire safety1 March 2026"). */
function spacedText($: CheerioAPI, element: Parameters<CheerioAPI>[0]): string {
  const parts: string[] = [];
  $(element)
    .find('*')
    .addBack()
    .contents()
    .each((_i, node) => {
      if (node.type === 'text' && parts.length < 50) parts.push((node as unknown as { data: string }).data);
    });
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}

/** An element's name and attributes (cheerio's node type, without importing domhandler). */
function asElement(node: unknown): { tagName: string; attribs: Record<string, string> } {
  const n = node as { tagName?: unknown; attribs?: unknown };
  return {
    tagName: typeof n.tagName === 'string' ? n.tagName : '',
    attribs: n.attribs && typeof n.attribs === 'object' ? (n.attribs as Record<string, string>) : {},
  };
}

function clip(text: string): string {
  return text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS - 1)}…` : text;
}
