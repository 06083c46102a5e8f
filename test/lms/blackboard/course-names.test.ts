/**
 * Learn certificates carry their course's name: the memberships listing asks `expand=course`, and
 * each membership's `course.name` goes on the certificates found on that course's page. A missing
 * or odd course object leaves the name unknown and the certificates harvested.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSession } from '../../../src/browser/index.ts';
import type { SessionCredentials } from '../../../src/browser/session-fetch.ts';
import type { Certificate } from '../../../src/certificate/index.ts';
import { createBlackboardAdapter } from '../../../src/lms/blackboard/index.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';
import { startSandbox, type Sandbox } from '@certharvest/sandbox';
import { LEARN_API_BASE, learnUuid, NONCE_FIELD } from '@certharvest/sandbox/learn';
import { captureLogger } from '../../helpers/index.ts';
import { CookieJar, webGet, webPost } from '../../sandbox/helpers.ts';
import { sendJson } from '../stub-http.ts';
import { collect, FakeTokens, startLearn, type LearnStub } from './learn-stub.ts';

const certificatesOf = (entries: AwardEntry[]): Certificate[] =>
  entries.flatMap((e) => (e.ok && e.kind === 'certificate' ? [e.certificate] : []));

/** A WebSession that always holds these cookies (no login, no renewal). */
const fixedSession = (cookieHeader: string): WebSession =>
  ({
    async withSession<T>(use: (c: SessionCredentials) => Promise<T | 'logged-out'>): Promise<T> {
      const result = await use({ cookieHeader, userAgent: 'certharvest-test' });
      if (result === 'logged-out') throw new Error('the test session was logged out');
      return result;
    },
  }) as unknown as WebSession;

describe("the sandbox's Learn and the adapter", () => {
  let sb: Sandbox;
  let token: string;
  let session: WebSession;

  beforeAll(async () => {
    // Pages of 2: the memberships listing pages, and `expand` must hold on every page.
    sb = await startSandbox({ seed: 3, userCount: 8, knobs: { learnPageSize: 2 } });
    const basic = Buffer.from(`${sb.learnEnv.OAUTH_CLIENT_ID}:${sb.learnEnv.OAUTH_CLIENT_SECRET}`);
    const answer = await fetch(sb.learnEnv.OAUTH_TOKEN_URL, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic.toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    token = ((await answer.json()) as { access_token: string }).access_token;
    // The web login through the form, with plain fetch: its BbRouter cookie is the session.
    const jar = new CookieJar();
    const form = await (await webGet(sb, '/webapps/login/', jar)).text();
    const nonce = new RegExp(`name="${NONCE_FIELD.replace(/\./g, '\\.')}" value="([^"]+)"`).exec(form)?.[1];
    await webPost(
      sb,
      '/webapps/login/',
      {
        user_id: sb.learnEnv.LMS_USERNAME,
        password: sb.learnEnv.LMS_PASSWORD,
        action: 'login',
        [NONCE_FIELD]: nonce ?? '',
      },
      jar,
    );
    expect(jar.cookies.has('BbRouter')).toBe(true);
    session = fixedSession(jar.header());
  });
  afterAll(async () => {
    sb?.setKnobs({ learnIds: 'n1' });
    await sb?.close();
  });

  const student = () =>
    sb.institution.students.find((s) => sb.institution.certificatesOf(s.UserId).length > 1)!;
  const memberships = async (query: string) => {
    const res = await fetch(`${sb.url}${LEARN_API_BASE}/users/_${student().UserId}_1/courses${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { results: Record<string, unknown>[]; paging?: { nextPage: string } };
  };

  it('sends the course only when asked (expand=course), and keeps asking on the next page', async () => {
    const plain = await memberships('');
    expect(plain.results.length).toBeGreaterThan(0);
    for (const m of plain.results) expect(m).not.toHaveProperty('course');

    const expanded = await memberships('?expand=course');
    for (const m of expanded.results) {
      const n = Number(/^_(\d+)_1$/.exec(String(m.courseId))?.[1]);
      const course = sb.institution.course(n)!;
      expect(m.course).toMatchObject({ id: m.courseId, courseId: `C${n}`, name: course.Name });
    }
    expect(expanded.paging?.nextPage).toMatch(/[?&]expand=course(&|$)/);
  });

  it.each(['n1', 'mixed'] as const)(
    'names every certificate after its course (%s ids), with no call of its own',
    async (learnIds) => {
      sb.setKnobs({ learnIds });
      const { UserId } = student();
      const userRef = learnIds === 'mixed' && UserId % 2 === 0 ? `_${UserId}_4` : `_${UserId}_1`;
      const courseRef = (n: number) =>
        learnIds === 'mixed' ? learnUuid(sb.institution.seed, 'course', n) : `_${n}_1`;
      const names = new Map(sb.institution.courses.map((c) => [courseRef(c.OrgUnitId), c.Name]));
      const adapter = createBlackboardAdapter({
        lmsUrl: sb.url,
        tokens: { getAccessToken: async () => token, invalidate: () => {} },
        session,
        logger: captureLogger().logger,
      });
      sb.resetStats();
      const found = certificatesOf(await collect(adapter.directory.listAwards(userRef)));
      expect(found).toHaveLength(sb.institution.certificatesOf(UserId).length);
      for (const c of found) expect(c.orgUnitName).toBe(names.get(String(c.orgUnitId)));
      // Only the memberships pages: the names came with them, no course was asked for.
      const routes = Object.keys(sb.stats.routes).filter((r) => r.includes(LEARN_API_BASE));
      expect(routes).toEqual([`GET ${LEARN_API_BASE}/users/:userId/courses`]);
      expect(sb.stats.routes[routes[0]!]).toBeGreaterThan(1);
    },
  );
});

describe('a membership without a usable course object', () => {
  const API = '/learn/api/public/v1';
  const ACHIEVEMENTS = '/webapps/achievements/studentViewAchievements.form';
  let server: LearnStub | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** One certificate on course N's page (the default markup of docs/blackboard.md). */
  const page = (n: number) =>
    `<html><body><ul id="achievements"><li class="achievement" data-achievement-id="_${n}0_1" data-award-id="_${n}1_1" data-type="certificate">
       <span class="achievement-title">Certificate ${n}</span>
       <time class="achievement-issued" datetime="2026-03-01T10:00:00Z">1 March 2026</time>
       <a class="achievement-certificate" href="/webapps/achievements/certificate/download.form?achievement_id=_${n}0_1">Download certificate</a>
     </li></ul></body></html>`;

  it('leaves the name unknown and still harvests the certificates', async () => {
    const memberships = [
      { courseId: '_11_1', course: { id: '_11_1', courseId: 'FS-1', name: 'Fire Safety' } },
      { courseId: '_12_1' },
      { courseId: '_13_1', course: 'not an object' },
      { courseId: '_14_1', course: { id: '_99_1', name: 'Another course' } },
      { courseId: '_15_1', course: { name: '  First\naid  ' } },
      { courseId: '_16_1', course: { id: '_16_1', name: 7 } },
      { courseId: '_17_1', course: null },
      { courseId: '_18_1', course: { id: '_18_1', name: '   ' } },
    ].map((m) => ({ userId: '_7_1', courseRoleId: 'Student', ...m }));
    server = await startLearn({
      [`GET ${API}/users/_7_1/courses`]: (_q, url, res) => {
        expect(url.searchParams.get('expand')).toBe('course');
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const results = memberships.slice(offset, offset + 3);
        // This Learn drops `expand` from nextPage: the client asks it again on every page.
        const more = offset + 3 < memberships.length;
        sendJson(res, 200, {
          results,
          ...(more ? { paging: { nextPage: `${url.pathname}?offset=${offset + 3}` } } : {}),
        });
      },
      [`GET ${ACHIEVEMENTS}`]: (_q, url, res: ServerResponse) => {
        const n = Number(/^_(\d+)_1$/.exec(url.searchParams.get('course_id') ?? '')?.[1]);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page(n));
      },
    });
    const adapter = createBlackboardAdapter({
      lmsUrl: server.origin,
      tokens: new FakeTokens(),
      session: fixedSession('BbRouter=test'),
      logger: captureLogger().logger,
    });
    const entries = await collect(adapter.directory.listAwards('_7_1'));
    expect(entries.filter((e) => !e.ok)).toEqual([]);
    expect(certificatesOf(entries).map((c) => [c.orgUnitId, c.orgUnitName])).toEqual([
      ['_11_1', 'Fire Safety'],
      ['_12_1', undefined],
      ['_13_1', undefined],
      ['_14_1', undefined], // another course's name is not this one's
      ['_15_1', 'First aid'],
      ['_16_1', undefined],
      ['_17_1', undefined],
      ['_18_1', undefined],
    ]);
    const listed = server.seen.filter((r) => r.url.startsWith(`${API}/users/_7_1/courses`)).map((r) => r.url);
    expect(listed).toEqual([
      `${API}/users/_7_1/courses?offset=0&limit=200&expand=course`,
      `${API}/users/_7_1/courses?offset=3&expand=course`,
      `${API}/users/_7_1/courses?offset=6&expand=course`,
    ]);
  });
});
