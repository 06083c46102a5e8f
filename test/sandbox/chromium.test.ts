import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authenticator } from 'otplib';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../src/browser/chromium.ts';
import { startSandbox, type Sandbox } from '@certharvest/sandbox';
import { pkcePair, renderPath, someCertificate, tokenRequest } from './helpers.ts';

describe('sandbox in real Chromium', () => {
  let sb: Sandbox;
  let browser: Browser;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 6 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await sb?.close();
  });

  it('logs in through the form; context.request then gets the PDF, a fresh context the login page', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${sb.url}/d2l/login`);
      await page.fill('#userName', sb.env.LMS_USERNAME);
      await page.fill('#password', sb.env.LMS_PASSWORD);
      await Promise.all([page.waitForURL(`${sb.url}/d2l/home`), page.click('#loginButton')]);
      expect(await page.textContent('#welcome')).toBe('Welcome, Certharvest Service.');
      const names = (await context.cookies()).map((c) => c.name);
      expect(names).toEqual(expect.arrayContaining(['d2lSessionVal', 'd2lSecureSessionVal']));

      const cert = someCertificate(sb);
      const res = await context.request.get(`${sb.url}${renderPath(cert)}`);
      expect(res.status()).toBe(200);
      expect(res.headers()['content-type']).toBe('application/pdf');
      expect((await res.body()).equals(Buffer.from(await sb.certificatePdf(cert.IssuedId)))).toBe(true);

      const fresh = await browser.newContext();
      try {
        const anonymous = await fresh.request.get(`${sb.url}${renderPath(cert)}`);
        expect(anonymous.status()).toBe(200);
        expect(anonymous.headers()['content-type']).toMatch(/^text\/html/);
        expect(await anonymous.text()).toContain('name="userName"');
      } finally {
        await fresh.close();
      }

      // What the worker's HTTP client sees of a truncated PDF, one style each.
      sb.setKnobs({ truncateRate: 1, truncateStyle: 'content-length' });
      await expect(context.request.get(`${sb.url}${renderPath(cert)}`)).rejects.toThrow(/aborted/);
      sb.setKnobs({ truncateStyle: 'connection-close' });
      const short = await context.request.get(`${sb.url}${renderPath(cert)}`);
      expect(short.status()).toBe(200);
      expect((await short.body()).length).toBeLessThan((await sb.certificatePdf(cert.IssuedId)).length);
    } finally {
      sb.setKnobs({ truncateRate: 0 });
      await context.close();
    }
  });

  it('logs in through SSO bypass, two-factor code and terms page, as a browser would', async () => {
    sb.setKnobs({ ssoRedirect: true, twoFactor: true, termsInterstitial: true });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${sb.url}/d2l/login`);
      expect(new URL(page.url()).pathname).toBe('/sso/idp/login');
      await page.goto(`${sb.url}/d2l/login?noredirect=1`);
      await page.fill('#userName', sb.env.LMS_USERNAME);
      await page.fill('#password', sb.env.LMS_PASSWORD);
      await Promise.all([page.waitForURL('**/TwoFactorCodeEntry.d2l'), page.click('#loginButton')]);
      // Codes are good for ±1 step, so a code made here survives a step change before the check.
      await page.fill('#twoFactorCode', authenticator.generate(sb.totpSecret));
      await Promise.all([page.waitForURL('**/terms/accept.d2l'), page.click('button[type="submit"]')]);
      await Promise.all([page.waitForURL(`${sb.url}/d2l/home`), page.click('text=I accept')]);
      expect(await page.textContent('#welcome')).toBe('Welcome, Certharvest Service.');
      const res = await context.request.get(`${sb.url}${renderPath(someCertificate(sb))}`);
      expect(res.headers()['content-type']).toBe('application/pdf');
    } finally {
      sb.setKnobs({ ssoRedirect: false, twoFactor: false, termsInterstitial: false });
      await context.close();
    }
  });

  it('completes the authorization-code flow in the browser with a loopback callback', async () => {
    // Stands in for `certharvest auth bootstrap`'s local callback server.
    const callbackServer = createServer((_req, res) => res.end('signed in'));
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    const redirectUri = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`;
    const context = await browser.newContext();
    try {
      const { verifier, challenge } = pkcePair();
      const url = new URL(sb.env.OAUTH_AUTHORIZE_URL);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: sb.env.OAUTH_CLIENT_ID,
        redirect_uri: redirectUri,
        scope: sb.env.OAUTH_SCOPE,
        state: 'browser-state',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      const page = await context.newPage();
      await page.goto(url.href);
      expect(new URL(page.url()).pathname).toBe('/d2l/login');
      await page.fill('#userName', sb.env.LMS_USERNAME);
      await page.fill('#password', sb.env.LMS_PASSWORD);
      await Promise.all([page.waitForURL('**/oauth2/interaction/**'), page.click('#loginButton')]);
      // A new client: the consent page asks once (consentPrompt new-client); the person allows.
      expect(await page.locator('form#d2l-oauth2-consent').count()).toBe(1);
      await Promise.all([
        page.waitForURL(`${redirectUri}?**`),
        page.click('form#d2l-oauth2-consent button[value="allow"]'),
      ]);
      const callback = new URL(page.url());
      expect(callback.searchParams.get('state')).toBe('browser-state');
      const tokens = await tokenRequest(sb, {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: redirectUri,
        code_verifier: verifier,
      });
      expect(tokens.status).toBe(200);
      expect(typeof tokens.body.refresh_token).toBe('string');
    } finally {
      await context.close();
      callbackServer.closeAllConnections();
      await new Promise((resolve) => callbackServer.close(resolve));
    }
  });
});
