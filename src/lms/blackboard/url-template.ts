/**
 * The site profile's URL templates. Placeholders mean the same in every template:
 *
 *   {userRef} {courseRef} {issuedRef} {awardRef}   the LMS's own ids as given (`_123_1`, a UUID…)
 *   {userId}  {courseId}  {issuedId}  {awardId}    their numbers: N of `_N_1` (an id without one
 *                                                   cannot fill such a template: that item fails)
 *
 * The listing URL knows the user and the course; the certificate URL (the fallback when the page
 * shows no link) knows all four. Values are URL-encoded.
 */

export const LISTING_PLACEHOLDERS = ['userRef', 'courseRef', 'userId', 'courseId'] as const;
export const CERTIFICATE_PLACEHOLDERS = [
  ...LISTING_PLACEHOLDERS,
  'issuedRef',
  'awardRef',
  'issuedId',
  'awardId',
] as const;

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
  const filled = template.replace(/\{([^{}]*)\}/g, (_whole, placeholder: string) =>
    placeholderValue(placeholder, refs, what),
  );
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

/** What one placeholder becomes: a ref URL-encoded, or the number of the ref a `{…Id}` names. */
function placeholderValue(
  placeholder: string,
  refs: Record<string, string | undefined>,
  what: string,
): string {
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
}

/**
 * Why `template` is not a usable URL template (an unknown placeholder, unbalanced braces, neither
 * a path nor an http(s) URL), or undefined. `shownAs` names placeholders the way the setting did.
 */
export function templateProblem(
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
