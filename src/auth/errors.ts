import {
  CertharvestError,
  PermanentError,
  ServiceUnavailableError,
  TransientError,
} from '../errors/index.ts';

/**
 * Errors of the OAuth2 token lifecycle. Each carries a stable `code` and says whether trying the
 * same work again later can succeed (`retryable`), so a job processor decides retry vs. give up in
 * one place without matching message text.
 */

const BOOTSTRAP_HINT =
  'Run `certharvest auth bootstrap` to sign in again as the service user, or import a new refresh ' +
  'token with `certharvest auth bootstrap --refresh-token -` (the token on stdin).';

export type ReauthReason = 'invalid_grant' | 'not-bootstrapped';

/**
 * The stored refresh token is gone or refused (`400 invalid_grant`: used, expired or revoked).
 * Nothing automatic can fix it: an admin must bootstrap a new token.
 */
export class ReauthRequiredError extends PermanentError {
  readonly reason: ReauthReason;

  constructor(reason: ReauthReason, detail: string, options?: { cause?: unknown }) {
    super('AUTH_REAUTH_REQUIRED', `${detail} ${BOOTSTRAP_HINT}`, options);
    this.reason = reason;
  }
}

/** Why renewal cannot work for this stored record: refused before, or never bootstrapped. */
export function reauthErrorFor(
  mode: string,
  record: { mode: string; reauthRequired?: { reason: string } | undefined } | undefined,
): ReauthRequiredError {
  if (record?.mode === mode && record.reauthRequired) {
    return new ReauthRequiredError(
      'invalid_grant',
      `The stored refresh token was refused by the LMS (${record.reauthRequired.reason}) and no new one was given.`,
    );
  }
  return new ReauthRequiredError(
    'not-bootstrapped',
    'No refresh token is stored for this LMS and client, and OAUTH_REFRESH_TOKEN is not set (or was already used).',
  );
}

/** The refusal, saying why the web session could not heal it either. */
export function unhealedError(error: ReauthRequiredError, failure: string): ReauthRequiredError {
  return new ReauthRequiredError(
    error.reason,
    `The LMS refused the refresh token, and a new pair could not be had through the web session (${failure}).`,
    { cause: error },
  );
}

/** The token endpoint could not be reached, timed out, throttled us or failed (5xx): try later. */
export class TokenEndpointUnavailableError extends ServiceUnavailableError {
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('AUTH_TOKEN_ENDPOINT_UNAVAILABLE', message, status, options);
  }
}

/**
 * The token endpoint refused the request for a reason other than a dead refresh token, e.g.
 * `invalid_client` (wrong client id/secret/key) or `invalid_scope`: a configuration problem.
 */
export class TokenRequestRejectedError extends PermanentError {
  readonly status: number;
  readonly oauthError: string | undefined;

  constructor(
    status: number,
    oauthError: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('AUTH_TOKEN_REJECTED', message, options);
    this.status = status;
    this.oauthError = oauthError;
  }
}

/** Another process held the refresh lock for longer than we were willing to wait. */
export class AuthLockTimeoutError extends TransientError {
  constructor(message: string) {
    super('AUTH_LOCK_TIMEOUT', message);
  }
}

/**
 * The token store could not be read or written: Redis failed (retryable), or the stored value
 * does not decrypt with this `SECRETS_KEY` (not retryable: the key changed or the value was tampered with).
 */
export class TokenStoreError extends CertharvestError {
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(retryable ? 'AUTH_STORE_UNAVAILABLE' : 'AUTH_STORE_UNREADABLE', message, options);
    this.retryable = retryable;
  }
}

/** A sealed value failed to open: wrong key, wrong context, or modified bytes. */
export class SealedBoxError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SEALED_BOX_INVALID', message, options);
  }
}

/** The authorization redirect carried an error or a wrong `state` (bootstrap flow). */
export class AuthorizationFailedError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTH_AUTHORIZATION_FAILED', message, options);
  }
}

/** Why the web session could not get past the LMS's consent step. */
export type ConsentFailure = 'denied' | 'unknown-page' | 'asked-again';

/**
 * The authorization through the web session could not pass the consent step: the LMS turned the
 * app down after the service user allowed it (`denied`), showed a page that is neither its login
 * nor its consent form (`unknown-page`), or asked for consent again after it was given once
 * (`asked-again`). Nothing automatic fixes it: a person must allow the app, or an admin must
 * register it as trusted. `page` is the page's origin and path, never its query (state, PKCE).
 */
export class ConsentRequiredError extends PermanentError {
  readonly reason: ConsentFailure;
  readonly page: string;

  constructor(reason: ConsentFailure, page: string, detail: string, options?: { cause?: unknown }) {
    super(
      'AUTH_CONSENT_REQUIRED',
      `${detail}: an admin must allow the app once at ${page}, signed in as the service user, ` +
        'or register it as trusted / pre-consented, then run `certharvest auth bootstrap --via-session` again',
      options,
    );
    this.reason = reason;
    this.page = page;
  }
}
