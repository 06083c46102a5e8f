import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserLogin } from '../../src/browser/browser-login.ts';
import { LoginFailedError } from '../../src/browser/errors.ts';
import { createLogger } from '../../src/log/index.ts';
import { AwardType, fromBasDate, startSandbox, type Sandbox } from '@certharvest/sandbox';
import {
  ACHIEVEMENTS_PATH,
  BAD_CREDENTIALS_MESSAGE,
  certificatePath,
  HOSTILE_TITLE,
  hostileOffHostIssuedId,
  LEARN_API_BASE,
  LEARN_AUTHORIZE_PATH,
  learnUuid,
  NONCE_EXPIRED_MESSAGE,
  NONCE_FIELD,
  tableAchievementsPath,
} from '@certharvest/sandbox/learn';
import { LEARN_WEB_PROFILE } from '../../src/lms/blackboard/web-profile.ts';
import { CookieJar, sleep, webGet, webPost } from './helpers.ts';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (sb: Sandbox, secret = sb.learnEnv.OAUTH_CLIENT_SECRET) =>
  'Basic ' + Buffer.from(`${sb.learnEnv.OAUTH_CLIENT_ID}:${secret}`).toString('base64');

async function learnToken(
  sb: Sandbox,
  params: Record<string, string> = { grant_type: 'client_credentials' },
  authorization: string | null = basic(sb),
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(sb.learnEnv.OAUTH_TOKEN_URL, {
    method: 'POST',
    headers: { ...form, ...(authorization === null ? {} : { authorization }) },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function siteToken(sb: Sandbox): Promise<string> {
  const answer = await learnToken(sb);
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

/** GET a Learn REST path (or a nextPage) with a bearer token. */
function rest(sb: Sandbox, path: string, token?: string): Promise<Response> {
  return fetch(`${sb.url}${path.startsWith('/learn/') ? path : `${LEARN_API_BASE}${path}`}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

const nonceOf = (html: string) =>
  new RegExp(`<input type="hidden" name="${NONCE_FIELD.replace(/\./g, '\\.')}" value="([^"]+)">`).exec(
    html,
  )?.[1];

/** GET the login form (with its nonce) and post it; returns the answer (not followed). */
async function learnLogin(
  sb: Sandbox,
  options: { password?: string; newLoc?: string; jar?: CookieJar } = {},
): Promise<{ res: Response; jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar();
  const page = await webGet(sb, '/webapps/login/', jar);
  const nonce = nonceOf(await page.text());
  expect(nonce).toBeDefined();
  const res = await webPost(
    sb,
    '/webapps/login/',
    {
      user_id: sb.learnEnv.LMS_USERNAME,
      password: options.password ?? sb.learnEnv.LMS_PASSWORD,
      action: 'login',
      [NONCE_FIELD]: nonce ?? '',
      ...(options.newLoc === undefined ? {} : { new_loc: options.newLoc }),
    },
    jar,
  );
  return { res, jar };
}

const achievementsUrl = (orgUnitId: number, userId: number) =>
  `${ACHIEVEMENTS_PATH}?course_id=_${orgUnitId}_1&user_id=_${userId}_1`;

describe('sandbox Blackboard Learn mode', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 12 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('hands out learnEnv for the worker', () => {
    expect(sb.learnEnv).toMatchObject({
      LMS: 'blackboard',
      LMS_URL: sb.url,
      OAUTH_TOKEN_URL: `${sb.url}/learn/api/public/v1/oauth2/token`,
      LMS_USERNAME: sb.env.LMS_USERNAME,
      LMS_PASSWORD: sb.env.LMS_PASSWORD,
      LMS_LOGIN_URL: '/webapps/login/',
      LMS_LOGIN_LANDING: '/ultra/stream',
      LMS_LOGIN_USER_SELECTOR: 'input[name="user_id"]',
      LMS_LOGIN_PASSWORD_SELECTOR: 'input[name="password"]',
      LMS_LOGIN_SUBMIT_SELECTOR: '#entry-login',
    });
    expect(sb.learnEnv.OAUTH_CLIENT_ID).toMatch(/^certharvest-learn-key-/);
    expect(sb.learnEnv.OAUTH_CLIENT_SECRET).not.toBe(sb.env.OAUTH_CLIENT_SECRET);
  });

  describe('token endpoint', () => {
    it('one token per site: the same token again with a fresh expiry, a new one after expiry', async () => {
      sb.setKnobs({ learnTokenTtlSeconds: 3 });
      try {
        const issuedBefore = sb.stats.learnTokensIssued;
        const first = await learnToken(sb);
        expect(first.status).toBe(200);
        expect(first.body).toEqual({
          access_token: expect.any(String),
          token_type: 'bearer',
          expires_in: 3,
          scope: 'read',
        });
        await sleep(1500);
        const again = await learnToken(sb);
        expect(again.body.access_token).toBe(first.body.access_token);
        expect(again.body.expires_in).toBe(3);
        expect(sb.stats.learnTokensIssued).toBe(issuedBefore + 1);
        // 3.5 s after the first answer (past its first expiry), 2 s after the renewal: still valid.
        await sleep(2000);
        expect((await rest(sb, '/users/_169_1', first.body.access_token as string)).status).toBe(200);
        // Untouched for longer than the TTL: expired, and the next request mints a new one.
        await sleep(3000);
        const expired = await rest(sb, '/users/_169_1', first.body.access_token as string);
        expect(expired.status).toBe(401);
        const fresh = await learnToken(sb);
        expect(fresh.body.access_token).not.toBe(first.body.access_token);
        expect(sb.stats.learnTokensIssued).toBe(issuedBefore + 2);
      } finally {
        sb.setKnobs({ learnTokenTtlSeconds: 3600 });
      }
    });

    it('refuses a bad secret or a missing Basic header with 401 invalid_client', async () => {
      const bad = await learnToken(sb, { grant_type: 'client_credentials' }, basic(sb, 'wrong'));
      expect(bad.status).toBe(401);
      expect(bad.body.error).toBe('invalid_client');
      const none = await learnToken(sb, { grant_type: 'client_credentials' }, null);
      expect(none.status).toBe(401);
      expect(none.body.error).toBe('invalid_client');
      // Brightspace's client is not Learn's.
      const other = await learnToken(
        sb,
        { grant_type: 'client_credentials' },
        'Basic ' + Buffer.from(`${sb.env.OAUTH_CLIENT_ID}:${sb.env.OAUTH_CLIENT_SECRET}`).toString('base64'),
      );
      expect(other.status).toBe(401);
      const grant = await learnToken(sb, { grant_type: 'password' });
      expect(grant).toEqual({ status: 400, body: { error: 'unsupported_grant_type' } });
      const code = await learnToken(sb, {
        grant_type: 'authorization_code',
        code: 'nope',
        redirect_uri: 'x',
      });
      expect(code.status).toBe(400);
      expect(code.body.error).toBe('invalid_grant');
    });
  });

  describe('REST', () => {
    let token: string;
    beforeAll(async () => {
      token = await siteToken(sb);
    });

    it('finds users by _N_1, userName:, externalId: and uuid:', async () => {
      const student = sb.institution.students[3];
      if (!student) throw new Error('no student');
      const expected = {
        id: `_${student.UserId}_1`,
        uuid: learnUuid(sb.institution.seed, 'user', student.UserId),
        externalId: student.OrgDefinedId,
        userName: student.UserName,
        name: { given: student.FirstName, family: student.LastName },
        availability: { available: 'Yes' },
      };
      for (const id of [
        `_${student.UserId}_1`,
        `userName:${student.UserName}`,
        `externalId:${student.OrgDefinedId}`,
        `uuid:${expected.uuid}`,
      ]) {
        const res = await rest(sb, `/users/${encodeURIComponent(id)}`, token);
        expect(res.status, id).toBe(200);
        expect(await res.json()).toEqual(expected);
      }
    });

    it('answers unknown and malformed ids 404 with a RestException', async () => {
      for (const id of ['_999999_1', `_${sb.institution.students[0]?.UserId}_2`, 'abc', 'userName:nobody']) {
        const res = await rest(sb, `/users/${encodeURIComponent(id)}`, token);
        expect(res.status, id).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ status: 404, message: expect.any(String) });
        expect(typeof body.developerMessage).toBe('string');
        expect(body.extraInfo).toMatch(/^https:\/\//);
      }
      const route = await rest(sb, '/achievements', token);
      expect(route.status).toBe(404);
      expect(await route.json()).toMatchObject({ status: 404 });
      const course = await rest(sb, '/courses/_1_1', token);
      expect(course.status).toBe(404);
    });

    it('answers 401 RestException without or with a bad bearer token', async () => {
      const before = sb.stats.learnUnauthorized401;
      for (const t of [undefined, 'not-a-token']) {
        const res = await rest(sb, '/users/_169_1', t);
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ status: 401, message: expect.any(String) });
        expect(res.headers.get('x-rate-limit-remaining')).not.toBeNull();
      }
      expect(sb.stats.learnUnauthorized401).toBe(before + 2);
    });

    it('serves a course', async () => {
      const course = sb.institution.courses[0];
      if (!course) throw new Error('no course');
      const res = await rest(sb, `/courses/_${course.OrgUnitId}_1`, token);
      expect(await res.json()).toEqual({
        id: `_${course.OrgUnitId}_1`,
        courseId: `C${course.OrgUnitId}`,
        name: course.Name,
      });
    });

    it('pages users and memberships through paging.nextPage until it is absent', async () => {
      sb.setKnobs({ learnPageSize: 3 });
      try {
        const users: string[] = [];
        let next: string | undefined = '/users';
        let pages = 0;
        while (next !== undefined) {
          const res = await rest(sb, next, token);
          expect(res.status).toBe(200);
          const body = (await res.json()) as { results: { id: string }[]; paging?: { nextPage: string } };
          expect(body.results.length).toBeLessThanOrEqual(3);
          users.push(...body.results.map((u) => u.id));
          if (body.paging)
            expect(body.paging.nextPage).toMatch(/^\/learn\/api\/public\/v1\/users\?offset=\d+&limit=100$/);
          next = body.paging?.nextPage;
          pages++;
        }
        expect(users).toEqual(sb.institution.users.map((u) => `_${u.UserId}_1`));
        expect(pages).toBe(Math.ceil(sb.institution.users.length / 3));

        sb.setKnobs({ learnPageSize: 2 });
        const student = sb.institution.students.find(
          (s) => sb.institution.certificatesOf(s.UserId).length > 0,
        );
        if (!student) throw new Error('no student with certificates');
        const courses: string[] = [];
        next = `/users/userName:${student.UserName}/courses`;
        pages = 0;
        while (next !== undefined) {
          const res = await rest(sb, next, token);
          expect(res.status).toBe(200);
          const body = (await res.json()) as {
            results: { userId: string; courseId: string; courseRoleId: string; availability: unknown }[];
            paging?: { nextPage: string };
          };
          expect(body.results.length).toBeLessThanOrEqual(2);
          for (const m of body.results) {
            expect(m).toEqual({
              userId: `_${student.UserId}_1`,
              courseId: expect.stringMatching(/^_\d+_1$/),
              courseRoleId: 'Student',
              availability: { available: 'Yes' },
            });
          }
          courses.push(...body.results.map((m) => m.courseId));
          next = body.paging?.nextPage;
          pages++;
        }
        expect(pages).toBeGreaterThan(1);
        const held = new Set(sb.institution.awardsOf(student.UserId).map((a) => `_${a.OrgUnitId}_1`));
        for (const award of sb.institution.certificatesOf(student.UserId)) {
          expect(courses).toContain(`_${award.OrgUnitId}_1`);
        }
        // Two more courses without any award, unless the student holds awards in (nearly) all.
        const without = courses.filter((c) => !held.has(c));
        expect(without.length).toBe(Math.min(2, sb.institution.courses.length - held.size));
        expect(new Set(courses).size).toBe(courses.length);

        const tooBig = await rest(sb, '/users?limit=101', token);
        expect(tooBig.status).toBe(400);
        expect(await tooBig.json()).toMatchObject({ status: 400 });
      } finally {
        sb.setKnobs({ learnPageSize: 200 });
      }
    });

    it('sends the quota headers, and 429 + Retry-After once learnDailyQuota is spent', async () => {
      sb.setKnobs({ learnDailyQuota: 3 });
      try {
        const remaining: string[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await rest(sb, '/users/_169_1', token);
          expect(res.status).toBe(200);
          expect(res.headers.get('x-rate-limit-limit')).toBe('3');
          const reset = Number(res.headers.get('x-rate-limit-reset'));
          expect(reset).toBeGreaterThan(86_000);
          expect(reset).toBeLessThanOrEqual(86_400);
          remaining.push(res.headers.get('x-rate-limit-remaining') ?? '');
        }
        expect(remaining).toEqual(['2', '1', '0']);
        const before = sb.stats.learnQuota429;
        const spent = await rest(sb, '/users/_169_1', token);
        expect(spent.status).toBe(429);
        expect(Number(spent.headers.get('retry-after'))).toBeGreaterThan(86_000);
        expect(spent.headers.get('x-rate-limit-remaining')).toBe('0');
        expect(await spent.json()).toMatchObject({ status: 429, message: expect.any(String) });
        expect(sb.stats.learnQuota429).toBe(before + 1);
        // The token endpoint is not a REST call: it still answers.
        expect((await learnToken(sb)).status).toBe(200);
      } finally {
        sb.setKnobs({ learnDailyQuota: 10_000 });
      }
      expect((await rest(sb, '/users/_169_1', token)).status).toBe(200);
    });
  });

  describe('web login', () => {
    it('issues a single-use nonce per GET; a missing or used one is refused', async () => {
      const html = await (await webGet(sb, '/webapps/login/')).text();
      expect(html).toContain('<form method="post" action="/webapps/login/" name="login">');
      expect(html).toContain('name="user_id"');
      expect(html).toContain('<input type="password" name="password"');
      expect(html).toContain('<input type="hidden" name="action" value="login">');
      expect(html).toContain('<input type="submit" id="entry-login" name="login" value="Sign In">');
      const nonce = nonceOf(html);
      expect(nonce).toBeDefined();
      expect(nonceOf(await (await webGet(sb, '/webapps/login/')).text())).not.toBe(nonce);

      const failedBefore = sb.stats.learnFailedLogins;
      const creds = {
        user_id: sb.learnEnv.LMS_USERNAME,
        password: sb.learnEnv.LMS_PASSWORD,
        action: 'login',
      };
      const missing = await webPost(sb, '/webapps/login/', creds);
      expect(missing.status).toBe(200);
      expect(missing.headers.getSetCookie().some((c) => c.startsWith('BbRouter='))).toBe(false);
      expect(await missing.text()).toContain(NONCE_EXPIRED_MESSAGE);

      const ok = await webPost(sb, '/webapps/login/', { ...creds, [NONCE_FIELD]: nonce ?? '' });
      expect(ok.status).toBe(302);
      const reused = await webPost(sb, '/webapps/login/', { ...creds, [NONCE_FIELD]: nonce ?? '' });
      expect(reused.status).toBe(200);
      expect(await reused.text()).toContain(NONCE_EXPIRED_MESSAGE);
      const forged = await webPost(sb, '/webapps/login/', { ...creds, [NONCE_FIELD]: 'made-up' });
      expect(forged.status).toBe(200);
      expect(sb.stats.learnFailedLogins).toBe(failedBefore + 3);
    });

    it('logs in: BbRouter cookie and 302 /ultra/stream; wrong password → relogin', async () => {
      const loginsBefore = sb.stats.learnWebLogins;
      const { res, jar } = await learnLogin(sb);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/ultra/stream');
      const line = res.headers.getSetCookie().find((c) => c.startsWith('BbRouter='));
      expect(line).toMatch(
        /^BbRouter=expires:\d+,id:[0-9A-F]+,signature:[0-9a-f]+,site:[0-9a-f]{32},timeout:10800,user:[0-9a-f]{32}; Path=\/; HttpOnly$/,
      );
      expect(sb.stats.learnWebLogins).toBe(loginsBefore + 1);
      const stream = await webGet(sb, '/ultra/stream', jar);
      expect(stream.status).toBe(200);
      expect(await stream.text()).toContain('Welcome, Certharvest Service.');
      // A tampered signature is no session.
      const tampered = new CookieJar();
      tampered.cookies.set(
        'BbRouter',
        (jar.cookies.get('BbRouter') ?? '').replace(/signature:[0-9a-f]/, 'signature:x'),
      );
      expect((await webGet(sb, '/ultra/stream', tampered)).status).toBe(302);

      const failedBefore = sb.stats.learnFailedLogins;
      const wrong = await learnLogin(sb, { password: 'wrong' });
      expect(wrong.res.status).toBe(302);
      expect(wrong.res.headers.get('location')).toBe('/webapps/login/?action=relogin');
      expect(wrong.jar.cookies.has('BbRouter')).toBe(false);
      expect(await (await webGet(sb, '/webapps/login/?action=relogin')).text()).toContain(
        BAD_CREDENTIALS_MESSAGE,
      );
      expect(sb.stats.learnFailedLogins).toBe(failedBefore + 1);

      const anonymous = await webGet(sb, '/ultra/stream');
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get('location')).toBe('/webapps/login/?new_loc=%2Fultra%2Fstream');

      // Logging out ends the session.
      await webGet(sb, '/webapps/login/?action=logout', jar);
      expect((await webGet(sb, '/ultra/stream', jar)).status).toBe(302);
    });
  });

  describe('achievements and certificates', () => {
    const certificate = () => {
      const award = sb.institution.certificates()[0];
      if (!award) throw new Error('no certificate');
      return award;
    };

    it('lists a course’s achievements to a session only, in the spec’s markup', async () => {
      const cert = certificate();
      const url = achievementsUrl(cert.OrgUnitId, cert.UserId);
      const anonymous = await webGet(sb, url);
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get('location')).toBe(`/webapps/login/?new_loc=${encodeURIComponent(url)}`);

      const { jar } = await learnLogin(sb);
      const pagesBefore = sb.stats.achievementPages;
      const res = await webGet(sb, url, jar);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(sb.stats.achievementPages).toBe(pagesBefore + 1);
      expect(html).toContain('<ul id="achievements">');
      const awards = sb.institution.awardsOf(cert.UserId).filter((a) => a.OrgUnitId === cert.OrgUnitId);
      expect(html.match(/<li class="achievement"/g)?.length).toBe(awards.length);
      for (const award of awards) {
        const type = award.Award.AwardType === AwardType.Certificate ? 'certificate' : 'badge';
        expect(html).toContain(
          `<li class="achievement" data-achievement-id="_${award.IssuedId}_1" data-award-id="_${award.Award.AwardId}_1" data-type="${type}">`,
        );
      }
      const iso = fromBasDate(cert.IssuedDate)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      expect(html).toContain(`<time class="achievement-issued" datetime="${iso}">`);
      expect(html).toContain(
        `<a class="achievement-certificate" href="${certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId).replace(/&/g, '&amp;')}">Download certificate</a>`,
      );
      expect(html.match(/class="achievement-certificate"/g)?.length).toBe(
        awards.filter((a) => a.Award.AwardType === AwardType.Certificate).length,
      );

      // A course the user holds nothing in: an empty list and "No achievements".
      const empty = sb.institution.courses.find(
        (c) => !sb.institution.awardsOf(cert.UserId).some((a) => a.OrgUnitId === c.OrgUnitId),
      );
      if (empty) {
        const none = await (await webGet(sb, achievementsUrl(empty.OrgUnitId, cert.UserId), jar)).text();
        expect(none).toContain('<ul id="achievements"></ul>');
        expect(none).toContain('No achievements');
      }
      // Malformed ids: 404.
      const bad = await webGet(
        sb,
        `${ACHIEVEMENTS_PATH}?course_id=_${cert.OrgUnitId}_2&user_id=_${cert.UserId}_1`,
        jar,
      );
      expect(bad.status).toBe(404);
    });

    it('adds hostile items with learnHostile / learnHostileUserIds', async () => {
      const cert = certificate();
      const { jar } = await learnLogin(sb);
      const url = achievementsUrl(cert.OrgUnitId, cert.UserId);
      expect(await (await webGet(sb, url, jar)).text()).not.toContain('data-achievement-id="../_12_1"');
      for (const patch of [{ learnHostile: true }, { learnHostileUserIds: [cert.UserId] }]) {
        sb.setKnobs(patch);
        try {
          const html = await (await webGet(sb, url, jar)).text();
          expect(html).toContain('data-achievement-id="../_12_1"');
          expect(html).toContain('data-achievement-id="_12_1;x"');
          expect(html).toContain('achievement_id=..%2F_12_1&amp;');
          const offHost = hostileOffHostIssuedId(cert.OrgUnitId);
          expect(html).toContain(
            `href="${sb.elsewhereUrl}/webapps/achievements/certificate/download.form?achievement_id=_${offHost}_1&amp;`,
          );
          // The title is text, escaped: no markup gets through.
          expect(html).not.toContain('<script>');
          expect(html).toContain(
            HOSTILE_TITLE.replace(/&/g, '&amp;')
              .replace(/</g, '&lt;')
              .replace(/>/g, '&gt;')
              .replace(/"/g, '&quot;'),
          );
        } finally {
          sb.setKnobs({ learnHostile: false, learnHostileUserIds: [] });
        }
      }
      // Another user's page stays clean under learnHostileUserIds.
      const other = sb.institution.certificates().find((a) => a.UserId !== cert.UserId);
      if (other) {
        sb.setKnobs({ learnHostileUserIds: [cert.UserId] });
        try {
          const html = await (await webGet(sb, achievementsUrl(other.OrgUnitId, other.UserId), jar)).text();
          expect(html).not.toContain('data-achievement-id="../_12_1"');
        } finally {
          sb.setKnobs({ learnHostileUserIds: [] });
        }
      }
    });

    it('learnMarkup: table serves another tool: a table, its own paths, signed links only its page shows', async () => {
      const cert = certificate();
      const { jar } = await learnLogin(sb);
      sb.setKnobs({ learnMarkup: 'table' });
      try {
        // The default markup's routes are not there.
        expect((await webGet(sb, achievementsUrl(cert.OrgUnitId, cert.UserId), jar)).status).toBe(404);
        const rebuilt = certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId);
        expect((await webGet(sb, rebuilt, jar)).status).toBe(404);
        const url = tableAchievementsPath(`_${cert.OrgUnitId}_1`, `_${cert.UserId}_1`);
        expect((await webGet(sb, url)).status).toBe(302);
        const html = await (await webGet(sb, url, jar)).text();
        expect(html).toContain('<table class="earned-achievements">');
        expect(html).toContain(
          `<tr data-record-id="_${cert.IssuedId}_1" data-template="_${cert.Award.AwardId}_1">`,
        );
        expect(html).toContain('<td class="kind">Certificate</td>');
        const href = new RegExp(
          `href="(/webapps/bb-achievements/files/_${cert.OrgUnitId}_1/_${cert.UserId}_1/_${cert.IssuedId}_1/certificate\\.pdf\\?expires=\\d+&amp;sig=[0-9a-f]{32})"`,
        ).exec(html)?.[1];
        expect(href).toBeDefined();
        const link = href!.replace(/&amp;/g, '&');
        const pdf = await webGet(sb, link, jar);
        expect(pdf.status).toBe(200);
        expect(
          Buffer.from(await pdf.arrayBuffer()).equals(Buffer.from(await sb.certificatePdf(cert.IssuedId))),
        ).toBe(true);
        // The server checks the signature: a link rebuilt or altered by a client does not work.
        const tampered = link.replace(/sig=[0-9a-f]/, (m) => `sig=${m.endsWith('0') ? '1' : '0'}`);
        expect((await webGet(sb, tampered, jar)).status).toBe(403);
        expect((await webGet(sb, link.replace(/\?.*$/, ''), jar)).status).toBe(403);
        expect((await webGet(sb, link.replace(/expires=\d+/, 'expires=9999999999'), jar)).status).toBe(403);
        // Without a session: the login, as everywhere.
        expect((await webGet(sb, link)).status).toBe(302);
      } finally {
        sb.setKnobs({ learnMarkup: 'default' });
      }
    });

    it('learnIds: mixed names users and achievements with an even N _N_4 and courses by UUID, on REST and pages alike', async () => {
      const cert = sb.institution.certificates().find((c) => c.UserId % 2 === 0 && c.IssuedId % 2 === 0);
      if (!cert) throw new Error('no certificate with even ids');
      const token = await siteToken(sb);
      const { jar } = await learnLogin(sb);
      sb.setKnobs({ learnIds: 'mixed' });
      try {
        const user = `_${cert.UserId}_4`;
        expect((await rest(sb, `/users/_${cert.UserId}_1`, token)).status).toBe(404);
        const found = (await (await rest(sb, `/users/${user}`, token)).json()) as { id: string };
        expect(found.id).toBe(user);
        const page = (await (await rest(sb, `/users/${user}/courses`, token)).json()) as {
          results: { userId: string; courseId: string }[];
        };
        const courseUuid = learnUuid(sb.institution.seed, 'course', cert.OrgUnitId);
        expect(page.results.every((m) => m.userId === user && /^[0-9a-f]{32}$/.test(m.courseId))).toBe(true);
        expect(page.results.map((m) => m.courseId)).toContain(courseUuid);
        expect(((await (await rest(sb, `/courses/${courseUuid}`, token)).json()) as { id: string }).id).toBe(
          courseUuid,
        );
        const odd = sb.institution.users.find((u) => u.UserId % 2 === 1)!;
        expect(((await (await rest(sb, `/users/_${odd.UserId}_1`, token)).json()) as { id: string }).id).toBe(
          `_${odd.UserId}_1`,
        );

        expect((await webGet(sb, achievementsUrl(cert.OrgUnitId, cert.UserId), jar)).status).toBe(404);
        const html = await (
          await webGet(sb, `${ACHIEVEMENTS_PATH}?course_id=${courseUuid}&user_id=${user}`, jar)
        ).text();
        expect(html).toContain(`data-achievement-id="_${cert.IssuedId}_4"`);
        const link = certificatePath(`_${cert.IssuedId}_4`, courseUuid, user);
        expect(html).toContain(link.replace(/&/g, '&amp;'));
        expect((await webGet(sb, link, jar)).status).toBe(200);
        expect(
          (await webGet(sb, certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId), jar)).status,
        ).toBe(404);
      } finally {
        sb.setKnobs({ learnIds: 'n1' });
      }
    });

    it('downloads the certificate: the same bytes as certificatePdf(issuedId)', async () => {
      const cert = certificate();
      const path = certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId);
      const anonymous = await webGet(sb, path);
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get('location')).toBe(`/webapps/login/?new_loc=${encodeURIComponent(path)}`);

      const { jar } = await learnLogin(sb);
      const before = sb.stats.learnCertificateDownloads;
      const res = await webGet(sb, path, jar);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(
        Buffer.from(await res.arrayBuffer()).equals(Buffer.from(await sb.certificatePdf(cert.IssuedId))),
      ).toBe(true);
      expect(sb.stats.learnCertificateDownloads).toBe(before + 1);

      // Another user, another course, a badge, a malformed id: 404.
      const badge = sb.institution.issued.find((a) => a.Award.AwardType === AwardType.Badge);
      for (const wrong of [
        certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId + 1),
        certificatePath(cert.IssuedId, cert.OrgUnitId + 1, cert.UserId),
        ...(badge ? [certificatePath(badge.IssuedId, badge.OrgUnitId, badge.UserId)] : []),
        certificatePath(`_${cert.IssuedId}_2`, cert.OrgUnitId, cert.UserId),
      ]) {
        expect((await webGet(sb, wrong, jar)).status, wrong).toBe(404);
      }
    });

    it('applies the render fault knobs to the download and the session limits to BbRouter', async () => {
      const cert = certificate();
      const path = certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId);
      const { jar } = await learnLogin(sb);
      sb.setKnobs({ renderThrottleFirst: 1, retryAfterSeconds: 2 });
      try {
        const throttled = await webGet(sb, path, jar);
        expect(throttled.status).toBe(429);
        expect(throttled.headers.get('retry-after')).toBe('2');
        expect((await webGet(sb, path, jar)).status).toBe(200);
      } finally {
        sb.setKnobs({ renderThrottleFirst: 0, retryAfterSeconds: 1 });
      }
      sb.setKnobs({ truncateRate: 1, truncateStyle: 'connection-close' });
      try {
        const short = await webGet(sb, path, jar);
        expect((await short.arrayBuffer()).byteLength).toBeLessThan(
          (await sb.certificatePdf(cert.IssuedId)).length,
        );
      } finally {
        sb.setKnobs({ truncateRate: 0, truncateStyle: 'content-length' });
      }
      sb.setKnobs({ errorRate: 1 });
      try {
        expect((await webGet(sb, path, jar)).status).toBeGreaterThanOrEqual(500);
        expect((await rest(sb, '/users/_169_1', await siteToken(sb))).status).toBeGreaterThanOrEqual(500);
      } finally {
        sb.setKnobs({ errorRate: 0 });
      }
      sb.setKnobs({ sessionMaxRequests: 2 });
      try {
        const fresh = (await learnLogin(sb)).jar;
        const expiredBefore = sb.stats.sessionsExpired.maxRequests;
        expect((await webGet(sb, path, fresh)).status).toBe(200);
        expect((await webGet(sb, path, fresh)).status).toBe(200);
        const third = await webGet(sb, path, fresh);
        expect(third.status).toBe(302);
        expect(third.headers.get('location')).toMatch(/^\/webapps\/login\/\?new_loc=/);
        expect(sb.stats.sessionsExpired.maxRequests).toBe(expiredBefore + 1);
      } finally {
        sb.setKnobs({ sessionMaxRequests: 0 });
      }
    });
  });

  describe('3LO', () => {
    // These tests are about the redirects, the code and its exchange: the consent page a new client
    // meets first (consentPrompt new-client, the default) has its own tests in
    // test/auth/consent-sandbox.integration.test.ts.
    beforeAll(() => sb.setKnobs({ consentPrompt: 'off' }));
    afterAll(() => sb.setKnobs({ consentPrompt: 'new-client' }));

    const redirectUri = 'http://127.0.0.1:9/callback';
    const authorizeUrl = (scope: string) =>
      `${LEARN_AUTHORIZE_PATH}?${new URLSearchParams({
        redirect_uri: redirectUri,
        response_type: 'code',
        client_id: sb.learnEnv.OAUTH_CLIENT_ID,
        scope,
        state: 'st-1',
      }).toString()}`;

    /** Through the login (no session yet) to the redirect with the code. */
    async function authorize(scope: string): Promise<string> {
      const url = authorizeUrl(scope);
      const first = await webGet(sb, url);
      expect(first.status).toBe(302);
      const login = first.headers.get('location') ?? '';
      expect(login).toBe(`/webapps/login/?new_loc=${encodeURIComponent(url)}`);
      const loginPage = await (await webGet(sb, login)).text();
      expect(loginPage).toContain(`name="new_loc" value="${url.replace(/&/g, '&amp;')}"`);
      const { res, jar } = await learnLogin(sb, { newLoc: url });
      expect(res.headers.get('location')).toBe(url);
      const back = await webGet(sb, url, jar);
      expect(back.status).toBe(302);
      const callback = new URL(back.headers.get('location') ?? '');
      expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri);
      expect(callback.searchParams.get('state')).toBe('st-1');
      return callback.searchParams.get('code') ?? '';
    }

    it('authorization code with offline: access and refresh token; refresh rotates', async () => {
      const code = await authorize('read offline');
      const answer = await learnToken(sb, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'read offline' });
      const refreshToken = answer.body.refresh_token as string;
      expect(typeof refreshToken).toBe('string');
      expect((await rest(sb, '/users/_169_1', answer.body.access_token as string)).status).toBe(200);
      // A code is good once.
      const again = await learnToken(sb, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
      });
      expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

      const rotated = await learnToken(sb, { grant_type: 'refresh_token', refresh_token: refreshToken });
      expect(rotated.status).toBe(200);
      expect(rotated.body.refresh_token).not.toBe(refreshToken);
      expect((await rest(sb, '/users/_169_1', rotated.body.access_token as string)).status).toBe(200);
      const replay = await learnToken(sb, { grant_type: 'refresh_token', refresh_token: refreshToken });
      expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('without offline: no refresh token; a wrong redirect_uri is invalid_grant', async () => {
      const code = await authorize('read');
      const wrong = await learnToken(sb, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://127.0.0.1:9/other',
      });
      expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      const code2 = await authorize('read');
      const answer = await learnToken(sb, {
        grant_type: 'authorization_code',
        code: code2,
        redirect_uri: redirectUri,
      });
      expect(answer.status).toBe(200);
      expect(answer.body.refresh_token).toBeUndefined();
      const bad = await webGet(sb, authorizeUrl('read').replace(/client_id=[^&]+/, 'client_id=someone-else'));
      expect(bad.status).toBe(400);
    });
  });

  it('leaves the Brightspace side alone', async () => {
    expect((await webGet(sb, '/d2l/login')).status).toBe(200);
    expect((await fetch(`${sb.url}/learn/nothing`)).status).toBe(404);
  });
});

describe('sandbox Blackboard Learn login in real Chromium (BrowserLogin)', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ userCount: 4 });
  });
  afterAll(async () => {
    await sb.close();
  });

  const silent = () =>
    createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const browserLogin = (password: string) =>
    new BrowserLogin({
      lmsUrl: sb.learnEnv.LMS_URL,
      username: sb.learnEnv.LMS_USERNAME,
      password: () => password,
      logger: silent(),
      profile: {
        ...LEARN_WEB_PROFILE,
        loginPath: sb.learnEnv.LMS_LOGIN_URL,
        landingPath: sb.learnEnv.LMS_LOGIN_LANDING,
        selectors: {
          username: sb.learnEnv.LMS_LOGIN_USER_SELECTOR,
          password: sb.learnEnv.LMS_LOGIN_PASSWORD_SELECTOR,
          submit: sb.learnEnv.LMS_LOGIN_SUBMIT_SELECTOR,
        },
      },
    });

  it('logs in through the form (hidden nonce included); the BbRouter cookie fetches a certificate', async () => {
    const login = browserLogin(sb.learnEnv.LMS_PASSWORD);
    try {
      const result = await login.login();
      expect(sb.stats.learnWebLogins).toBe(1);
      expect(sb.stats.learnFailedLogins).toBe(0);
      const bbRouter = result.cookies.find((c) => c.name === 'BbRouter');
      expect(bbRouter?.value).toMatch(/^expires:\d+,id:[0-9A-F]+,signature:[0-9a-f]+,site:/);
      const jar = new CookieJar();
      for (const c of result.cookies) jar.cookies.set(c.name, c.value);
      const cert = sb.institution.certificates()[0];
      if (!cert) throw new Error('no certificate');
      const page = await webGet(sb, achievementsUrl(cert.OrgUnitId, cert.UserId), jar);
      expect(page.status).toBe(200);
      const pdf = await webGet(sb, certificatePath(cert.IssuedId, cert.OrgUnitId, cert.UserId), jar);
      expect(pdf.headers.get('content-type')).toBe('application/pdf');
      expect(
        Buffer.from(await pdf.arrayBuffer()).equals(Buffer.from(await sb.certificatePdf(cert.IssuedId))),
      ).toBe(true);

      const refused = browserLogin('wrong-password');
      try {
        await expect(refused.login()).rejects.toBeInstanceOf(LoginFailedError);
      } finally {
        await refused.close();
      }
      expect(sb.stats.learnFailedLogins).toBe(1);
    } finally {
      await login.close();
    }
  }, 90_000);
});
