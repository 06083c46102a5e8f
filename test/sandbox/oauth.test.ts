import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCOPE, startSandbox, type Sandbox } from '@certharvest/sandbox';
import { api, CookieJar, json, pkcePair, refresh, sleep, tokenRequest, webGet, webLogin } from './helpers.ts';

describe('sandbox OAuth2 (oidc-provider)', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 8 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('rotates refresh tokens: every refresh returns a new pair', async () => {
    const first = await refresh(sb, await sb.issueRefreshToken());
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: DEFAULT_SCOPE });
    const second = await refresh(sb, first.body.refresh_token as string);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    const me = await api(sb, '/d2l/api/lp/1.53/users/whoami', second.body.access_token as string);
    expect(me.status).toBe(200);
  });

  it('answers a replayed refresh token 400 invalid_grant; the newer token keeps working', async () => {
    const before = sb.stats.replayRejections;
    const original = await sb.issueRefreshToken();
    const rotated = await refresh(sb, original);
    const replay = await refresh(sb, original);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(sb.stats.replayRejections).toBe(before + 1);
    const next = await refresh(sb, rotated.body.refresh_token as string);
    expect(next.status).toBe(200);
  });

  it('revokes the whole chain on replay when replayRevokesChain is set', async () => {
    sb.setKnobs({ replayRevokesChain: true });
    try {
      const original = await sb.issueRefreshToken();
      const rotated = await refresh(sb, original);
      expect((await refresh(sb, original)).body.error).toBe('invalid_grant');
      const next = await refresh(sb, rotated.body.refresh_token as string);
      expect(next.status).toBe(400);
      expect(next.body.error).toBe('invalid_grant');
      const me = await api(sb, '/d2l/api/lp/1.53/users/whoami', rotated.body.access_token as string);
      expect(me.status).toBe(401);
    } finally {
      sb.setKnobs({ replayRevokesChain: false });
    }
  });

  it('refuses unknown refresh tokens and a wrong client secret', async () => {
    const unknown = await refresh(sb, 'not-a-token');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_grant');
    const badClient = await tokenRequest(
      sb,
      { grant_type: 'refresh_token', refresh_token: await sb.issueRefreshToken() },
      'Basic ' + Buffer.from(`${sb.env.OAUTH_CLIENT_ID}:wrong`).toString('base64'),
    );
    expect(badClient.status).toBe(401);
    expect(badClient.body.error).toBe('invalid_client');
  });

  it('expires access tokens after the TTL knob (changed live) and answers 401', async () => {
    sb.setKnobs({ accessTokenTtlSeconds: 2 });
    try {
      const answer = await refresh(sb, await sb.issueRefreshToken());
      expect(answer.body.expires_in).toBe(2);
      const token = answer.body.access_token as string;
      expect((await api(sb, '/d2l/api/lp/1.53/users/whoami', token)).status).toBe(200);
      await sleep(3100);
      const expired = await api(sb, '/d2l/api/lp/1.53/users/whoami', token);
      expect(expired.status).toBe(401);
      expect(await json(expired)).toEqual({ Errors: [{ Message: 'Invalid or expired token' }] });
    } finally {
      sb.setKnobs({ accessTokenTtlSeconds: 3600 });
    }
  });

  it('answers 401 with an Errors body when the bearer token is missing or unknown', async () => {
    const missing = await api(sb, '/d2l/api/lp/1.53/users/whoami');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await json(missing)).toEqual({ Errors: [{ Message: 'Missing bearer token' }] });
    const unknown = await api(sb, '/d2l/api/bas/1.4/issued/users/169/', 'made-up');
    expect(unknown.status).toBe(401);
    // The render URL is the web UI's: a bearer token does not get a PDF there.
    const cert = sb.institution.certificates()[0]!;
    const render = await fetch(
      `${sb.url}/d2l/awards/v1/${cert.OrgUnitId}/certificate/render/${cert.IssuedId}`,
      {
        headers: {
          authorization: `Bearer ${(await refresh(sb, await sb.issueRefreshToken())).body.access_token}`,
        },
      },
    );
    expect(render.status).toBe(200);
    expect(render.headers.get('content-type')).toMatch(/^text\/html/);
  });

  describe('authorization code + PKCE with a loopback redirect', () => {
    // These tests are about the redirects, the code and its exchange: the consent page a new client
    // meets first (consentPrompt new-client, the default) has its own tests in
    // test/auth/consent-sandbox.integration.test.ts.
    beforeAll(() => sb.setKnobs({ consentPrompt: 'off' }));
    afterAll(() => sb.setKnobs({ consentPrompt: 'new-client' }));

    const authorizeUrl = (redirectUri: string, challenge: string, state: string) => {
      const url = new URL(sb.env.OAUTH_AUTHORIZE_URL);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: sb.env.OAUTH_CLIENT_ID,
        redirect_uri: redirectUri,
        scope: sb.env.OAUTH_SCOPE,
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      return url.href;
    };
    const location = (res: Response) => new URL(res.headers.get('location') ?? '', res.url);

    it('logs in through the D2L form, then exchanges code + verifier for a token pair', async () => {
      const jar = new CookieJar();
      const { verifier, challenge } = pkcePair();
      const redirectUri = 'http://127.0.0.1:53682/callback';

      const start = await webGet(sb, authorizeUrl(redirectUri, challenge, 'state-1'), jar);
      expect(start.status).toBe(303);
      const interaction = location(start);
      expect(interaction.pathname).toMatch(/^\/oauth2\/interaction\/[\w-]+$/);

      const toLogin = await webGet(sb, interaction.href, jar);
      expect(toLogin.status).toBe(302);
      const loginUrl = location(toLogin);
      expect(loginUrl.pathname).toBe('/d2l/login');
      expect(loginUrl.searchParams.get('target')).toBe(interaction.pathname);

      const page = await webGet(sb, loginUrl.href, jar);
      expect(await page.text()).toContain(`name="target" value="${interaction.pathname}"`);
      const { res: loggedIn } = await webLogin(sb, { jar, target: interaction.pathname });
      expect(loggedIn.status).toBe(302);
      expect(loggedIn.headers.get('location')).toBe(interaction.pathname);

      const finished = await webGet(sb, interaction.href, jar);
      expect(finished.status).toBe(303);
      const resume = await webGet(sb, location(finished).href, jar);
      expect(resume.status).toBe(303);
      const callback = location(resume);
      expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);
      expect(callback.searchParams.get('state')).toBe('state-1');
      const code = callback.searchParams.get('code');
      expect(code).toBeTruthy();

      const grantsBefore = sb.stats.tokenGrants.authorization_code;
      const wrong = await tokenRequest(sb, {
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: redirectUri,
        code_verifier: pkcePair().verifier,
      });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe('invalid_grant');

      // A failed verifier attempt burns nothing but itself: start again for the good exchange.
      const again = await webGet(sb, authorizeUrl(redirectUri, challenge, 'state-2'), jar);
      const auto = await webGet(sb, location(again).href, jar); // session cookie: no login form
      const back = await webGet(sb, location(auto).href, jar);
      const code2 = location(back).searchParams.get('code')!;
      const tokens = await tokenRequest(sb, {
        grant_type: 'authorization_code',
        code: code2,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      });
      expect(tokens.status).toBe(200);
      expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: DEFAULT_SCOPE });
      expect(typeof tokens.body.refresh_token).toBe('string');
      expect(sb.stats.tokenGrants.authorization_code).toBe(grantsBefore + 1);

      const me = await api(sb, '/d2l/api/lp/1.53/users/whoami', tokens.body.access_token as string);
      expect((await json<{ Identifier: string }>(me)).Identifier).toBe(
        String(sb.institution.serviceUser.UserId),
      );
      expect((await refresh(sb, tokens.body.refresh_token as string)).status).toBe(200);
    });

    it('accepts any loopback port, requires PKCE and refuses other redirect hosts', async () => {
      const { jar } = await webLogin(sb);
      const { challenge } = pkcePair();
      const otherPort = await webGet(
        sb,
        authorizeUrl('http://localhost:61999/callback', challenge, 's'),
        jar,
      );
      const auto = await webGet(sb, location(otherPort).href, jar);
      const back = await webGet(sb, location(auto).href, jar);
      expect(location(back).host).toBe('localhost:61999');
      expect(location(back).searchParams.get('code')).toBeTruthy();

      const noPkce = new URL(authorizeUrl('http://127.0.0.1:5000/callback', challenge, 's'));
      noPkce.searchParams.delete('code_challenge');
      noPkce.searchParams.delete('code_challenge_method');
      const refused = await webGet(sb, noPkce.href, jar);
      expect(location(refused).searchParams.get('error')).toBe('invalid_request');

      const elsewhere = await webGet(sb, authorizeUrl('http://evil.example/callback', challenge, 's'), jar);
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.headers.get('location')).toBeNull();
    });
  });
});
