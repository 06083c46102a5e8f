/**
 * The consent page of both sandboxes (Brightspace's oidc-provider, Learn's 3LO screen) met by the
 * product's authorization walk through a web session: allowed once and remembered, healing a
 * refused (or missing) token through it, and each way it can fail (`consentPrompt` knob).
 * The web session here is a plain fetch login (no Chromium): what is under test is the walk.
 */
import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authorizeThroughSession,
  ConsentRequiredError,
  createTokenProvider,
  type ConsentForm,
  type SessionRunner,
} from '../../src/auth/index.ts';
import { loadConfig, type LmsKind } from '../../src/config/index.ts';
import { BLACKBOARD_CONSENT_FORM } from '../../src/lms/blackboard/consent.ts';
import { BRIGHTSPACE_CONSENT_FORM } from '../../src/lms/brightspace/consent.ts';
import { startSandbox, type Sandbox } from '@certharvest/sandbox';
import { NONCE_FIELD } from '@certharvest/sandbox/learn';
import type { ConsentPrompt } from '@certharvest/sandbox';
import { testRedisUrl, uniquePrefix, withRedis } from '../helpers/index.ts';
import { CookieJar, webGet, webLogin, webPost } from '../sandbox/helpers.ts';
import { captureLogger } from './harness.ts';

interface LmsCase {
  kind: LmsKind;
  consent: ConsentForm;
  /** The worker's env for this LMS, refresh-token mode. */
  env(sb: Sandbox): Record<string, string>;
  /** A logged-in web session of the service user. */
  login(sb: Sandbox): Promise<CookieJar>;
  /** A real API call with the access token: its HTTP status. */
  call(sb: Sandbox, accessToken: string): Promise<number>;
  /** Where the consent page is (origin + path). */
  consentPage: RegExp;
}

const CASES: LmsCase[] = [
  {
    kind: 'brightspace',
    consent: BRIGHTSPACE_CONSENT_FORM,
    env: (sb) => {
      const { OAUTH_REFRESH_TOKEN: _none, ...env } = sb.env;
      return env as Record<string, string>;
    },
    login: async (sb) => (await webLogin(sb)).jar,
    call: async (sb, token) =>
      (
        await fetch(`${sb.url}/d2l/api/lp/1.53/users/whoami`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    consentPage: /^http:\/\/127\.0\.0\.1:\d+\/oauth2\/interaction\/[\w-]+$/,
  },
  {
    kind: 'blackboard',
    consent: BLACKBOARD_CONSENT_FORM,
    env: (sb) => ({ ...sb.learnEnv, AUTH_MODE: 'refresh-token' }),
    login: async (sb) => {
      const jar = new CookieJar();
      const page = await (await webGet(sb, '/webapps/login/', jar)).text();
      const nonce = new RegExp(`name="${NONCE_FIELD.replace(/\./g, '\\.')}" value="([^"]+)"`).exec(page)?.[1];
      await webPost(
        sb,
        '/webapps/login/',
        {
          user_id: sb.learnEnv.LMS_USERNAME,
          password: sb.learnEnv.LMS_PASSWORD,
          action: 'login',
          [NONCE_FIELD]: nonce ?? '',
        },
        jar,
      );
      return jar;
    },
    call: async (sb, token) =>
      (
        await fetch(`${sb.url}/learn/api/public/v1/users?limit=1`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    consentPage: /^http:\/\/127\.0\.0\.1:\d+\/learn\/api\/public\/v1\/oauth2\/authorizationcode$/,
  },
];

/** The fleet's session, reduced to a fetch login: logs in when asked, again once when logged out. */
function fetchSession(login: () => Promise<CookieJar>): SessionRunner {
  let jar: CookieJar | undefined;
  return {
    async withSession(use) {
      for (let attempt = 0; attempt < 2; attempt++) {
        jar ??= await login();
        const out = await use({ cookieHeader: jar.header(), userAgent: 'certharvest-test' });
        if (out !== 'logged-out') return out;
        jar = undefined;
      }
      throw new Error('the web session was logged out twice');
    },
  };
}

async function withRedisConnection<T>(use: (redis: RedisConnection) => Promise<T>): Promise<T> {
  const r = await withRedis('consent');
  try {
    return await use(r.redis);
  } finally {
    await r.close();
  }
}

/** Fetch that counts the form posts the walk sends. */
function countingFetch() {
  const posts: string[] = [];
  const counted = ((input: URL | RequestInfo, init?: RequestInit) => {
    if (init?.method === 'POST') posts.push(String(input));
    return fetch(input, init);
  }) as typeof fetch;
  return { posts, fetch: counted };
}

describe.each(CASES)('consent through the web session: $kind sandbox', (lms) => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await startSandbox({ userCount: 4 });
  });
  afterEach(() => sb?.close());

  const config = () =>
    loadConfig({
      env: {
        ...lms.env(sb),
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: uniquePrefix('consent'),
        SECRETS_KEY: randomBytes(32).toString('base64'),
      },
      envFile: false,
      needs: ['lms', 'secrets-key'],
    });

  function walk(counting = countingFetch()) {
    const { logger, lines } = captureLogger();
    const { auth, site } = config().lms;
    if (auth.kind !== 'refresh-token') throw new Error('expected refresh-token mode');
    // The LMS module's consent form, as auth bootstrap and the healer take it.
    expect(site.consent).toBe(lms.consent);
    const run = authorizeThroughSession(
      fetchSession(() => lms.login(sb)),
      {
        authorizeUrl: auth.authorizeUrl,
        clientId: auth.clientId,
        redirectUri: auth.redirectUri,
        scope: auth.scope,
        lmsUrl: sb.url,
        consent: lms.consent,
        logger,
        fetch: counting.fetch,
      },
    );
    return { run, lines, posts: counting.posts };
  }

  it('from an empty token store: the consent page is allowed once, the token stored, a real call works', async () => {
    await withRedisConnection(async (redis) => {
      const tokens = await createTokenProvider({ config: config(), redis, logger: captureLogger().logger });
      expect((await tokens.status()).state).toBe('not-bootstrapped');
      // What `auth bootstrap --via-session` does: the walk, then the code exchange.
      const { run, lines, posts } = walk();
      const { request, callback } = await run;
      await tokens.exchangeAuthorizationCode(request, callback);
      expect(await lms.call(sb, await tokens.getAccessToken())).toBe(200);
      expect((await tokens.status()).hasRefreshToken).toBe(true);
      expect(posts).toHaveLength(1);
      const consentLines = lines.filter((l) => l.includes('allowed the app once as the service user'));
      expect(consentLines).toHaveLength(1);
      const logged = JSON.parse(consentLines[0]!) as { level: number; event: string; page: string };
      expect(logged).toMatchObject({ level: 30, event: 'auth:consent' });
      expect(logged.page).toMatch(lms.consentPage);
      expect(lines.join('')).not.toContain(lms.env(sb).LMS_PASSWORD);
    });
  });

  it('remembered once allowed: the next authorization shows no consent page', async () => {
    const first = walk();
    expect(new URL((await first.run).callback).searchParams.get('code')).toBeTruthy();
    expect(first.posts).toHaveLength(1);
    const second = walk();
    expect(new URL((await second.run).callback).searchParams.get('code')).toBeTruthy();
    expect(second.posts).toHaveLength(0);
    expect(second.lines.join('')).not.toContain('allowed the app once');
  });

  it('consentPrompt off (a trusted app): no consent page at all', async () => {
    sb.setKnobs({ consentPrompt: 'off' });
    const { run, posts } = walk();
    expect(new URL((await run).callback).searchParams.get('code')).toBeTruthy();
    expect(posts).toHaveLength(0);
  });

  it.each([
    ['refuse', 'denied', 1],
    ['other-page', 'unknown-page', 0],
    ['ask-again', 'asked-again', 1],
  ] as [ConsentPrompt, ConsentRequiredError['reason'], number][])(
    'consentPrompt %s: ConsentRequiredError (%s) naming the page without its query, after %i post(s)',
    async (prompt, reason, postCount) => {
      sb.setKnobs({ consentPrompt: prompt });
      const { run, posts } = walk();
      const err = await run.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConsentRequiredError);
      const consent = err as ConsentRequiredError;
      expect(consent).toMatchObject({ code: 'AUTH_CONSENT_REQUIRED', reason });
      expect(consent.page).toMatch(lms.consentPage);
      expect(consent.message).toContain(`an admin must allow the app once at ${consent.page}`);
      expect(consent.message).not.toMatch(/[?&](state|code_challenge)=/);
      expect(posts).toHaveLength(postCount);
    },
  );
});

describe('healing a refused refresh token through the consent page (Brightspace sandbox)', () => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await startSandbox({ userCount: 4 });
  });
  afterEach(() => sb?.close());

  const providerWith = async (redis: RedisConnection) => {
    const { logger, lines } = captureLogger();
    const tokens = await createTokenProvider({
      config: loadConfig({
        env: {
          ...sb.env,
          OAUTH_REFRESH_TOKEN: await sb.issueRefreshToken(),
          REDIS_URL: testRedisUrl(),
          QUEUE_PREFIX: uniquePrefix('heal'),
          SECRETS_KEY: randomBytes(32).toString('base64'),
        },
        envFile: false,
        needs: ['lms', 'secrets-key'],
      }),
      redis,
      logger,
      session: fetchSession(async () => (await webLogin(sb)).jar),
    });
    return { tokens, lines };
  };

  it('revoked: healed through the walk, consent allowed once, a real call works', async () => {
    await withRedisConnection(async (redis) => {
      const { tokens, lines } = await providerWith(redis);
      await tokens.getAccessToken();
      await sb.revokeRefreshTokens({ accessTokens: true });
      const grants = sb.stats.tokenGrants.authorization_code;
      await tokens.rotate();
      expect(sb.stats.tokenGrants.authorization_code).toBe(grants + 1);
      expect(await CASES[0]!.call(sb, await tokens.getAccessToken())).toBe(200);
      expect(lines.filter((l) => l.includes('allowed the app once as the service user'))).toHaveLength(1);
    });
  });

  it('revoked, and the consent refused: reauth required, saying why and where', async () => {
    await withRedisConnection(async (redis) => {
      const { tokens } = await providerWith(redis);
      await tokens.getAccessToken();
      await sb.revokeRefreshTokens({ accessTokens: true });
      sb.setKnobs({ consentPrompt: 'refuse' });
      const err = (await tokens.rotate().catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('AUTH_REAUTH_REQUIRED');
      expect(err.message).toMatch(
        /access_denied.*an admin must allow the app once at http:\/\/127\.0\.0\.1:\d+\/oauth2\/interaction\//,
      );
    });
  });
});
