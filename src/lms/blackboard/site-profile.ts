/**
 * The site profile: everything certharvest reads from a Learn site's web pages, declared in one
 * file (`LMS_SITE_PROFILE=profile.yaml`, YAML or JSON) instead of code. It says where a user's
 * achievements in a course are listed, how one item and each of its fields are found, where the
 * certificate's link is, and, optionally, the site's web login facts.
 *
 * Placeholders mean the same in every template:
 *
 *   {userRef} {courseRef} {issuedRef} {awardRef}   the LMS's own ids as given (`_123_1`, a UUID…)
 *   {userId}  {courseId}  {issuedId}  {awardId}    their numbers: N of `_N_1` (an id without one
 *                                                   cannot fill such a template: that item fails)
 *
 * The listing URL knows the user and the course; the certificate URL (the fallback when the page
 * shows no link) knows all four. Values are URL-encoded.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Document } from 'yaml';
import { z } from 'zod';
import { CertharvestError, ConfigError } from '../../errors/index.ts';

/**
 * yaml and cheerio are read only when a site profile is (every command loads the configuration,
 * and most never need them): synchronously, as `configure()` is synchronous.
 */
const requireHere = createRequire(import.meta.url);
const yaml = (): typeof import('yaml') => requireHere('yaml') as typeof import('yaml');
const cheerio = (): typeof import('cheerio/slim') =>
  requireHere('cheerio/slim') as typeof import('cheerio/slim');

/** Where a field's value comes from, on the element its selector found. */
export type ValueSource =
  /** The element's text (markup dropped, whitespace collapsed). */
  | { kind: 'text' }
  /** A named attribute of the element. */
  | { kind: 'attribute'; name: string }
  /** A named query parameter of the URL in the element's `link` attribute (default `href`). */
  | { kind: 'query'; name: string; link: string }
  /** A path segment of that URL: 0 the first, -1 the last. */
  | { kind: 'segment'; index: number; link: string };

/** How one field is read from an item. */
export interface FieldSpec {
  /** Inside the item; undefined = the item element itself. */
  selector: string | undefined;
  from: ValueSource;
  /** Applied to the value; the first capture group (or the whole match) is kept. */
  regex: RegExp | undefined;
}

/** A part of the certificate link that names something, for the safety checks. */
export type LinkPart = { kind: 'query'; name: string } | { kind: 'segment'; index: number };

export type FieldName = 'id' | 'title' | 'issued' | 'link' | 'awardId' | 'kind' | 'expires';

export interface AchievementsProfile {
  /** The listing page of one user in one course: `{userRef}`, `{courseRef}`, `{userId}`, `{courseId}`. */
  url: string;
  /** One achievement on that page. */
  item: string;
  /**
   * Each field as a list of alternatives, tried in order until one yields a value. `id` is
   * required; `link` is the certificate's download link (an item without one is a badge, unless
   * its kind says certificate).
   */
  fields: { id: FieldSpec[] } & Partial<Record<Exclude<FieldName, 'id'>, FieldSpec[]>>;
  /** Values of the `kind` field (compared case-insensitively). */
  kinds: { certificate: string[]; badge: string[] };
  /**
   * Parts of the certificate link that, when the link carries them, must match the item's id, the
   * course and the user: a link about someone else is not believed.
   */
  linkChecks: { id?: LinkPart; course?: LinkPart; user?: LinkPart };
}

/** The site's web login facts (`login:`), for the web session. */
export interface SiteLoginProfile {
  /** Where the login form is, e.g. `/webapps/login/`. */
  loginPath?: string;
  /** The page only a logged-in user gets, e.g. `/ultra/stream`. */
  landingPath?: string;
  usernameSelector?: string;
  passwordSelector?: string;
  submitSelector?: string;
  /** A URL whose path and query match any of these means "logged out" (regular expressions). */
  loggedOutUrlPatterns?: RegExp[];
}

export interface SiteProfile {
  /** The file it came from, or `default`; named in messages. */
  source: string;
  achievements: AchievementsProfile;
  certificate: {
    /** The download URL when the page shows no link; every placeholder allowed. */
    url: string | undefined;
  };
  login: SiteLoginProfile | undefined;
  /** Largest listing page read, in bytes. Default 5 MiB. */
  maxPageBytes: number;
}

export const DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024;

export const LISTING_PLACEHOLDERS = ['userRef', 'courseRef', 'userId', 'courseId'] as const;
export const CERTIFICATE_PLACEHOLDERS = [
  ...LISTING_PLACEHOLDERS,
  'issuedRef',
  'awardRef',
  'issuedId',
  'awardId',
] as const;

/** The markup certharvest has always read (docs/blackboard.md): a site without a profile file. */
export const DEFAULT_SITE_PROFILE: SiteProfile = deepFreeze({
  source: 'default',
  achievements: {
    url: '/webapps/achievements/studentViewAchievements.form?course_id={courseRef}&user_id={userRef}',
    item: 'li.achievement',
    fields: {
      id: [
        spec(undefined, { kind: 'attribute', name: 'data-achievement-id' }),
        spec('a.achievement-certificate', { kind: 'query', name: 'achievement_id', link: 'href' }),
      ],
      title: [spec('.achievement-title', { kind: 'text' })],
      issued: [spec('time.achievement-issued', { kind: 'attribute', name: 'datetime' })],
      link: [spec('a.achievement-certificate', { kind: 'attribute', name: 'href' })],
      awardId: [spec(undefined, { kind: 'attribute', name: 'data-award-id' })],
      kind: [spec(undefined, { kind: 'attribute', name: 'data-type' })],
    },
    kinds: { certificate: ['certificate'], badge: ['badge'] },
    linkChecks: {
      id: { kind: 'query', name: 'achievement_id' },
      course: { kind: 'query', name: 'course_id' },
      user: { kind: 'query', name: 'user_id' },
    },
  },
  certificate: {
    url: '/webapps/achievements/certificate/download.form?achievement_id={issuedRef}&course_id={courseRef}&user_id={userRef}',
  },
  login: undefined,
  maxPageBytes: DEFAULT_MAX_PAGE_BYTES,
});

/** A profile file that is not right: one line per problem, each naming the file and line. */
export class SiteProfileError extends ConfigError {
  constructor(problems: readonly string[]) {
    super(problems);
  }
}

// ---------------------------------------------------------------------------------------------
// The file's schema

const SOURCE_EXPECTED = 'expected "text", {attribute}, {query} or {segment}';
const LINK_PART_EXPECTED = 'expected {query} or {segment}';

const name = z
  .string({ error: 'expected a name' })
  .trim()
  .min(1, { error: 'expected a name' })
  .max(200, { error: 'at most 200 characters' });

const selector = z
  .string({ error: 'expected a CSS selector' })
  .trim()
  .min(1, { error: 'expected a CSS selector' })
  .superRefine((value, ctx) => {
    const problem = selectorProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${problem}` });
  });

const regex = z
  .string({ error: 'expected a regular expression' })
  .min(1)
  .transform((value, ctx) => {
    try {
      return new RegExp(value);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(value)} is not a regular expression: ${(error as Error).message}`,
      });
      return z.NEVER;
    }
  });

const segmentIndex = z
  .number({ error: 'expected a whole number (0 the first segment, -1 the last)' })
  .int({ error: 'expected a whole number (0 the first segment, -1 the last)' });

const source = z.union(
  [
    z.literal('text').transform((): ValueSource => ({ kind: 'text' })),
    z
      .strictObject({ attribute: name })
      .transform(({ attribute }): ValueSource => ({ kind: 'attribute', name: attribute })),
    z
      .strictObject({ query: name, link: name.optional() })
      .transform(({ query, link }): ValueSource => ({ kind: 'query', name: query, link: link ?? 'href' })),
    z
      .strictObject({ segment: segmentIndex, link: name.optional() })
      .transform(({ segment, link }): ValueSource => ({
        kind: 'segment',
        index: segment,
        link: link ?? 'href',
      })),
  ],
  { error: SOURCE_EXPECTED },
);

const linkPart = z.union(
  [
    z.strictObject({ query: name }).transform(({ query }): LinkPart => ({ kind: 'query', name: query })),
    z
      .strictObject({ segment: segmentIndex })
      .transform(({ segment }): LinkPart => ({ kind: 'segment', index: segment })),
  ],
  { error: LINK_PART_EXPECTED },
);

/** One field: `{selector?, from, regex?}`; `from` defaults to `text` (to `{attribute: href}` for `link`). */
const fieldSpec = (defaultSource: ValueSource) =>
  z
    .strictObject({ selector: selector.optional(), from: source.optional(), regex: regex.optional() })
    .transform((f): FieldSpec => ({ selector: f.selector, from: f.from ?? defaultSource, regex: f.regex }));

/** A field is one spec or a list of alternatives (problems are reported inside either). */
const field = (defaultSource: ValueSource = { kind: 'text' }) => {
  const one = fieldSpec(defaultSource);
  const many = z.array(one).min(1, { error: 'expected at least one {selector, from, regex}' });
  return z.unknown().transform((value, ctx): FieldSpec[] => {
    const result = Array.isArray(value) ? many.safeParse(value) : one.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues)
        ctx.issues.push({ ...issue, input: value } as (typeof ctx.issues)[number]);
      return z.NEVER;
    }
    return Array.isArray(result.data) ? result.data : [result.data];
  });
};

const template = (allowed: readonly string[]) =>
  z
    .string({ error: 'expected a URL template' })
    .trim()
    .min(1, { error: 'expected a URL template' })
    .superRefine((value, ctx) => {
      const problem = templateProblem(value, allowed);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

const words = z.array(name).min(1);

const profileFileSchema = z.strictObject({
  achievements: z.strictObject({
    url: template(LISTING_PLACEHOLDERS),
    item: selector,
    fields: z.strictObject({
      id: field(),
      title: field().optional(),
      issued: field().optional(),
      link: field({ kind: 'attribute', name: 'href' }).optional(),
      awardId: field().optional(),
      kind: field().optional(),
      expires: field().optional(),
    }),
    kinds: z.strictObject({ certificate: words.optional(), badge: words.optional() }).optional(),
    linkChecks: z
      .strictObject({ id: linkPart.optional(), course: linkPart.optional(), user: linkPart.optional() })
      .optional(),
  }),
  certificate: z.strictObject({ url: template(CERTIFICATE_PLACEHOLDERS).optional() }).optional(),
  login: z
    .strictObject({
      loginPath: z.string().trim().startsWith('/', { error: 'expected a path starting with /' }).optional(),
      landingPath: z.string().trim().startsWith('/', { error: 'expected a path starting with /' }).optional(),
      usernameSelector: selector.optional(),
      passwordSelector: selector.optional(),
      submitSelector: selector.optional(),
      loggedOutUrlPatterns: z.array(regex).min(1).optional(),
    })
    .optional(),
  maxPageBytes: z
    .number({ error: 'expected a number of bytes' })
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .optional(),
});

type ProfileFile = z.output<typeof profileFileSchema>;

// ---------------------------------------------------------------------------------------------
// Loading

/** Read, parse and check a profile file (YAML or JSON). Throws SiteProfileError naming each line. */
export function loadSiteProfile(file: string): SiteProfile {
  const shown = path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SiteProfileError([
      `${file}: cannot read the site profile (${code ?? (error as Error).message}); LMS_SITE_PROFILE names it`,
    ]);
  }
  return parseSiteProfile(text, shown);
}

/** A profile from its text; `file` names it in messages. */
export function parseSiteProfile(text: string, file: string): SiteProfile {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  if (doc.errors.length > 0) {
    throw new SiteProfileError(
      doc.errors.slice(0, 10).map((e) => `${file}:${lineOf(e.pos[0])}: ${firstLine(e.message)}`),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SiteProfileError([`${file}:1: expected a mapping with an "achievements" section`]);
  }
  const parsed = profileFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SiteProfileError(
      parsed.error.issues.slice(0, 20).map((issue) => {
        const where = issue.path.map(String);
        const line = lineOfPath(doc, issue.path as (string | number)[], lineOf);
        return `${file}:${line}: ${where.join('.') || '(file)'}: ${issueMessage(issue)}`;
      }),
    );
  }
  return fromFile(parsed.data, file);
}

function fromFile(f: ProfileFile, source: string): SiteProfile {
  const d = DEFAULT_SITE_PROFILE.achievements;
  const fields: AchievementsProfile['fields'] = { id: f.achievements.fields.id };
  for (const key of ['title', 'issued', 'link', 'awardId', 'kind', 'expires'] as const) {
    const value = f.achievements.fields[key];
    if (value) fields[key] = value;
  }
  const checks: AchievementsProfile['linkChecks'] = {};
  for (const key of ['id', 'course', 'user'] as const) {
    const value = f.achievements.linkChecks?.[key];
    if (value) checks[key] = value;
  }
  const login = f.login;
  return {
    source,
    achievements: {
      url: f.achievements.url,
      item: f.achievements.item,
      fields,
      kinds: {
        certificate: f.achievements.kinds?.certificate ?? [...d.kinds.certificate],
        badge: f.achievements.kinds?.badge ?? [...d.kinds.badge],
      },
      linkChecks: checks,
    },
    certificate: { url: f.certificate?.url },
    login: login ? Object.fromEntries(Object.entries(login).filter(([, v]) => v !== undefined)) : undefined,
    maxPageBytes: f.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES,
  };
}

/** The line of the deepest node of `at` that exists in the document (the key's line, else the value's). */
function lineOfPath(doc: Document, at: (string | number)[], lineOf: (offset: number) => number): number {
  const { isMap, isScalar, isSeq } = yaml();
  for (let depth = at.length; depth >= 0; depth--) {
    const prefix = at.slice(0, depth);
    const parent = depth === 0 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
    if (depth > 0 && isMap(parent)) {
      const key = prefix[prefix.length - 1];
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
      const node = pair?.key ?? pair?.value;
      if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lineOf(node.range[0]);
    }
    const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
    if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lineOf(node.range[0]);
  }
  return 1;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'missing';
  return issue.message;
}

const firstLine = (text: string) => text.split('\n')[0] ?? text;

// ---------------------------------------------------------------------------------------------
// The BB_* variables: overrides of a profile

export interface LegacyPageEnv {
  BB_ACHIEVEMENTS_URL?: string | undefined;
  BB_CERTIFICATE_URL?: string | undefined;
  BB_ACHIEVEMENT_SELECTOR?: string | undefined;
  BB_CERTIFICATE_LINK_SELECTOR?: string | undefined;
  BB_TITLE_SELECTOR?: string | undefined;
  BB_ISSUED_SELECTOR?: string | undefined;
}

/**
 * `base` with the BB_* variables laid over it. Their placeholders kept their old meanings and are
 * translated: in BB_ACHIEVEMENTS_URL `{courseId}`/`{userId}` were the Learn ids (`_N_1`), now
 * `{courseRef}`/`{userRef}`; in BB_CERTIFICATE_URL `{issuedId}`, `{userId}`, `{awardId}` were
 * already the numbers N and stay, `{orgUnitId}` (the course's N) becomes `{courseId}`. A
 * selector replaces the one of the field it names (and the same selector wherever the base used it,
 * e.g. the link selector that also gave the id from the link). Throws SiteProfileError.
 */
export function siteProfileFromLegacy(env: LegacyPageEnv, base: SiteProfile): SiteProfile {
  const problems: string[] = [];
  const profile: SiteProfile = structuredCloneProfile(base);
  const a = profile.achievements;
  const given = (key: keyof LegacyPageEnv) => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const listing = given('BB_ACHIEVEMENTS_URL');
  if (listing !== undefined) {
    const translated = listing.replaceAll('{courseId}', '{courseRef}').replaceAll('{userId}', '{userRef}');
    const problem = templateProblem(translated, ['courseRef', 'userRef'], {
      courseRef: 'courseId',
      userRef: 'userId',
    });
    if (problem) problems.push(`BB_ACHIEVEMENTS_URL: ${problem}`);
    else a.url = translated;
  }
  const certificate = given('BB_CERTIFICATE_URL');
  if (certificate !== undefined) {
    const translated = certificate.replaceAll('{orgUnitId}', '{courseId}');
    const problem = templateProblem(translated, ['issuedId', 'courseId', 'userId', 'awardId'], {
      courseId: 'orgUnitId',
    });
    if (problem) problems.push(`BB_CERTIFICATE_URL: ${problem}`);
    else profile.certificate.url = translated;
  }
  const item = given('BB_ACHIEVEMENT_SELECTOR');
  if (item !== undefined) {
    const problem = selectorProblem(item);
    if (problem) problems.push(`BB_ACHIEVEMENT_SELECTOR: ${JSON.stringify(item)} ${problem}`);
    else a.item = item;
  }
  const overrides: [keyof LegacyPageEnv, 'link' | 'title' | 'issued', ValueSource][] = [
    ['BB_CERTIFICATE_LINK_SELECTOR', 'link', { kind: 'attribute', name: 'href' }],
    ['BB_TITLE_SELECTOR', 'title', { kind: 'text' }],
    ['BB_ISSUED_SELECTOR', 'issued', { kind: 'attribute', name: 'datetime' }],
  ];
  for (const [variable, key, defaultSource] of overrides) {
    const value = given(variable);
    if (value === undefined) continue;
    const problem = selectorProblem(value);
    if (problem) {
      problems.push(`${variable}: ${JSON.stringify(value)} ${problem}`);
      continue;
    }
    const old = a.fields[key]?.[0]?.selector;
    if (old !== undefined) {
      for (const specs of Object.values(a.fields)) {
        for (const s of specs ?? []) if (s.selector === old) s.selector = value;
      }
    }
    const first = a.fields[key]?.[0];
    if (first) first.selector = value;
    else a.fields[key] = [spec(value, defaultSource)];
  }
  if (problems.length > 0) throw new SiteProfileError(problems);
  return profile;
}

// ---------------------------------------------------------------------------------------------
// Filters

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

// ---------------------------------------------------------------------------------------------
// Templates

/** The ids a template is filled from. `…Ref` the LMS's own, `…Id` their numbers. */
export interface TemplateIds {
  userRef: string;
  courseRef: string;
  issuedRef?: string;
  awardRef?: string;
}

/** N of `_N_1`, or the number itself for an id that is a positive whole number; else undefined. */
export function idNumber(ref: string | number): number | undefined {
  if (typeof ref === 'number') return Number.isSafeInteger(ref) && ref > 0 ? ref : undefined;
  const match = /^_([1-9]\d{0,14})_1$/.exec(ref) ?? /^([1-9]\d{0,14})$/.exec(ref);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A template that cannot be filled (an id without a number, a URL off the LMS): a setting's fault. */
export class TemplateError extends TypeError {}

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

/**
 * `template` filled with `ids` (URL-encoded) and resolved against the LMS. Throws TemplateError
 * when a `{…Id}` placeholder meets an id that has no number, or the URL leaves the LMS's origin.
 */
export function fillTemplate(template: string, ids: TemplateIds, lmsUrl: string, what: string): URL {
  const refs: Record<string, string | undefined> = {
    userRef: ids.userRef,
    courseRef: ids.courseRef,
    issuedRef: ids.issuedRef,
    awardRef: ids.awardRef ?? ids.issuedRef,
  };
  const filled = template.replace(/\{([^{}]*)\}/g, (_whole, placeholder: string) => {
    const ref = refs[placeholder];
    if (ref !== undefined) return encodeURIComponent(ref);
    const base = placeholder.replace(/Id$/, 'Ref');
    const of = placeholder.endsWith('Id') ? refs[base] : undefined;
    if (of === undefined) throw new TemplateError(`${what}: {${placeholder}} has no value here`);
    const n = idNumber(of);
    if (n === undefined) {
      throw new TemplateError(
        `${what} needs the number of ${placeholder.replace(/Id$/, '')} id ${JSON.stringify(of.slice(0, 60))} ` +
          `for {${placeholder}}, and it has none (only _N_1 ids have one): use {${base}}`,
      );
    }
    return String(n);
  });
  const lms = new URL(lmsUrl);
  let url: URL;
  try {
    url = new URL(filled, lms);
  } catch {
    throw new TemplateError(`${what}: ${JSON.stringify(template)} does not make a URL`);
  }
  if (url.origin !== lms.origin) {
    throw new TemplateError(`${what}: ${JSON.stringify(template)} leads off the LMS (${url.origin})`);
  }
  return url;
}

function templateProblem(
  template: string,
  allowed: readonly string[],
  shownAs: Record<string, string> = {},
): string | undefined {
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)]
    .map((m) => m[1] as string)
    .filter((p) => !allowed.includes(p));
  if (unknown.length > 0) {
    const shown = (p: string) => `{${shownAs[p] ?? p}}`;
    return `unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')} (known: ${allowed.map(shown).join(', ')})`;
  }
  if (/[{}]/.test(template.replace(/\{[^{}]*\}/g, '')))
    return `unbalanced braces in ${JSON.stringify(template)}`;
  if (!template.startsWith('/') && !/^https?:\/\//i.test(template)) {
    return `expected a path starting with / or an http(s) URL, got ${JSON.stringify(template)}`;
  }
  return undefined;
}

/** Why `value` is not a CSS selector cheerio can run, or undefined. */
export function selectorProblem(value: string): string | undefined {
  if (value.trim() === '') return 'is empty';
  try {
    probe()(value);
    return undefined;
  } catch (error) {
    return `is not a valid CSS selector (${(error as Error).message.trim() || 'parse error'})`;
  }
}

let probeDoc: import('cheerio/slim').CheerioAPI | undefined;
const probe = () => (probeDoc ??= cheerio().load('<p></p>'));

function spec(selector: string | undefined, from: ValueSource): FieldSpec {
  return { selector, from, regex: undefined };
}

/** A deep copy that keeps RegExp objects (structuredClone would, but frozen inputs stay frozen). */
function structuredCloneProfile(profile: SiteProfile): SiteProfile {
  const copyField = (specs: FieldSpec[] | undefined) => specs?.map((s) => ({ ...s, from: { ...s.from } }));
  const fields = Object.fromEntries(
    Object.entries(profile.achievements.fields).map(([k, v]) => [k, copyField(v)]),
  ) as AchievementsProfile['fields'];
  return {
    ...profile,
    achievements: {
      ...profile.achievements,
      fields,
      kinds: {
        certificate: [...profile.achievements.kinds.certificate],
        badge: [...profile.achievements.kinds.badge],
      },
      linkChecks: { ...profile.achievements.linkChecks },
    },
    certificate: { ...profile.certificate },
    login: profile.login ? { ...profile.login } : undefined,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof RegExp)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
