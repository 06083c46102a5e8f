import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxKnobs } from '@certharvest/sandbox';
import { sleepUntil } from '../helpers/index.ts';
import { CookieJar, renderPath, sleep, someCertificate, webGet, webLogin, webPost } from './helpers.ts';

const TWO_FACTOR = '/d2l/lp/auth/twofactorauthentication/TwoFactorCodeEntry.d2l';
const PROCESS_LOGIN = '/d2l/lp/auth/login/ProcessLoginActions.d2l';
const TERMS = '/d2l/lp/auth/terms/accept.d2l';
const STEP_MS = 30_000;

/** The TOTP code `steps` 30-second steps from now. */
const totpCode = (secret: string, steps = 0) =>
  authenticator.clone({ epoch: Date.now() + steps * STEP_MS }).generate(secret);

/** Keep clear of a step boundary, so a code made now is checked in the same step. */
async function awayFromStepEdge(): Promise<void> {
  const into = Date.now() % STEP_MS;
  if (into > STEP_MS - 1500) await sleep(STEP_MS - into + 50);
}

/** A six-digit code no step within ±3 of now accepts. */
function wrongCode(secret: string): string {
  const valid = new Set([-3, -2, -1, 0, 1, 2, 3].map((s) => totpCode(secret, s)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

const isPdf = (res: Response) => res.status === 200 && res.headers.get('content-type') === 'application/pdf';
const isHtml = (res: Response) => /^text\/html/.test(res.headers.get('content-type') ?? '');

describe('sandbox real-tenant behaviours', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 6 });
  });
  afterAll(async () => {
    await sb.close();
  });

  /** Run `body` with knobs set, then put back the values they had. */
  async function withKnobs(patch: Partial<SandboxKnobs>, body: () => Promise<void>): Promise<void> {
    const before = Object.fromEntries(
      Object.keys(patch).map((k) => [k, sb.knobs[k as keyof SandboxKnobs]]),
    ) as Partial<SandboxKnobs>;
    sb.setKnobs(patch);
    try {
      await body();
    } finally {
      sb.setKnobs(before);
    }
  }

  it('validates the new knobs and defaults to the old behaviour', () => {
    expect(sb.knobs).toMatchObject({
      twoFactor: false,
      ssoRedirect: false,
      termsInterstitial: false,
      expiryStyle: 'login-page',
      pdfContentType: 'application/pdf',
      forbiddenIssuedIds: [],
      hugeBodyIssuedIds: [],
      hugeBodyBytes: 536_870_912,
      offHostRedirectIssuedIds: [],
    });
    for (const [patch, message] of [
      [{ twoFactor: 'yes' }, /twoFactor: expected true or false/],
      [{ ssoRedirect: 1 }, /ssoRedirect: expected true or false/],
      [{ termsInterstitial: null }, /termsInterstitial: expected true or false/],
      [{ expiryStyle: '404' }, /expiryStyle: expected login-page or redirect or forbidden or unauthorized/],
      [{ pdfContentType: 'text/html' }, /pdfContentType: expected application\/pdf or application\/octet/],
      [{ forbiddenIssuedIds: [1.5] }, /forbiddenIssuedIds: expected an array of whole numbers/],
      [{ hugeBodyIssuedIds: '10001' }, /hugeBodyIssuedIds: expected an array/],
      [{ offHostRedirectIssuedIds: [-1] }, /offHostRedirectIssuedIds: expected an array/],
      [{ hugeBodyBytes: -1 }, /hugeBodyBytes: expected a whole number from 0 up/],
    ] as const) {
      expect(() => sb.setKnobs(patch as never)).toThrow(message);
    }
    // A list handed in is copied: changing it afterwards changes nothing.
    const ids = [1, 2];
    sb.setKnobs({ forbiddenIssuedIds: ids });
    ids.push(3);
    expect(sb.knobs.forbiddenIssuedIds).toEqual([1, 2]);
    sb.setKnobs({ forbiddenIssuedIds: [] });
  });

  it('twoFactor: password → code entry → ProcessLoginActions → session; a wrong code is refused', async () => {
    expect(sb.env.LMS_TOTP_SECRET).toBeUndefined();
    await withKnobs({ twoFactor: true }, async () => {
      expect(sb.env.LMS_TOTP_SECRET).toBe(sb.totpSecret);
      expect(sb.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
      const before = { ...sb.stats };
      const { res, jar } = await webLogin(sb, { target: '/d2l/home?x=1' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(TWO_FACTOR);
      expect(jar.cookies.has('d2lSessionVal')).toBe(false);
      expect((await webGet(sb, '/d2l/home', jar)).status).toBe(302);
      expect(isPdf(await webGet(sb, renderPath(someCertificate(sb)), jar))).toBe(false);

      const page = await webGet(sb, TWO_FACTOR, jar);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(`<form method="post" action="${TWO_FACTOR}"`);
      expect(html).toMatch(
        /<input type="text" id="twoFactorCode" name="twoFactorCode" autocomplete="one-time-code"/,
      );
      expect(html).toContain('<button type="submit"');

      const wrong = await webPost(sb, TWO_FACTOR, { twoFactorCode: wrongCode(sb.totpSecret) }, jar);
      expect(wrong.status).toBe(200);
      expect(await wrong.text()).toMatch(/class="error"[^>]*>The code is not valid/);
      expect(sb.stats.twoFactorFailures).toBe(before.twoFactorFailures + 1);
      // Skipping the code does not get a session either.
      expect((await webGet(sb, PROCESS_LOGIN, jar)).headers.get('location')).toBe(TWO_FACTOR);

      await awayFromStepEdge();
      const right = await webPost(sb, TWO_FACTOR, { twoFactorCode: totpCode(sb.totpSecret) }, jar);
      expect(right.status).toBe(302);
      expect(right.headers.get('location')).toBe(PROCESS_LOGIN);
      const done = await webGet(sb, PROCESS_LOGIN, jar);
      expect(done.status).toBe(302);
      expect(done.headers.get('location')).toBe('/d2l/home?x=1');
      expect(jar.cookies.has('d2lSessionVal')).toBe(true);
      expect(jar.cookies.has('d2lSecureSessionVal')).toBe(true);
      expect(jar.cookies.has('d2lPendingLogin')).toBe(false);
      expect((await webGet(sb, '/d2l/home', jar)).status).toBe(200);
      const pdf = await webGet(sb, renderPath(someCertificate(sb)), jar);
      expect(isPdf(pdf)).toBe(true);
      await pdf.arrayBuffer();
      expect(sb.stats.twoFactorPrompts).toBe(before.twoFactorPrompts + 1);
      expect(sb.stats.webLogins).toBe(before.webLogins + 1);
    });
  });

  it('twoFactor: accepts the code of the previous and the next step, not two steps off', async () => {
    await withKnobs({ twoFactor: true }, async () => {
      await awayFromStepEdge();
      for (const [steps, ok] of [
        [-1, true],
        [1, true],
        [-2, false],
      ] as const) {
        const { jar } = await webLogin(sb);
        const code = totpCode(sb.totpSecret, steps);
        // A code two steps off may equal a valid one by chance (1 in 10^6 per step).
        if (!ok && [-1, 0, 1].some((s) => totpCode(sb.totpSecret, s) === code)) continue;
        const res = await webPost(sb, TWO_FACTOR, { twoFactorCode: code }, jar);
        expect(res.status, `step ${steps}`).toBe(ok ? 302 : 200);
      }
      // Without a pending login the code page sends the client back to the login.
      expect((await webGet(sb, TWO_FACTOR)).headers.get('location')).toBe('/d2l/login');
    });
  });

  it('ssoRedirect: /d2l/login goes to the IdP page; ?noredirect=1 still shows the local form', async () => {
    await withKnobs({ ssoRedirect: true }, async () => {
      const res = await webGet(sb, '/d2l/login');
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/sso/idp/login');
      const withTarget = await webGet(sb, '/d2l/login?target=%2Fd2l%2Fhome');
      expect(withTarget.headers.get('location')).toBe('/sso/idp/login?RelayState=%2Fd2l%2Fhome');
      const idp = await webGet(sb, '/sso/idp/login');
      expect(idp.status).toBe(200);
      expect(isHtml(idp)).toBe(true);
      const idpHtml = await idp.text();
      expect(idpHtml).toContain('<form');
      expect(idpHtml).not.toContain('name="userName"');
      expect(idpHtml).not.toContain('/d2l/lp/auth/login/login.d2l');
      const local = await webGet(sb, '/d2l/login?noredirect=1&target=%2Fd2l%2Fhome');
      expect(local.status).toBe(200);
      const html = await local.text();
      expect(html).toContain('action="/d2l/lp/auth/login/login.d2l"');
      expect(html).toContain('name="target" value="/d2l/home"');
      expect((await webLogin(sb)).res.headers.get('location')).toBe('/d2l/home');
    });
    expect((await webGet(sb, '/d2l/login')).status).toBe(200);
  });

  it('termsInterstitial: the session works only after "I accept", with 2FA too', async () => {
    await withKnobs({ termsInterstitial: true, twoFactor: true }, async () => {
      const before = sb.stats.termsShown;
      const { jar } = await webLogin(sb, { target: '/d2l/home?y=2' });
      await awayFromStepEdge();
      await webPost(sb, TWO_FACTOR, { twoFactorCode: totpCode(sb.totpSecret) }, jar);
      const processed = await webGet(sb, PROCESS_LOGIN, jar);
      expect(processed.headers.get('location')).toBe(TERMS);
      expect(jar.cookies.has('d2lSessionVal')).toBe(true);
      expect(sb.stats.termsShown).toBe(before + 1);

      // Cookies set, but nothing works yet.
      expect((await webGet(sb, '/d2l/home', jar)).headers.get('location')).toBe(TERMS);
      expect(isPdf(await webGet(sb, renderPath(someCertificate(sb)), jar))).toBe(false);
      expect((await webPost(sb, '/d2l/lp/auth/session/extend', {}, jar)).status).toBe(401);

      const page = await webGet(sb, TERMS, jar);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(`<form method="post" action="${TERMS}"`);
      expect(html).toMatch(/<button type="submit"[^>]*>I accept<\/button>/);
      const accepted = await webPost(sb, TERMS, { accept: '1' }, jar);
      expect(accepted.status).toBe(302);
      expect(accepted.headers.get('location')).toBe('/d2l/home?y=2');
      expect((await webGet(sb, '/d2l/home', jar)).status).toBe(200);
      expect(isPdf(await webGet(sb, renderPath(someCertificate(sb)), jar))).toBe(true);
    });
    await withKnobs({ termsInterstitial: true }, async () => {
      const { res } = await webLogin(sb);
      expect(res.headers.get('location')).toBe(TERMS);
    });
  });

  it('expiryStyle: how the render URL answers without a session; /d2l/home always redirects', async () => {
    const path = renderPath(someCertificate(sb));
    const before = sb.stats.renderLoginPage;
    const expired = new CookieJar();
    expired.cookies.set('d2lSessionVal', 'gone');
    expired.cookies.set('d2lSecureSessionVal', 'gone');
    for (const style of ['login-page', 'redirect', 'forbidden', 'unauthorized'] as const) {
      await withKnobs({ expiryStyle: style }, async () => {
        const res = await webGet(sb, path, expired);
        const body = await res.text();
        if (style === 'login-page') {
          expect(res.status).toBe(200);
          expect(body).toContain('action="/d2l/lp/auth/login/login.d2l"');
        } else if (style === 'redirect') {
          expect(res.status).toBe(302);
          expect(res.headers.get('location')).toBe(
            `/d2l/login?sessionExpired=1&target=${encodeURIComponent(path)}`,
          );
        } else {
          expect(res.status).toBe(style === 'forbidden' ? 403 : 401);
          expect(isHtml(res)).toBe(true);
          expect(body).toContain('<html');
          expect(body).not.toContain('name="password"');
        }
        const home = await webGet(sb, '/d2l/home', expired);
        expect(home.status, style).toBe(302);
        expect(home.headers.get('location')).toBe('/d2l/login?target=%2Fd2l%2Fhome');
      });
    }
    expect(sb.stats.renderLoginPage).toBe(before + 4);
  });

  it('pdfContentType: application/pdf, application/octet-stream or no Content-Type at all', async () => {
    const { jar } = await webLogin(sb);
    const cert = someCertificate(sb);
    const whole = Buffer.from(await sb.certificatePdf(cert.IssuedId));
    for (const [type, header] of [
      ['application/octet-stream', 'application/octet-stream'],
      ['none', null],
      ['application/pdf', 'application/pdf'],
    ] as const) {
      await withKnobs({ pdfContentType: type }, async () => {
        const res = await webGet(sb, renderPath(cert), jar);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type'), type).toBe(header);
        expect(Buffer.from(await res.arrayBuffer()).equals(whole)).toBe(true);
      });
    }
  });

  it('keep-alive: GET and POST extend a live session (200) and reset its idle clock; 401 without', async () => {
    await withKnobs({ sessionIdleSeconds: 2 }, async () => {
      const { jar } = await webLogin(sb);
      const before = sb.stats.sessionExtends;
      for (let i = 0; i < 4; i++) {
        await sleep(700);
        const res =
          i % 2 === 0
            ? await webGet(sb, '/d2l/lp/auth/session/extend', jar)
            : await webPost(sb, '/d2l/lp/auth/session/extend', {}, jar);
        expect(res.status, `extend ${i}`).toBe(200);
      }
      // 2.8 s after the login, alive thanks to the extends.
      expect((await webGet(sb, '/d2l/home', jar)).status).toBe(200);
      expect(sb.stats.sessionExtends).toBe(before + 4);
      expect((await webGet(sb, '/d2l/lp/auth/session/extend')).status).toBe(401);
      expect((await webPost(sb, '/d2l/lp/auth/session/extend', {})).status).toBe(401);
      expect(sb.stats.sessionExtends).toBe(before + 4);
    });
  });

  it('forbiddenIssuedIds: 403 text/html even with a live session, while /d2l/home answers 200', async () => {
    const [refused, served] = sb.institution.certificates();
    const { jar } = await webLogin(sb);
    await withKnobs({ forbiddenIssuedIds: [refused!.IssuedId] }, async () => {
      const before = sb.stats.renderForbidden;
      const res = await webGet(sb, renderPath(refused!), jar);
      expect(res.status).toBe(403);
      expect(isHtml(res)).toBe(true);
      expect(await res.text()).toContain('You do not have permission');
      expect((await webGet(sb, '/d2l/home', jar)).status).toBe(200);
      const other = await webGet(sb, renderPath(served!), jar);
      expect(isPdf(other)).toBe(true);
      await other.arrayBuffer();
      expect(sb.stats.renderForbidden).toBe(before + 1);
    });
  });

  it('hugeBodyIssuedIds: streams %PDF-1.7 and filler without Content-Length, and stops when the client leaves', async () => {
    const cert = someCertificate(sb);
    const { jar } = await webLogin(sb);
    const route = 'GET /d2l/awards/v1/:ou/certificate/render/:issuedId';
    await withKnobs({ hugeBodyIssuedIds: [cert.IssuedId] }, async () => {
      // The default, 512 MiB: read 1 MiB and leave.
      const before = sb.stats.hugeBodiesStarted;
      const closedBefore = sb.stats.routes[route] ?? 0;
      const controller = new AbortController();
      const res = await fetch(`${sb.url}${renderPath(cert)}`, {
        headers: { cookie: jar.header() },
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(res.headers.get('content-length')).toBeNull();
      const reader = res.body!.getReader();
      const chunks: Uint8Array[] = [];
      let received = 0;
      while (received < 1024 * 1024) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the body ended after ${received} bytes`);
        chunks.push(value);
        received += value.byteLength;
      }
      expect(Buffer.concat(chunks).subarray(0, 9).toString('latin1')).toBe('%PDF-1.7\n');
      controller.abort();
      expect(sb.stats.hugeBodiesStarted).toBe(before + 1);
      // The server sees the client go and ends the response (the route counter counts on close).
      await sleepUntil(() => (sb.stats.routes[route] ?? 0) > closedBefore, 5000);
      expect((await webGet(sb, '/d2l/home', jar)).status).toBe(200);

      // A small one, read whole: the head and exactly hugeBodyBytes filler bytes.
      sb.setKnobs({ hugeBodyBytes: 200_000 });
      const small = await webGet(sb, renderPath(cert), jar);
      expect(small.headers.get('content-length')).toBeNull();
      expect((await small.arrayBuffer()).byteLength).toBe(9 + 200_000);

      // Endless: also stops when the client leaves.
      sb.setKnobs({ hugeBodyBytes: 0 });
      const closed = sb.stats.routes[route] ?? 0;
      const endless = new AbortController();
      const stream = await fetch(`${sb.url}${renderPath(cert)}`, {
        headers: { cookie: jar.header() },
        signal: endless.signal,
      });
      const endlessReader = stream.body!.getReader();
      for (let got = 0; got < 512 * 1024;) got += (await endlessReader.read()).value?.byteLength ?? 0;
      endless.abort();
      await sleepUntil(() => (sb.stats.routes[route] ?? 0) > closed, 5000);
      expect(sb.stats.hugeBodiesStarted).toBe(before + 3);
    });
    sb.setKnobs({ hugeBodyBytes: 536_870_912 });
  });

  it('offHostRedirectIssuedIds: 302 to another origin, whose server counts requests and cookies', async () => {
    const cert = someCertificate(sb);
    const { jar } = await webLogin(sb);
    expect(new URL(sb.elsewhereUrl).origin).not.toBe(new URL(sb.url).origin);
    expect(new URL(sb.elsewhereUrl).hostname).toBe('127.0.0.1');
    await withKnobs({ offHostRedirectIssuedIds: [cert.IssuedId] }, async () => {
      const before = { requests: sb.stats.offHostRequests, cookies: sb.stats.offHostCookies };
      const res = await webGet(sb, renderPath(cert), jar);
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${sb.elsewhereUrl}/`)).toBe(true);
      // A careful client follows without the cookies; a careless one brings them.
      const clean = await fetch(location);
      expect(clean.status).toBe(200);
      expect(isHtml(clean)).toBe(true);
      await clean.text();
      const leaky = await fetch(location, { headers: { cookie: jar.header() } });
      await leaky.text();
      expect(sb.stats.offHostRequests).toBe(before.requests + 2);
      expect(sb.stats.offHostCookies).toBe(before.cookies + 1);
    });
    const pdf = await webGet(sb, renderPath(cert), jar);
    expect(isPdf(pdf)).toBe(true);
    await pdf.arrayBuffer();
  });
});

describe('sandbox elsewhere server', () => {
  it('closes with the sandbox', async () => {
    const sb = await startSandbox({ userCount: 2 });
    const url = sb.elsewhereUrl;
    expect((await fetch(url)).status).toBe(200);
    await sb.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});
