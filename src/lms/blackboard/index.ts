export {
  createBlackboardAdapter,
  type BlackboardAdapterOptions,
  type BlackboardPagesOptions,
} from './adapter.ts';
export {
  achievementsPageUrl,
  certificateDownloadUrl,
  checkSelectors,
  DEFAULT_ACHIEVEMENT_SELECTORS,
  DEFAULT_ACHIEVEMENTS_URL,
  DEFAULT_CERTIFICATE_URL,
  DEFAULT_MAX_PAGE_BYTES,
  fillTemplate,
  parseAchievementsPage,
  type AchievementSelectors,
  type AchievementsPage,
  type AchievementsPageContext,
} from './achievements-page.ts';
export {
  describeRestException,
  LEARN_API,
  LEARN_MEMBERSHIPS_PAGE_LIMIT,
  LEARN_USERS_PAGE_LIMIT,
  LearnClient,
  learnUserKey,
  type LearnClientOptions,
} from './client.ts';
export { fromLearnId, toLearnId } from './ids.ts';
export {
  LEARN_DAILY_QUOTA,
  LearnCallCounter,
  learnCallsKey,
  learnCallsToday,
  LearnQuotaGate,
} from './quota.ts';
export {
  getSessionPage,
  LEARN_LANDING_PATH,
  LEARN_LOGIN_URL_PATTERNS,
  type SessionPage,
  type SessionPageOptions,
} from './session-page.ts';
export type {
  LearnCourse,
  LearnItem,
  LearnMembership,
  LearnQuota,
  LearnUser,
  LearnUserReference,
} from './types.ts';
