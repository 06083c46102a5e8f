/**
 * The site profile: everything certharvest reads from a Learn site's web pages, declared in one
 * file (`LMS_SITE_PROFILE=profile.yaml`, YAML or JSON) instead of code. It says where a user's
 * achievements in a course are listed, how one item and each of its fields are found, where the
 * certificate's link is, and, optionally, the site's web login facts.
 *
 * This file is the profile's public face; each concern has its own module:
 *
 *   site-profile-shape.ts     the types (SiteProfile, FieldSpec…) and SiteProfileError
 *   site-profile-default.ts   DEFAULT_SITE_PROFILE, the markup of docs/blackboard.md
 *   site-profile-schema.ts    the file's schema and its messages
 *   site-profile-load.ts      reading a file: YAML with line numbers, checked by the schema
 *   site-profile-legacy.ts    the BB_* variables laid over a profile
 *   site-profile-filters.ts   which batch filters the pages can serve
 *   url-template.ts           the URL templates and their placeholders
 *   css-selector.ts           "is this a selector cheerio can run?"
 */
export {
  DEFAULT_MAX_PAGE_BYTES,
  SiteProfileError,
  type AchievementsProfile,
  type FieldName,
  type FieldSpec,
  type LinkPart,
  type SiteLoginProfile,
  type SiteProfile,
  type ValueSource,
} from './site-profile-shape.ts';
export { DEFAULT_SITE_PROFILE } from './site-profile-default.ts';
export { loadSiteProfile, parseSiteProfile } from './site-profile-load.ts';
export { siteProfileFromLegacy, type LegacyPageEnv } from './site-profile-legacy.ts';
export { FilterUnsupportedError, unsupportedFilters, type HarvestFilters } from './site-profile-filters.ts';
export {
  CERTIFICATE_PLACEHOLDERS,
  fillTemplate,
  idNumber,
  LISTING_PLACEHOLDERS,
  TemplateError,
  type TemplateIds,
} from './url-template.ts';
export { selectorProblem } from './css-selector.ts';
