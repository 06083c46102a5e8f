import * as oauth from 'oauth4webapi';
import { ConfigError } from '../errors/index.ts';
import { AuthorizationFailedError } from './errors.ts';
import { assertSecureUrl } from './loopback.ts';
import type { TokenEndpoint } from './token-endpoint.ts';

/**
 * An authorization-code request with PKCE (S256) and a random `state`: the first sign-in of
 * `certharvest auth bootstrap` (a local callback on loopback, or any registered HTTPS URI whose
 * redirect the admin pastes back), and the healing through the web session.
 */
export interface AuthorizationRequest {
  /** Open this in the admin's browser. */
  url: string;
  state: string;
  /** Keep it in memory only: it proves at the token step that we started this request. */
  codeVerifier: string;
  redirectUri: string;
}

export interface BeginAuthorizationOptions {
  /** `OAUTH_AUTHORIZE_URL`, e.g. https://auth.brightspace.com/oauth2/auth */
  authorizeUrl: string;
  clientId: string;
  /**
   * The redirect URI registered with the app: https:// anywhere (Brightspace accepts only those),
   * http:// on loopback (the CLI's local callback, the sandbox).
   */
  redirectUri: string;
  scope: string;
  /** Extra query parameters (e.g. `prompt`). */
  extraParams?: Record<string, string>;
}

export async function beginAuthorization(options: BeginAuthorizationOptions): Promise<AuthorizationRequest> {
  const url = assertSecureUrl(options.authorizeUrl, 'OAUTH_AUTHORIZE_URL');
  const redirect = assertSecureUrl(options.redirectUri, 'OAUTH_REDIRECT_URI (--redirect-uri)');
  if (redirect.hash) {
    throw new ConfigError([
      `OAUTH_REDIRECT_URI (--redirect-uri): must not have a #fragment (got "${options.redirectUri}")`,
    ]);
  }
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const params = url.searchParams;
  for (const [k, v] of Object.entries(options.extraParams ?? {})) params.set(k, v);
  params.set('response_type', 'code');
  params.set('client_id', options.clientId);
  params.set('redirect_uri', redirect.href);
  if (options.scope) params.set('scope', options.scope);
  params.set('state', state);
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  params.set('code_challenge_method', 'S256');
  return { url: url.href, state, codeVerifier, redirectUri: redirect.href };
}

/**
 * Check the redirect that reached the callback (state, `error=`) and return its parameters for
 * the code exchange.
 */
export function validateCallback(
  endpoint: TokenEndpoint,
  request: AuthorizationRequest,
  callback: URL | URLSearchParams | string,
): URLSearchParams {
  const params =
    callback instanceof URLSearchParams ? callback : new URL(callback, request.redirectUri).searchParams;
  try {
    return oauth.validateAuthResponse(endpoint.as, endpoint.client, params, request.state);
  } catch (cause) {
    if (cause instanceof oauth.AuthorizationResponseError) {
      const description = cause.error_description ? ` (${cause.error_description})` : '';
      throw new AuthorizationFailedError(`the LMS refused the sign-in: ${cause.error}${description}`, {
        cause,
      });
    }
    throw new AuthorizationFailedError(
      `the sign-in redirect is not valid (${(cause as Error).message}); start \`certharvest auth bootstrap\` again`,
      { cause },
    );
  }
}
