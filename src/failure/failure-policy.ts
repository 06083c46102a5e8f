/**
 * The failure policy: what an error means for the job that hit it, decided by the error's type in
 * one table. Four answers:
 *
 *   - `give-up`  the item can never succeed: fail the job now, with the reason;
 *   - `retry`    try again with BullMQ's exponential backoff, spending an attempt;
 *   - `wait`     try again after `delayMs` without spending an attempt (429/503 with Retry-After,
 *                the LMS briefly unreachable);
 *   - `pause`    a condition that hits every job (a refused token or login, no browser, no disk):
 *                the fleet pauses with a reason and a fix; the job goes back to waiting.
 *
 * The table is pure and unit-tested; `src/failure/handle-job-error.ts` carries the decision out.
 */
import { UnrecoverableError } from 'bullmq';
import {
  ReauthRequiredError,
  SealedBoxError,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStoreError,
} from '../auth/index.ts';
import { BrowserLaunchError, CertificateHttpError, LoginFailedError } from '../browser/index.ts';
import { CertharvestError } from '../errors/index.ts';
import type { PauseReason } from '../fleet/index.ts';
import { LmsRequestError, LmsUnavailableError, RateLimitedError } from '../lms/index.ts';
import { OutputSymlinkError, OutputUnavailableError } from '../storage/index.ts';
import { ApiRouteMissingError } from './api-support.ts';

export type Decision =
  | { action: 'give-up'; code: string; message: string }
  | { action: 'retry'; code: string; message: string }
  | {
      action: 'wait';
      code: string;
      message: string;
      delayMs: number;
      /** The LMS did not answer at all: counts toward the fleet's outage clock. */
      unreachable: boolean;
    }
  | { action: 'pause'; code: string; message: string; reason: PauseReason; fix: string };

/** How long to wait when the LMS cannot be reached (no Retry-After to go by). */
export const UNREACHABLE_RETRY_MS = 10_000;
/** A Retry-After of 0 or none on a 429/503: still wait a little. */
const MIN_WAIT_MS = 1_000;

type Rule<E> = [new (...args: never[]) => E, (error: E, base: { code: string; message: string }) => Decision];
const rule = <E>(type: Rule<E>[0], decide: Rule<E>[1]): Rule<unknown> => [type, decide as Rule<unknown>[1]];

const pause = (reason: PauseReason, fix: string) => (_e: unknown, base: { code: string; message: string }) =>
  ({ action: 'pause', ...base, reason, fix }) as const;

/** First match wins: the specific types before the general ones. */
const RULES: readonly Rule<unknown>[] = [
  rule(
    ReauthRequiredError,
    pause(
      'AUTH_REFRESH_REFUSED',
      'import a new refresh token: `certharvest auth bootstrap --refresh-token -` (or sign in again with `certharvest auth bootstrap`, or `certharvest auth bootstrap --via-session`); the fleet resumes by itself',
    ),
  ),
  rule(
    TokenRequestRejectedError,
    pause(
      'AUTH_CLIENT_REJECTED',
      'check OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET (or OAUTH_PRIVATE_KEY_FILE/OAUTH_KEY_ID) and OAUTH_SCOPE against the app registration, restart the workers, then `certharvest resume`',
    ),
  ),
  rule(SealedBoxError, pause('SECRETS_KEY_MISMATCH', secretsFix())),
  rule(TokenStoreError, (e, base) =>
    e.retryable ? { action: 'retry', ...base } : pause('SECRETS_KEY_MISMATCH', secretsFix())(e, base),
  ),
  rule(LoginFailedError, (e, base) =>
    pause(
      'LOGIN_REFUSED',
      e.code === 'LOGIN_TWO_FACTOR_REQUIRED' || e.code === 'LOGIN_TWO_FACTOR_REFUSED'
        ? "set LMS_TOTP_SECRET to the base32 secret of the service user's authenticator (or turn two-factor off for it) and restart the workers: the first one logs in once and resumes the fleet"
        : 'fix LMS_USERNAME / LMS_PASSWORD (or unlock the service user; see LMS_LOGIN_URL and LMS_LOGIN_LANDING for other login pages) and restart the workers: the first one logs in once and resumes the fleet (or run `certharvest resume`); or give the fleet a session a person logged in: `certharvest auth session import FILE`',
    )(e, base),
  ),
  rule(
    BrowserLaunchError,
    pause(
      'BROWSER_UNAVAILABLE',
      'install Chromium (`apt-get install chromium`) or set CHROMIUM_PATH to a working executable, then restart the workers (the fleet resumes once a browser starts)',
    ),
  ),
  // A link planted under OUTPUT_DIR is where this certificate goes, not the disk: that one alone.
  rule(OutputSymlinkError, (_e, base) => ({ action: 'give-up', ...base })),
  rule(OutputUnavailableError, (e, base) =>
    pause(
      'OUTPUT_UNAVAILABLE',
      e.code === 'OUTPUT_FULL'
        ? 'free space on the OUTPUT_DIR filesystem; the fleet resumes by itself once a test write succeeds'
        : 'make OUTPUT_DIR writable by the worker user; the fleet resumes by itself once a test write succeeds',
    )(e, base),
  ),
  rule(
    ApiRouteMissingError,
    pause(
      'API_ROUTE_MISSING',
      'set DOWNLOAD_STRATEGY=auto (or browser) with LMS_USERNAME/LMS_PASSWORD, restart the workers, then `certharvest resume`',
    ),
  ),
  rule(LmsRequestError, (e, base) =>
    e.code === 'LMS_UNAUTHORIZED'
      ? pause(
          'API_ACCESS_REFUSED',
          "check the app's scopes (OAUTH_SCOPE and the registration) and the service user's role in the LMS, then `certharvest resume`",
        )(e, base)
      : { action: 'give-up', ...base },
  ),
  rule(RateLimitedError, (e, base) => wait(base, e.retryAfterMs, false)),
  rule(CertificateHttpError, (e, base) => {
    if ((e.status === 429 || e.status === 503) && e.retryAfterSeconds !== undefined) {
      return wait(base, e.retryAfterSeconds * 1000, false);
    }
    return e.retryable ? { action: 'retry', ...base } : { action: 'give-up', ...base };
  }),
  rule(LmsUnavailableError, (e, base) =>
    e.status === undefined ? wait(base, UNREACHABLE_RETRY_MS, true) : { action: 'retry', ...base },
  ),
  rule(TokenEndpointUnavailableError, (e, base) =>
    e.status === undefined ? wait(base, UNREACHABLE_RETRY_MS, true) : { action: 'retry', ...base },
  ),
  rule(UnrecoverableError, (_e, base) => ({ action: 'give-up', ...base })),
  rule(CertharvestError, (e, base) =>
    (e as { retryable?: unknown }).retryable === false
      ? { action: 'give-up', ...base }
      : { action: 'retry', ...base },
  ),
];

/** What to do about `error`. Anything unknown (a network hiccup, a bug) is retried: attempts bound it. */
export function decide(error: unknown): Decision {
  const base = {
    code: error instanceof CertharvestError ? error.code : 'UNEXPECTED',
    message: error instanceof Error ? error.message : String(error),
  };
  for (const [type, decideFor] of RULES) if (error instanceof type) return decideFor(error, base);
  return { action: 'retry', ...base };
}

function wait(base: { code: string; message: string }, delayMs: number, unreachable: boolean): Decision {
  return { action: 'wait', ...base, delayMs: Math.max(MIN_WAIT_MS, delayMs), unreachable };
}

function secretsFix(): string {
  return 'start the workers with the SECRETS_KEY that sealed the token store (or run `certharvest auth bootstrap` to start a new one); the fleet resumes once the store opens';
}
