import { DEFAULT_MAX_PAGE_BYTES, fieldSpec as spec, type SiteProfile } from './site-profile-shape.ts';

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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof RegExp)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
