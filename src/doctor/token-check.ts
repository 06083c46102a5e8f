import {
  AuthLockTimeoutError,
  createTokenProvider,
  ReauthRequiredError,
  SealedBoxError,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStoreError,
  type TokenStatus,
} from '../auth/index.ts';
import { fail, pass, type CheckOutcome } from './check.ts';
import type { DoctorState } from './state.ts';

const SECRETS_FIX =
  'start with the SECRETS_KEY that sealed the token store (during a rotation, the old one as ' +
  'SECRETS_KEY_PREVIOUS), or run `certharvest auth bootstrap` to start a new store';

/**
 * A token, the way a worker gets one: the token store opens with SECRETS_KEY, and in
 * refresh-token mode the refresh token is rotated now (a stored access token that still works
 * would say nothing about the refresh token, which is what dies while nobody looks).
 */
export async function checkToken(s: DoctorState): Promise<CheckOutcome> {
  const config = s.config!;
  // No web session: a refused refresh token must show here, not be healed through a web login,
  // which would post the service user's password a second time in this run.
  const tokens = await createTokenProvider({ config, redis: s.redis!, logger: s.logger });
  s.tokens = tokens;
  let before: TokenStatus;
  try {
    before = await tokens.status();
  } catch (err) {
    if (err instanceof SealedBoxError || (err instanceof TokenStoreError && !err.retryable)) {
      return fail('the token store does not open with this SECRETS_KEY', SECRETS_FIX);
    }
    throw err;
  }
  const auth = config.lms.auth;
  let after: TokenStatus;
  try {
    if (auth.mode === 'refresh-token') after = await tokens.rotate();
    else {
      await tokens.getAccessToken();
      after = await tokens.status();
    }
  } catch (err) {
    return tokenFailure(err, s);
  }
  s.addSecret(await tokens.getAccessToken());
  s.tokenWorks = true;
  const how =
    auth.mode === 'client-credentials'
      ? 'access token obtained (client credentials)'
      : before.state === 'not-bootstrapped'
        ? 'OAUTH_REFRESH_TOKEN imported into the token store and rotated'
        : `refresh token rotated (refresh #${after.refreshCount ?? '?'})`;
  const until = after.expiresAt ? `; access token valid until ${after.expiresAt.toISOString()}` : '';
  const note = config.lms.site.tokenNote ? `; ${config.lms.site.tokenNote}` : '';
  return pass(`${how}${until}; scopes granted: ${after.scope || '(none named)'}${note}`);
}

function tokenFailure(err: unknown, s: DoctorState): CheckOutcome {
  const tokenUrl = s.config!.lms.auth.tokenUrl;
  if (err instanceof ReauthRequiredError) {
    return err.reason === 'not-bootstrapped'
      ? fail(
          'no refresh token is stored for this LMS and client, and OAUTH_REFRESH_TOKEN is not set (or was imported already)',
          'run `certharvest auth bootstrap` (or set OAUTH_REFRESH_TOKEN to a fresh refresh token)',
        )
      : fail(
          'the LMS refused the refresh token (400 invalid_grant): it was used already, expired unused, or was revoked',
          'import a new one: `certharvest auth bootstrap --refresh-token -` (the token on stdin) or a ' +
            'fresh OAUTH_REFRESH_TOKEN; or sign in again: `certharvest auth bootstrap` (`--via-session` ' +
            'through the web login)',
        );
  }
  if (err instanceof TokenRequestRejectedError) {
    return fail(
      err.message,
      'check OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET (or OAUTH_PRIVATE_KEY_FILE / OAUTH_KEY_ID) and ' +
        "OAUTH_SCOPE against the app's registration",
    );
  }
  if (err instanceof TokenEndpointUnavailableError) {
    return fail(err.message, `check that OAUTH_TOKEN_URL (${tokenUrl}) is right and reachable from here`);
  }
  if (err instanceof AuthLockTimeoutError) {
    return fail(err.message, 'another process is renewing the token right now: run the doctor again');
  }
  if (err instanceof SealedBoxError || (err instanceof TokenStoreError && !err.retryable)) {
    return fail('the token store does not open with this SECRETS_KEY', SECRETS_FIX);
  }
  throw err;
}
