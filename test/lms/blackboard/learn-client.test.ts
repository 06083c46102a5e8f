import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  InvalidReferenceError,
  LmsDataError,
  LmsRequestError,
  LmsUnavailableError,
  RateLimitedError,
  UserNotFoundError,
} from '../../../src/lms/index.ts';
import {
  describeRestException,
  learnCallsKey,
  learnCallsToday,
  type LearnItem,
  type LearnUser,
} from '../../../src/lms/blackboard/index.ts';
import { connectRedis } from '../../../src/queue/index.ts';
import { testRedisUrl, uniquePrefix } from '../../helpers/index.ts';
import { sendJson } from '../stub-http.ts';
import {
  collect,
  learnClient,
  learnUser,
  pageOf,
  restError,
  startLearn,
  type LearnStub,
} from './learn-stub.ts';

const API = '/learn/api/public/v1';

let server: LearnStub | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const ok = <T>(items: LearnItem<T>[]) => items.filter((i) => i.ok).map((i) => (i as { value: T }).value);

describe('LearnClient user lookups', () => {
  it('looks users up by their primary id (_N_1 for N, others as given), userName: and externalId:, values URL-encoded', async () => {
    server = await startLearn({
      'GET *': (req, url, res) => {
        const key = decodeURIComponent(url.pathname.slice(`${API}/users/`.length));
        if (key === '_7_1') return sendJson(res, 200, learnUser(7));
        if (key === '_7_4') return sendJson(res, 200, learnUser('_7_4'));
        if (key === 'b4c1f0e2-uuid') return sendJson(res, 200, learnUser('b4c1f0e2-uuid'));
        if (key === 'userName:ada@x.edu/y?z#') return sendJson(res, 200, learnUser(8));
        if (key === 'externalId:S 9&x=1') return sendJson(res, 200, learnUser(9));
        restError(res, 404, 'User not found');
      },
    });
    const { client } = learnClient(server);
    expect(await client.resolveUser({ by: 'userId', value: 7 })).toMatchObject({
      userId: '_7_1',
      id: '_7_1',
      userName: 'user7',
      externalId: 'S7',
      givenName: 'Ada',
      available: 'Yes',
    });
    expect((await client.resolveUser({ by: 'userId', value: '7' })).userId).toBe('_7_1');
    expect((await client.resolveUser({ by: 'userId', value: '_7_1' })).userId).toBe('_7_1');
    expect((await client.resolveUser({ by: 'userId', value: '_7_4' })).userId).toBe('_7_4');
    expect((await client.resolveUser({ by: 'userId', value: 'b4c1f0e2-uuid' })).userId).toBe('b4c1f0e2-uuid');
    expect((await client.resolveUser({ by: 'userName', value: ' ada@x.edu/y?z# ' })).userId).toBe('_8_1');
    expect((await client.resolveUser({ by: 'orgDefinedId', value: 'S 9&x=1' })).userId).toBe('_9_1');
    expect(server.seen.map((r) => r.url)).toEqual([
      `${API}/users/_7_1`,
      `${API}/users/_7_1`,
      `${API}/users/_7_1`,
      `${API}/users/_7_4`,
      `${API}/users/b4c1f0e2-uuid`,
      `${API}/users/userName:ada%40x.edu%2Fy%3Fz%23`,
      `${API}/users/externalId:S%209%26x%3D1`,
    ]);
    expect(server.seen[0]!.headers.authorization).toBe('Bearer token-1-secret');
  });

  it('refuses references that cannot be ids before any request', async () => {
    server = await startLearn({});
    const { client } = learnClient(server);
    for (const ref of [
      { by: 'userId', value: 'a b' },
      { by: 'userId', value: 0 },
      { by: 'userId', value: '_7_1/courses' },
      { by: 'userId', value: '../1' },
      { by: 'userName', value: '  ' },
      { by: 'orgDefinedId', value: 'a\nb' },
      { by: 'userName', value: 'x'.repeat(300) },
    ] as const) {
      await expect(client.resolveUser(ref)).rejects.toBeInstanceOf(InvalidReferenceError);
    }
    expect(server.seen).toHaveLength(0);
  });

  it('404 is UserNotFoundError, 400 an invalid reference with what Learn said', async () => {
    server = await startLearn({
      'GET *': (_req, url, res) =>
        url.pathname.includes('userName')
          ? restError(res, 400, 'Invalid userName', { developerMessage: 'bad chars' })
          : restError(res, 404, 'User not found'),
    });
    const { client } = learnClient(server);
    const missing = await client.resolveUser({ by: 'orgDefinedId', value: 'S404' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UserNotFoundError);
    expect(missing).toMatchObject({ by: 'orgDefinedId', reference: 'S404', code: 'LMS_USER_NOT_FOUND' });
    const bad = await client.resolveUser({ by: 'userName', value: 'x' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidReferenceError);
    expect((bad as Error).message).toMatch(/answered 400: Invalid userName — bad chars/);
  });

  it('refuses a user whose id is unsafe, or not the one asked for', async () => {
    server = await startLearn({
      [`GET ${API}/users/_7_1`]: (_q, _u, res) => sendJson(res, 200, learnUser('../7')),
      [`GET ${API}/users/_8_1`]: (_q, _u, res) => sendJson(res, 200, learnUser(9)),
    });
    const { client } = learnClient(server);
    const e1 = await client.getUser(7).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(LmsDataError);
    expect((e1 as Error).message).toMatch(
      /GET \/learn\/api\/public\/v1\/users\/_7_1: unexpected data at id: expected a Learn id \(letters, digits, _ and -, such as _123_1 or a UUID\), got "..\/7"/,
    );
    expect(await client.getUser(8).catch((e: unknown) => (e as Error).message)).toMatch(
      /asked for user _8_1, got _9_1/,
    );
  });
});

describe('LearnClient errors', () => {
  it('turns a RestException into an error naming the route and what Learn said', async () => {
    server = await startLearn({
      [`GET ${API}/courses/_5_1`]: (_q, _u, res) =>
        restError(res, 403, 'Forbidden', {
          code: 'permission.denied',
          developerMessage: 'User lacks entitlement course.view',
          extraInfo: 'https://developer.blackboard.com/support',
        }),
    });
    const { client } = learnClient(server);
    const error = await client.getCourse(5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LmsRequestError);
    expect(error).toMatchObject({ status: 403, code: 'LMS_REQUEST_REJECTED' });
    expect((error as Error).message).toBe(
      'GET /learn/api/public/v1/courses/_5_1: Learn answered 403: Forbidden — User lacks entitlement course.view ' +
        '[code permission.denied] (see https://developer.blackboard.com/support) (the Learn user the REST integration ' +
        'is bound to lacks the entitlement: see Administrator Panel > Integrations > REST API Integrations)',
    );
  });

  it('describes hostile or odd error bodies safely', () => {
    expect(describeRestException('not json')).toBe('');
    expect(describeRestException('{"error":"invalid_client","error_description":"bad\\nsecret"}')).toBe(
      'invalid_client: bad secret',
    );
    expect(
      describeRestException(JSON.stringify({ message: 'm'.repeat(1000), extraInfo: 'javascript:x' })),
    ).toMatch(/^m{297}\.\.\.$/);
    expect(describeRestException('{"status":404,"message":"x","developerMessage":"x"}')).toBe('x');
  });

  it('5xx is retried in place, then LmsUnavailableError; a redirect is not followed', async () => {
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) => restError(res, 502, 'Bad gateway'),
      [`GET ${API}/courses/_2_1`]: (_q, _u, res) => {
        res.writeHead(302, { location: 'https://elsewhere.example/x' });
        res.end();
      },
    });
    const { client } = learnClient(server);
    const down = await client.getCourse(1).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(LmsUnavailableError);
    expect(server.seen).toHaveLength(3);
    const moved = await client.getCourse(2).catch((e: unknown) => e);
    expect(moved).toBeInstanceOf(LmsRequestError);
    expect((moved as Error).message).toMatch(
      /answered 302 \(redirected to https:\/\/elsewhere\.example\/x; not followed\)/,
    );
    expect(server.seen).toHaveLength(4);
  });

  it('401 renews the token once and goes on', async () => {
    let first = true;
    server = await startLearn({
      [`GET ${API}/courses/_3_1`]: (_q, _u, res) => {
        if (first) {
          first = false;
          return restError(res, 401, 'Bearer token is invalid');
        }
        sendJson(res, 200, { id: '_3_1', courseId: 'C3', name: 'Course 3' });
      },
    });
    const { client, tokens } = learnClient(server);
    expect(await client.getCourse(3)).toEqual({ orgUnitId: '_3_1', courseCode: 'C3', name: 'Course 3' });
    expect(tokens.invalidated).toEqual(['token-1-secret']);
    expect(server.seen.map((r) => r.headers.authorization)).toEqual([
      'Bearer token-1-secret',
      'Bearer token-2-secret',
    ]);
  });
});

describe('LearnClient paging', () => {
  const users = [1, 2, 3, 4, 5].map((n) => learnUser(n));

  it('follows paging.nextPage through every page, asking for Learn’s largest pages', async () => {
    server = await startLearn({
      [`GET ${API}/users`]: (_q, url, res) => sendJson(res, 200, pageOf(users, url, 2)),
    });
    const { client } = learnClient(server);
    const items = await collect(client.listUsers());
    expect(ok(items).map((u: LearnUser) => u.userId)).toEqual(['_1_1', '_2_1', '_3_1', '_4_1', '_5_1']);
    expect(server.seen.map((r) => r.url)).toEqual([
      `${API}/users?offset=0&limit=100`,
      `${API}/users?offset=2&limit=2`,
      `${API}/users?offset=4&limit=2`,
    ]);
  });

  it('refuses one bad user and keeps the rest of the page', async () => {
    const page = [learnUser(1), learnUser('_2/7'), learnUser(3, { userName: '' }), learnUser('_4_4')];
    server = await startLearn({
      [`GET ${API}/users`]: (_q, url, res) => sendJson(res, 200, pageOf(page, url, 100)),
    });
    const { client } = learnClient(server);
    const items = await collect(client.listUsers());
    expect(ok(items).map((u: LearnUser) => u.userId)).toEqual(['_1_1', '_4_4']);
    const bad = items.filter((i) => !i.ok) as Extract<LearnItem<LearnUser>, { ok: false }>[];
    expect(bad.map((b) => b.error.path)).toEqual(['results[1].id', 'results[2].userName']);
  });

  it.each([
    ['another host', 'https://evil.example/learn/api/public/v1/users?offset=2', /not a relative path/],
    ['a protocol-relative URL', '//evil.example/learn/api/public/v1/users?offset=2', /not a relative path/],
    ['another route', `${API}/courses?offset=2`, /not the next page of \/learn\/api\/public\/v1\/users/],
    ['outside the public API', '/webapps/login/?offset=2', /not the next page/],
    ['a dot-segment escape', `${API}/users/../../../../webapps/x?offset=2`, /not the next page/],
    ['the same page again', `${API}/users?offset=0&limit=100`, /already read/],
  ])('refuses a nextPage to %s (LMS_DATA_INVALID)', async (_name, nextPage, why) => {
    server = await startLearn({
      [`GET ${API}/users`]: (_q, _u, res) =>
        sendJson(res, 200, { results: [learnUser(1)], paging: { nextPage } }),
    });
    const { client } = learnClient(server);
    const got: string[] = [];
    const error = await (async () => {
      for await (const i of client.listUsers()) if (i.ok) got.push(i.value.userId);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['_1_1']);
    expect(error).toBeInstanceOf(LmsDataError);
    expect(error).toMatchObject({ code: 'LMS_DATA_INVALID', path: 'paging.nextPage' });
    expect((error as Error).message).toMatch(why);
    expect(server.seen).toHaveLength(1);
  });

  it('refuses a page without results that points to another page', async () => {
    server = await startLearn({
      [`GET ${API}/users`]: (_q, url, res) =>
        sendJson(res, 200, {
          results: [],
          paging: { nextPage: `${API}/users?offset=${Number(url.searchParams.get('offset')) + 1}` },
        }),
    });
    const { client } = learnClient(server);
    await expect(collect(client.listUsers())).rejects.toThrow(
      /a page without results cannot have a next page/,
    );
  });

  it("pages a user's memberships; an unknown user is UserNotFoundError; another user's membership is refused", async () => {
    const memberships = [11, 12, 13].map((c) => ({
      userId: '_7_1',
      courseId: `_${c}_1`,
      courseRoleId: 'Student',
      availability: { available: 'Yes' },
    }));
    memberships.push({
      userId: '_8_1',
      courseId: '_14_1',
      courseRoleId: 'Student',
      availability: { available: 'Yes' },
    });
    server = await startLearn({
      [`GET ${API}/users/_7_1/courses`]: (_q, url, res) => sendJson(res, 200, pageOf(memberships, url, 2)),
    });
    const { client } = learnClient(server);
    const items = await collect(client.listMemberships(7));
    expect(ok(items)).toEqual([
      { userId: '_7_1', orgUnitId: '_11_1', courseRoleId: 'Student', available: 'Yes' },
      { userId: '_7_1', orgUnitId: '_12_1', courseRoleId: 'Student', available: 'Yes' },
      { userId: '_7_1', orgUnitId: '_13_1', courseRoleId: 'Student', available: 'Yes' },
    ]);
    expect((items[3] as { error: Error }).error.message).toMatch(
      /a membership of user _8_1 in the list of _7_1/,
    );
    // `expand=course`: each membership brings its course's name (test/lms/org-unit-names.test.ts).
    expect(server.seen[0]!.url).toBe(`${API}/users/_7_1/courses?offset=0&limit=200&expand=course`);
    await expect(collect(client.listMemberships(99))).rejects.toBeInstanceOf(UserNotFoundError);
  });
});

describe('LearnClient quota', () => {
  const course = (n: number) => ({ id: `_${n}_1`, courseId: `C${n}`, name: null });

  it('a spent quota that resets soon is waited out in place', async () => {
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) => sendJson(res, 200, course(1)),
    });
    Object.assign(server.headers, {
      'X-Rate-Limit-Limit': '10000',
      'X-Rate-Limit-Remaining': '0',
      'X-Rate-Limit-Reset': '1',
    });
    const { client } = learnClient(server);
    await client.getCourse(1);
    expect(client.quota()).toMatchObject({ limit: 10000, remaining: 0 });
    server.headers['X-Rate-Limit-Remaining'] = '9999';
    const started = Date.now();
    await client.getCourse(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(client.quota()).toMatchObject({ remaining: 9999 });
    expect(server.seen).toHaveLength(2);
  });

  it('a spent daily quota is a RateLimitedError until its reset, without calling Learn', async () => {
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) => sendJson(res, 200, course(1)),
    });
    Object.assign(server.headers, {
      'X-Rate-Limit-Limit': '10000',
      'X-Rate-Limit-Remaining': '0',
      'X-Rate-Limit-Reset': '7200',
    });
    const { client, log } = learnClient(server);
    await client.getCourse(1);
    const error = await client.getCourse(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(7_100_000);
    expect((error as Error).message).toMatch(
      /quota for this app is spent \(10000 calls per window\); it resets in 2 h 0 min/,
    );
    expect(server.seen).toHaveLength(1);
    expect(log.text()).toMatch(/X-Rate-Limit-Remaining: 0/);
  });

  it('a 429 with a short Retry-After is waited out; with a long one it goes to the queue at once', async () => {
    let calls = 0;
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) =>
        ++calls === 1
          ? restError(res, 429, 'Too many requests', {}, { 'retry-after': '1' })
          : sendJson(res, 200, course(1)),
      [`GET ${API}/courses/_2_1`]: (_q, _u, res) =>
        restError(res, 429, 'Quota exceeded', {}, { 'retry-after': '36000' }),
    });
    const { client } = learnClient(server);
    await client.getCourse(1);
    expect(client.throttledAnswers).toBe(1);
    const started = Date.now();
    const error = await client.getCourse(2).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(36_000_000);
    // Known spent now: the next call is refused here, without asking Learn.
    const seen = server.seen.length;
    await expect(client.getCourse(1)).rejects.toBeInstanceOf(RateLimitedError);
    expect(server.seen).toHaveLength(seen);
  });
});

describe('LearnClient daily call counter', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(testRedisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('counts every request of the fleet per UTC day in Redis (INCR + EXPIRE 2 days)', async () => {
    let first = true;
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) => {
        if (first) {
          first = false;
          return restError(res, 401, 'expired');
        }
        sendJson(res, 200, { id: '_1_1' });
      },
    });
    const prefix = uniquePrefix('learn');
    const a = learnClient(server, { redis, prefix }).client;
    const b = learnClient(server, { redis, prefix }).client;
    await a.getCourse(1); // a 401 and its retry: two calls
    await b.getCourse(1);
    await b.getCourse(1);
    expect(await a.callsToday()).toBe(4);
    expect(await b.callsToday()).toBe(4);
    expect(await learnCallsToday(redis, prefix)).toBe(4);
    const key = learnCallsKey(prefix);
    expect(key).toBe(`${prefix}:lms:learn-calls:${new Date().toISOString().slice(0, 10)}`);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(2 * 86400 - 60);
    expect(ttl).toBeLessThanOrEqual(2 * 86400);
    // Another fleet (prefix) has its own count.
    expect(await learnCallsToday(redis, uniquePrefix('other'))).toBe(0);
  });

  it('warns once at 80 % and once at 100 % of the daily quota, fleet-wide', async () => {
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) => sendJson(res, 200, { id: '_1_1' }),
    });
    const prefix = uniquePrefix('learn');
    const a = learnClient(server, { redis, prefix, dailyQuota: 5 });
    const b = learnClient(server, { redis, prefix, dailyQuota: 5 });
    for (let i = 0; i < 3; i++) {
      await a.client.getCourse(1);
      await b.client.getCourse(1);
    }
    expect(await a.client.callsToday()).toBe(6);
    const warnings = [...a.log.lines, ...b.log.lines].filter((l) =>
      /Learn REST calls today/.test(String(l.msg)),
    );
    expect(warnings.map((w) => w.callsToday).sort()).toEqual([4, 5]);
  });

  it('without Redis, counts this process’s calls', async () => {
    server = await startLearn({
      [`GET ${API}/courses/_1_1`]: (_q, _u, res) => sendJson(res, 200, { id: '_1_1' }),
    });
    const { client } = learnClient(server);
    await client.getCourse(1);
    await client.getCourse(1);
    expect(await client.callsToday()).toBe(2);
    expect(client.dailyQuota).toBe(10_000);
  });
});
