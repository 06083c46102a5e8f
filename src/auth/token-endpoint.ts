import * as oauth from 'oauth4webapi';
import type { Secret } from '../config/secret.ts';
import { ReauthRequiredError, TokenEndpointUnavailableError, TokenRequestRejectedError } from './errors.ts';
import { assertSecureUrl, isLoopbackUrl } from './loopback.ts';

/** How the app proves who it is to the token endpoint. */
export type ClientAuthentication =
  | {
      method: 'client_secret_basic';
      clientSecret: Secret;
      /**
       * `form` (RFC 6749 §2.3.1: id and secret form-encoded, then base64) or `raw` (base64 of
       * `id:secret` as they are: Blackboard Learn's documented header, whose keys are full of `-`).
       * Default `form`.
       */
      encoding?: 'form' | 'raw';
    }
  | {
      method: 'private_key_jwt';
      privateKey: CryptoKey;
      /** `kid` header of the assertion, matching the key in the app's JWKS (`OAUTH_KEY_ID`). */
      keyId?: string;
      /** `aud` of the assertion. Default: the token endpoint URL (RFC 7523). */
      audience?: string;
    };

export interface TokenEndpointOptions {
  tokenUrl: string;
  clientId: string;
  auth: ClientAuthentication;
  /** Space-separated scopes sent with refresh and client-credentials requests. Default: none sent. */
  scope?: string;
  /** The authorization server's issuer identifier. Default: the token URL's origin. */
  issuer?: string;
  /** Only for the bootstrap's authorization redirect. */
  authorizeUrl?: string;
  /** Per-request timeout. Default 15 000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A successful token response, reduced to what the store keeps. */
export interface TokenResponse {
  accessToken: string;
  refreshToken?: string;
  expiresInSec?: number;
  scope?: string;
}

type Grant = 'refresh_token' | 'client_credentials' | 'authorization_code';

/**
 * The OAuth2 token endpoint, through oauth4webapi. Maps every failure to a typed error:
 * `invalid_grant` on a refresh → ReauthRequiredError; network, timeout, 429, 5xx →
 * TokenEndpointUnavailableError (retryable); other refusals → TokenRequestRejectedError.
 */
export class TokenEndpoint {
  readonly url: string;
  readonly clientId: string;
  readonly scope: string | undefined;
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly #clientAuth: oauth.ClientAuth;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch | undefined;
  readonly #insecureAllowed: boolean;

  constructor(options: TokenEndpointOptions) {
    const url = assertSecureUrl(options.tokenUrl, 'OAUTH_TOKEN_URL');
    if (options.authorizeUrl) assertSecureUrl(options.authorizeUrl, 'OAUTH_AUTHORIZE_URL');
    if (!options.clientId) throw new TypeError('TokenEndpoint: clientId must not be empty');
    this.url = url.href;
    this.clientId = options.clientId;
    this.scope = options.scope?.trim() || undefined;
    this.as = {
      issuer: options.issuer ?? url.origin,
      token_endpoint: url.href,
      ...(options.authorizeUrl ? { authorization_endpoint: options.authorizeUrl } : {}),
    };
    this.client = { client_id: options.clientId };
    this.#clientAuth = clientAuthFor(options.auth, url.href);
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#fetch = options.fetch;
    // oauth4webapi refuses http: unless told otherwise; we tell it so only for loopback (sandbox).
    this.#insecureAllowed = url.protocol === 'http:' && isLoopbackUrl(url);
  }

  async refresh(refreshToken: string): Promise<TokenResponse> {
    return this.#call(
      'refresh_token',
      (opts) => oauth.refreshTokenGrantRequest(this.as, this.client, this.#clientAuth, refreshToken, opts),
      (res) => oauth.processRefreshTokenResponse(this.as, this.client, res),
    );
  }

  async clientCredentials(): Promise<TokenResponse> {
    const params = new URLSearchParams();
    if (this.scope) params.set('scope', this.scope);
    return this.#call(
      'client_credentials',
      (opts) => oauth.clientCredentialsGrantRequest(this.as, this.client, this.#clientAuth, params, opts),
      (res) => oauth.processClientCredentialsResponse(this.as, this.client, res),
    );
  }

  async authorizationCode(
    callbackParams: URLSearchParams,
    redirectUri: string,
    codeVerifier: string,
  ): Promise<TokenResponse> {
    return this.#call(
      'authorization_code',
      (opts) =>
        oauth.authorizationCodeGrantRequest(
          this.as,
          this.client,
          this.#clientAuth,
          callbackParams,
          redirectUri,
          codeVerifier,
          opts,
        ),
      (res) => oauth.processAuthorizationCodeResponse(this.as, this.client, res),
    );
  }

  async #call(
    grant: Grant,
    send: (options: oauth.TokenEndpointRequestOptions) => Promise<Response>,
    process: (response: Response) => Promise<oauth.TokenEndpointResponse>,
  ): Promise<TokenResponse> {
    const options: oauth.TokenEndpointRequestOptions = {
      signal: () => AbortSignal.timeout(this.#timeoutMs),
      // The refresh grant takes scope as an extra parameter; client_credentials got it above.
      ...(grant === 'refresh_token' && this.scope ? { additionalParameters: { scope: this.scope } } : {}),
      ...(this.#fetch ? { [oauth.customFetch]: this.#fetch } : {}),
      ...(this.#insecureAllowed ? { [oauth.allowInsecureRequests]: true } : {}),
    };
    let response: Response;
    try {
      response = await send(options);
    } catch (cause) {
      throw new TokenEndpointUnavailableError(
        `token endpoint ${this.url} did not answer (${describeNetworkError(cause)})`,
        undefined,
        { cause },
      );
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      throw new TokenEndpointUnavailableError(
        `token endpoint ${this.url} answered ${response.status}; will try again later`,
        response.status,
      );
    }
    let json: oauth.TokenEndpointResponse;
    try {
      json = await process(response);
    } catch (cause) {
      throw this.#mapProcessError(grant, response, cause);
    }
    return {
      accessToken: json.access_token,
      ...(json.refresh_token ? { refreshToken: json.refresh_token } : {}),
      ...(typeof json.expires_in === 'number' ? { expiresInSec: json.expires_in } : {}),
      ...(json.scope ? { scope: json.scope } : {}),
    };
  }

  #mapProcessError(grant: Grant, response: Response, cause: unknown): Error {
    if (cause instanceof oauth.ResponseBodyError) {
      if (cause.error === 'invalid_grant' && grant === 'refresh_token') {
        return new ReauthRequiredError(
          'invalid_grant',
          'The LMS refused the stored refresh token (400 invalid_grant): it was already used, expired or was revoked.',
          { cause },
        );
      }
      const description = cause.error_description ? `: ${cause.error_description.slice(0, 200)}` : '';
      return new TokenRequestRejectedError(
        cause.status,
        cause.error,
        `token endpoint refused the ${grant} request (${cause.status} ${cause.error}${description}); ` +
          hintFor(cause.error, grant),
        { cause },
      );
    }
    if (cause instanceof oauth.WWWAuthenticateChallengeError) {
      // A 401 with `WWW-Authenticate` (client authentication failed): the error is in the challenge.
      const challenge = cause.cause[0];
      const error = challenge?.parameters.error ?? 'invalid_client';
      const description = challenge?.parameters.error_description;
      return new TokenRequestRejectedError(
        cause.status,
        error,
        `token endpoint refused the ${grant} request (${cause.status} ${error}${description ? `: ${description.slice(0, 200)}` : ''}); ` +
          hintFor(error, grant),
        { cause },
      );
    }
    if (response.ok) {
      // A 200 we cannot read. Retryable: a proxy hiccup is likelier than a broken server.
      return new TokenEndpointUnavailableError(
        `token endpoint ${this.url} sent an unreadable token response (${(cause as Error).message})`,
        response.status,
        { cause },
      );
    }
    return new TokenRequestRejectedError(
      response.status,
      undefined,
      `token endpoint refused the ${grant} request with HTTP ${response.status}; ${hintFor(undefined, grant)}`,
      { cause },
    );
  }
}

function clientAuthFor(auth: ClientAuthentication, tokenUrl: string): oauth.ClientAuth {
  if (auth.method === 'client_secret_basic') {
    if (auth.encoding !== 'raw') return oauth.ClientSecretBasic(auth.clientSecret.reveal());
    const secret = auth.clientSecret;
    return (_as, client, _body, headers) => {
      const pair = `${client.client_id}:${secret.reveal()}`;
      headers.set('authorization', `Basic ${Buffer.from(pair).toString('base64')}`);
    };
  }
  const audience = auth.audience ?? tokenUrl;
  return oauth.PrivateKeyJwt(
    { key: auth.privateKey, ...(auth.keyId ? { kid: auth.keyId } : {}) },
    {
      [oauth.modifyAssertion]: (header, payload) => {
        payload.aud = audience;
        // oauth4webapi names Ed25519 signatures with the newer fully-specified `Ed25519`; the JWKS
        // we publish (and most servers) say `EdDSA`, the same signature.
        if (header.alg === 'Ed25519') header.alg = 'EdDSA';
      },
    },
  );
}

function hintFor(error: string | undefined, grant: Grant): string {
  if (error === 'invalid_client' || error === 'unauthorized_client') {
    return grant === 'client_credentials'
      ? 'check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (or OAUTH_PRIVATE_KEY_FILE / OAUTH_KEY_ID and the registered JWKS)'
      : 'check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET';
  }
  if (error === 'invalid_scope') return 'check OAUTH_SCOPE against the scopes registered for the app';
  return 'check the OAuth settings (OAUTH_TOKEN_URL, OAUTH_CLIENT_ID, OAUTH_SCOPE)';
}

function describeNetworkError(cause: unknown): string {
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError') return 'timed out';
    const inner = (cause as { cause?: unknown }).cause;
    const code = inner && typeof inner === 'object' && 'code' in inner ? String(inner.code) : undefined;
    return code ? `${cause.message}: ${code}` : cause.message;
  }
  return String(cause);
}
