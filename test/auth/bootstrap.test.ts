import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthorizationFailedError, beginAuthorization } from '../../src/auth/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { authHarness, type AuthHarness } from './harness.ts';

describe('auth bootstrap helpers', () => {
  let h: AuthHarness;
  beforeEach(async () => {
    h = await authHarness();
  });
  afterEach(() => h.close());

  const begin = () =>
    beginAuthorization({
      authorizeUrl: h.server.authorizeUrl,
      clientId: h.server.clientId,
      redirectUri: 'http://127.0.0.1:8765/callback',
      scope: 'core:*:*',
    });

  it('builds a PKCE (S256) authorization URL with state for a loopback redirect', async () => {
    const request = await begin();
    const url = new URL(request.url);
    expect(url.origin + url.pathname).toBe(h.server.authorizeUrl);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: h.server.clientId,
      redirect_uri: 'http://127.0.0.1:8765/callback',
      scope: 'core:*:*',
      state: request.state,
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request.url).not.toContain(request.codeVerifier);
    expect((await begin()).state).not.toBe(request.state);
  });

  it('takes any https redirect URI, refuses http:// off loopback, and an http authorize URL elsewhere', async () => {
    const https = await beginAuthorization({
      authorizeUrl: h.server.authorizeUrl,
      clientId: 'c',
      redirectUri: 'https://certharvest.example.edu/oauth/callback',
      scope: '',
    });
    expect(new URL(https.url).searchParams.get('redirect_uri')).toBe(
      'https://certharvest.example.edu/oauth/callback',
    );
    await expect(
      beginAuthorization({
        authorizeUrl: h.server.authorizeUrl,
        clientId: 'c',
        redirectUri: 'http://evil.example.com/cb',
        scope: '',
      }),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      beginAuthorization({
        authorizeUrl: 'http://auth.example.com/oauth2/auth',
        clientId: 'c',
        redirectUri: 'http://127.0.0.1:1/cb',
        scope: '',
      }),
    ).rejects.toThrow(/OAUTH_AUTHORIZE_URL/);
  });

  it('exchanges the code with its verifier and stores the pair', async () => {
    const request = await begin();
    const challenge = new URL(request.url).searchParams.get('code_challenge')!;
    const code = h.server.mintCode(challenge, request.redirectUri);
    const provider = h.provider();

    const status = await provider.exchangeAuthorizationCode(
      request,
      `http://127.0.0.1:8765/callback?code=${code}&state=${request.state}`,
    );

    expect(status).toMatchObject({ state: 'valid', hasRefreshToken: true });
    expect(await provider.getAccessToken()).toBe((await h.store().read())!.accessToken);
    expect(h.server.grants.map((g) => [g.grantType, g.outcome])).toEqual([['authorization_code', 'issued']]);
  });

  it('refuses a callback with a wrong state or an error, without calling the token endpoint', async () => {
    const request = await begin();
    const provider = h.provider();
    await expect(
      provider.exchangeAuthorizationCode(request, `/callback?code=abc&state=someone-else`),
    ).rejects.toBeInstanceOf(AuthorizationFailedError);
    await expect(
      provider.exchangeAuthorizationCode(
        request,
        new URLSearchParams({
          error: 'access_denied',
          error_description: 'user said no',
          state: request.state,
        }),
      ),
    ).rejects.toThrow(/refused the sign-in: access_denied \(user said no\)/);
    expect(h.server.grants).toHaveLength(0);
  });
});
