import { type NextFunction, type Request, type Response, Router } from 'express';
import { type FaultInjector, type InjectedStatus, sendPdf } from './faults.ts';
import { AwardType, type Institution, type SandboxAward, type SandboxUser } from './institution.ts';
import type { KnobBox, SandboxKnobs } from './knobs.ts';
import type { AuthServer } from './oauth.ts';
import type { SandboxCertificateStore } from './pdf.ts';
import type { RateLimitBucket } from './rate-limit.ts';
import type { SandboxStats } from './stats.ts';

/**
 * The Valence (REST) routes the worker uses, under `/d2l/api` (https://docs.valence.desire2learn.com/http-routingtable.html, res/user.html; rate limits: D2L KB 1195).
 * Every request passes, in order: injected 5xx, injected 429, the per-minute credit budget, the
 * bearer token (except the public version routes), then the route.
 */
export interface ValenceDeps {
  baseUrl: string;
  institution: Institution;
  knobs: KnobBox;
  stats: SandboxStats;
  faults: FaultInjector;
  bucket: RateLimitBucket;
  auth: AuthServer;
  certificates: SandboxCertificateStore;
  usersPageSize: number;
  awardsPageSize: number;
}

interface ProductVersions {
  ProductCode: string;
  LatestVersion: string;
  SupportedVersions: string[];
}

const minorRange = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `1.${from + i}`);

/** The versions seen in the field (reference §3): lp 1.46–1.53, le 1.80–1.94, bas 1.0–1.4. */
export const PRODUCTS: readonly ProductVersions[] = [
  { ProductCode: 'lp', LatestVersion: '1.53', SupportedVersions: minorRange(46, 53) },
  { ProductCode: 'le', LatestVersion: '1.94', SupportedVersions: minorRange(80, 94) },
  { ProductCode: 'bas', LatestVersion: '1.4', SupportedVersions: minorRange(0, 4) },
];

/** The `newerApiVersions` knob: a tenant that has moved past every version certharvest knows. */
const NEWER_PRODUCTS: readonly ProductVersions[] = [
  { ProductCode: 'lp', LatestVersion: '1.56', SupportedVersions: minorRange(54, 56) },
  { ProductCode: 'le', LatestVersion: '1.94', SupportedVersions: minorRange(80, 94) },
  { ProductCode: 'bas', LatestVersion: '1.6', SupportedVersions: minorRange(5, 6) },
];

const MAX_AWARDS_LIMIT = 200;

export function valenceRouter(deps: ValenceDeps): Router {
  const { institution, knobs, stats, faults, bucket, auth, certificates } = deps;
  const router = Router();

  router.use((_req, res, next) => {
    stats.valenceRequests++;
    const injected = faults.serverError();
    if (injected !== undefined) return sendInjected(res, injected);
    if (faults.throttle()) {
      stats.throttled429++;
      res.setHeader('Retry-After', '1');
      return sendErrors(res, 429, 'Too Many Requests');
    }
    const { rateLimitCredits, requestCost } = knobs.current;
    const decision = bucket.charge(rateLimitCredits, requestCost);
    if (!decision.allowed) {
      stats.throttled429++;
      stats.budget429++;
      // A 429 carries Retry-After and none of the X-Rate-Limit headers (reference §4).
      res.setHeader('Retry-After', String(decision.retryAfterSeconds));
      return sendErrors(res, 429, 'Too Many Requests');
    }
    res.setHeader('X-Rate-Limit-Remaining', String(decision.remaining));
    res.setHeader('X-Rate-Limit-Reset', String(decision.resetSeconds));
    res.setHeader('X-Request-Cost', String(decision.cost));
    next();
  });

  // The version routes answer anonymous callers too [I]; everything else needs a bearer token.
  router.use(async (req, res, next) => {
    if (/^\/(?:[a-z]+\/)?versions\/?$/.test(req.path)) return next();
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const info = token ? await auth.verifyAccessToken(token) : undefined;
    if (!info) {
      stats.unauthorized401++;
      res.setHeader('WWW-Authenticate', token ? 'Bearer error="invalid_token"' : 'Bearer');
      return sendErrors(res, 401, token ? 'Invalid or expired token' : 'Missing bearer token');
    }
    res.locals.accountId = info.accountId;
    res.locals.scope = info.scope;
    next();
  });

  router.get('/versions', (_req, res) => {
    res.json(productsFor(knobs.current));
  });
  router.get('/:product/versions', (req, res) => {
    const product = productsFor(knobs.current).find((p) => p.ProductCode === req.params.product);
    if (!product) return sendNotFound(res);
    res.json(product);
  });

  const lp = supports('lp', knobs);
  router.get('/lp/:version/users/whoami', lp, (_req, res) => {
    const me = institution.user(Number(res.locals.accountId));
    if (!me) return sendNotFound(res);
    res.json({
      Identifier: String(me.UserId),
      FirstName: me.FirstName,
      LastName: me.LastName,
      UniqueName: me.UserName,
      ProfileIdentifier: profileIdentifier(me),
    });
  });
  router.get('/lp/:version/users', lp, (req, res) => {
    const userName = queryParam(req, 'userName');
    const orgDefinedId = queryParam(req, 'orgDefinedId');
    // By user name: one UserData object. By org-defined id: an array (ids need not be unique).
    if (userName !== undefined) {
      const user = institution.userByName(userName);
      return user ? res.json(userData(user, institution)) : sendNotFound(res);
    }
    if (orgDefinedId !== undefined) {
      const users = institution.usersByOrgDefinedId(orgDefinedId);
      return users.length > 0 ? res.json(users.map((u) => userData(u, institution))) : sendNotFound(res);
    }
    const bookmark = queryParam(req, 'bookmark');
    if (bookmark !== undefined && bookmark !== '' && !/^\d+$/.test(bookmark)) {
      return sendErrors(res, 400, 'Invalid bookmark');
    }
    const after = bookmark ? Number(bookmark) : -1;
    const rest = institution.users.filter((u) => u.UserId > after);
    const page = rest.slice(0, deps.usersPageSize);
    const last = page[page.length - 1];
    res.json({
      PagingInfo: {
        Bookmark: last ? String(last.UserId) : (bookmark ?? ''),
        HasMoreItems: rest.length > page.length,
      },
      Items: page.map((u) => userData(u, institution)),
    });
  });
  router.get('/lp/:version/users/:userId', lp, (req, res) => {
    const user = /^\d+$/.test(req.params.userId as string)
      ? institution.user(Number(req.params.userId))
      : undefined;
    return user ? res.json(userData(user, institution)) : sendNotFound(res);
  });
  // `OrgUnit.OrgUnit` of the organisation or a course. Real tenants gate the route by scope
  // (reference §9.3 for the /pdf route; [I] the same for this one): the knob plays the app without it.
  router.get('/lp/:version/orgstructure/:orgUnitId', lp, (req, res) => {
    if (knobs.current.orgStructureScopeMissing) {
      return sendErrors(res, 403, `Insufficient scope to call this route. Required: ${ORG_STRUCTURE_SCOPE}`);
    }
    const raw = req.params.orgUnitId as string;
    const orgUnitId = /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
    const unit = orgUnitId === undefined ? undefined : orgUnitJson(orgUnitId, institution);
    return unit ? res.json(unit) : sendNotFound(res);
  });

  const bas = supports('bas', knobs);
  router.get('/bas/:version/issued/users/:userId', bas, (req, res) => {
    const userId = req.params.userId as string;
    const user = /^\d+$/.test(userId) ? institution.user(Number(userId)) : undefined;
    if (!user) return sendNotFound(res);
    const paging = readAwardsPaging(req, deps.awardsPageSize);
    if (typeof paging === 'string') return sendErrors(res, 400, paging);
    const now = new Date();
    const matching = institution
      .awardsOf(user.UserId)
      .filter((a) => paging.awardType === undefined || a.Award.AwardType === paging.awardType)
      .filter((a) => paging.orgUnitId === undefined || a.OrgUnitId === paging.orgUnitId)
      .filter((a) => paging.includeExpired || !institution.isExpired(a, now));
    const { offset, limit } = paging;
    const objects = matching.slice(offset, offset + limit);
    const next =
      offset + limit < matching.length
        ? nextUrl(deps.baseUrl, req, req.params.version as string, user.UserId, offset + limit, limit)
        : null;
    res.json({ Next: next, Objects: objects.map((a) => issuedAwardJson(a, deps.baseUrl, institution)) });
  });
  router.get('/bas/:version/issued/certificates/:issuedId/pdf', bas, async (req, res) => {
    if (!knobs.current.pdfApi) return sendNotFound(res);
    // The route has a scope of its own (reference §9): a token without it is refused, as is every
    // token while the knob says the registration lacks it.
    const scopes = String(res.locals.scope ?? '').split(' ');
    const scoped = scopes.includes(CERTIFICATE_SCOPE) || scopes.includes('awards:*:*');
    if (knobs.current.pdfApiScopeMissing || !scoped) {
      return sendErrors(res, 403, `Insufficient scope to call this route. Required: ${CERTIFICATE_SCOPE}`);
    }
    const issuedId = req.params.issuedId as string;
    const award = /^\d+$/.test(issuedId) ? institution.issuedAward(Number(issuedId)) : undefined;
    if (!award || award.Award.AwardType !== AwardType.Certificate) return sendNotFound(res);
    const pdf = await certificates.get(award.IssuedId);
    stats.pdfApi++;
    sendPdf(res, pdf, `Certificate-${award.IssuedId}.pdf`, faults.truncation());
  });

  router.use((_req, res) => sendNotFound(res));
  return router;
}

/** The scope of the bearer `/pdf` route ([V-3p] reference §1.4). */
const CERTIFICATE_SCOPE = 'awards:certificate:read';
/** The scope the `orgStructureScopeMissing` knob names [I]: not checked against D2L's table. */
const ORG_STRUCTURE_SCOPE = 'orgunits:course:read';

/** An unsupported version in the path is a 404, as for any unknown route. */
function supports(product: string, knobs: KnobBox) {
  return (req: Request, res: Response, next: NextFunction) => {
    const offered =
      productsFor(knobs.current).find((p) => p.ProductCode === product)?.SupportedVersions ?? [];
    return offered.includes(req.params.version as string) ? next() : sendNotFound(res);
  };
}

/** What the tenant offers: `PRODUCTS`, or only versions newer than certharvest knows. */
function productsFor(knobs: SandboxKnobs): readonly ProductVersions[] {
  return knobs.newerApiVersions ? NEWER_PRODUCTS : PRODUCTS;
}

export function sendErrors(res: Response, status: number, message: string): void {
  res.status(status).json({ Errors: [{ Message: message }] });
}

function sendNotFound(res: Response): void {
  sendErrors(res, 404, 'Resource Not Found');
}

/** A 500 from the app looks like the app's errors; 502/503 look like the load balancer's page. */
function sendInjected(res: Response, status: InjectedStatus): void {
  if (status === 500) return sendErrors(res, 500, 'Internal Server Error');
  const reason = status === 502 ? 'Bad Gateway' : 'Service Unavailable';
  res.status(status).type('html').send(`<html><body><h1>${status} ${reason}</h1></body></html>`);
}

function queryParam(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

interface AwardsPaging {
  offset: number;
  limit: number;
  awardType: number | undefined;
  orgUnitId: number | undefined;
  includeExpired: boolean;
}

/** `limit`/`offset` paging and the filters (reference §1.2); a string is the 400 message. */
function readAwardsPaging(req: Request, defaultLimit: number): AwardsPaging | string {
  const limitRaw = queryParam(req, 'limit');
  const offsetRaw = queryParam(req, 'offset');
  const typeRaw = queryParam(req, 'awardType');
  const orgUnitRaw = queryParam(req, 'orgUnitId');
  const limit = limitRaw === undefined ? defaultLimit : Number(limitRaw);
  const offset = offsetRaw === undefined ? 0 : Number(offsetRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AWARDS_LIMIT) {
    return `limit must be a whole number from 1 to ${MAX_AWARDS_LIMIT}`;
  }
  if (!Number.isInteger(offset) || offset < 0) return 'offset must be a whole number from 0';
  let awardType: number | undefined;
  if (typeRaw !== undefined) {
    const byName: Record<string, number> = { badge: AwardType.Badge, certificate: AwardType.Certificate };
    awardType = byName[typeRaw.toLowerCase()] ?? Number(typeRaw);
    if (awardType !== AwardType.Badge && awardType !== AwardType.Certificate) {
      return 'awardType must be 1 (Badge) or 2 (Certificate)';
    }
  }
  let orgUnitId: number | undefined;
  if (orgUnitRaw !== undefined) {
    if (!/^\d+$/.test(orgUnitRaw)) return 'orgUnitId must be a number';
    orgUnitId = Number(orgUnitRaw);
  }
  const includeExpired = readIncludeExpired(queryParam(req, 'includeExpired'));
  if (includeExpired === undefined) return 'includeExpired must be true or false';
  return { offset, limit, awardType, orgUnitId, includeExpired };
}

/**
 * `includeExpired` (reference §1.2, [V-3p]); undefined when malformed. The reference does not
 * know its default (§9.9): [I] the sandbox takes the strict reading, expired awards left out
 * unless `includeExpired=true` is sent, so a client that forgets to ask loses them here, in
 * tests, rather than on a real tenant.
 */
function readIncludeExpired(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

/**
 * `Next` is absolute on even pages and relative on odd ones (page 0 → absolute URL of page 1,
 * page 1 → `/d2l/api/...` path of page 2, …): the reference saw clients handle both, so a client
 * must too. Filters given on the first request are carried along.
 */
function nextUrl(
  baseUrl: string,
  req: Request,
  version: string,
  userId: number,
  offset: number,
  limit: number,
): string {
  const query = new URLSearchParams();
  for (const name of ['awardType', 'orgUnitId', 'includeExpired', 'search']) {
    const value = queryParam(req, name);
    if (value !== undefined) query.set(name, value);
  }
  query.set('offset', String(offset));
  query.set('limit', String(limit));
  const path = `/d2l/api/bas/${version}/issued/users/${userId}/?${query.toString()}`;
  const page = Math.floor(offset / limit) - 1; // the page this Next is written on
  return page % 2 === 0 ? `${baseUrl}${path}` : path;
}

function profileIdentifier(user: SandboxUser): string {
  return Buffer.from(`profile:${user.UserId}`).toString('base64url');
}

/** `UserData` (res/user.html); LastAccessedDate is plain ISO with `Z` in the LP service. */
function userData(user: SandboxUser, institution: Institution) {
  return {
    OrgId: institution.orgId,
    UserId: user.UserId,
    FirstName: user.FirstName,
    MiddleName: user.MiddleName,
    LastName: user.LastName,
    UserName: user.UserName,
    ExternalEmail: user.ExternalEmail,
    OrgDefinedId: user.OrgDefinedId,
    UniqueIdentifier: user.UserName,
    Activation: { IsActive: true },
    LastAccessedDate: null,
    Pronouns: '',
    DisplayName: `${user.FirstName} ${user.LastName}`,
  };
}

/**
 * `OrgUnit.OrgUnit` (res/orgunit.html): `{ Identifier, Name, Code, Type }` for the organisation
 * (the root) or a course offering; undefined for any other id.
 */
function orgUnitJson(orgUnitId: number, institution: Institution) {
  if (orgUnitId === institution.orgId) {
    return {
      Identifier: String(orgUnitId),
      Name: institution.name,
      Code: null,
      Type: { Id: 1, Code: 'Organization', Name: 'Organization' },
    };
  }
  const course = institution.course(orgUnitId);
  if (!course) return undefined;
  return {
    Identifier: String(course.OrgUnitId),
    Name: course.Name,
    Code: course.Code,
    Type: { Id: 3, Code: 'Course Offering', Name: 'Course Offering' },
  };
}

/**
 * `IssuedAward` with its `Award` (reference §1.3, from third-party code). Fields no source showed
 * a value for are null.
 */
function issuedAwardJson(award: SandboxAward, baseUrl: string, institution: Institution) {
  const def = award.Award;
  return {
    IssuedId: award.IssuedId,
    Award: {
      AwardId: def.AwardId,
      CreatedBy: institution.registrar.UserId,
      Title: def.Title,
      Description: def.Description,
      ExpiryCalculation: null,
      ExpiryNotification: null,
      IssuerName: def.IssuerName,
      IssuerUrl: baseUrl,
      IssuerContact: institution.registrar.ExternalEmail,
      AwardType: def.AwardType,
      CertificateData: def.AwardType === AwardType.Certificate ? { TemplateId: 1 } : null,
      ImageData: null,
      IsDeleted: false,
      Criteria: null,
    },
    IssuedDate: award.IssuedDate,
    ExpiryDate: award.ExpiryDate,
    IssuedBy: award.IssuedBy,
    OrgUnitId: award.OrgUnitId,
    Credit: null,
  };
}
