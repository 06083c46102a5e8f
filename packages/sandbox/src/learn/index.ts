import type { IncomingMessage, ServerResponse } from 'node:http';
import { countRoutes, latency, unreachable } from '../app.ts';
import express, { type ErrorRequestHandler, type Request } from 'express';
import type { LearnSandboxEnv } from '../env.ts';
import type { FaultInjector } from '../faults.ts';
import { notFoundPage } from '../html.ts';
import type { Institution } from '../institution.ts';
import type { KnobBox } from '../knobs.ts';
import type { SandboxCertificateStore } from '../pdf.ts';
import type { SandboxStats } from '../stats.ts';
import { sendHtml } from '../web-common.ts';
import { LEARN_LANDING_PATH, LEARN_LOGIN_PATH } from './html.ts';
import { LearnIds, learnUuid } from './ids.ts';
import { LEARN_API_BASE, LEARN_TOKEN_PATH, LearnAuth, learnOAuthRouter } from './oauth.ts';
import { DailyQuota } from './quota.ts';
import { learnRestRouter, restError } from './rest.ts';
import { LearnSessionStore } from './sessions.ts';
import { learnWebRouter } from './web.ts';

export {
  ACHIEVEMENTS_PATH,
  BAD_CREDENTIALS_MESSAGE,
  CERTIFICATE_DOWNLOAD_PATH,
  LEARN_LANDING_PATH,
  LEARN_LOGIN_PATH,
  NONCE_EXPIRED_MESSAGE,
  NONCE_FIELD,
  tableAchievementsPath,
} from './html.ts';
export { learnCourseId, learnId, learnUuid, parseLearnId } from './ids.ts';
export { LEARN_API_BASE, LEARN_AUTHORIZE_PATH, LEARN_TOKEN_PATH } from './oauth.ts';
export { LEARN_SESSION_COOKIE } from './sessions.ts';
export { certificatePath, HOSTILE_MALFORMED_IDS, HOSTILE_TITLE, hostileOffHostIssuedId } from './web.ts';

/** The login form's selectors, as `learnEnv` hands them to the worker. */
export const LEARN_LOGIN_SELECTORS = {
  username: 'input[name="user_id"]',
  password: 'input[name="password"]',
  submit: '#entry-login',
} as const;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface LearnDeps {
  /** The sandbox's base URL (no trailing slash). */
  baseUrl: string;
  institution: Institution;
  knobs: KnobBox;
  stats: SandboxStats;
  faults: FaultInjector;
  certificates: SandboxCertificateStore;
  /** The service user's web password (shared with the Brightspace side). */
  password: string;
  elsewhereUrl: string;
  /** Aborted on close, so pending latency sleeps end with the server. */
  closing: AbortSignal;
}

export interface Learn {
  /** The Learn app's key and secret (HTTP Basic at the token endpoint). */
  readonly key: string;
  readonly secret: string;
  /** The worker's configuration for Learn mode. */
  readonly env: LearnSandboxEnv;
  /** A handler serving Learn's paths (`/learn/`, `/webapps/`, `/ultra/`) and passing the rest on. */
  handler(other: Handler): Handler;
}

const LEARN_PATHS = /^\/(?:learn|webapps|ultra)(?:[/?]|$)/;

/**
 * Blackboard Learn on the sandbox's own port, beside Brightspace (.tmp/blackboard-spec.md): the
 * token and 3LO endpoints, the REST routes, the web login, the achievements page and the
 * certificate download, over the same institution, PDFs and fault knobs.
 */
export function createLearn(deps: LearnDeps): Learn {
  const { institution, knobs, stats } = deps;
  const ids = new LearnIds(institution, () => knobs.current.learnIds);
  const auth = new LearnAuth(knobs, stats, institution.serviceUser.UserId);
  const quota = new DailyQuota();
  knobs.onChange((patch) => {
    if (patch.learnDailyQuota !== undefined) quota.reset();
  });
  const sessions = new LearnSessionStore(
    knobs,
    stats,
    learnUuid(institution.seed, 'site', institution.orgId),
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(unreachable(knobs, stats));
  app.use(countRoutes(stats, routeOf));
  app.use(latency(knobs, deps.closing));
  app.use(
    learnOAuthRouter({
      auth,
      stats,
      sessions,
      userUuid: (userId) => {
        const user = institution.user(userId);
        return user && ids.userUuid(user);
      },
      userName: (userId) => institution.user(userId)?.UserName,
    }),
  );
  app.use(
    LEARN_API_BASE,
    learnRestRouter({ knobs, stats, faults: deps.faults, auth, ids, quota, users: institution.users }),
  );
  app.use(
    learnWebRouter({
      institution,
      knobs,
      stats,
      faults: deps.faults,
      sessions,
      certificates: deps.certificates,
      ids,
      password: deps.password,
      elsewhereUrl: deps.elsewhereUrl,
    }),
  );
  app.use((req, res) => {
    if (req.path.startsWith('/learn/api/'))
      return restError(res, 404, 'Not Found', `No such route: ${req.path}`);
    sendHtml(res, 404, notFoundPage());
  });
  app.use(errorHandler);

  const env: LearnSandboxEnv = {
    LMS: 'blackboard',
    LMS_URL: deps.baseUrl,
    OAUTH_CLIENT_ID: auth.key,
    OAUTH_CLIENT_SECRET: auth.secret,
    OAUTH_TOKEN_URL: `${deps.baseUrl}${LEARN_TOKEN_PATH}`,
    LMS_USERNAME: institution.serviceUser.UserName,
    LMS_PASSWORD: deps.password,
    LMS_LOGIN_URL: LEARN_LOGIN_PATH,
    LMS_LOGIN_LANDING: LEARN_LANDING_PATH,
    LMS_LOGIN_USER_SELECTOR: LEARN_LOGIN_SELECTORS.username,
    LMS_LOGIN_PASSWORD_SELECTOR: LEARN_LOGIN_SELECTORS.password,
    LMS_LOGIN_SUBMIT_SELECTOR: LEARN_LOGIN_SELECTORS.submit,
  };

  return {
    key: auth.key,
    secret: auth.secret,
    env: Object.freeze(env),
    handler: (other) => (req, res) => (LEARN_PATHS.test(req.url ?? '') ? app(req, res) : other(req, res)),
  };
}

function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  const path = req.originalUrl.split('?')[0] ?? '';
  // Answered by the REST gate (injected 5xx, 429, 401) before any route matched.
  if (path.startsWith(`${LEARN_API_BASE}/`)) return `${LEARN_API_BASE}/* (before routing)`;
  return '(unmatched)';
}

const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  console.error(`sandbox (Learn): ${req.method} ${req.originalUrl} failed:`, err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (req.originalUrl.startsWith('/learn/api/')) restError(res, 500, 'Internal Server Error');
  else res.status(500).type('html').send('<h1>500 Internal Server Error</h1>');
};
