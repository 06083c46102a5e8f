import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthLockTimeoutError,
  ReauthRequiredError,
  RedisLock,
  TokenEndpointUnavailableError,
  TokenRequestRejectedError,
  TokenStore,
  TokenStoreError,
  type StoredToken,
} from '../../src/auth/index.ts';
import { Secret } from '../../src/config/index.ts';
import { startStub } from '../lms/stub-http.ts';
import { authHarness, dumpRedis, LMS_HOST, type AuthHarness } from './harness.ts';

/** A store whose next `failWrites` writes fail, as when Redis refuses writes for a moment. */
class FlakyStore extends TokenStore {
  failWrites = 0;
  override async write(record: StoredToken): Promise<void> {
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new TokenStoreError('token store: Redis write failed: simulated', true);
    }
    return super.write(record);
  }
}

describe('TokenProvider, refresh-token mode', () => {
  let h: AuthHarness;
  beforeEach(async () => {
    h = await authHarness();
  });
  afterEach(() => h.close());

  it('imports OAUTH_REFRESH_TOKEN once and stores the rotated pair before handing out the token', async () => {
    const first = h.server.mintRefreshToken();
    const provider = h.provider({ initial: first });

    const token = await provider.getAccessToken();

    const stored = await h.store().read();
    expect(stored?.accessToken).toBe(token);
    expect(stored?.refreshToken).toMatch(/^rt-/);
    expect(stored?.refreshToken).not.toBe(first);
    expect(h.server.grants.map((g) => [g.grantType, g.form.get('refresh_token'), g.outcome])).toEqual([
      ['refresh_token', first, 'issued'],
    ]);
    expect(h.server.grants[0]?.basic).toEqual({ id: h.server.clientId, secret: h.server.clientSecret });
    expect(h.server.grants[0]?.form.get('scope')).toBe('core:*:*');
    // Cached: no second request while the token is fresh.
    expect(await provider.getAccessToken()).toBe(token);
    expect(h.server.grants).toHaveLength(1);
  });

  it('a restart with the same, now consumed, env token uses the store and never replays it', async () => {
    const first = h.server.mintRefreshToken();
    const token = await h.provider({ initial: first }).getAccessToken();

    // A new process: same env value, which the server would now refuse.
    expect(await h.provider({ initial: first }).getAccessToken()).toBe(token);
    expect(h.server.grants).toHaveLength(1);

    // Later, once the access token is due: it refreshes with the stored, rotated token.
    const rotated = (await h.store().read())?.refreshToken;
    const later = h.provider({ initial: first, now: () => Date.now() + 2 * 3600_000 });
    const next = await later.getAccessToken();
    expect(next).not.toBe(token);
    expect(h.server.grants.map((g) => [g.form.get('refresh_token'), g.outcome])).toEqual([
      [first, 'issued'],
      [rotated, 'issued'],
    ]);
    expect((await h.store().read())?.refreshCount).toBe(2);
  });

  it('ten concurrent calls from two providers sharing Redis cause exactly one refresh', async () => {
    const first = h.server.mintRefreshToken();
    h.server.delayMs = 150;
    const a = h.provider({ initial: first });
    const b = h.provider({ initial: first });

    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).getAccessToken()),
    );

    expect(new Set(tokens).size).toBe(1);
    expect(h.server.count('refresh_token')).toBe(1);
    expect(h.server.count('refresh_token', 'refused')).toBe(0);

    // And again when the token is due: still one refresh for the lot.
    let clock = Date.now() + 2 * 3600_000;
    const c = h.provider({ now: () => clock });
    const d = h.provider({ now: () => clock });
    const renewed = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? c : d).getAccessToken()));
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(tokens[0]);
    expect(h.server.count('refresh_token')).toBe(2);
    clock += 1000;
    expect(await c.getAccessToken()).toBe(renewed[0]);
  });

  it('renews ahead of expiry: at the larger of 60 s and 10 % of the lifetime, at most half of it', async () => {
    let clock = 1_000_000;
    const provider = h.provider({ initial: h.server.mintRefreshToken(), now: () => clock });
    const first = await provider.getAccessToken(); // 3600-s token: margin 360 s
    clock += 3_000_000; // 600 s left
    expect(await provider.getAccessToken()).toBe(first);
    clock += 300_001; // just under 300 s left
    const second = await provider.getAccessToken();
    expect(second).not.toBe(first);

    h.server.accessTtlSec = 2; // a 2-s token: margin capped at 1 s, not 60 s
    clock += 10_000_000;
    const short = await provider.getAccessToken();
    clock += 900;
    expect(await provider.getAccessToken()).toBe(short);
    clock += 200;
    expect(await provider.getAccessToken()).not.toBe(short);
    expect(h.server.count('refresh_token')).toBe(4);
  });

  it('invalid_grant: a typed error that says to bootstrap, remembered so the endpoint is not hammered', async () => {
    const provider = h.provider({ initial: 'rt-never-issued' });

    const error = await provider.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect(error).toMatchObject({ code: 'AUTH_REAUTH_REQUIRED', retryable: false, reason: 'invalid_grant' });
    expect((error as Error).message).toContain('certharvest auth bootstrap');
    expect((error as Error).message).toContain('--refresh-token');
    expect((error as Error).message).not.toContain('rt-never-issued');

    await expect(provider.getAccessToken()).rejects.toBeInstanceOf(ReauthRequiredError);
    await expect(h.provider({ initial: 'rt-never-issued' }).getAccessToken()).rejects.toThrow(
      /auth bootstrap/,
    );
    expect(h.server.grants).toHaveLength(1);
    expect(await provider.status()).toMatchObject({ state: 'reauth-required', hasRefreshToken: false });

    // An admin sets a new OAUTH_REFRESH_TOKEN and restarts: it is imported.
    const fresh = h.server.mintRefreshToken();
    expect(await h.provider({ initial: fresh }).getAccessToken()).toMatch(/^at-/);
    expect((await provider.status()).state).toBe('valid');
  });

  it('a refused stored token after someone else rotated it is not fatal: the newer stored token is used', async () => {
    let clock = Date.now();
    const provider = h.provider({ initial: h.server.mintRefreshToken(), now: () => clock });
    await provider.getAccessToken();
    clock += 2 * 3600_000;
    h.server.beforeRefresh = async (sent) => {
      h.server.beforeRefresh = undefined;
      // Another process (whose lock expired under us) rotates meanwhile and stores its pair.
      h.server.revoke(sent);
      const record = await h.store().read();
      await h.store().write({ ...record!, refreshToken: h.server.mintRefreshToken(), expiresAt: 0 });
    };

    await expect(provider.getAccessToken()).resolves.toMatch(/^at-/);
    expect(h.server.count('refresh_token', 'refused')).toBe(1);
    expect(h.server.count('refresh_token')).toBe(2);
  });

  it('without any refresh token it asks for a bootstrap without calling the endpoint', async () => {
    const error = await h
      .provider()
      .getAccessToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect(error).toMatchObject({ reason: 'not-bootstrapped' });
    expect(h.server.grants).toHaveLength(0);
    expect((await h.provider().status()).state).toBe('not-bootstrapped');
  });

  it('5xx, network errors and timeouts are retryable and keep the stored token usable', async () => {
    const provider = h.provider({ initial: h.server.mintRefreshToken() });
    h.server.failNext = { count: 1, status: 503 };
    const error = await provider.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointUnavailableError);
    expect(error).toMatchObject({ retryable: true, status: 503, code: 'AUTH_TOKEN_ENDPOINT_UNAVAILABLE' });
    await expect(provider.getAccessToken()).resolves.toMatch(/^at-/);

    const dead = await startStub(() => undefined);
    await dead.close();
    const offline = h.provider({
      tokenUrl: `${dead.origin}/token`,
      now: () => Date.now() + 2 * 3600_000,
    });
    await expect(offline.getAccessToken()).rejects.toMatchObject({
      code: 'AUTH_TOKEN_ENDPOINT_UNAVAILABLE',
      retryable: true,
    });

    h.server.delayMs = 500;
    const slow = h.provider({ timeoutMs: 100, now: () => Date.now() + 2 * 3600_000 });
    await expect(slow.getAccessToken()).rejects.toThrow(/timed out/);
  });

  it('a wrong client secret is a non-retryable rejection naming the setting', async () => {
    const provider = h.provider({
      initial: h.server.mintRefreshToken(),
      auth: { method: 'client_secret_basic', clientSecret: new Secret('wrong') },
    });
    const error = await provider.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestRejectedError);
    expect(error).toMatchObject({ retryable: false, status: 401, oauthError: 'invalid_client' });
    expect((error as Error).message).toContain('OAUTH_CLIENT_SECRET');
  });

  it('invalidate() after a 401 forces a new token, but a stale 401 does not', async () => {
    const provider = h.provider({ initial: h.server.mintRefreshToken() });
    const a = await provider.getAccessToken();
    provider.invalidate(a);
    const b = await provider.getAccessToken();
    expect(b).not.toBe(a);
    provider.invalidate(a); // a late 401 for the old token
    expect(await provider.getAccessToken()).toBe(b);
    provider.invalidate();
    expect(await provider.getAccessToken()).not.toBe(b);
    expect(h.server.count('refresh_token')).toBe(3);
  });

  it('a waiter re-reads the store when the lock holder is done, and gives up after lockWaitMs', async () => {
    const first = h.server.mintRefreshToken();
    const seeded = await h.provider({ initial: first }).getAccessToken();
    const store = h.store();
    const lock = new RedisLock(h.redis, store.lockKey, { ttlMs: 10_000 });
    const holder = await lock.tryAcquire();

    const clock = { now: Date.now() + 2 * 3600_000 };
    const waiting = h.provider({ now: () => clock.now, lockWaitMs: 5_000 }).getAccessToken();
    await new Promise((r) => setTimeout(r, 150));
    // The "other process" finishes: stores a pair that is fresh at the waiter's clock, releases.
    const record = await store.read();
    await store.write({
      ...record!,
      accessToken: 'at-from-the-holder',
      obtainedAt: clock.now,
      expiresAt: clock.now + 3600_000,
    });
    await lock.release(holder!);
    expect(await waiting).toBe('at-from-the-holder');
    expect(h.server.count('refresh_token')).toBe(1);
    expect(seeded).not.toBe('at-from-the-holder');

    const stuck = await lock.tryAcquire();
    const impatient = h.provider({ now: () => Date.now() + 4 * 3600_000, lockWaitMs: 200 });
    const error = await impatient.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthLockTimeoutError);
    expect(error).toMatchObject({ retryable: true, code: 'AUTH_LOCK_TIMEOUT' });
    await lock.release(stuck!);
  });

  it('importRefreshToken() replaces a dead store; status() shows the state and never a secret', async () => {
    const provider = h.provider({ initial: 'rt-consumed' });
    await expect(provider.getAccessToken()).rejects.toBeInstanceOf(ReauthRequiredError);

    const manual = h.server.mintRefreshToken();
    const status = await provider.importRefreshToken(new Secret(manual));
    expect(status).toMatchObject({
      mode: 'refresh-token',
      state: 'valid',
      hasRefreshToken: true,
      scope: 'core:*:*',
    });
    expect(status.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    const token = await provider.getAccessToken();
    const stored = await h.store().read();
    const shown = JSON.stringify(await provider.status());
    for (const secret of [token, stored!.refreshToken!, manual, h.server.clientSecret]) {
      expect(shown).not.toContain(secret);
    }
    expect(h.server.count('refresh_token')).toBe(1);
  });

  it('a renewed pair Redis would not take is kept, the lock held, and saved before the next use', async () => {
    const store = new FlakyStore({
      redis: h.redis,
      box: h.box,
      host: LMS_HOST,
      clientId: h.server.clientId,
      keyPrefix: h.prefix,
    });
    const provider = h.provider({ initial: h.server.mintRefreshToken(), store });
    store.failWrites = 3;
    const error = await provider.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStoreError);
    expect(error).toMatchObject({ retryable: true });
    expect(await h.redis.get(store.lockKey)).not.toBeNull(); // nobody else may replay the consumed token

    const token = await provider.getAccessToken();
    expect(h.server.grants).toHaveLength(1); // the kept pair, not a second refresh
    expect((await store.read())?.accessToken).toBe(token);
    expect(await h.redis.get(store.lockKey)).toBeNull();
  });

  it('keeps nothing secret in plain text in Redis, and logs no token', async () => {
    const first = h.server.mintRefreshToken();
    const provider = h.provider({ initial: first });
    const token = await provider.getAccessToken();
    provider.invalidate(token);
    const second = await provider.getAccessToken();
    const rotated = (await h.store().read())!.refreshToken!;

    const dump = await dumpRedis(h.redis, h.prefix);
    expect(dump).toContain(`${h.prefix}:auth:`);
    const secrets = [first, token, second, rotated, h.server.clientSecret];
    for (const secret of secrets) {
      for (const form of [
        secret,
        Buffer.from(secret).toString('base64'),
        Buffer.from(secret).toString('base64url'),
      ]) {
        expect(dump).not.toContain(form);
      }
    }
    const logs = h.logLines.join('');
    expect(logs).toContain('access token refreshed');
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
