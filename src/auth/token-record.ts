import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { TokenResponse } from './token-endpoint.ts';

/** How the worker gets its access token: a rotated refresh token, or client credentials. */
export type AuthMode = 'refresh-token' | 'client-credentials';

/**
 * What the token store keeps for one LMS host + client id (sealed as a whole; see token-store.ts).
 * Times are milliseconds since the epoch.
 */
export const storedTokenSchema = z.object({
  v: z.literal(1),
  mode: z.enum(['refresh-token', 'client-credentials']),
  /** Absent once the refresh token was refused and nothing usable is left. */
  accessToken: z.string().min(1).optional(),
  refreshToken: z.string().min(1).optional(),
  expiresAt: z.number(),
  scope: z.string(),
  /** When the request that produced this access token was sent (conservative for expiry). */
  obtainedAt: z.number(),
  /** How many token responses this record has seen since it was first stored. */
  refreshCount: z.number().int().nonnegative(),
  /** sha256 of the last `OAUTH_REFRESH_TOKEN` imported, so the same env value is never replayed. */
  importedFingerprint: z.string().optional(),
  /** Set when the refresh token was refused: the store knows it is dead and says so without a network call. */
  reauthRequired: z.object({ at: z.number(), reason: z.string() }).optional(),
});

export type StoredToken = z.infer<typeof storedTokenSchema>;

/** A record holding an access token that may be handed out. */
export type LiveToken = StoredToken & { accessToken: string };

export function isLive(record: StoredToken | undefined, mode: AuthMode): record is LiveToken {
  return record !== undefined && record.mode === mode && record.accessToken !== undefined;
}

export interface RefreshAhead {
  /** Renew when less than this many ms remain. */
  ms: number;
  /** ...or when less than this fraction of the token's lifetime remains. */
  ratio: number;
}

/**
 * Whether a token should be renewed now. The margin is the larger of `ahead.ms` and
 * `ahead.ratio` of the lifetime, but never more than half the lifetime: with very short-lived
 * tokens (a 2-s sandbox token) a 60-s margin would renew on every call.
 */
export function needsRenewal(record: LiveToken, now: number, ahead: RefreshAhead): boolean {
  const lifetime = Math.max(0, record.expiresAt - record.obtainedAt);
  const margin = Math.min(Math.max(ahead.ms, ahead.ratio * lifetime), lifetime / 2);
  return now >= record.expiresAt - margin;
}

/** A one-way fingerprint of a token, to recognise a value without keeping it. */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What a new record is made from, besides the token response. */
export interface RecordContext {
  /** When the request was sent (the token's life counts from there). */
  requestedAt: number;
  /** The refresh token sent, kept when the response does not rotate it. */
  sentRefreshToken?: string;
  importedFingerprint?: string | undefined;
}

/** The record of a fresh token response (`previous`: the record it replaces, for the counts). */
export function renewedRecord(
  mode: AuthMode,
  response: TokenResponse,
  previous: StoredToken | undefined,
  context: RecordContext & { defaultLifetimeMs: number; scope: string | undefined },
): LiveToken {
  const lifetimeMs =
    response.expiresInSec !== undefined ? response.expiresInSec * 1000 : context.defaultLifetimeMs;
  // A server that does not rotate leaves the token we sent valid: keep it.
  const refreshToken = response.refreshToken ?? context.sentRefreshToken;
  return {
    v: 1,
    mode,
    accessToken: response.accessToken,
    ...(refreshToken !== undefined ? { refreshToken } : {}),
    expiresAt: context.requestedAt + lifetimeMs,
    scope: response.scope ?? context.scope ?? '',
    obtainedAt: context.requestedAt,
    refreshCount: previous?.mode === mode ? previous.refreshCount + 1 : 1,
    ...(context.importedFingerprint !== undefined
      ? { importedFingerprint: context.importedFingerprint }
      : {}),
  };
}

/** The record that remembers a refused refresh token: nothing usable is left, and it says why. */
export function refusedRecord(
  mode: AuthMode,
  latest: StoredToken | undefined,
  context: {
    requestedAt: number;
    importedFingerprint: string | undefined;
    scope: string | undefined;
    now: number;
  },
): StoredToken {
  const { importedFingerprint } = context;
  return {
    v: 1,
    mode,
    expiresAt: 0,
    scope: latest?.scope ?? context.scope ?? '',
    obtainedAt: latest?.obtainedAt ?? context.requestedAt,
    refreshCount: latest?.refreshCount ?? 0,
    ...(importedFingerprint !== undefined ? { importedFingerprint } : {}),
    reauthRequired: { at: context.now, reason: 'invalid_grant' },
  };
}
