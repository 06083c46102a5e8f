/**
 * createBlackboardAdapter against a stub Learn (REST + web pages), with a real WebSession whose
 * Chromium login is replaced by a stand-in that hands out the stub's cookie: discovery through
 * the Achievements pages, session renewal, per-course refusals, downloads through the session.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SealedBox } from '../../../src/auth/sealed-box.ts';
import { RedisLock } from '../../../src/auth/redis-lock.ts';
import {
  OffHostRedirectError,
  SessionExpiredError,
  SessionStore,
  WebSession,
  type BrowserLogin,
} from '../../../src/browser/index.ts';
import { LoginFailedError } from '../../../src/browser/errors.ts';
import { MemoryPdfSink } from '../../../src/pdf/index.ts';
import { connectRedis } from '../../../src/queue/index.ts';
import { RateLimitedError, UserNotFoundError } from '../../../src/lms/index.ts';
import { createBlackboardAdapter, type BlackboardAdapterOptions } from '../../../src/lms/blackboard/index.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';
import { LEARN_WEB_PROFILE } from '../../../src/lms/blackboard/web-profile.ts';
import {
  DEFAULT_SITE_PROFILE,
  parseSiteProfile,
  siteProfileFromLegacy,
} from '../../../src/lms/blackboard/site-profile.ts';
import { decide } from '../../../src/failure/failure-policy.ts';
import { captureLogger, testRedisUrl, uniquePrefix } from '../../helpers/index.ts';
import { sendJson } from '../stub-http.ts';
import { collect, FakeTokens, learnUser, pageOf, startLearn, type LearnStub } from './learn-stub.ts';

const API = '/learn/api/public/v1';
const ACHIEVEMENTS = '/webapps/achievements/studentViewAchievements.form';
const DOWNLOAD = '/webapps/achievements/certificate/download.form';
const pdfOf = (issued: string) =>
  Buffer.from(`%PDF-1.4\n% certificate ${issued}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n`);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What the stub LMS knows, and how it misbehaves. */
interface World {
  /** Courses per user id (N). */
  memberships: Record<number, (number | string)[]>;
  /** Achievements page HTML per course id (N), or a custom answer. */
  pages: Record<number, string | ((res: ServerResponse) => void)>;
  /** The cookie value the LMS accepts now. */
  validCookie: string | undefined;
  /** Expire the session after this many page requests (then any new login works again). */
  expireAfterPages?: number;
  pageRequests: number;
}

const li = (issued: number, award: number, course: number, user: number, title: string, extra = '') =>
  `<li class="achievement" data-achievement-id="_${issued}_1" data-award-id="_${award}_1" data-type="certificate">
     <span class="achievement-title">${title}</span>
     <time class="achievement-issued" datetime="2026-03-01T10:00:00Z">1 March 2026</time>
     <a class="achievement-certificate" href="${DOWNLOAD}?achievement_id=_${issued}_1&amp;course_id=_${course}_1&amp;user_id=_${user}_1">Download certificate</a>${extra}
   </li>`;
const badge = (issued: number) =>
  `<li class="achievement" data-achievement-id="_${issued}_1" data-award-id="_${issued}_1" data-type="badge"><span class="achievement-title">A badge</span></li>`;
const ul = (...items: string[]) =>
  `<html><body><ul id="achievements">${items.join('')}</ul>${items.length ? '' : '<p>No achievements</p>'}</body></html>`;

async function startLms(world: World): Promise<LearnStub> {
  const loggedIn = (cookie: string | undefined) =>
    world.validCookie !== undefined && (cookie ?? '').split('; ').includes(`BbRouter=${world.validCookie}`);
  const toLogin = (res: ServerResponse, from: string) => {
    res.writeHead(302, { location: `/webapps/login/?new_loc=${encodeURIComponent(from)}` });
    res.end();
  };
  return startLearn({
    'GET *': (req, url, res) => {
      const memberships = /^\/learn\/api\/public\/v1\/users\/_(\d+)_1\/courses$/.exec(url.pathname);
      if (memberships) {
        const user = Number(memberships[1]);
        const courses = world.memberships[user];
        if (!courses) return sendJson(res, 404, { status: 404, message: 'User not found' });
        const items = courses.map((c) => ({
          userId: `_${user}_1`,
          courseId: typeof c === 'number' ? `_${c}_1` : c,
          courseRoleId: 'Student',
        }));
        return sendJson(res, 200, pageOf(items, url, 2));
      }
      if (url.pathname === `${API}/users`) {
        return sendJson(
          res,
          200,
          pageOf(
            Object.keys(world.memberships).map((n) => learnUser(Number(n))),
            url,
            2,
          ),
        );
      }
      const user = /^\/learn\/api\/public\/v1\/users\/(.+)$/.exec(url.pathname);
      if (user) {
        const key = decodeURIComponent(user[1]!);
        const n = Number(
          /^(?:_(\d+)_1|userName:user(\d+)|externalId:S(\d+))$/.exec(key)?.slice(1).find(Boolean),
        );
        if (world.memberships[n]) return sendJson(res, 200, learnUser(n));
        return sendJson(res, 404, { status: 404, message: 'User not found' });
      }
      if (url.pathname === `${API}/system/version`) return sendJson(res, 200, { learn: { major: 3900 } });
      if (url.pathname === '/ultra/stream') {
        if (!loggedIn(req.headers.cookie)) return toLogin(res, url.pathname);
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>stream</html>');
      }
      if (url.pathname === ACHIEVEMENTS) {
        world.pageRequests++;
        if (world.expireAfterPages !== undefined && world.pageRequests > world.expireAfterPages) {
          world.expireAfterPages = undefined;
          world.validCookie = undefined;
        }
        if (!loggedIn(req.headers.cookie)) return toLogin(res, url.pathname + url.search);
        const course = /^_(\d+)_1$/.exec(url.searchParams.get('course_id') ?? '')?.[1];
        const page = world.pages[Number(course)] ?? ul();
        if (typeof page === 'function') return page(res);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page);
      }
      if (url.pathname === DOWNLOAD) {
        if (!loggedIn(req.headers.cookie)) return toLogin(res, url.pathname + url.search);
        res.writeHead(200, { 'content-type': 'application/pdf' });
        return res.end(pdfOf(url.searchParams.get('achievement_id') ?? '?'));
      }
      if (url.pathname.startsWith('/webapps/login/')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(
          '<form name="login"><input name="user_id"><input type="password" name="password"></form>',
        );
      }
      sendJson(res, 404, { status: 404, message: 'Not found' });
    },
  });
}

let redis: Redis;
beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
});
afterAll(async () => {
  await redis?.quit();
});

let server: LearnStub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A real WebSession (Redis store, lock) whose "Chromium login" just takes the stub's next cookie. */
function webSession(world: World, lmsUrl: string) {
  const stats = { launches: 0, logins: 0 };
  let n = 0;
  const login = {
    stats,
    async login() {
      stats.logins++;
      world.validCookie = `session-${++n}`;
      return { cookies: [{ name: 'BbRouter', value: world.validCookie }], userAgent: 'test-agent' };
    },
    async close() {},
  } as unknown as BrowserLogin;
  const store = new SessionStore({
    redis,
    box: new SealedBox(randomBytes(32)),
    host: new URL(lmsUrl).host,
    keyPrefix: uniquePrefix('bb'),
  });
  const session = new WebSession({
    lmsUrl,
    login,
    store,
    lock: new RedisLock(redis, store.lockKey, { ttlMs: 10_000 }),
    logger: captureLogger().logger,
    maxPdfBytes: 1024 * 1024,
    profile: LEARN_WEB_PROFILE,
  });
  return { session, stats };
}

function adapter(world: World, extra: Partial<BlackboardAdapterOptions> = {}) {
  const { session, stats } = webSession(world, server!.origin);
  const log = captureLogger();
  const a = createBlackboardAdapter({
    lmsUrl: server!.origin,
    tokens: new FakeTokens(),
    session,
    logger: log.logger,
    ...extra,
  });
  return { adapter: a, logins: stats, log };
}

const newWorld = (partial: Partial<World> = {}): World => ({
  memberships: {},
  pages: {},
  validCookie: undefined,
  pageRequests: 0,
  ...partial,
});

const certs = (entries: AwardEntry[]) =>
  entries.flatMap((e) => (e.ok && e.kind === 'certificate' ? [e.certificate] : []));
const refusals = (entries: AwardEntry[]) => entries.flatMap((e) => (e.ok ? [] : [e]));

describe('createBlackboardAdapter: discovery', () => {
  it("lists a user's certificates from every course's Achievements page, through one login", async () => {
    const world = newWorld({
      memberships: { 7: [11, 12, 13] },
      pages: {
        11: ul(li(901, 55, 11, 7, 'Fire &amp; Safety &lt;b&gt;'), badge(902)),
        12: ul(li(903, 56, 12, 7, 'First aid')),
      },
    });
    server = await startLms(world);
    const { adapter: a, logins } = adapter(world);
    expect(a.directory.host).toBe(new URL(server.origin).host);
    expect(await a.directory.resolveUser('userName', 'user7')).toEqual({ userId: '_7_1', userName: 'user7' });
    expect(await a.directory.resolveUser('orgDefinedId', 'S7')).toEqual({
      userId: '_7_1',
      userName: 'user7',
    });
    const entries = await collect(a.directory.listAwards('_7_1'));
    expect(certs(entries)).toEqual([
      {
        userId: '_7_1',
        orgUnitId: '_11_1',
        issuedId: '_901_1',
        awardId: '_55_1',
        title: 'Fire & Safety <b>',
        issuedDate: '2026-03-01T10:00:00.000Z',
      },
      {
        userId: '_7_1',
        orgUnitId: '_12_1',
        issuedId: '_903_1',
        awardId: '_56_1',
        title: 'First aid',
        issuedDate: '2026-03-01T10:00:00.000Z',
      },
    ]);
    expect(entries.filter((e) => e.ok && e.kind === 'badge')).toHaveLength(1);
    expect(refusals(entries)).toEqual([]);
    expect(logins.logins).toBe(1);
    const pageUrls = server.seen.filter((r) => r.url.startsWith(ACHIEVEMENTS)).map((r) => r.url);
    expect(pageUrls).toEqual([11, 12, 13].map((c) => `${ACHIEVEMENTS}?course_id=_${c}_1&user_id=_7_1`));
    // The bearer token never goes to a web page; the session cookie never to the REST API.
    for (const r of server.seen) {
      if (r.url.startsWith(API)) expect(r.headers.cookie).toBeUndefined();
      else expect(r.headers.authorization).toBeUndefined();
    }
  });

  it('logs in again for the fleet when the session expires mid-listing', async () => {
    const world = newWorld({
      memberships: { 7: [11, 12, 13] },
      pages: { 11: ul(li(1, 1, 11, 7, 'a')), 12: ul(li(2, 2, 12, 7, 'b')), 13: ul(li(3, 3, 13, 7, 'c')) },
      expireAfterPages: 1,
    });
    server = await startLms(world);
    const { adapter: a, logins } = adapter(world);
    const entries = await collect(a.directory.listAwards('_7_1'));
    expect(certs(entries).map((c) => c.issuedId)).toEqual(['_1_1', '_2_1', '_3_1']);
    expect(logins.logins).toBe(2);
  });

  it('a login page even right after a login is SessionExpiredError (retried by the policy)', async () => {
    const world = newWorld({ memberships: { 7: [11] } });
    server = await startLms(world);
    world.pages[11] = (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<form><input type="password" name="password"></form>');
    };
    const { adapter: a } = adapter(world);
    const error = await collect(a.directory.listAwards('_7_1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect(decide(error).action).toBe('retry');
  });

  it('refuses one course (forbidden, missing, not HTML, too large, bad id) and lists the others', async () => {
    const world = newWorld({
      memberships: { 7: [21, 22, 23, 24, '_25/9', 26] },
      pages: {
        21: (res) => {
          res.writeHead(403, { 'content-type': 'text/html' });
          res.end('<p>Access denied</p>');
        },
        22: (res) => {
          res.writeHead(404, { 'content-type': 'text/html' });
          res.end('<p>Tool not available</p>');
        },
        23: (res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        },
        24: (res) => {
          // 6 MB without a Content-Length: read up to the limit, then cut.
          res.writeHead(200, { 'content-type': 'text/html' });
          const chunk = Buffer.alloc(1024 * 1024, 'a');
          for (let i = 0; i < 6; i++) res.write(chunk);
          res.end();
        },
        26: ul(li(960, 61, 26, 7, 'Still here')),
      },
    });
    server = await startLms(world);
    const { adapter: a } = adapter(world);
    const entries = await collect(a.directory.listAwards('_7_1'));
    expect(certs(entries).map((c) => c.issuedId)).toEqual(['_960_1']);
    const refused = refusals(entries);
    expect(refused.map((r) => [r.ref, r.code])).toEqual([
      ['course _21_1', 'ACHIEVEMENTS_FORBIDDEN'],
      ['course _22_1', 'LMS_REQUEST_REJECTED'],
      ['course _23_1', 'LMS_DATA_INVALID'],
      ['course _24_1', 'LMS_DATA_INVALID'],
      ['membership course "_25/9"', 'LMS_DATA_INVALID'],
    ]);
    expect(refused[0]!.reason).toMatch(/403 although the web session works/);
    expect(refused[2]!.reason).toMatch(/expected an HTML page, got "application\/json"/);
    expect(refused[3]!.reason).toMatch(/over the 5242880-byte limit/);
    expect(refused[4]!.reason).toMatch(
      /results\[0\]\.courseId: expected a Learn id \(letters, digits, _ and -, such as _123_1 or a UUID\), got "_25\/9"/,
    );
  });

  it('a page redirected off the LMS, or rate limited, fails the listing with the right error', async () => {
    const world = newWorld({ memberships: { 7: [31], 8: [32] } });
    server = await startLms(world);
    world.pages[31] = (res) => {
      res.writeHead(302, { location: 'https://idp.example/sso' });
      res.end();
    };
    world.pages[32] = (res) => {
      res.writeHead(429, { 'retry-after': '30' });
      res.end();
    };
    const { adapter: a } = adapter(world);
    const offHost = await collect(a.directory.listAwards('_7_1')).catch((e: unknown) => e);
    expect(offHost).toBeInstanceOf(OffHostRedirectError);
    expect(server.seen.some((r) => r.url.startsWith('/sso'))).toBe(false);
    const limited = await collect(a.directory.listAwards('_8_1')).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect(decide(limited)).toMatchObject({ action: 'wait', delayMs: 30_000 });
  });

  it('an unknown user is UserNotFoundError; every user of the institution is listed', async () => {
    const world = newWorld({ memberships: { 7: [], 8: [], 9: [] } });
    server = await startLms(world);
    const { adapter: a } = adapter(world);
    await expect(collect(a.directory.listAwards('_99_1'))).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(a.directory.resolveUser('userName', 'nobody')).rejects.toBeInstanceOf(UserNotFoundError);
    expect(await collect(a.directory.listAllUserIds())).toEqual(['_7_1', '_8_1', '_9_1']);
  });

  it('follows the BB_* templates and selectors laid over the default profile', async () => {
    const world = newWorld({ memberships: { 7: [41] } });
    server = await startLms(world);
    world.pages[41] = `<div class="card" data-achievement-id="_71_1"><h3>Custom</h3><span>no link</span></div>`;
    const profile = siteProfileFromLegacy(
      {
        BB_ACHIEVEMENTS_URL: `${ACHIEVEMENTS}?user_id={userId}&course_id={courseId}&mode=full`,
        BB_CERTIFICATE_URL: `${DOWNLOAD}?achievement_id=_{issuedId}_1&course_id=_{orgUnitId}_1&user_id=_{userId}_1&award=_{awardId}_1`,
        BB_ACHIEVEMENT_SELECTOR: 'div.card',
        BB_TITLE_SELECTOR: 'h3',
      },
      {
        ...DEFAULT_SITE_PROFILE,
        achievements: {
          ...DEFAULT_SITE_PROFILE.achievements,
          kinds: { certificate: ['certificate'], badge: [] },
        },
      },
    );
    // Without a link, an item is a certificate when its kind says so: here every card is.
    profile.achievements.fields.kind = [{ selector: undefined, from: { kind: 'text' }, regex: /Custom/ }];
    profile.achievements.kinds.certificate = ['custom'];
    const { adapter: a } = adapter(world, { profile });
    const [cert] = certs(await collect(a.directory.listAwards('_7_1')));
    expect(cert).toMatchObject({
      issuedId: '_71_1',
      awardId: '_71_1',
      orgUnitId: '_41_1',
      title: 'Custom',
      issuedDate: null,
    });
    expect(server.seen.some((r) => r.url === `${ACHIEVEMENTS}?user_id=_7_1&course_id=_41_1&mode=full`)).toBe(
      true,
    );
    const sink = new MemoryPdfSink();
    await a.fetcher.viaBrowser(cert!, sink, () => {});
    expect(server.seen.at(-1)!.url).toBe(
      `${DOWNLOAD}?achievement_id=_71_1&course_id=_41_1&user_id=_7_1&award=_71_1`,
    );
  });

  it('refuses templates that leave the LMS at creation', async () => {
    const world = newWorld();
    server = await startLms(world);
    const offHost = siteProfileFromLegacy(
      { BB_CERTIFICATE_URL: 'https://evil.example/x?i={issuedId}' },
      DEFAULT_SITE_PROFILE,
    );
    expect(() => adapter(world, { profile: offHost })).toThrow(/certificate\.url: .* leads off the LMS/);
  });

  it('includeExpired: false leaves expired certificates out when the profile reads an expiry, and is refused when it does not', async () => {
    const world = newWorld({
      memberships: { 7: [11] },
      pages: {
        11: ul(
          li(1, 1, 11, 7, 'old', '<time class="expires" datetime="2020-01-01T00:00:00Z"></time>'),
          li(2, 2, 11, 7, 'current', '<time class="expires" datetime="2999-01-01T00:00:00Z"></time>'),
          li(3, 3, 11, 7, 'forever'),
        ),
      },
    });
    server = await startLms(world);
    const plain = adapter(world).adapter;
    const refused = await collect(plain.directory.listAwards('_7_1', { includeExpired: false })).catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'FILTER_UNSUPPORTED', retryable: false });
    expect((refused as Error).message).toMatch(/declare achievements\.fields\.expires/);
    expect(decide(refused).action).toBe('give-up');
    expect(certs(await collect(plain.directory.listAwards('_7_1'))).map((c) => c.title)).toEqual([
      'old',
      'current',
      'forever',
    ]);

    const profile = structuredClone(DEFAULT_SITE_PROFILE);
    profile.achievements.fields.expires = [
      { selector: 'time.expires', from: { kind: 'attribute', name: 'datetime' }, regex: undefined },
    ];
    const { adapter: withExpiry } = adapter(world, { profile });
    expect(
      certs(await collect(withExpiry.directory.listAwards('_7_1', { includeExpired: false }))).map(
        (c) => c.title,
      ),
    ).toEqual(['current', 'forever']);
    expect(certs(await collect(withExpiry.directory.listAwards('_7_1'))).map((c) => c.title)).toHaveLength(3);
  });
});

describe('createBlackboardAdapter: another markup, by profile alone', () => {
  const TABLE = parseSiteProfile(
    [
      'achievements:',
      '  url: /webapps/table/{courseRef}/{userRef}',
      '  item: tr.award',
      '  fields:',
      '    id: {from: {attribute: data-record}}',
      '    title: {selector: td.name}',
      '    link: {selector: a.get}',
      '    kind: {selector: td.kind}',
      '  kinds: {certificate: [Certificate]}',
      '  linkChecks: {course: {segment: 2}, user: {segment: 3}}',
      'certificate:',
      '  url: /webapps/fallback/{courseRef}/{issuedRef}.pdf',
    ].join('\n'),
    'table.yaml',
  );
  const tr = (id: string, href: string | undefined, user = '_7_1') =>
    `<tr class="award" data-record="${id}"><td class="name">Cert ${id}</td><td class="kind">Certificate</td><td>${
      href === undefined ? '' : `<a class="get" href="${href.replace('{user}', user)}">PDF</a>`
    }</td></tr>`;

  /** A stub whose certificate URLs carry a signature only the page knows. */
  async function startTableLms(world: World, rows: Record<string, string>) {
    const stub = await startLms(world);
    const base = stub.origin;
    const pageHits: string[] = [];
    const table = await startLearn({
      'GET *': async (req, url, res) => {
        const page = /^\/webapps\/table\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        if (page) {
          pageHits.push(url.pathname);
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end(`<table>${rows[page[1]!] ?? ''}</table>`);
        }
        const pdf = /^\/webapps\/(?:signed\/([^/]+)\/([^/]+)\/([^/]+)|fallback\/([^/]+)\/([^/]+)\.pdf)$/.exec(
          url.pathname,
        );
        if (pdf) {
          const signedOk = pdf[1] === undefined || url.searchParams.get('sig') === `s-${pdf[3]}`;
          res.writeHead(signedOk ? 200 : 403, { 'content-type': signedOk ? 'application/pdf' : 'text/html' });
          return res.end(signedOk ? pdfOf(pdf[3] ?? pdf[5]!) : '<p>bad signature</p>');
        }
        // Everything else (REST, login, landing) as the default stub.
        const proxied = await fetch(`${base}${url.pathname}${url.search}`, {
          headers: { ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}) },
          redirect: 'manual',
        });
        const keep = ['content-type', 'location'].flatMap((h) => {
          const v = proxied.headers.get(h);
          return v === null ? [] : [[h, v] as [string, string]];
        });
        res.writeHead(proxied.status, Object.fromEntries(keep));
        res.end(Buffer.from(await proxied.arrayBuffer()));
      },
    });
    return { table, stub, pageHits };
  }

  it('follows the signed link the page shows; another process reads the page again; the template when there is no link', async () => {
    const world = newWorld({ memberships: { 7: [11] } });
    const { table, stub, pageHits } = await startTableLms(world, {
      _11_1:
        tr('_901_4', '/webapps/signed/_11_1/{user}/_901_4?sig=s-_901_4') +
        tr('8c1d-uuid', undefined) +
        tr('_666_1', '/webapps/signed/_11_1/{user}/_666_1?sig=s-_666_1', '_8_1'),
    });
    server = table;
    try {
      const { adapter: a } = adapter(world, { profile: TABLE });
      const entries = await collect(a.directory.listAwards('_7_1'));
      const [signed, fallback] = certs(entries);
      expect(signed).toMatchObject({ issuedId: '_901_4', orgUnitId: '_11_1', userId: '_7_1' });
      expect(fallback).toMatchObject({ issuedId: '8c1d-uuid' });
      expect(refusals(entries).map((r) => r.reason)).toEqual([
        expect.stringMatching(/the link is for user "_8_1", not _7_1/),
      ]);
      const sink = new MemoryPdfSink();
      await a.fetcher.viaBrowser(signed!, sink, () => {});
      expect(sha(sink.bytes())).toBe(sha(pdfOf('_901_4')));
      expect(table.seen.at(-1)!.url).toBe('/webapps/signed/_11_1/_7_1/_901_4?sig=s-_901_4');
      expect(pageHits).toHaveLength(1);

      // Another worker never saw the page: it reads it again for the link, then downloads.
      const { adapter: other } = adapter(world, { profile: TABLE });
      const again = new MemoryPdfSink();
      await other.fetcher.viaBrowser(signed!, again, () => {});
      expect(sha(again.bytes())).toBe(sha(pdfOf('_901_4')));
      expect(pageHits).toHaveLength(2);

      await a.fetcher.viaBrowser(fallback!, new MemoryPdfSink(), () => {});
      expect(table.seen.at(-1)!.url).toBe('/webapps/fallback/_11_1/8c1d-uuid.pdf');
    } finally {
      await stub.close();
    }
  });
});

describe('createBlackboardAdapter: downloads and probes', () => {
  it('viaApi is always unsupported; viaBrowser downloads the PDF with the session', async () => {
    const world = newWorld({ memberships: { 7: [11] }, pages: { 11: ul(li(901, 55, 11, 7, 'T')) } });
    server = await startLms(world);
    const { adapter: a } = adapter(world);
    const [cert] = certs(await collect(a.directory.listAwards('_7_1')));
    const sink = new MemoryPdfSink();
    expect(await a.fetcher.viaApi(cert!, sink)).toBe('unsupported');
    expect(await a.fetcher.viaBrowser(cert!, sink, () => {})).toMatchObject({
      contentType: 'application/pdf',
    });
    expect(sha(sink.bytes())).toBe(sha(pdfOf('_901_1')));
    expect(server.seen.at(-1)!.url).toBe(`${DOWNLOAD}?achievement_id=_901_1&course_id=_11_1&user_id=_7_1`);
  });

  it('without a web session, discovery and downloads pause the fleet with what to set', async () => {
    const world = newWorld({ memberships: { 7: [11] } });
    server = await startLms(world);
    const a = createBlackboardAdapter({
      lmsUrl: server.origin,
      tokens: new FakeTokens(),
      session: undefined,
      logger: captureLogger().logger,
    });
    expect(await a.directory.resolveUser('userId', '7')).toMatchObject({ userId: '_7_1' });
    const error = await collect(a.directory.listAwards('_7_1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginFailedError);
    expect(error).toMatchObject({ code: 'LOGIN_NOT_CONFIGURED' });
    expect((error as Error).message).toMatch(/LMS_USERNAME and LMS_PASSWORD/);
    expect(decide(error)).toMatchObject({ action: 'pause', reason: 'LOGIN_REFUSED' });
    const cert = {
      userId: '_7_1',
      orgUnitId: '_11_1',
      issuedId: '_1_1',
      awardId: '_1_1',
      title: '',
      issuedDate: null,
    };
    await expect(a.fetcher.viaBrowser(cert, new MemoryPdfSink(), () => {})).rejects.toBeInstanceOf(
      LoginFailedError,
    );
    expect(await a.fetcher.viaApi(cert, new MemoryPdfSink())).toBe('unsupported');
  });

  it('reachable() is any HTTP answer; a closed port is not', async () => {
    const world = newWorld();
    server = await startLms(world);
    const { adapter: a } = adapter(world);
    expect(await a.directory.reachable()).toBe(true);
    expect(server.seen.at(-1)!.url).toBe(`${API}/system/version`);
    const origin = server.origin;
    await server.close();
    server = undefined;
    const closed = createBlackboardAdapter({
      lmsUrl: origin,
      tokens: new FakeTokens(),
      session: undefined,
      logger: captureLogger().logger,
    });
    expect(await closed.directory.reachable()).toBe(false);
  });

  it('counts REST calls with the fleet, not the page reads', async () => {
    const world = newWorld({ memberships: { 7: [11, 12, 13] } });
    server = await startLms(world);
    const prefix = uniquePrefix('bb');
    const { adapter: a } = adapter(world, { redis, prefix });
    await collect(a.directory.listAwards('_7_1'));
    // Two membership pages (page size 2); the three Achievements pages are web, not REST.
    expect(await a.client.callsToday()).toBe(2);
  });
});
