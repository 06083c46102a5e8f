import type { Secret } from '../config/secret.ts';
import type { Logger } from '../log/index.ts';
import type { RedisLock } from './redis-lock.ts';
import type { TokenEndpoint, TokenResponse } from './token-endpoint.ts';
import type { AuthMode } from './token-record.ts';
import type { TokenStore } from './token-store.ts';

/** What a TokenProvider is built from; every default is named. */
export interface TokenProviderOptions {
  mode: AuthMode;
  store: TokenStore;
  /** Guards `store` across processes; build it on `store.lockKey`. */
  lock: RedisLock;
  endpoint: TokenEndpoint;
  logger: Logger;
  /**
   * `OAUTH_REFRESH_TOKEN`: imported into the store only when the store has no usable refresh token
   * and this value was never imported before. After that the store's rotated token is the truth.
   */
  initialRefreshToken?: Secret;
  /** Renew when less than this many ms of the token's life remain. Default 60 000. */
  refreshAheadMs?: number;
  /** ...or when less than this fraction of its lifetime remains. Default 0.1. */
  refreshAheadRatio?: number;
  /** Lifetime assumed when the token response has no `expires_in`. Default 3600 s. */
  defaultLifetimeSec?: number;
  /** How long to wait for another process's refresh before giving up. Default 30 000 ms. */
  lockWaitMs?: number;
  /** How often a waiter re-reads the store while another process refreshes. Default 50 ms. */
  lockPollMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Get a new pair without a person when the LMS refuses the refresh token: the
   * authorization-code flow through the service user's web session (`createSessionHealer`).
   * Only when it fails too is the refusal reported.
   */
  heal?: () => Promise<TokenResponse>;
}

/** The options' defaults applied, and checked. */
export function providerSettings(options: TokenProviderOptions) {
  const ahead = { ms: options.refreshAheadMs ?? 60_000, ratio: options.refreshAheadRatio ?? 0.1 };
  if (ahead.ratio < 0 || ahead.ratio >= 1) {
    throw new TypeError(`TokenProvider: refreshAheadRatio must be in [0, 1), got ${ahead.ratio}`);
  }
  return {
    ahead,
    defaultLifetimeMs: (options.defaultLifetimeSec ?? 3600) * 1000,
    lockWaitMs: options.lockWaitMs ?? 30_000,
    lockPollMs: options.lockPollMs ?? 50,
    now: options.now ?? Date.now,
  };
}
