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
import { BrightspaceClient } from '../../src/lms/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { JWT_CLIENT_ID } from '../../src/sandbox/index.ts';
import { runCli, tempDir, uniquePrefix } from '../helpers/index.ts';
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
    expect(run.stderr).toMatch(/auth jwks is for AUTH_MODE=client-credentials on Brightspace/);
  });
});
