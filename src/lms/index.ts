export * from './errors.ts';
export {
  LmsHttpClient,
  type AccessTokenSource,
  type LmsHttpClientOptions,
  type LmsRequestObserver,
  type LmsRequestOptions,
  type LmsRequestOutcome,
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
  ListAwardsOptions,
  LmsAdapter,
  UserDirectory,
  UserRefKind,
} from './ports.ts';
export { LmsRegistry, lmsRegistry } from './registry.ts';
export {
  defineLmsModule,
  type AdapterContext,
  type ConfiguredLms,
  type UserRefRule,
  type FilterRequest,
  type InspectReport,
  type InspectTarget,
  type LmsAdapterHandle,
  type LmsModule,
  type SharedLmsSettings,
  type TokenQuirks,
} from './module.ts';
