import { parse as parseDotenv } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { formatEnvBlock, startSandbox } from '@certharvest/sandbox';
import { accessToken, api } from './helpers.ts';

describe('sandbox lifecycle and knobs', () => {
  it('serves on a free loopback port and frees it on close', async () => {
    const sb = await startSandbox({ userCount: 2 });
    expect(sb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // A keep-alive connection must not hold close() up.
    expect((await fetch(`${sb.url}/d2l/api/versions/`, { keepalive: true })).status).toBe(200);
    await sb.close();
    await sb.close();
    await expect(fetch(`${sb.url}/d2l/api/versions/`)).rejects.toThrow();
  });

  it('prints the env block as KEY=value lines a .env parser reads back', async () => {
    const sb = await startSandbox({ userCount: 2 });
    try {
      const block = formatEnvBlock(sb.env);
      expect(
        block
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('=')[0]),
      ).toEqual([
        'LMS_URL',
        'OAUTH_TOKEN_URL',
        'OAUTH_AUTHORIZE_URL',
        'OAUTH_CLIENT_ID',
        'OAUTH_CLIENT_SECRET',
        'OAUTH_REFRESH_TOKEN',
        'OAUTH_SCOPE',
        'LMS_USERNAME',
        'LMS_PASSWORD',
      ]);
      expect(parseDotenv(block)).toEqual({ ...sb.env });
      expect(sb.env.LMS_URL).toBe(sb.url);
      expect(sb.env.LMS_USERNAME).toBe(sb.institution.serviceUser.UserName);
    } finally {
      await sb.close();
    }
  });

  it('validates knobs and options, changing nothing on a bad patch', async () => {
    await expect(startSandbox({ knobs: { errorRate: 2 } })).rejects.toThrow(
      /errorRate: expected a number from 0 to 1/,
    );
    await expect(startSandbox({ awardsPageSize: 0 })).rejects.toThrow(/awardsPageSize/);
    const sb = await startSandbox({ userCount: 2, knobs: { latencyMs: 5 } });
    try {
      expect(sb.knobs.latencyMs).toBe(5);
      expect(() => sb.setKnobs({ latencyMs: 0, accessTokenTtlSeconds: 0 })).toThrow(/accessTokenTtlSeconds/);
      expect(sb.knobs.latencyMs).toBe(5);
      sb.setKnobs({ latencyMs: 0 });
      expect(sb.knobs.latencyMs).toBe(0);
    } finally {
      await sb.close();
    }
  });

  it('adds latencyMs to responses, and close() does not wait for a delayed one', async () => {
    const sb = await startSandbox({ userCount: 2 });
    try {
      sb.setKnobs({ latencyMs: 300 });
      const started = Date.now();
      expect((await fetch(`${sb.url}/d2l/login`)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      sb.setKnobs({ latencyMs: 60_000 });
      const pending = fetch(`${sb.url}/d2l/login`).catch((err: unknown) => err);
      await new Promise((r) => setTimeout(r, 100));
      const closing = Date.now();
      await sb.close();
      expect(Date.now() - closing).toBeLessThan(10_000);
      expect(await pending).toBeInstanceOf(Error);
    } finally {
      await sb.close();
    }
  });

  it('counts what it served, and resetStats zeroes the same object', async () => {
    const sb = await startSandbox({ userCount: 2 });
    try {
      const stats = sb.stats;
      const token = await accessToken(sb);
      await api(sb, '/d2l/api/lp/1.53/users/whoami', token);
      await api(sb, '/d2l/api/lp/1.53/users/whoami');
      expect(stats.tokenGrants.refresh_token).toBe(1);
      expect(stats.valenceRequests).toBe(2);
      expect(stats.unauthorized401).toBe(1);
      expect(stats.routes['GET /d2l/api/lp/:version/users/whoami']).toBe(1);
      expect(stats.routes['POST /core/connect/token']).toBe(1);
      sb.resetStats();
      expect(sb.stats).toBe(stats);
      expect(stats.valenceRequests).toBe(0);
      expect(stats.routes).toEqual({});
    } finally {
      await sb.close();
    }
  });
});
