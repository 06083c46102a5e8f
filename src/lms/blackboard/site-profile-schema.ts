/**
 * The profile file's schema (zod): what may be written in `LMS_SITE_PROFILE`, and the message for
 * each thing that may be wrong in it. site-profile-load.ts turns its output into a SiteProfile.
 *
 * Built at its first parse (`z.lazy`), not when the module loads: its ~200 zod schemas cost every
 * command a few milliseconds of CPU, and only a Blackboard site's configuration reads a profile.
 */
import { z } from 'zod';
import { selectorProblem } from './css-selector.ts';
import type { FieldSpec, LinkPart, ValueSource } from './site-profile-shape.ts';
import { CERTIFICATE_PLACEHOLDERS, LISTING_PLACEHOLDERS, templateProblem } from './url-template.ts';

const SOURCE_EXPECTED = 'expected "text", {attribute}, {query} or {segment}';
const LINK_PART_EXPECTED = 'expected {query} or {segment}';

/** The values a profile is made of: names, selectors, patterns, where a value is read. */
function valueSchemas() {
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

  return { name, selector, regex, segmentIndex };
}

type ValueSchemas = ReturnType<typeof valueSchemas>;

/** Where a field's value is read from, and which part of a link is checked. */
function sourceSchemas({ name, segmentIndex }: ValueSchemas) {
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
  return { source, linkPart };
}

/** A field is one spec or a list of alternatives (problems are reported inside either). */
function fieldSchema(v: ValueSchemas, source: ReturnType<typeof sourceSchemas>['source']) {
  return (defaultSource: ValueSource = { kind: 'text' }) => {
    /** One field: `{selector?, from, regex?}`; `from` defaults to `text` (to `{attribute: href}` for `link`). */
    const one = z
      .strictObject({ selector: v.selector.optional(), from: source.optional(), regex: v.regex.optional() })
      .transform((f): FieldSpec => ({ selector: f.selector, from: f.from ?? defaultSource, regex: f.regex }));
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
}

const template = (allowed: readonly string[]) =>
  z
    .string({ error: 'expected a URL template' })
    .trim()
    .min(1, { error: 'expected a URL template' })
    .superRefine((value, ctx) => {
      const problem = templateProblem(value, allowed);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

function buildProfileFileSchema() {
  const v = valueSchemas();
  const { source, linkPart } = sourceSchemas(v);
  const field = fieldSchema(v, source);
  const words = z.array(v.name).min(1);

  const achievementsSchema = z.strictObject({
    url: template(LISTING_PLACEHOLDERS),
    item: v.selector,
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
  });

  const path = z.string().trim().startsWith('/', { error: 'expected a path starting with /' });

  const loginSchema = z.strictObject({
    loginPath: path.optional(),
    landingPath: path.optional(),
    usernameSelector: v.selector.optional(),
    passwordSelector: v.selector.optional(),
    submitSelector: v.selector.optional(),
    loggedOutUrlPatterns: z.array(v.regex).min(1).optional(),
  });

  return z.strictObject({
    achievements: achievementsSchema,
    certificate: z.strictObject({ url: template(CERTIFICATE_PLACEHOLDERS).optional() }).optional(),
    login: loginSchema.optional(),
    maxPageBytes: z
      .number({ error: 'expected a number of bytes' })
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .optional(),
  });
}

export const profileFileSchema = z.lazy(buildProfileFileSchema);

/** A profile file as checked: every value parsed, optional sections still optional. */
export type ProfileFile = z.output<typeof profileFileSchema>;
