/**
 * The consent step of the authorization walk, one module alone: `findConsentForm` reads a page as
 * a browser would submit it, and `walkAuthorization` answers a consent page once, on its own host
 * only, against a scripted LMS (a stub fetch).
 */
import { describe, expect, it } from 'vitest';
import {
  ConsentRequiredError,
  findConsentForm,
  walkAuthorization,
  type AuthorizationRequest,
  type ConsentForm,
} from '../../src/auth/index.ts';
import { BLACKBOARD_CONSENT_FORM } from '../../src/lms/blackboard/consent.ts';
import { BRIGHTSPACE_CONSENT_FORM } from '../../src/lms/brightspace/consent.ts';
import { captureLogger } from './harness.ts';

const LMS = 'https://lms.example.edu';
const PAGE = new URL(`${LMS}/oauth2/interaction/u1?state=s3cret-state`);
const DESCRIPTOR: ConsentForm = {
  formSelector: 'form#consent',
  allowSelector: 'button[value="allow"]',
  denySelector: 'button[value="deny"]',
};

const consentHtml = (action = '/oauth2/interaction/u1/consent', extra = '') => `<!DOCTYPE html><html><body>
<form id="consent" method="post" action="${action}">
  <input type="hidden" name="xsrf" value="x-1">
  <input type="checkbox" name="remember" value="yes" checked>
  <input type="checkbox" name="newsletter" value="yes">
  <input type="submit" name="other" value="Other">
  <select name="lang"><option value="en">English</option><option value="fr" selected>Français</option></select>
  <textarea name="note">hi</textarea>${extra}
  <button type="submit" name="consent" value="allow">Allow</button>
  <button type="submit" name="consent" value="deny">Deny</button>
</form></body></html>`;

describe('findConsentForm', () => {
  it('posts what a browser posts after "Allow": fields, checked boxes, the selected option, the allow button', () => {
    const form = findConsentForm(consentHtml(), PAGE, DESCRIPTOR);
    expect(form?.method).toBe('POST');
    expect(form?.action.href).toBe(`${LMS}/oauth2/interaction/u1/consent`);
    expect([...(form?.fields ?? [])]).toEqual([
      ['xsrf', 'x-1'],
      ['remember', 'yes'],
      ['lang', 'fr'],
      ['note', 'hi'],
      ['consent', 'allow'],
    ]);
  });

  it('is undefined for a page without the form, without its allow button, or without its deny button', () => {
    expect(findConsentForm('<html><body><p>Hello</p></body></html>', PAGE, DESCRIPTOR)).toBeUndefined();
    const noAllow = consentHtml().replace('value="allow"', 'value="later"');
    expect(findConsentForm(noAllow, PAGE, DESCRIPTOR)).toBeUndefined();
    const noDeny = consentHtml().replace('value="deny"', 'value="later"');
    expect(findConsentForm(noDeny, PAGE, DESCRIPTOR)).toBeUndefined();
    expect(findConsentForm(noDeny, PAGE, { ...DESCRIPTOR, denySelector: undefined })).toBeDefined();
  });

  it('a GET form carries its fields in the action query', () => {
    const html = consentHtml().replace('method="post"', 'method="get"');
    const form = findConsentForm(html, PAGE, DESCRIPTOR);
    expect(form?.method).toBe('GET');
    expect(form?.action.searchParams.get('consent')).toBe('allow');
  });

  it("each LMS's descriptor recognises its own sandbox markup only", () => {
    const d2l = `<form id="d2l-oauth2-consent" method="post" action="/oauth2/interaction/u/consent">
      <input type="hidden" name="xsrf" value="a"><button type="submit" name="consent" value="allow">Allow</button>
      <button type="submit" name="consent" value="deny">Deny</button></form>`;
    const learn = `<form id="authorizeForm" name="authorizeForm" method="post" action="/learn/api/public/v1/oauth2/authorizationcode">
      <input type="hidden" name="blackboard.platform.security.NonceUtil.nonce" value="n">
      <input type="submit" id="denyButton" name="deny" value="Deny">
      <input type="submit" id="authorizeButton" name="authorize" value="Allow"></form>`;
    expect([...(findConsentForm(d2l, PAGE, BRIGHTSPACE_CONSENT_FORM)?.fields ?? [])]).toEqual([
      ['xsrf', 'a'],
      ['consent', 'allow'],
    ]);
    expect([...(findConsentForm(learn, PAGE, BLACKBOARD_CONSENT_FORM)?.fields ?? [])]).toEqual([
      ['blackboard.platform.security.NonceUtil.nonce', 'n'],
      ['authorize', 'Allow'],
    ]);
    expect(findConsentForm(d2l, PAGE, BLACKBOARD_CONSENT_FORM)).toBeUndefined();
    expect(findConsentForm(learn, PAGE, BRIGHTSPACE_CONSENT_FORM)).toBeUndefined();
  });
});

interface Sent {
  method: string;
  url: string;
  cookie: string;
  body: string;
}

/** A scripted LMS: each request gets the next answer; every request is recorded. */
function scriptedLms(answers: ((sent: Sent) => Response)[]) {
  const sent: Sent[] = [];
  const fetchStub = (async (input: URL | RequestInfo, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const record = {
      method: init?.method ?? 'GET',
      url: String(input),
      cookie: headers.get('cookie') ?? '',
      body: typeof init?.body === 'string' ? init.body : '',
    };
    sent.push(record);
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${record.method} ${record.url}`);
    return next(record);
  }) as typeof fetch;
  return { sent, fetch: fetchStub };
}

const redirect = (location: string, setCookie?: string) => () =>
  new Response(null, {
    status: 302,
    headers: { location, ...(setCookie ? { 'set-cookie': setCookie } : {}) },
  });
const html = (body: string) => () =>
  new Response(body, { status: 200, headers: { 'content-type': 'text/html' } });

const REQUEST: AuthorizationRequest = {
  url: `${LMS}/oauth2/auth?client_id=c&state=s3cret-state&code_challenge=ch4llenge`,
  state: 's3cret-state',
  codeVerifier: 'verifier',
  redirectUri: 'https://app.example.edu/callback',
};

function walk(lms: ReturnType<typeof scriptedLms>, consent: ConsentForm | null = DESCRIPTOR) {
  const { logger, lines } = captureLogger();
  const result = walkAuthorization(REQUEST, {
    lmsUrl: LMS,
    session: { cookieHeader: 'd2lSessionVal=SESSION-SECRET', userAgent: 'test' },
    ...(consent ? { consent } : {}),
    logger,
    fetch: lms.fetch,
  });
  return { result, lines };
}

describe('walkAuthorization through a consent page', () => {
  it('posts the allow form once, with the session cookies, to the page itself; logs it at info without secrets', async () => {
    const lms = scriptedLms([
      redirect('/oauth2/interaction/u1', 'interaction=i-1; Path=/'),
      html(consentHtml()),
      redirect(`${REQUEST.redirectUri}?code=the-code&state=s3cret-state`),
    ]);
    const { result, lines } = walk(lms);
    expect(await result).toBe(`${REQUEST.redirectUri}?code=the-code&state=s3cret-state`);
    const post = lms.sent[2]!;
    expect(post).toMatchObject({ method: 'POST', url: `${LMS}/oauth2/interaction/u1/consent` });
    expect(post.cookie).toContain('d2lSessionVal=SESSION-SECRET');
    expect(post.cookie).toContain('interaction=i-1');
    expect(new URLSearchParams(post.body).get('consent')).toBe('allow');
    expect(lms.sent.filter((s) => s.method === 'POST')).toHaveLength(1);
    const logged = lines.join('');
    expect(logged).toMatch(/"level":30[^\n]*allowed the app once as the service user/);
    expect(logged).toContain(`"page":"${LMS}/oauth2/interaction/u1"`);
    for (const secret of ['SESSION-SECRET', 'x-1', 's3cret-state', 'ch4llenge', 'the-code'])
      expect(logged).not.toContain(secret);
  });

  it('a consent form posting to another host: refused, and that host gets nothing', async () => {
    const lms = scriptedLms([html(consentHtml('https://evil.example/steal'))]);
    const { result } = walk(lms);
    await expect(result).rejects.toMatchObject({ code: 'AUTH_CONSENT_REQUIRED', reason: 'unknown-page' });
    expect(lms.sent).toHaveLength(1);
  });

  it('access_denied after the allow: ConsentRequiredError naming the page, without the query', async () => {
    const lms = scriptedLms([
      html(consentHtml()),
      redirect(`${REQUEST.redirectUri}?error=access_denied&state=s3cret-state`),
    ]);
    const err = await walk(lms).result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsentRequiredError);
    expect(err).toMatchObject({
      code: 'AUTH_CONSENT_REQUIRED',
      reason: 'denied',
      page: `${LMS}/oauth2/auth`,
    });
    const message = (err as Error).message;
    expect(message).toContain(`an admin must allow the app once at ${LMS}/oauth2/auth`);
    expect(message).toContain('trusted / pre-consented');
    expect(message).not.toMatch(/s3cret-state|ch4llenge|\?/);
  });

  it('a second consent prompt: stopped before a second post', async () => {
    const lms = scriptedLms([html(consentHtml()), redirect('/oauth2/interaction/u1'), html(consentHtml())]);
    await expect(walk(lms).result).rejects.toMatchObject({ reason: 'asked-again' });
    expect(lms.sent.filter((s) => s.method === 'POST')).toHaveLength(1);
  });

  it('an unknown page: stopped, naming it; without a descriptor, the consent page itself stops the walk', async () => {
    const other = scriptedLms([
      redirect('/d2l/approval?state=s3cret-state'),
      html('<p>Wait for approval</p>'),
    ]);
    const err = (await walk(other).result.catch((e: unknown) => e)) as ConsentRequiredError;
    expect(err).toMatchObject({ reason: 'unknown-page', page: `${LMS}/d2l/approval` });
    expect(err.message).not.toContain('s3cret-state');

    const without = scriptedLms([html(consentHtml())]);
    await expect(walk(without, null).result).rejects.toMatchObject({ code: 'AUTH_AUTHORIZATION_FAILED' });
    expect(without.sent).toHaveLength(1);
  });

  it('a login page is still "logged out", not a consent problem', async () => {
    const lms = scriptedLms([html('<form><input type="password" name="password"></form>')]);
    expect(await walk(lms).result).toBe('logged-out');
  });
});
