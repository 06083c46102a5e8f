import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenProvider, importPrivateKeyPem, loadPrivateKey } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { BRIGHTSPACE_SCOPE } from '../../src/lms/brightspace/module.ts';
import { tempDir } from '../helpers/index.ts';
import { authHarness, type AuthHarness } from './harness.ts';

describe('TokenProvider, client-credentials mode', () => {
  let h: AuthHarness;
  afterEach(() => h.close());

  it('Blackboard style: Basic key:secret, cached, renewed when under 60 s remain', async () => {
    h = await authHarness();
    let clock = 5_000_000;
    const provider = h.provider({ mode: 'client-credentials', now: () => clock });

    const first = await provider.getAccessToken();
    expect(await provider.getAccessToken()).toBe(first);
    clock += 3_000_000; // 600 s left of 3600: still fine (10 % = 360 s)
    expect(await provider.getAccessToken()).toBe(first);
    clock += 300_000; // 300 s left: renew
    const second = await provider.getAccessToken();
    expect(second).not.toBe(first);

    expect(h.server.grants).toHaveLength(2);
    const grant = h.server.grants[0]!;
    expect(grant.grantType).toBe('client_credentials');
    expect(grant.basic).toEqual({ id: h.server.clientId, secret: h.server.clientSecret });
    expect(grant.form.get('scope')).toBe('core:*:*');
    expect(await provider.status()).toMatchObject({
      mode: 'client-credentials',
      state: 'valid',
      hasRefreshToken: false,
    });
  });

  it('Brightspace style: a private-key JWT signed with the configured key and kid', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    h = await authHarness({ assertionKey: publicKey, assertionKid: 'kid-1' });
    const provider = h.provider({
      mode: 'client-credentials',
      auth: {
        method: 'private_key_jwt',
        privateKey: await importPrivateKeyPem(privateKey.export({ format: 'pem', type: 'pkcs1' }).toString()),
        keyId: 'kid-1',
      },
    });
    await expect(provider.getAccessToken()).resolves.toMatch(/^at-/);
    const grant = h.server.grants[0]!;
    expect(grant.outcome).toBe('issued');
    expect(grant.basic).toBeUndefined();
    expect(grant.form.get('client_assertion_type')).toBe(
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    );
  });

  it('createTokenProvider() builds the private-key-JWT provider from the config', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    h = await authHarness({ assertionKey: publicKey, assertionKid: 'kid-2' });
    const tmp = await tempDir('certharvest-key');
    try {
      const keyFile = path.join(tmp.dir, 'key.pem');
      await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
      const config = loadConfig({
        needs: ['lms', 'secrets-key'],
        envFile: false,
        env: {
          LMS_URL: 'https://school.example.edu',
          AUTH_MODE: 'client-credentials',
          OAUTH_CLIENT_ID: h.server.clientId,
          OAUTH_TOKEN_URL: h.server.tokenUrl,
          OAUTH_PRIVATE_KEY_FILE: keyFile,
          OAUTH_KEY_ID: 'kid-2',
          SECRETS_KEY: randomBytes(32).toString('base64'),
        },
      });
      const provider = await createTokenProvider({
        config,
        redis: h.redis,
        logger: h.logger,
        keyPrefix: h.prefix,
      });
      await expect(provider.getAccessToken()).resolves.toMatch(/^at-/);
      expect(h.server.grants[0]?.form.get('scope')).toBe(BRIGHTSPACE_SCOPE);
      expect((await provider.status()).storeKey).toMatch(new RegExp(`^${h.prefix}:auth:[0-9a-f]{16}$`));

      // OAUTH_ASSERTION_AUD goes into the assertion's aud: this stub accepts only its token URL.
      const elsewhere = loadConfig({
        needs: ['lms', 'secrets-key'],
        envFile: false,
        env: {
          LMS_URL: 'https://school.example.edu',
          AUTH_MODE: 'client-credentials',
          OAUTH_CLIENT_ID: h.server.clientId,
          OAUTH_TOKEN_URL: h.server.tokenUrl,
          OAUTH_PRIVATE_KEY_FILE: keyFile,
          OAUTH_KEY_ID: 'kid-2',
          OAUTH_ASSERTION_AUD: 'https://auth.example/other-audience',
          SECRETS_KEY: randomBytes(32).toString('base64'),
        },
      });
      expect(elsewhere.lms.auth).toMatchObject({ assertionAudience: 'https://auth.example/other-audience' });
      const refused = await createTokenProvider({
        config: elsewhere,
        redis: h.redis,
        logger: h.logger,
        keyPrefix: `${h.prefix}-aud`,
      });
      await expect(refused.getAccessToken()).rejects.toThrow();
      expect(h.server.grants.at(-1)?.outcome).not.toBe('issued');

      await writeFile(keyFile, 'not a key');
      await expect(loadPrivateKey(keyFile)).rejects.toThrow(
        /OAUTH_PRIVATE_KEY_FILE.*expected a PEM private key/,
      );
    } finally {
      await tmp.cleanup();
    }
  });

  it('the config names every variable the token provider is missing', async () => {
    h = await authHarness();
    let error: unknown;
    try {
      loadConfig({
        envFile: false,
        env: { LMS_URL: 'https://school.example.edu' },
        needs: ['lms', 'secrets-key'],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual([
      'OAUTH_CLIENT_ID',
      'OAUTH_CLIENT_SECRET',
      'SECRETS_KEY',
    ]);
  });
});
