/**
 * Client credentials, both kinds, against the sandbox's real OAuth2 server (oidc-provider):
 * HTTP Basic `key:secret` (Learn's way) and a private-key JWT whose public JWKS is the one
 * `certharvest auth jwks` prints (Brightspace's way). Tokens are shared by the fleet and renewed
 * once per expiry; a whole batch runs on them.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenProvider, publicJwks, TokenRequestRejectedError } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { BrightspaceClient } from '../../src/lms/brightspace/index.ts';
import { JWT_CLIENT_ID, startSandbox, type Sandbox } from '@certharvest/sandbox';
import { tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates } from '../pipeline/harness.ts';
import { captureLogger, dumpRedis } from './harness.ts';

let sb: Sandbox;
let redis: Redis;
let dir: Awaited<ReturnType<typeof tempDir>>;
let keyFile: string;
const secretsKey = randomBytes(32).toString('base64');
const { logger } = captureLogger();

beforeAll(async () => {
  sb = await startSandbox({ userCount: 4 });
  redis = new Redis(testRedisUrl());
  dir = await tempDir('cc-keys');
  keyFile = path.join(dir.dir, 'key.pem');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  // What an admin pastes into the registration form.
  sb.registerJwtClient(await publicJwks(keyFile, 'kid-1'));
});
afterAll(async () => {
  await sb?.close();
  await redis?.quit();
  await dir?.cleanup();
});

const basicEnv = (s: Sandbox) => ({
  AUTH_MODE: 'client-credentials',
  OAUTH_CLIENT_ID: s.basicClient.clientId,
  OAUTH_CLIENT_SECRET: s.basicClient.clientSecret,
});
const jwtEnv = () => ({
  AUTH_MODE: 'client-credentials',
  OAUTH_CLIENT_ID: JWT_CLIENT_ID,
  OAUTH_CLIENT_SECRET: '',
  OAUTH_PRIVATE_KEY_FILE: keyFile,
  OAUTH_KEY_ID: 'kid-1',
});

/** One worker process's provider; the same `prefix` is the same fleet. */
function provider(prefix: string, env: Record<string, string>) {
  const { OAUTH_REFRESH_TOKEN: _unused, ...base } = sb.env;
  const merged = Object.fromEntries(
    Object.entries({ ...base, ...env, SECRETS_KEY: secretsKey }).filter(([, v]) => v !== ''),
  );
  return createTokenProvider({
    config: loadConfig({ needs: ['lms', 'secrets-key'], envFile: false, env: merged }),
    redis,
    logger,
    keyPrefix: prefix,
    tuning: { lockPollMs: 20 },
  });
}

describe.each([
  ['HTTP Basic key:secret', () => basicEnv(sb), 'client-secret'],
  ['a private-key JWT (the JWKS from auth jwks)', jwtEnv, 'private-key-jwt'],
] as const)('client credentials with %s', (_name, env, kind) => {
  it('gets a token that acts as the service user; three workers share it and renew once per expiry', async () => {
    const prefix = uniquePrefix('cc');
    const fleet = await Promise.all([1, 2, 3].map(() => provider(prefix, env())));
    expect(loadConfig({ needs: ['lms'], envFile: false, env: { ...sb.env, ...env() } }).lms.auth.kind).toBe(
      kind,
    );
    sb.setKnobs({ accessTokenTtlSeconds: 2 });
    sb.resetStats();
    try {
      const tokens = new Set<string>();
      const started = Date.now();
      while (Date.now() - started < 5_000) {
        for (const t of await Promise.all(fleet.flatMap((p) => [p.getAccessToken(), p.getAccessToken()])))
          tokens.add(t);
        await new Promise((r) => setTimeout(r, 100));
      }
      // A 2 s token is renewed once it has lived half its life (the provider's cap on the margin):
      // one renewal a second for the whole fleet, not one per worker or per call (30 calls a second).
      const seconds = Math.ceil((Date.now() - started) / 1000);
      const grants = sb.stats.tokenGrants.client_credentials;
      expect(grants).toBeGreaterThanOrEqual(seconds - 1);
      expect(grants).toBeLessThanOrEqual(seconds + 1);
      expect(tokens.size).toBe(grants);
      expect(sb.stats.tokenErrors).toBe(0);

      const client = new BrightspaceClient({ baseUrl: sb.url, tokens: fleet[0]!, logger });
      expect((await client.whoami()).userId).toBe(sb.institution.serviceUser.UserId);
      const dump = await dumpRedis(redis, prefix);
      for (const token of tokens) expect(dump).not.toContain(token);
    } finally {
      sb.setKnobs({ accessTokenTtlSeconds: 3600 });
    }
  });
});

describe('client credentials refused', () => {
  it('a wrong secret is invalid_client, named with the settings to check', async () => {
    const p = await provider(uniquePrefix('cc'), { ...basicEnv(sb), OAUTH_CLIENT_SECRET: 'wrong' });
    const error = await p.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestRejectedError);
    expect((error as Error).message).toMatch(/invalid_client.*OAUTH_CLIENT_SECRET/s);
  });

  it('a key that is not the registered one is invalid_client', async () => {
    const other = path.join(dir.dir, 'other.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(other, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const p = await provider(uniquePrefix('cc'), { ...jwtEnv(), OAUTH_PRIVATE_KEY_FILE: other });
    const error = await p.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestRejectedError);
    expect((error as Error).message).toMatch(/invalid_client.*OAUTH_PRIVATE_KEY_FILE/s);
  });
});

describe('a batch on client credentials', () => {
  it.each([
    ['HTTP Basic', basicEnv],
    ['a private-key JWT', jwtEnv],
  ] as const)('downloads every certificate with %s tokens', async (_name, env) => {
    const p = await startPipeline({
      sandbox: { userCount: 6, clientJwks: await publicJwks(keyFile, 'kid-1') },
      env: (s) => {
        const vars: Record<string, string> = env(s);
        // A client-credentials fleet has no refresh token to import.
        return { ...vars, OAUTH_REFRESH_TOKEN: '' };
      },
    });
    try {
      const users = studentsWithCertificates(p.sandbox, 4);
      const { batchId } = await p.submit({ users });
      expect(await p.waitDone(batchId, 60_000)).toMatchObject({
        certsFailed: 0,
        certsStored: users.flatMap((u) => p.sandbox.institution.certificatesOf(u)).length,
      });
      expect(p.sandbox.stats.tokenGrants.client_credentials).toBeGreaterThanOrEqual(1);
      expect(p.sandbox.stats.tokenGrants.refresh_token).toBe(0);
    } finally {
      await p.close();
    }
  });
});
