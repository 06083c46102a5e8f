import { type Request, type Response, Router, urlencoded } from 'express';
import { type FaultInjector, sendPdf } from './faults.ts';
import {
  errorPage,
  forbiddenPage,
  homePage,
  LOGIN_FAILED_PATH,
  LOGIN_PATH,
  loginFailedPage,
  loginPage,
  notFoundPage,
} from './html.ts';
import { AwardType, type Institution } from './institution.ts';
import { type AuthServer, INTERACTION_PATH } from './oauth.ts';
import type { CertificateStore } from './pdf.ts';
import type { SandboxStats } from './stats.ts';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE, type WebSessionStore } from './web-sessions.ts';

/**
 * The web UI: the login form and its session cookies, the home page, session keep-alive, the
 * certificate render URL (session only — the problem in reference §1.5) and the OAuth login step.
 */
export interface WebDeps {
  institution: Institution;
  stats: SandboxStats;
  faults: FaultInjector;
  sessions: WebSessionStore;
  auth: AuthServer;
  certificates: CertificateStore;
  /** The service user's web password. */
  password: string;
}

export function webRouter(deps: WebDeps): Router {
  const { institution, stats, faults, sessions, auth, certificates } = deps;
  const router = Router();
  const form = urlencoded({ extended: false, limit: '16kb' });

  router.get('/d2l/login', (req, res) =>
    sendHtml(res, 200, loginPage({ target: safeTarget(req.query.target) })),
  );
  router.get(LOGIN_PATH, (req, res) =>
    sendHtml(res, 200, loginPage({ target: safeTarget(req.query.target) })),
  );
  router.get(LOGIN_FAILED_PATH, (_req, res) => sendHtml(res, 200, loginFailedPage()));

  router.post(LOGIN_PATH, form, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = typeof body.userName === 'string' ? institution.userByName(body.userName) : undefined;
    // Only the service user has a web password: students never log in to the sandbox.
    if (!user || user.role !== 'service' || body.password !== deps.password) {
      stats.failedLogins++;
      return res.redirect(302, LOGIN_FAILED_PATH);
    }
    stats.webLogins++;
    const { sessionVal, secureVal } = sessions.create(user.UserId);
    // Not `Secure`: the sandbox speaks plain http, and Chromium drops Secure cookies set over http.
    res.cookie(SESSION_COOKIE, sessionVal, { path: '/', httpOnly: true, sameSite: 'lax' });
    res.cookie(SECURE_SESSION_COOKIE, secureVal, { path: '/', httpOnly: true, sameSite: 'lax' });
    res.redirect(302, safeTarget(body.target) ?? '/d2l/home');
  });

  router.get('/d2l/home', (req, res) => {
    const userId = sessions.authenticate(req);
    const user = userId === undefined ? undefined : institution.user(userId);
    if (!user) return res.redirect(302, `/d2l/login?target=${encodeURIComponent('/d2l/home')}`);
    sendHtml(res, 200, homePage(`${user.FirstName} ${user.LastName}`));
  });

  // [I] Answer: 200 `{}` while the session lives (the call itself keeps it alive), 401 when not.
  router.all('/d2l/lp/auth/session/extend', (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') return res.status(405).end();
    if (sessions.authenticate(req) === undefined) return res.status(401).json({});
    stats.sessionExtends++;
    res.json({});
  });

  router.get('/d2l/logout', (req, res) => {
    sessions.destroy(req);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.clearCookie(SECURE_SESSION_COOKIE, { path: '/' });
    res.redirect(302, '/d2l/login');
  });

  router.get('/d2l/awards/v1/:ou/certificate/render/:issuedId', async (req, res) => {
    const injected = faults.serverError();
    if (injected !== undefined) return sendHtml(res, injected, errorPage(injected, 'Server Error'));
    const userId = sessions.authenticate(req);
    if (userId === undefined) {
      // What the reference thread saw: 200, text/html, the login page — never a redirect.
      stats.renderLoginPage++;
      return sendHtml(res, 200, loginPage({ target: req.originalUrl }));
    }
    const { ou, issuedId } = req.params as { ou: string; issuedId: string };
    const award = /^\d+$/.test(issuedId) ? institution.issuedAward(Number(issuedId)) : undefined;
    if (!award || String(award.OrgUnitId) !== ou || award.Award.AwardType !== AwardType.Certificate) {
      return sendHtml(res, 404, notFoundPage());
    }
    const viewer = institution.user(userId);
    if (viewer?.role === 'student' && viewer.UserId !== award.UserId)
      return sendHtml(res, 403, forbiddenPage());
    const throttled = faults.renderThrottle(award.IssuedId);
    if (throttled) {
      res.setHeader('Retry-After', String(throttled.retryAfterSeconds));
      const reason = throttled.status === 429 ? 'Too Many Requests' : 'Service Unavailable';
      return sendHtml(res, throttled.status, errorPage(throttled.status, reason));
    }
    const pdf = await certificates.get(award.IssuedId);
    stats.renderPdf++;
    sendPdf(res, pdf, `Certificate-${award.IssuedId}.pdf`, faults.truncation());
  });

  // oidc-provider sends the browser here when the authorization request needs a login: log in
  // through the ordinary web form first, then come back and finish with that user.
  router.get(`${INTERACTION_PATH}/:uid`, async (req, res) => {
    if (!(await auth.hasInteraction(req, res))) {
      return sendHtml(res, 400, errorPage(400, 'This sign-in request has expired; start again'));
    }
    const userId = sessions.authenticate(req);
    if (userId === undefined)
      return res.redirect(302, `/d2l/login?target=${encodeURIComponent(req.originalUrl)}`);
    await auth.finishInteraction(req, res, userId);
  });

  return router;
}

function sendHtml(res: Response, status: number, html: string): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(html);
}

/** Only same-site paths may be a login target (no `//host` or `/\host` open redirects). */
function safeTarget(value: Request['query'][string] | unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^\/(?![/\\])/.test(value) ? value : undefined;
}
