import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  beginAuthorization,
  createTokenProvider,
  ReauthRequiredError,
  type TokenProvider,
} from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { BrightspaceClient } from '../../src/lms/brightspace/index.ts';
import { startSandbox, type Sandbox } from '@certharvest/sandbox';
import { testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { captureLogger, dumpRedis } from './harness.ts';

/**
 * The token lifecycle against the sandbox's real OAuth2 server (oidc-provider, one-use rotating
 * refresh tokens, a replay answered `400 invalid_grant`) and real Redis.
 */
describe('auth against the sandbox LMS', () => {
  let sb: Sandbox;
  let redis: Redis;
  const secretsKey = randomBytes(32).toString('base64');
  const { logger, lines } = captureLogger();

  beforeAll(async () => {
    sb = await startSandbox({ userCount: 4 });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await sb?.close();
    await redis?.quit();
  });
  beforeEach(() => {
    sb.setKnobs({ accessTokenTtlSeconds: 3600 });
    sb.resetStats();
  });

  /** A worker process: config from the sandbox's env block, one shared Redis store per `prefix`. */
  const worker = (prefix: string, refreshToken: string): Promise<TokenProvider> =>
    createTokenProvider({
      config: loadConfig({
        needs: ['lms', 'secrets-key'],
        envFile: false,
        env: { ...sb.env, OAUTH_REFRESH_TOKEN: refreshToken, SECRETS_KEY: secretsKey },
      }),
      redis,
      logger,
      keyPrefix: prefix,
      tuning: { lockPollMs: 20 },
    });

  it('imports the env refresh token once; a restart with the consumed value uses the store', async () => {
    const prefix = uniquePrefix('sbauth');
    const envToken = await sb.issueRefreshToken();
    const first = await worker(prefix, envToken);
    const token = await first.getAccessToken();

    const restarted = await worker(prefix, envToken);
    expect(await restarted.getAccessToken()).toBe(token);
    restarted.invalidate(token); // e.g. a 401: renew with the stored, rotated token
    const renewed = await restarted.getAccessToken();
    expect(renewed).not.toBe(token);

    const client = new BrightspaceClient({ baseUrl: sb.url, tokens: restarted, logger });
    expect((await client.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
    expect(sb.stats.tokenGrants.refresh_token).toBe(2);
    expect(sb.stats.replayRejections).toBe(0);
    expect(sb.stats.tokenErrors).toBe(0);

    const dump = await dumpRedis(redis, prefix);
    for (const secret of [envToken, token, renewed, sb.env.OAUTH_CLIENT_SECRET])
      expect(dump).not.toContain(secret);
    expect(lines.join('')).not.toContain(renewed);
  });

  it('ten concurrent calls from two workers sharing Redis: exactly one refresh', async () => {
    const prefix = uniquePrefix('sbauth');
    const envToken = await sb.issueRefreshToken();
    sb.setKnobs({ latencyMs: 100 });
    try {
      const [a, b] = await Promise.all([worker(prefix, envToken), worker(prefix, envToken)]);
      const tokens = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).getAccessToken()),
      );
      expect(new Set(tokens).size).toBe(1);
      expect(sb.stats.tokenGrants.refresh_token).toBe(1);
      expect(sb.stats.replayRejections).toBe(0);
    } finally {
      sb.setKnobs({ latencyMs: 0 });
    }
  });

  it('2-s access tokens over ~6 s of calls from two workers: rotation without a single invalid_grant', async () => {
    const prefix = uniquePrefix('sbauth');
    sb.setKnobs({ accessTokenTtlSeconds: 2 });
    const envToken = await sb.issueRefreshToken();
    const workers = await Promise.all([worker(prefix, envToken), worker(prefix, envToken)]);
    const clients = workers.map((tokens) => new BrightspaceClient({ baseUrl: sb.url, tokens, logger }));
    const deadline = Date.now() + 6_000;
    let calls = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (Date.now() < deadline) {
          expect((await client.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
          calls++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
    expect(calls).toBeGreaterThan(40);
    // Each token lives 2 s and is renewed at half-life: about 6 refreshes in 6 s, one per renewal.
    expect(sb.stats.tokenGrants.refresh_token).toBeGreaterThanOrEqual(4);
    expect(sb.stats.tokenGrants.refresh_token).toBeLessThanOrEqual(9);
    expect(sb.stats.replayRejections).toBe(0);
    expect(sb.stats.tokenErrors).toBe(0);
    expect(sb.stats.unauthorized401).toBe(0);
  });

  it('a consumed refresh token: ReauthRequiredError from the real server, then no more attempts', async () => {
    const envToken = await sb.issueRefreshToken();
    const prefix = uniquePrefix('sbauth');
    await (await worker(uniquePrefix('elsewhere'), envToken)).getAccessToken(); // someone else used it
    const provider = await worker(prefix, envToken);
    const error = await provider.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect((error as Error).message).toContain('certharvest auth bootstrap');
    await expect(provider.getAccessToken()).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(sb.stats.replayRejections).toBe(1);
    expect((await provider.status()).state).toBe('reauth-required');
  });

  it('bootstrap: authorization code with PKCE through the web login, then refreshes from the store', async () => {
    const prefix = uniquePrefix('sbauth');
    const provider = await worker(prefix, 'rt-unused');
    const request = await beginAuthorization({
      authorizeUrl: sb.env.OAUTH_AUTHORIZE_URL,
      clientId: sb.env.OAUTH_CLIENT_ID,
      redirectUri: 'http://127.0.0.1:53123/callback',
      scope: sb.env.OAUTH_SCOPE,
    });
    const callback = await signInAndFollow(sb, request.url, request.redirectUri);

    const status = await provider.exchangeAuthorizationCode(request, callback);
    expect(status).toMatchObject({ state: 'valid', hasRefreshToken: true });
    const client = new BrightspaceClient({ baseUrl: sb.url, tokens: provider, logger });
    expect((await client.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
    provider.invalidate();
    await expect(client.whoami()).resolves.toBeDefined();
    expect(sb.stats.tokenGrants).toMatchObject({ authorization_code: 1, refresh_token: 1 });
  });
});

/**
 * What the admin's browser does: log in to the web UI, open the authorization URL, follow
 * redirects, and press "Allow" on the consent page (a new client's first authorization).
 */
async function signInAndFollow(sb: Sandbox, authorizeUrl: string, redirectUri: string): Promise<string> {
  const cookies = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return res;
  };
  await send(`${sb.url}/d2l/lp/auth/login/login.d2l`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      d2l_referrer: '',
      noredirect: '1',
      loginPath: '/d2l/lp/auth/login/login.d2l',
      userName: sb.env.LMS_USERNAME,
      password: sb.env.LMS_PASSWORD,
    }).toString(),
  });
  let url = authorizeUrl;
  for (let hop = 0; hop < 10; hop++) {
    let res = await send(url);
    if (res.status === 200) {
      const page = await res.text();
      const action = /<form id="d2l-oauth2-consent" method="post" action="([^"]+)"/.exec(page)?.[1];
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
      if (!action || !xsrf) throw new Error(`sign-in stopped at ${url}: not the consent page`);
      res = await send(new URL(action, url).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf, consent: 'allow' }).toString(),
      });
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`sign-in stopped at ${url} with ${res.status}`);
    url = new URL(location, url).href;
    if (url.startsWith(redirectUri)) return url;
  }
  throw new Error('too many redirects');
}
