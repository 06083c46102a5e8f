import {
  AuthLockTimeoutError,
  ReauthRequiredError,
  SealedBoxError,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStoreError,
  type TokenStatus,
} from '../auth/index.ts';
import { failureOf, pass, rule, type CheckOutcome, type FailureRule } from './check.ts';
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
  const { config, redis } = s.need('config', 'redis');
  const tokens = s.provide('tokens', await s.assembly.tokens(config, redis, s.logger));
  let before: TokenStatus;
  try {
    before = await tokens.status();
  } catch (err) {
    return failureOf(err, [STORE_SHUT]);
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
    return failureOf(err, tokenFailures(auth.tokenUrl));
  }
  s.addSecret(await tokens.getAccessToken());
  s.tokenWorks = true;
  s.provide('lms', s.assembly.adapterContext(config, redis, s.logger, tokens));
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

/** A token store that does not open: SECRETS_KEY is not the one that sealed it. */
const STORE_SHUT: FailureRule = rule(Error, SECRETS_FIX, {
  when: (err) => err instanceof SealedBoxError || (err instanceof TokenStoreError && !err.retryable),
  found: () => 'the token store does not open with this SECRETS_KEY',
});

const REAUTH_FIX =
  'import a new one: `certharvest auth bootstrap --refresh-token -` (the token on stdin) or a ' +
  'fresh OAUTH_REFRESH_TOKEN; or sign in again: `certharvest auth bootstrap` (`--via-session` ' +
  'through the web login)';

function tokenFailures(tokenUrl: string): readonly FailureRule[] {
  return [
    rule(
      ReauthRequiredError,
      (err) =>
        err.reason === 'not-bootstrapped'
          ? 'run `certharvest auth bootstrap` (or set OAUTH_REFRESH_TOKEN to a fresh refresh token)'
          : REAUTH_FIX,
      {
        found: (err) =>
          err.reason === 'not-bootstrapped'
            ? 'no refresh token is stored for this LMS and client, and OAUTH_REFRESH_TOKEN is not set (or was imported already)'
            : 'the LMS refused the refresh token (400 invalid_grant): it was used already, expired unused, or was revoked',
      },
    ),
    rule(
      TokenRequestRejectedError,
      'check OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET (or OAUTH_PRIVATE_KEY_FILE / OAUTH_KEY_ID) and ' +
        "OAUTH_SCOPE against the app's registration",
    ),
    rule(
      TokenEndpointUnavailableError,
      `check that OAUTH_TOKEN_URL (${tokenUrl}) is right and reachable from here`,
    ),
    rule(AuthLockTimeoutError, 'another process is renewing the token right now: run the doctor again'),
    STORE_SHUT,
  ];
}
