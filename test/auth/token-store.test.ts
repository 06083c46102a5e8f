import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SealedBox,
  TokenEndpoint,
  TokenStore,
  TokenStoreError,
  type StoredToken,
} from '../../src/auth/index.ts';
import { Secret } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { authHarness, dumpRedis, LMS_HOST, type AuthHarness } from './harness.ts';

const record: StoredToken = {
  v: 1,
  mode: 'refresh-token',
  accessToken: 'at-plain-access-token',
  refreshToken: 'rt-plain-refresh-token',
  expiresAt: 2_000_000,
  scope: 'core:*:*',
  obtainedAt: 1_000_000,
  refreshCount: 3,
};

describe('TokenStore', () => {
  let h: AuthHarness;
  beforeEach(async () => {
    h = await authHarness();
  });
  afterEach(() => h.close());

  it('round-trips a record, sealed under a hashed per host+client key', async () => {
    const store = h.store();
    expect(await store.read()).toBeUndefined();
    await store.write(record);
    expect(await store.read()).toEqual(record);
    expect(store.key).toMatch(new RegExp(`^${h.prefix}:auth:[0-9a-f]{16}$`));
    expect(store.lockKey).toBe(`${store.key}:lock`);
    const dump = await dumpRedis(h.redis, h.prefix);
    expect(dump).not.toContain('plain');
    expect(dump).not.toContain(LMS_HOST);
    await store.clear();
    expect(await store.read()).toBeUndefined();
  });

  it('keeps hosts and clients apart, and a value moved to another key does not open', async () => {
    const a = h.store();
    const b = new TokenStore({
      redis: h.redis,
      box: h.box,
      host: 'other.example.edu',
      clientId: h.server.clientId,
      keyPrefix: h.prefix,
    });
    expect(b.key).not.toBe(a.key);
    await a.write(record);
    await h.redis.set(b.key, (await h.redis.get(a.key))!);
    await expect(b.read()).rejects.toMatchObject({ code: 'AUTH_STORE_UNREADABLE', retryable: false });
  });

  it('a changed SECRETS_KEY gives a clear, non-retryable error', async () => {
    await h.store().write(record);
    const error = await h
      .store(new SealedBox(randomBytes(32)))
      .read()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreError);
    expect((error as Error).message).toMatch(/another SECRETS_KEY.*auth bootstrap/);
  });
});

describe('TokenEndpoint', () => {
  const base = {
    clientId: 'c',
    auth: { method: 'client_secret_basic' as const, clientSecret: new Secret('s') },
  };

  it('allows http only on loopback', () => {
    expect(() => new TokenEndpoint({ ...base, tokenUrl: 'http://auth.example.com/token' })).toThrow(
      ConfigError,
    );
    expect(() => new TokenEndpoint({ ...base, tokenUrl: 'http://auth.example.com/token' })).toThrow(
      /OAUTH_TOKEN_URL: expected an https:\/\/ URL; http:\/\/ is allowed only for 127.0.0.1/,
    );
    for (const ok of [
      'https://auth.brightspace.com/core/connect/token',
      'http://127.0.0.1:9/t',
      'http://localhost:9/t',
      'http://[::1]:9/t',
    ]) {
      expect(new TokenEndpoint({ ...base, tokenUrl: ok }).url).toBe(new URL(ok).href);
    }
  });
});
