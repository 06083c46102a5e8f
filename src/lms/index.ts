export * from './brightspace/index.ts';
export * from './blackboard/index.ts';
export {
  AmbiguousUserError,
  InvalidReferenceError,
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  LmsVersionUnsupportedError,
  RateLimitedError,
  UserNotFoundError,
  type UserReferenceKind,
} from './errors.ts';
export {
  LmsHttpClient,
  type AccessTokenSource,
  type LmsHttpClientOptions,
  type LmsRequestOptions,
} from './http-client.ts';
export { parseLms } from './parse.ts';
export { RedisRateStateStore, type RateStateStore, type SharedRateState } from './fleet-rate-state.ts';
export {
  parseRetryAfter,
  RateBudget,
  readRateHeaders,
  type RateBudgetOptions,
  type RateHeaders,
} from './rate-budget.ts';
export type {
  AwardEntry,
  AwardKind,
  CertificateFetcher,
  LmsAdapter,
  UserDirectory,
  UserRefKind,
} from './ports.ts';
