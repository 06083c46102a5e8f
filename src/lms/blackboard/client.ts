import type { RedisConnection } from '../../util/redis-nodes.ts';
import {
  InvalidReferenceError,
  LmsDataError,
  LmsRequestError,
  RateLimitedError,
  UserNotFoundError,
} from '../errors.ts';
import { chooseTransport, type HttpTransport } from '../../http/index.ts';
import { LmsHttpClient, type LmsAnswer, type LmsHttpClientOptions } from '../http-client.ts';
import { parseItem } from '../listing-item.ts';
import { parseLms } from '../parse.ts';
import {
  describeRestException,
  learnUserKey,
  toCourseKey,
  toMembership,
  toUser,
  toUserKey,
} from './learn-records.ts';
import { LearnCallCounter, LearnQuotaGate } from './quota.ts';
import { courseSchema, learnUserSchema, membershipSchema, pageSchema } from './schemas.ts';
import type {
  LearnCourse,
  LearnItem,
  LearnMembership,
  LearnQuota,
  LearnUser,
  LearnUserReference,
} from './types.ts';

/** Every Learn REST route certharvest calls lives under this path. */
export const LEARN_API = '/learn/api/public/v1';

/** Learn's largest pages (reference §6.3): Users 100, CourseMemberships 200. */
export const LEARN_USERS_PAGE_LIMIT = 100;
export const LEARN_MEMBERSHIPS_PAGE_LIMIT = 200;

export interface LearnClientOptions extends LmsHttpClientOptions {
  /** Counts the fleet's calls per UTC day in Redis (`<prefix>:lms:learn-calls:<date>`), with `prefix`. */
  redis?: RedisConnection | undefined;
  /** The queue prefix (QUEUE_PREFIX), for the call counter's key. */
  prefix?: string | undefined;
  /** The app's daily REST quota, for the counter's warnings. Default 10 000. */
  dailyQuota?: number | undefined;
  /** A spent quota (`X-Rate-Limit-Remaining: 0`) resetting within this long is waited out in place. Default 60 000 ms. */
  maxQuotaWaitMs?: number;
  /** `limit` of the users listing. Default 100 (Learn's maximum). */
  usersPageLimit?: number;
  /** `limit` of the memberships listing. Default 200 (Learn's maximum). */
  membershipsPageLimit?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Error bodies are read this far at most. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The Learn REST routes certharvest uses: users (three ways of naming one, and all of them),
 * a user's course memberships, a course. Bearer tokens, 401 renewal, 5xx retries and 429s come
 * from LmsHttpClient, set up for Learn: a request costs one call of a daily quota, and a long
 * `Retry-After` (a spent daily quota) is handed to the queue as a RateLimitedError rather than
 * waited out in place. Every JSON body goes through zod; an error body (RestException) becomes an
 * error naming the route and what Learn said.
 */
export class LearnClient {
  readonly #http: LmsHttpClient;
  readonly #counter: LearnCallCounter;
  readonly #gate: LearnQuotaGate;
  readonly #usersLimit: number;
  readonly #membershipsLimit: number;

  constructor(options: LearnClientOptions) {
    const {
      logger,
      fetch: givenFetch,
      redis,
      prefix,
      dailyQuota,
      maxQuotaWaitMs,
      usersPageLimit,
      membershipsPageLimit,
      now,
      rateLimit,
      ...http
    } = options;
    const log = logger.child({ component: 'learn' });
    this.#counter = new LearnCallCounter({
      logger: log,
      redis,
      prefix,
      dailyQuota,
      ...(now ? { now } : {}),
    });
    this.#gate = new LearnQuotaGate({
      logger: log,
      ...(maxQuotaWaitMs !== undefined ? { maxWaitMs: maxQuotaWaitMs } : {}),
      ...(now ? { now } : {}),
    });
    const send = chooseTransport(givenFetch ? { fetch: givenFetch } : {});
    // Every request that leaves counts against the quota: retries and refused ones too.
    const counted: HttpTransport = (url, init) => {
      this.#counter.count();
      return send(url, init);
    };
    this.#http = new LmsHttpClient({
      ...http,
      logger: log,
      transport: counted,
      // One call is one unit of Learn's quota (no X-Request-Cost), and a reserve kept back out
      // of a daily quota would only stall the last calls of the day.
      rateLimit: { defaultCost: 1, reserveRequests: 0, ...rateLimit },
      // A 429 after a spent daily quota says "come back in hours": that goes to the queue (a
      // RateLimitedError with the whole wait), a short one is still waited out in place.
      maxRetryAfterMs: http.maxRetryAfterMs ?? 25 * 3600_000,
      maxRateLimitWaitMs: http.maxRateLimitWaitMs ?? 60_000,
    });
    this.#usersLimit = pageLimit(usersPageLimit, LEARN_USERS_PAGE_LIMIT, 'usersPageLimit');
    this.#membershipsLimit = pageLimit(
      membershipsPageLimit,
      LEARN_MEMBERSHIPS_PAGE_LIMIT,
      'membershipsPageLimit',
    );
  }

  /** The LMS origin. */
  get base(): URL {
    return this.#http.base;
  }

  /** 429 answers (rate limited) this client got from the LMS. */
  get throttledAnswers(): number {
    return this.#http.budget.throttled;
  }

  /** The daily quota the call counter warns about (10 000 unless configured). */
  get dailyQuota(): number {
    return this.#counter.dailyQuota;
  }

  /**
   * REST calls today (UTC): the fleet's, counted in Redis, when the client was given a Redis
   * handle; else this process's. For `auth status` / doctor, against `dailyQuota`.
   */
  callsToday(): Promise<number> {
    return this.#counter.today();
  }

  /** What the LMS last said about the quota (`X-Rate-Limit-*`), when it says anything. */
  quota(): LearnQuota {
    return this.#gate.snapshot();
  }

  /**
   * `GET /users/{id}` with the id form Learn takes for the reference: a userId as `_N_1`, a
   * userName as `userName:<x>`, an orgDefinedId as `externalId:<x>` (values URL-encoded).
   */
  async resolveUser(reference: LearnUserReference): Promise<LearnUser> {
    const key = learnUserKey(reference);
    const url = this.#url(`${LEARN_API}/users/${key}`);
    const route =
      reference.by === 'userId'
        ? `GET ${url.pathname}`
        : `GET ${LEARN_API}/users/${reference.by === 'userName' ? 'userName' : 'externalId'}:<value>`;
    const value = String(reference.value).trim();
    const body = await this.#getJson(url, route, (status, said) => {
      if (status === 404) return new UserNotFoundError(reference.by, value);
      if (status === 400) {
        return new InvalidReferenceError(
          `${reference.by} ${JSON.stringify(value)} was refused by Learn (${route} answered 400${said ? `: ${said}` : ''})`,
        );
      }
      return undefined;
    });
    const user = toUser(parseLms(learnUserSchema, body, route));
    if (reference.by === 'userId' && user.id !== key) {
      throw new LmsDataError(route, 'id', `asked for user ${key}, got ${user.id}`);
    }
    return user;
  }

  /** `GET /users/{id}` by primary id. */
  getUser(userId: number | string): Promise<LearnUser> {
    return this.resolveUser({ by: 'userId', value: userId });
  }

  /** Every user of the institution, following `paging.nextPage`. */
  async *listUsers(): AsyncGenerator<LearnItem<LearnUser>, void, undefined> {
    const url = this.#url(`${LEARN_API}/users`);
    url.searchParams.set('offset', '0');
    url.searchParams.set('limit', String(this.#usersLimit));
    for await (const page of this.#pages(url)) {
      for (const [i, raw] of page.results.entries()) {
        yield parseItem(learnUserSchema, raw, page.route, `results[${i}]`, toUser);
      }
    }
  }

  /**
   * A user's course memberships (`GET /users/{id}/courses`), following `paging.nextPage`. Each
   * carries its course (`expand=course`, [V-3p]: public Learn clients read `course.name` there), so
   * the course's name comes with the listing at no extra call; a Learn that ignores the parameter
   * only leaves the names unknown.
   */
  async *listMemberships(
    userId: number | string,
  ): AsyncGenerator<LearnItem<LearnMembership>, void, undefined> {
    const id = toUserKey(userId);
    const url = this.#url(`${LEARN_API}/users/${encodeURIComponent(id)}/courses`);
    url.searchParams.set('offset', '0');
    url.searchParams.set('limit', String(this.#membershipsLimit));
    url.searchParams.set('expand', 'course');
    const notFound = (status: number) => (status === 404 ? new UserNotFoundError('userId', id) : undefined);
    for await (const page of this.#pages(url, notFound, ['expand'])) {
      for (const [i, raw] of page.results.entries()) {
        const path = `results[${i}]`;
        const parsed = parseItem(membershipSchema, raw, page.route, path, toMembership);
        if (parsed.ok && parsed.value.userId !== id) {
          yield {
            ok: false,
            error: new LmsDataError(
              page.route,
              `${path}.userId`,
              `a membership of user ${parsed.value.userId} in the list of ${id}`,
            ),
            raw,
          };
        } else yield parsed;
      }
    }
  }

  /** `GET /courses/{id}` by primary id (`_N_1` for a number N). */
  async getCourse(orgUnitId: number | string): Promise<LearnCourse> {
    const url = this.#url(`${LEARN_API}/courses/${encodeURIComponent(toCourseKey(orgUnitId))}`);
    const route = `GET ${url.pathname}`;
    const course = parseLms(courseSchema, await this.#getJson(url, route), route);
    return { orgUnitId: course.id, courseCode: course.courseId, name: course.name };
  }

  #url(path: string): URL {
    return new URL(path, this.#http.base);
  }

  /**
   * The pages of a Learn collection. `paging.nextPage` is followed only as a relative path on the
   * LMS, to the same route under /learn/api/public/v1, never twice; anything else is LmsDataError.
   * The `carry` parameters of the first request are asked on every page: whether Learn's
   * `nextPage` keeps them is not documented [I].
   */
  async *#pages(
    first: URL,
    onError?: (status: number, said: string) => Error | undefined,
    carry: readonly string[] = [],
  ): AsyncGenerator<{ results: unknown[]; route: string }, void, undefined> {
    const seen = new Set<string>([first.href]);
    let url = first;
    for (;;) {
      const route = `GET ${url.pathname}`;
      const page = parseLms(pageSchema, await this.#getJson(url, route, onError), route);
      yield { results: page.results, route };
      const next = page.paging;
      if (next === null || next === '') return;
      const refuse = (why: string) =>
        new LmsDataError(
          route,
          'paging.nextPage',
          `refusing to follow ${JSON.stringify(next.slice(0, 200))}: ${why}`,
        );
      if (page.results.length === 0) throw refuse('a page without results cannot have a next page');
      if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) {
        throw refuse('not a relative path on the LMS');
      }
      const nextUrl = this.#http.resolve(next, route, 'paging.nextPage');
      if (!nextUrl.pathname.startsWith(`${LEARN_API}/`) || nextUrl.pathname !== url.pathname) {
        throw refuse(`not the next page of ${url.pathname}`);
      }
      for (const name of carry) {
        const value = first.searchParams.get(name);
        if (value !== null && !nextUrl.searchParams.has(name)) nextUrl.searchParams.set(name, value);
      }
      if (seen.has(nextUrl.href)) throw refuse('a page already read (the paging loops)');
      seen.add(nextUrl.href);
      url = nextUrl;
    }
  }

  /**
   * GET JSON. A spent quota is waited for or thrown before any request; a non-2xx becomes
   * `onError(status, what Learn said)` or a LmsRequestError naming the route with Learn's
   * RestException (message, developerMessage, code, extraInfo).
   */
  async #getJson(
    url: URL,
    route: string,
    onError?: (status: number, said: string) => Error | undefined,
  ): Promise<unknown> {
    await this.#gate.admit(route);
    let response: LmsAnswer;
    try {
      response = await this.#http.get(url, route);
    } catch (error) {
      if (error instanceof RateLimitedError) this.#gate.refused(error.retryAfterMs);
      throw error;
    }
    this.#gate.observe(response.headers);
    if (response.ok) return this.#http.json(response, route);
    const { status } = response;
    const redirected = status >= 300 && status < 400;
    const said = redirected ? '' : await this.#readProblem(response, route);
    if (redirected) await response.discard();
    const error = onError?.(status, said);
    if (error) throw error;
    const hint =
      status === 403
        ? ' (the Learn user the REST integration is bound to lacks the entitlement: see Administrator Panel > Integrations > REST API Integrations)'
        : redirected
          ? ` (redirected to ${(response.headers.get('location') ?? '?').slice(0, 200)}; not followed)`
          : '';
    throw new LmsRequestError(`${route}: Learn answered ${status}${said ? `: ${said}` : ''}${hint}`, status);
  }

  /** What a RestException body says, in one line; '' when the body is not one. */
  async #readProblem(response: LmsAnswer, route: string): Promise<string> {
    let text: string;
    try {
      text = new TextDecoder().decode(await this.#http.bytes(response, route, MAX_ERROR_BODY_BYTES));
    } catch {
      return '';
    }
    return describeRestException(text);
  }
}

function pageLimit(given: number | undefined, max: number, name: string): number {
  const value = given ?? max;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new TypeError(`LearnClient: ${name} must be a whole number from 1 to ${max}, got ${String(given)}`);
  }
  return value;
}

export { describeRestException, learnUserKey } from './learn-records.ts';
