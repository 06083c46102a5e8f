import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwardType, startSandbox, type Sandbox } from '@certharvest/sandbox';
import { api, refresh, renderPath, someCertificate, webGet, webLogin } from './helpers.ts';

const isPdf = (res: Response) => res.status === 200 && res.headers.get('content-type') === 'application/pdf';

describe('sandbox render throttling', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 6 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('validates the new knobs', () => {
    for (const [patch, message] of [
      [{ renderThrottleRate: 1.5 }, /renderThrottleRate: expected a number from 0 to 1/],
      [{ renderThrottleStatus: 500 }, /renderThrottleStatus: expected 429 or 503/],
      [{ renderThrottleFirst: -1 }, /renderThrottleFirst: expected a whole number/],
      [{ retryAfterSeconds: 3601 }, /retryAfterSeconds: expected a whole number from 0 to 3600/],
      [{ retryAfterSeconds: 1.5 }, /retryAfterSeconds: /],
      [{ unreachable: 'yes' }, /unreachable: expected true or false/],
    ] as const) {
      expect(() => sb.setKnobs(patch as never)).toThrow(message);
    }
    expect(sb.knobs).toMatchObject({
      renderThrottleRate: 0,
      renderThrottleFirst: 0,
      renderThrottleStatus: 429,
      retryAfterSeconds: 1,
      unreachable: false,
    });
  });

  it('renderThrottleFirst: throttles every certificate exactly N times, then serves it', async () => {
    const { jar } = await webLogin(sb);
    const certs = sb.institution.certificates().slice(0, 4);
    const before = sb.stats.renderThrottled;
    sb.setKnobs({ renderThrottleFirst: 1 });
    try {
      for (const cert of certs) {
        // A request without a session gets the login page and does not use up the throttle.
        expect((await webGet(sb, renderPath(cert))).headers.get('content-type')).toMatch(/^text\/html/);
        const first = await webGet(sb, renderPath(cert), jar);
        expect(first.status).toBe(429);
        expect(first.headers.get('retry-after')).toBe('1');
        expect(first.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await first.text()).toContain('429 Too Many Requests');
        const second = await webGet(sb, renderPath(cert), jar);
        expect(isPdf(second)).toBe(true);
        expect(Buffer.from(await second.arrayBuffer()).equals(await sb.certificatePdf(cert.IssuedId))).toBe(
          true,
        );
      }
      expect(sb.stats.renderThrottled).toBe(before + certs.length);
      // Setting the knob again re-arms it, even for certificates already served.
      sb.setKnobs({ renderThrottleFirst: 1 });
      expect((await webGet(sb, renderPath(certs[0]!), jar)).status).toBe(429);
    } finally {
      sb.setKnobs({ renderThrottleFirst: 0 });
    }
  });

  it('renderThrottleRate with renderThrottleStatus and retryAfterSeconds', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    sb.setKnobs({ renderThrottleRate: 1, renderThrottleStatus: 503, retryAfterSeconds: 7 });
    try {
      const res = await webGet(sb, renderPath(cert), jar);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.text()).toContain('503 Service Unavailable');
      // Only requests that would get the PDF are throttled: a badge is still 404.
      const badge = sb.institution.issued.find((a) => a.Award.AwardType === AwardType.Badge)!;
      expect((await webGet(sb, renderPath(badge), jar)).status).toBe(404);

      sb.setKnobs({ renderThrottleRate: 0.5, renderThrottleStatus: 429 });
      let throttled = 0;
      for (let i = 0; i < 60; i++) {
        const answer = await webGet(sb, renderPath(cert), jar);
        if (answer.status === 429) throttled++;
        else expect(isPdf(answer)).toBe(true);
        await answer.arrayBuffer();
      }
      expect(throttled).toBeGreaterThan(12);
      expect(throttled).toBeLessThan(48);
    } finally {
      sb.setKnobs({ renderThrottleRate: 0, renderThrottleStatus: 429, retryAfterSeconds: 1 });
    }
  });
});

/** Send one raw HTTP request; resolves with every byte received before the server closed. */
function rawRequest(url: string, path: string): Promise<{ bytes: number; error?: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let bytes = 0;
    const socket = connect(Number(port), hostname, () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`),
    );
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ bytes, error: err.code ?? err.message }));
    socket.on('close', () => resolve({ bytes }));
  });
}

describe('sandbox unreachable', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 4 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('drops every request without a response while on, and serves again on the same port when off', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const refreshToken = await sb.issueRefreshToken();
    // A keep-alive connection opened while the LMS was up is cut too.
    expect((await fetch(`${sb.url}/d2l/api/versions/`, { keepalive: true })).status).toBe(200);
    const before = sb.stats.unreachableRequests;

    sb.setKnobs({ unreachable: true });
    try {
      await expect(fetch(`${sb.url}/d2l/api/versions/`)).rejects.toThrow(TypeError);
      await expect(refresh(sb, refreshToken)).rejects.toThrow(TypeError);
      await expect(webGet(sb, renderPath(cert), jar)).rejects.toThrow(TypeError);
      await expect(webGet(sb, '/d2l/login')).rejects.toThrow(TypeError);
      expect(await rawRequest(sb.url, '/d2l/home')).toMatchObject({ bytes: 0 });
      expect(sb.stats.unreachableRequests).toBe(before + 5);
    } finally {
      sb.setKnobs({ unreachable: false });
    }

    const url = sb.url;
    expect((await fetch(`${url}/d2l/api/versions/`)).status).toBe(200);
    expect((await refresh(sb, refreshToken)).status).toBe(200);
    expect(isPdf(await webGet(sb, renderPath(cert), jar))).toBe(true);
  });
});

describe('sandbox revokeRefreshTokens', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 4 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('revokes every refresh token issued so far; new ones work; access tokens live on unless asked', async () => {
    const used = await sb.issueRefreshToken();
    const unused = await sb.issueRefreshToken();
    const rotated = await refresh(sb, used);
    expect(rotated.status).toBe(200);
    const access = rotated.body.access_token as string;

    // The env block's token, the unused one, and the newest of the rotated chain; `used` was
    // already dead and is not counted.
    expect(await sb.revokeRefreshTokens()).toBe(3);
    expect(sb.stats.refreshTokensRevoked).toBe(3);
    for (const token of [sb.env.OAUTH_REFRESH_TOKEN, unused, rotated.body.refresh_token as string, used]) {
      const answer = await refresh(sb, token);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_grant');
    }
    expect((await api(sb, '/d2l/api/lp/1.53/users/whoami', access)).status).toBe(200);

    const fresh = await refresh(sb, await sb.issueRefreshToken());
    expect(fresh.status).toBe(200);
    expect((await api(sb, '/d2l/api/lp/1.53/users/whoami', fresh.body.access_token as string)).status).toBe(
      200,
    );

    expect(await sb.revokeRefreshTokens({ accessTokens: true })).toBe(1);
    expect((await refresh(sb, fresh.body.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await api(sb, '/d2l/api/lp/1.53/users/whoami', access)).status).toBe(401);
    expect((await api(sb, '/d2l/api/lp/1.53/users/whoami', fresh.body.access_token as string)).status).toBe(
      401,
    );
    expect(await sb.revokeRefreshTokens()).toBe(0);
    expect(sb.stats.refreshTokensRevoked).toBe(4);
  });
});
