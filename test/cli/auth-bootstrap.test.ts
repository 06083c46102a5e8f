/**
 * `certharvest auth bootstrap --refresh-token`: from the command line or stdin, and a refused
 * token named as the one given (exit 2), never printed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenProvider } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { BrightspaceClient } from '../../src/lms/brightspace/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { JWT_CLIENT_ID, SANDBOX_HTTPS_REDIRECT_URI } from '@certharvest/sandbox';
import { webGet, webLogin, webPost } from '../sandbox/helpers.ts';
import { runCli, sleepUntil, spawnCli, tempDir, uniquePrefix } from '../helpers/index.ts';
import { startPipeline, type Pipeline } from '../pipeline/harness.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ worker: false });
});
afterAll(() => p?.close());

const bootstrap = (stdin?: string, token = '-', env: Record<string, string> = {}) =>
  runCli(
    ['auth', 'bootstrap', '--refresh-token', token],
    { ...p.env, LOG_LEVEL: 'warn', ...env },
    undefined,
    stdin,
  );

describe('auth bootstrap --refresh-token', () => {
  it('reads the token from stdin with "-" and stores it', async () => {
    const run = await bootstrap(`  ${await p.sandbox.issueRefreshToken()}\n`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/refresh-token/);
  });

  it('an empty stdin is a usage error (exit 2) showing how to pipe the token', async () => {
    const run = await bootstrap('');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/stdin was empty; pipe the token in/);
  });

  it('a token the LMS refuses exits 2, says it was the given token, and never prints it', async () => {
    const revoked = await p.sandbox.issueRefreshToken();
    await p.sandbox.revokeRefreshTokens();
    for (const [stdin, token, where] of [
      [`${revoked}\n`, '-', 'on stdin'],
      [undefined, revoked, 'with --refresh-token'],
    ] as const) {
      const run = await bootstrap(stdin, token);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`the LMS refused the refresh token given ${where}`);
      expect(run.stderr).not.toMatch(/stored refresh token/);
      expect(run.stdout + run.stderr).not.toContain(revoked);
    }
  });

  it('is refused in client-credentials mode, before anything is sent', async () => {
    const dir = await tempDir('key');
    const key = path.join(dir.dir, 'key.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(key, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    try {
      const run = await bootstrap(undefined, 'some-token', {
        AUTH_MODE: 'client-credentials',
        OAUTH_PRIVATE_KEY_FILE: key,
        OAUTH_KEY_ID: 'k1',
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/client credentials need no bootstrap.*--refresh-token does not apply/);
    } finally {
      await dir.cleanup();
    }
  });
});

/**
 * The service user's browser: logged in, it follows the sign-in URL until it leaves the LMS, and a
 * person presses "Allow" on the consent page (shown the first time this client is authorized).
 */
async function followAsServiceUser(authorizeUrl: string): Promise<URL> {
  const { jar } = await webLogin(p.sandbox);
  let url = new URL(authorizeUrl);
  for (let hop = 0; hop < 10; hop++) {
    const res = await webGet(p.sandbox, url.href, jar);
    if (res.status === 200) {
      const page = await res.text();
      const action = /<form id="d2l-oauth2-consent" method="post" action="([^"]+)"/.exec(page)?.[1];
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
      if (!action || !xsrf) throw new Error(`the sign-in stopped at ${url.pathname}, not a consent page`);
      const allowed = await webPost(p.sandbox, action, { xsrf, consent: 'allow' }, jar);
      url = new URL(allowed.headers.get('location') ?? '', url);
      continue;
    }
    const next = new URL(res.headers.get('location') ?? '', url);
    if (next.origin !== new URL(p.sandbox.url).origin) return next;
    url = next;
  }
  throw new Error('the sign-in never left the LMS');
}

const signInUrl = (stdout: string) => /(http:\/\/127\.0\.0\.1:\d+\/oauth2\/auth\?\S+)/.exec(stdout)?.[1];

describe('auth bootstrap: signing in', () => {
  it('an https:// redirect URI (as Brightspace demands) with --paste: the admin pastes where the browser landed', async () => {
    const grants = p.sandbox.stats.tokenGrants.authorization_code;
    const run = spawnCli(['auth', 'bootstrap', '--redirect-uri', SANDBOX_HTTPS_REDIRECT_URI, '--paste'], {
      ...p.env,
      LOG_LEVEL: 'warn',
    });
    const url = await sleepUntil(() => signInUrl(run.stdout()), 15_000);
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(SANDBOX_HTTPS_REDIRECT_URI);
    const landed = await followAsServiceUser(url);
    expect(landed.href.startsWith(SANDBOX_HTTPS_REDIRECT_URI)).toBe(true);
    run.child.stdin?.end(`${landed.href}\n`);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(/state: +valid/);
    expect(p.sandbox.stats.tokenGrants.authorization_code).toBe(grants + 1);
  });

  it('--paste refuses a URL that is not the redirect URI (exit 2)', async () => {
    const run = spawnCli(['auth', 'bootstrap', '--redirect-uri', SANDBOX_HTTPS_REDIRECT_URI, '--paste'], {
      ...p.env,
      LOG_LEVEL: 'warn',
    });
    await sleepUntil(() => signInUrl(run.stdout()), 15_000);
    run.child.stdin?.end('https://elsewhere.example/callback?code=abc\n');
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/not the redirect URI/);
  });

  it('a loopback redirect URI: the CLI listens for the browser on it', async () => {
    const run = spawnCli(['auth', 'bootstrap', '--port', '0'], { ...p.env, LOG_LEVEL: 'warn' });
    const url = await sleepUntil(() => signInUrl(run.stdout()), 15_000);
    const landed = await followAsServiceUser(url);
    expect(landed.hostname).toBe('127.0.0.1');
    expect((await fetch(landed)).status).toBe(200); // the CLI's callback server
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toMatch(/state: +valid/);
  });

  it("--via-session: the service user's web login signs in, no person", async () => {
    const grants = p.sandbox.stats.tokenGrants.authorization_code;
    const run = await runCli(['auth', 'bootstrap', '--via-session'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/state: +valid/);
    expect(p.sandbox.stats.tokenGrants.authorization_code).toBe(grants + 1);
    expect(run.stdout).not.toContain(p.env.LMS_PASSWORD!);
  });
});

/**
 * The first run without a person: a new sandbox asks the service user to consent, and
 * `auth bootstrap --via-session` (Chromium logs in) allows the app once, on both LMSs.
 */
describe.each(['brightspace', 'blackboard'] as const)(
  'auth bootstrap --via-session from an empty token store (%s)',
  (lms) => {
    let q: Pipeline;
    beforeAll(async () => {
      q = await startPipeline({
        lms,
        worker: false,
        ...(lms === 'blackboard' ? { env: { AUTH_MODE: 'refresh-token' } } : {}),
      });
    });
    afterAll(() => q?.close());

    /** The worker's env without any refresh token; the CLI shows info lines at LOG_LEVEL=debug. */
    const env = () => {
      const { OAUTH_REFRESH_TOKEN: _none, ...rest } = q.env;
      return { ...rest, LOG_LEVEL: 'debug' };
    };
    /** A real API call with the stored token: its HTTP status. */
    const realCall = async () => {
      const tokens = await createTokenProvider({
        config: loadConfig({ needs: ['lms', 'secrets-key'], envFile: false, env: env() }),
        redis: q.redis,
        logger: createLogger({ level: 'silent' }),
      });
      const path =
        lms === 'blackboard' ? '/learn/api/public/v1/users?limit=1' : '/d2l/api/lp/1.53/users/whoami';
      const res = await fetch(`${q.sandbox.url}${path}`, {
        headers: { authorization: `Bearer ${await tokens.getAccessToken()}` },
      });
      return res.status;
    };
    const secrets = () => [q.env.LMS_PASSWORD!, q.env.OAUTH_CLIENT_SECRET!];

    it('the consent page is allowed once, the token stored, a real call works; the next run meets none', async () => {
      const before = await runCli(['auth', 'status', '--json'], env());
      expect(JSON.parse(before.stdout)).toMatchObject({ state: 'not-bootstrapped' });

      const run = await runCli(['auth', 'bootstrap', '--via-session'], env());
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/state: +valid/);
      expect(run.stdout.match(/allowed the app once as the service user/g)).toHaveLength(1);
      for (const secret of secrets()) expect(run.stdout).not.toContain(secret);
      expect(await realCall()).toBe(200);

      const again = await runCli(['auth', 'bootstrap', '--via-session'], env());
      expect(again.code).toBe(0);
      expect(again.stdout).not.toMatch(/allowed the app once/); // remembered
    });

    it.each([
      ['refuse', /turned the app down \(access_denied\)/],
      ['other-page', /neither the LMS's login nor its consent form/],
      ['ask-again', /asked for consent again/],
    ] as const)(
      'consentPrompt %s: exit 1, naming the page and what to do, no secret',
      async (prompt, why) => {
        q.sandbox.setKnobs({ consentPrompt: prompt });
        try {
          const run = await runCli(['auth', 'bootstrap', '--via-session'], env());
          expect(run.code).toBe(1);
          expect(run.stderr).toMatch(why);
          expect(run.stderr).toMatch(
            /an admin must allow the app once at http:\/\/127\.0\.0\.1:\d+\/\S+, signed in/,
          );
          expect(run.stderr).toContain('trusted / pre-consented');
          expect(run.stderr).not.toMatch(/state=|code_challenge=/);
          for (const secret of secrets()) expect(run.stdout + run.stderr).not.toContain(secret);
        } finally {
          q.sandbox.setKnobs({ consentPrompt: 'new-client' });
        }
      },
    );
  },
);

describe('auth jwks', () => {
  it.each([
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'],
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey, 'EdDSA'],
  ] as const)(
    "prints the public JWKS of a %s key: it verifies the key's JWTs and the LMS accepts it",
    async (_kind, make, alg) => {
      const dir = await tempDir('jwks');
      const keyFile = path.join(dir.dir, 'key.pem');
      const privateKey = make();
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await writeFile(keyFile, pem);
      try {
        const run = await runCli(['auth', 'jwks'], {
          ...p.env,
          AUTH_MODE: 'client-credentials',
          OAUTH_PRIVATE_KEY_FILE: keyFile,
          OAUTH_KEY_ID: 'kid-7',
          LOG_LEVEL: 'warn',
        });
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const jwks = JSON.parse(run.stdout) as { keys: Record<string, unknown>[] };
        expect(jwks.keys).toHaveLength(1);
        expect(jwks.keys[0]).toMatchObject({ kid: 'kid-7', use: 'sig', alg });
        expect(jwks.keys[0]).not.toHaveProperty('d'); // never the private part
        const jwt = await new SignJWT({ sub: 'client' })
          .setProtectedHeader({ alg, kid: 'kid-7' })
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(privateKey);
        await expect(jwtVerify(jwt, createLocalJWKSet(jwks as never))).resolves.toBeTruthy();
        // Pasted into the (sandbox) LMS's registration, it gets the fleet its tokens.
        p.sandbox.registerJwtClient(jwks);
        const env = {
          ...p.env,
          AUTH_MODE: 'client-credentials',
          OAUTH_CLIENT_ID: JWT_CLIENT_ID,
          OAUTH_PRIVATE_KEY_FILE: keyFile,
          OAUTH_KEY_ID: 'kid-7',
        };
        const tokens = await createTokenProvider({
          config: loadConfig({ needs: ['lms', 'secrets-key'], envFile: false, env }),
          redis: p.redis,
          logger: createLogger({ level: 'silent' }),
          keyPrefix: uniquePrefix('jwks'),
        });
        const client = new BrightspaceClient({
          baseUrl: p.sandbox.url,
          tokens,
          logger: createLogger({ level: 'silent' }),
        });
        expect((await client.whoami()).userId).toBe(p.sandbox.institution.serviceUser.UserId);
      } finally {
        await dir.cleanup();
      }
    },
  );

  it('says it does not apply to a client-secret configuration (exit 2)', async () => {
    const run = await runCli(['auth', 'jwks'], { ...p.env, LOG_LEVEL: 'warn' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/auth jwks is for AUTH_MODE=client-credentials with a private-key JWT/);
  });
});
