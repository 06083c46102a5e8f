/** The BB_* variables: overrides of a site profile, kept from before profiles existed. */
import { selectorProblem } from './css-selector.ts';
import {
  fieldSpec,
  SiteProfileError,
  type AchievementsProfile,
  type FieldSpec,
  type SiteProfile,
  type ValueSource,
} from './site-profile-shape.ts';
import { templateProblem } from './url-template.ts';

export interface LegacyPageEnv {
  BB_ACHIEVEMENTS_URL?: string | undefined;
  BB_CERTIFICATE_URL?: string | undefined;
  BB_ACHIEVEMENT_SELECTOR?: string | undefined;
  BB_CERTIFICATE_LINK_SELECTOR?: string | undefined;
  BB_TITLE_SELECTOR?: string | undefined;
  BB_ISSUED_SELECTOR?: string | undefined;
}

/** The variables that replace a field's selector, and the source of a field the base lacks. */
const FIELD_OVERRIDES: [keyof LegacyPageEnv, 'link' | 'title' | 'issued', ValueSource][] = [
  ['BB_CERTIFICATE_LINK_SELECTOR', 'link', { kind: 'attribute', name: 'href' }],
  ['BB_TITLE_SELECTOR', 'title', { kind: 'text' }],
  ['BB_ISSUED_SELECTOR', 'issued', { kind: 'attribute', name: 'datetime' }],
];

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
  for (const [variable, key, defaultSource] of FIELD_OVERRIDES) {
    const value = given(variable);
    if (value === undefined) continue;
    const problem = selectorProblem(value);
    if (problem) problems.push(`${variable}: ${JSON.stringify(value)} ${problem}`);
    else replaceSelector(a, key, value, defaultSource);
  }
  if (problems.length > 0) throw new SiteProfileError(problems);
  return profile;
}

/**
 * The field's first selector becomes `value`, and so does the same selector in every other field
 * (it named the same element); a field the profile lacks is added, read from `defaultSource`.
 */
function replaceSelector(
  a: AchievementsProfile,
  key: 'link' | 'title' | 'issued',
  value: string,
  defaultSource: ValueSource,
): void {
  const old = a.fields[key]?.[0]?.selector;
  if (old !== undefined) {
    for (const specs of Object.values(a.fields)) {
      for (const s of specs ?? []) if (s.selector === old) s.selector = value;
    }
  }
  const first = a.fields[key]?.[0];
  if (first) first.selector = value;
  else a.fields[key] = [fieldSpec(value, defaultSource)];
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
