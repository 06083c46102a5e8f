/**
 * Why the fleet is paused. Each reason is a condition that would fail every job the same way, so
 * the fleet stops taking jobs instead of burning them; docs/troubleshooting.md lists each fix.
 */
export const PAUSE_REASONS = [
  /** The LMS refused the refresh token (`invalid_grant`): a new one must be imported. */
  'AUTH_REFRESH_REFUSED',
  /** The token endpoint refused the client itself (`invalid_client`, `invalid_scope`). */
  'AUTH_CLIENT_REJECTED',
  /** The token store does not open with this SECRETS_KEY. */
  'SECRETS_KEY_MISMATCH',
  /** The LMS refused the service user's web login. */
  'LOGIN_REFUSED',
  /** Chromium cannot start. */
  'BROWSER_UNAVAILABLE',
  /** OUTPUT_DIR is not writable or full. */
  'OUTPUT_UNAVAILABLE',
  /** The LMS has not answered for longer than LMS_OUTAGE_PAUSE_MINUTES. */
  'LMS_UNREACHABLE',
  /** The LMS answers 401 even to fresh access tokens: scopes or the service user's role. */
  'API_ACCESS_REFUSED',
  /** DOWNLOAD_STRATEGY=api on a tenant without the bearer `/pdf` route. */
  'API_ROUTE_MISSING',
] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

/** The one record in Redis that says the fleet is paused, why, and how to fix it. */
export interface PauseRecord {
  reason: PauseReason;
  /** What was seen, e.g. the LMS's answer. Never a secret. */
  message: string;
  /** The exact fix, e.g. the command to run. */
  fix: string;
  /** ISO 8601. */
  since: string;
  /** `host:pid` of the process that paused the fleet. */
  by: string;
}
