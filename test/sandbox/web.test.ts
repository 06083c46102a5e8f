import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwardType, startSandbox, type Sandbox } from '@certharvest/sandbox';
import {
  accessToken,
  api,
  CookieJar,
  renderPath,
  sleep,
  someCertificate,
  webGet,
  webLogin,
} from './helpers.ts';

const isLoginPage = async (res: Response) =>
  res.status === 200 &&
  /^text\/html/.test(res.headers.get('content-type') ?? '') &&
  (await res.text()).includes('action="/d2l/lp/auth/login/login.d2l"');

describe('sandbox web UI', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 12 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('shows the D2L login form with its hidden fields', async () => {
    const html = await (await webGet(sb, '/d2l/login?target=%2Fd2l%2Fhome')).text();
    expect(html).toContain('<form method="post" action="/d2l/lp/auth/login/login.d2l"');
    for (const field of [
      'name="userName"',
      'name="password"',
      'name="d2l_referrer" value=""',
      'name="noredirect" value="1"',
      'name="loginPath" value="/d2l/lp/auth/login/login.d2l"',
      'name="target" value="/d2l/home"',
    ]) {
      expect(html).toContain(field);
    }
  });

  it('logs in: 302 to /d2l/home with both HttpOnly session cookies (not Secure on http)', async () => {
    const before = sb.stats.webLogins;
    const { res, jar } = await webLogin(sb);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/d2l/home');
    const setCookies = res.headers.getSetCookie();
    for (const name of ['d2lSessionVal', 'd2lSecureSessionVal']) {
      const line = setCookies.find((c) => c.startsWith(`${name}=`));
      expect(line, name).toBeDefined();
      expect(line).toMatch(/; Path=\//);
      expect(line).toMatch(/; HttpOnly/);
      expect(line).not.toMatch(/; Secure/);
    }
    expect(sb.stats.webLogins).toBe(before + 1);
    const home = await webGet(sb, '/d2l/home', jar);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Welcome, Certharvest Service.');
  });

  it('sends a wrong password to loginFailed.d2l, which shows the error', async () => {
    const before = sb.stats.failedLogins;
    const { res, jar } = await webLogin(sb, { password: 'wrong' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/d2l/lp/auth/login/loginFailed.d2l');
    expect(jar.cookies.has('d2lSessionVal')).toBe(false);
    const page = await webGet(sb, res.headers.get('location')!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Invalid Username or Password');
    expect(sb.stats.failedLogins).toBe(before + 1);
  });

  it('redirects /d2l/home to the login page without a session, and honours a same-site target', async () => {
    const home = await webGet(sb, '/d2l/home');
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toBe('/d2l/login?target=%2Fd2l%2Fhome');
    const { res } = await webLogin(sb, { target: '/d2l/home?x=1' });
    expect(res.headers.get('location')).toBe('/d2l/home?x=1');
    const { res: offsite } = await webLogin(sb, { target: '//evil.example/' });
    expect(offsite.headers.get('location')).toBe('/d2l/home');
  });

  it('renders a certificate with a session: exactly certificatePdf() bytes, application/pdf', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const res = await webGet(sb, renderPath(cert), jar);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toMatch(/^inline; filename="Certificate-\d+\.pdf"$/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(body.equals(Buffer.from(await sb.certificatePdf(cert.IssuedId)))).toBe(true);
  });

  it('answers the render URL with 200 text/html, the login page, without a valid session', async () => {
    const cert = someCertificate(sb);
    const before = sb.stats.renderLoginPage;
    expect(await isLoginPage(await webGet(sb, renderPath(cert)))).toBe(true);
    // Only one of the two cookies is not a session either.
    const { jar } = await webLogin(sb);
    const half = new CookieJar();
    half.cookies.set('d2lSessionVal', jar.cookies.get('d2lSessionVal')!);
    expect(await isLoginPage(await webGet(sb, renderPath(cert), half))).toBe(true);
    expect(sb.stats.renderLoginPage).toBe(before + 2);
  });

  it('answers 404 for an unknown org unit / IssuedId pair and for badges', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const badge = sb.institution.issued.find((a) => a.Award.AwardType === AwardType.Badge)!;
    for (const path of [
      renderPath({ OrgUnitId: cert.OrgUnitId + 1, IssuedId: cert.IssuedId }),
      renderPath({ OrgUnitId: cert.OrgUnitId, IssuedId: 1 }),
      renderPath(badge),
    ]) {
      const res = await webGet(sb, path, jar);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
  });

  it('ends a session after sessionIdleSeconds idle; extend keeps it alive', async () => {
    sb.setKnobs({ sessionIdleSeconds: 2 });
    try {
      const cert = someCertificate(sb);
      const kept = (await webLogin(sb)).jar;
      const idle = (await webLogin(sb)).jar;
      // `kept` is extended every ~0.5 s (well inside 2 s, even on a busy machine); `idle` waits 2.5 s.
      for (let i = 0; i < 5; i++) {
        await sleep(500);
        const extend = await fetch(`${sb.url}/d2l/lp/auth/session/extend`, {
          method: 'POST',
          headers: { cookie: kept.header() },
        });
        expect(extend.status).toBe(200);
      }
      const before = sb.stats.sessionsExpired.idle;
      expect(await isLoginPage(await webGet(sb, renderPath(cert), idle))).toBe(true);
      expect(sb.stats.sessionsExpired.idle).toBe(before + 1);
      const alive = await webGet(sb, renderPath(cert), kept);
      expect(alive.headers.get('content-type')).toBe('application/pdf');
      await alive.arrayBuffer();
      expect((await webGet(sb, '/d2l/lp/auth/session/extend', idle)).status).toBe(401);
    } finally {
      sb.setKnobs({ sessionIdleSeconds: 1800 });
    }
  });

  it('ends a session after sessionMaxRequests authenticated requests', async () => {
    sb.setKnobs({ sessionMaxRequests: 3 });
    try {
      const cert = someCertificate(sb);
      const { jar } = await webLogin(sb);
      for (let i = 0; i < 3; i++) {
        const res = await webGet(sb, renderPath(cert), jar);
        expect(res.headers.get('content-type'), `request ${i + 1}`).toBe('application/pdf');
        await res.arrayBuffer();
      }
      expect(await isLoginPage(await webGet(sb, renderPath(cert), jar))).toBe(true);
      expect(sb.stats.sessionsExpired.maxRequests).toBeGreaterThan(0);
      // A new login gives a new session with a fresh count.
      const again = (await webLogin(sb)).jar;
      expect((await webGet(sb, renderPath(cert), again)).headers.get('content-type')).toBe('application/pdf');
    } finally {
      sb.setKnobs({ sessionMaxRequests: 0 });
    }
  });

  it('injects 5xx on the render URL with errorRate', async () => {
    const { jar } = await webLogin(sb);
    sb.setKnobs({ errorRate: 1 });
    try {
      const res = await webGet(sb, renderPath(someCertificate(sb)), jar);
      expect([500, 502, 503]).toContain(res.status);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    } finally {
      sb.setKnobs({ errorRate: 0 });
    }
  });

  it('logs out', async () => {
    const { jar } = await webLogin(sb);
    expect((await webGet(sb, '/d2l/logout', jar)).status).toBe(302);
    expect(await isLoginPage(await webGet(sb, renderPath(someCertificate(sb)), jar))).toBe(true);
  });
});

describe('sandbox PDF truncation', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 6, knobs: { pdfApi: true } });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('content-length style: announces the whole PDF, sends half, drops the connection', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const whole = await sb.certificatePdf(cert.IssuedId);
    sb.setKnobs({ truncateRate: 1, truncateStyle: 'content-length' });
    try {
      const res = await webGet(sb, renderPath(cert), jar);
      expect(res.status).toBe(200);
      expect(Number(res.headers.get('content-length'))).toBe(whole.length);
      await expect(res.arrayBuffer()).rejects.toThrow();
      const token = await accessToken(sb);
      const viaApi = await api(sb, `/d2l/api/bas/1.4/issued/certificates/${cert.IssuedId}/pdf`, token);
      await expect(viaApi.arrayBuffer()).rejects.toThrow();
      expect(sb.stats.truncated).toBe(2);
    } finally {
      sb.setKnobs({ truncateRate: 0 });
    }
  });

  it('connection-close style: no Content-Length, a clean end after half the PDF', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const whole = Buffer.from(await sb.certificatePdf(cert.IssuedId));
    sb.setKnobs({ truncateRate: 1, truncateStyle: 'connection-close' });
    try {
      const res = await webGet(sb, renderPath(cert), jar);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBeNull();
      expect(res.headers.get('transfer-encoding')).toBeNull();
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(Math.floor(whole.length / 2));
      expect(whole.subarray(0, body.length).equals(body)).toBe(true);
      expect(body.toString('latin1')).not.toContain('%%EOF');
    } finally {
      sb.setKnobs({ truncateRate: 0 });
    }
    const res = await webGet(sb, renderPath(cert), jar);
    expect(Buffer.from(await res.arrayBuffer()).equals(whole)).toBe(true);
  });

  it('truncates about truncateRate of the responses', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const size = (await sb.certificatePdf(cert.IssuedId)).length;
    sb.setKnobs({ truncateRate: 0.5, truncateStyle: 'connection-close' });
    try {
      let short = 0;
      for (let i = 0; i < 60; i++) {
        const body = await (await webGet(sb, renderPath(cert), jar)).arrayBuffer();
        if (body.byteLength < size) short++;
      }
      expect(short).toBeGreaterThan(12);
      expect(short).toBeLessThan(48);
    } finally {
      sb.setKnobs({ truncateRate: 0 });
    }
  });
});
