/**
 * Blackboard Learn's internals, for its own tests and tools. The product reaches Learn only
 * through its module (`module.ts`, via src/lms/registry.ts).
 */
export { blackboardModule } from './module.ts';
export {
  createBlackboardAdapter,
  type BlackboardAdapterOptions,
  type BlackboardPagesOptions,
} from './adapter.ts';
export {
  achievementsPageUrl,
  parseAchievementsPage,
  readAchievementsPage,
  type AchievementsPage,
  type FieldReading,
  type ItemReading,
  type ListedAward,
  type PageContext,
} from './achievements-page.ts';
export * from './site-profile.ts';
export * from './inspect.ts';
export {
  describeRestException,
  LEARN_API,
  LEARN_MEMBERSHIPS_PAGE_LIMIT,
  LEARN_USERS_PAGE_LIMIT,
  LearnClient,
  learnUserKey,
  type LearnClientOptions,
} from './client.ts';
export { fromLearnId, toLearnId, parseLearnId } from './ids.ts';
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
export { LEARN_WEB_PROFILE } from './web-profile.ts';
export type * from './types.ts';
