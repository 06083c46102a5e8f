import { type Request, type Response, Router } from 'express';
import type { FaultInjector, InjectedStatus } from '../faults.ts';
import type { Course, SandboxUser } from '../institution.ts';
import type { KnobBox } from '../knobs.ts';
import type { SandboxStats } from '../stats.ts';
import { learnCourseId, type LearnIds } from './ids.ts';
import { LEARN_API_BASE, type LearnAuth } from './oauth.ts';
import type { DailyQuota, QuotaDecision } from './quota.ts';

/** Learn's documented page maxima (reference §6.3): Users 100, CourseMemberships 200. */
const USERS_MAX_LIMIT = 100;
const MEMBERSHIPS_MAX_LIMIT = 200;
const EXTRA_INFO = 'https://developer.blackboard.com/portal/displayApi';

export interface LearnRestDeps {
  knobs: KnobBox;
  stats: SandboxStats;
  faults: FaultInjector;
  auth: LearnAuth;
  ids: LearnIds;
  quota: DailyQuota;
  users: readonly SandboxUser[];
}

/**
 * The Learn REST routes under `/learn/api/public/v1` (mounted there; the OAuth routes are served
 * before this router). Every request passes, in order: injected 5xx (`errorRate`) → the daily
 * quota (`learnDailyQuota`, 429 once spent) → the bearer token (401) → the route. Every answer
 * carries `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset`.
 */
export function learnRestRouter(deps: LearnRestDeps): Router {
  const { knobs, stats, faults, auth, ids, quota } = deps;
  const router = Router();

  router.use((req, res, next) => {
    stats.learnRestCalls++;
    const limit = knobs.current.learnDailyQuota;
    const injected = faults.serverError();
    if (injected !== undefined) {
      setQuotaHeaders(res, quota.peek(limit));
      return sendInjected(res, injected);
    }
    const decision = quota.charge(limit);
    setQuotaHeaders(res, decision);
    if (!decision.allowed) {
      stats.learnQuota429++;
      res.setHeader('Retry-After', String(decision.resetSeconds));
      return restError(
        res,
        429,
        'Rate limit exceeded',
        'The daily REST API quota of this site is spent',
        'RATE_LIMIT',
      );
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const info = token === undefined ? undefined : auth.verify(token);
    if (!info) {
      stats.learnUnauthorized401++;
      res.setHeader('WWW-Authenticate', 'Bearer');
      return restError(
        res,
        401,
        'API request is not authorized.',
        token === undefined ? 'Bearer token is missing' : 'Bearer token is invalid or expired',
      );
    }
    res.locals.learnUserId = info.userId;
    next();
  });

  router.get('/users', (req, res) => {
    const paging = readPaging(req, USERS_MAX_LIMIT);
    if (typeof paging === 'string') return restError(res, 400, paging);
    sendPage(res, deps.users, paging, `${LEARN_API_BASE}/users`, (u) => userJson(u));
  });

  router.get('/users/:userId', (req, res) => {
    const user = ids.user(req.params.userId as string);
    if (!user) return userNotFound(res, req.params.userId as string);
    res.json(userJson(user));
  });

  router.get('/users/:userId/courses', (req, res) => {
    const user = ids.user(req.params.userId as string);
    if (!user) return userNotFound(res, req.params.userId as string);
    const paging = readPaging(req, MEMBERSHIPS_MAX_LIMIT);
    if (typeof paging === 'string') return restError(res, 400, paging);
    // `expand=course` puts the course object in each membership; without it Learn sends only ids.
    const expand = readExpand(req).includes('course');
    const path = `${LEARN_API_BASE}/users/${ids.ref('user', user.UserId)}/courses`;
    sendPage(
      res,
      ids.memberships(user),
      paging,
      path,
      (course) => membershipJson(user, course, expand),
      expand ? '&expand=course' : '',
    );
  });

  router.get('/courses/:courseId', (req, res) => {
    const course = ids.course(req.params.courseId as string);
    if (!course)
      return restError(res, 404, 'Not Found', `Course not found: ${req.params.courseId as string}`);
    res.json({ id: ids.courseRef(course.OrgUnitId), courseId: learnCourseId(course), name: course.Name });
  });

  router.use((req, res) =>
    restError(res, 404, 'Not Found', `No such route: ${req.method} ${req.originalUrl}`),
  );

  function userJson(user: SandboxUser) {
    return {
      id: ids.ref('user', user.UserId),
      uuid: ids.userUuid(user),
      externalId: user.OrgDefinedId,
      userName: user.UserName,
      name: { given: user.FirstName, family: user.LastName },
      availability: { available: 'Yes' },
    };
  }

  function membershipJson(user: SandboxUser, course: Course, expandCourse: boolean) {
    return {
      userId: ids.ref('user', user.UserId),
      courseId: ids.courseRef(course.OrgUnitId),
      ...(expandCourse ? { course: courseJson(course) } : {}),
      courseRoleId: user.role === 'student' ? 'Student' : 'Instructor',
      availability: { available: 'Yes' },
    };
  }

  /** A membership's expanded course: Learn's Course, the fields a client reads. */
  function courseJson(course: Course) {
    return {
      id: ids.courseRef(course.OrgUnitId),
      externalId: course.Code,
      courseId: learnCourseId(course),
      name: course.Name,
      organization: false,
      ultraStatus: 'Classic',
      availability: { available: 'Yes' },
    };
  }

  /**
   * One page: `limit` (default and most the route's maximum) further capped by `learnPageSize`;
   * `paging.nextPage` (a path, with `offset`, `limit` and `moreQuery`) only when more items follow.
   */
  function sendPage<T>(
    res: Response,
    all: readonly T[],
    paging: { offset: number; limit: number },
    path: string,
    toJson: (item: T) => unknown,
    moreQuery = '',
  ): void {
    const size = Math.min(paging.limit, knobs.current.learnPageSize);
    const results = all.slice(paging.offset, paging.offset + size);
    const next = paging.offset + results.length;
    res.json({
      results: results.map(toJson),
      ...(results.length > 0 && next < all.length
        ? { paging: { nextPage: `${path}?offset=${next}&limit=${paging.limit}${moreQuery}` } }
        : {}),
    });
  }

  return router;
}

/** Learn's RestException body. */
export function restError(
  res: Response,
  status: number,
  message: string,
  developerMessage?: string,
  code?: string,
): void {
  res.status(status).json({
    status,
    ...(code === undefined ? {} : { code }),
    message,
    ...(developerMessage === undefined ? {} : { developerMessage }),
    extraInfo: EXTRA_INFO,
  });
}

function userNotFound(res: Response, id: string): void {
  restError(res, 404, 'Not Found', `User not found: ${id}`);
}

function setQuotaHeaders(res: Response, decision: QuotaDecision): void {
  res.setHeader('X-Rate-Limit-Limit', String(decision.limit));
  res.setHeader('X-Rate-Limit-Remaining', String(decision.remaining));
  res.setHeader('X-Rate-Limit-Reset', String(decision.resetSeconds));
}

/** A 500 from the app is a RestException; 502/503 look like the load balancer's page. */
function sendInjected(res: Response, status: InjectedStatus): void {
  if (status === 500)
    return restError(res, 500, 'Internal Server Error', 'Injected by the sandbox (errorRate)');
  const reason = status === 502 ? 'Bad Gateway' : 'Service Unavailable';
  res.status(status).type('html').send(`<html><body><h1>${status} ${reason}</h1></body></html>`);
}

/** `expand` as a list (`expand=course`, or several comma-separated). */
function readExpand(req: Request): string[] {
  const value = req.query.expand;
  const given = typeof value === 'string' ? [value] : Array.isArray(value) ? value.map(String) : [];
  return given.flatMap((v) => v.split(',')).map((v) => v.trim());
}

function readPaging(req: Request, max: number): { offset: number; limit: number } | string {
  const one = (name: string) => {
    const value = req.query[name];
    return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : undefined;
  };
  const limitRaw = one('limit');
  const offsetRaw = one('offset');
  const limit = limitRaw === undefined ? max : /^\d+$/.test(limitRaw) ? Number(limitRaw) : NaN;
  const offset = offsetRaw === undefined ? 0 : /^\d+$/.test(offsetRaw) ? Number(offsetRaw) : NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max)
    return `limit must be a whole number from 1 to ${max}`;
  if (!Number.isSafeInteger(offset)) return 'offset must be a whole number from 0';
  return { offset, limit };
}
