import type { AuthMode, StoredToken } from './token-record.ts';

/** What `certharvest auth status` shows. Never a secret. */
export interface TokenStatus {
  mode: AuthMode;
  state: 'valid' | 'expired' | 'reauth-required' | 'not-bootstrapped';
  /** The Redis key the record lives under. */
  storeKey: string;
  expiresAt?: Date;
  /** When the current access token was obtained (i.e. last refreshed). */
  obtainedAt?: Date;
  refreshCount?: number;
  hasRefreshToken: boolean;
  scope?: string;
  reauthReason?: string;
}

/** The status of the stored `record` for this `mode` at `now` (never a secret). */
export function tokenStatus(
  record: StoredToken | undefined,
  mode: AuthMode,
  storeKey: string,
  now: number,
): TokenStatus {
  const base = { mode, storeKey };
  if (!record || record.mode !== mode) {
    return { ...base, state: 'not-bootstrapped', hasRefreshToken: false };
  }
  const dead = record.reauthRequired !== undefined;
  const state = dead ? 'reauth-required' : record.expiresAt > now ? 'valid' : 'expired';
  return {
    ...base,
    state,
    ...(record.accessToken ? { expiresAt: new Date(record.expiresAt) } : {}),
    obtainedAt: new Date(record.obtainedAt),
    refreshCount: record.refreshCount,
    hasRefreshToken: record.refreshToken !== undefined,
    scope: record.scope,
    ...(record.reauthRequired ? { reauthReason: record.reauthRequired.reason } : {}),
  };
}
