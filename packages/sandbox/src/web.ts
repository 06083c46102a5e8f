import { Router } from 'express';
import type { FaultInjector } from './faults.ts';
import { errorPage, homePage, TERMS_PATH } from './html.ts';
import type { Institution } from './institution.ts';
import type { KnobBox } from './knobs.ts';
import { type AuthServer, INTERACTION_PATH } from './oauth.ts';
import type { SandboxCertificateStore } from './pdf.ts';
import { renderRouter } from './render.ts';
import type { SandboxStats } from './stats.ts';
import { loginUrl, sendHtml } from './web-common.ts';
import { loginRouter } from './web-login.ts';
import {
  PENDING_LOGIN_COOKIE,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  type WebSessionStore,
} from './web-sessions.ts';

/**
 * The web UI: the login (`web-login.ts`) and its session cookies, the home page, session
 * keep-alive, the certificate render URL (`render.ts`) and the OAuth login step.
 */
export interface WebDeps {
  institution: Institution;
  knobs: KnobBox;
  stats: SandboxStats;
  faults: FaultInjector;
  sessions: WebSessionStore;
  auth: AuthServer;
  certificates: SandboxCertificateStore;
  /** The service user's web password. */
  password: string;
  /** The service user's base32 TOTP secret (used when `twoFactor` is on). */
  totpSecret: string;
  /** Base URL of the "elsewhere" server (another origin), for off-host redirects. */
  elsewhereUrl: string;
}

export function webRouter(deps: WebDeps): Router {
  const { institution, stats, sessions, auth } = deps;
  const router = Router();
  router.use(loginRouter(deps));
  router.use(renderRouter(deps));

  router.get('/d2l/home', (req, res) => {
    if (sessions.awaitingTerms(req) !== undefined) return res.redirect(302, TERMS_PATH);
    const userId = sessions.authenticate(req);
    const user = userId === undefined ? undefined : institution.user(userId);
    if (!user) return res.redirect(302, loginUrl('/d2l/home'));
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
    res.clearCookie(PENDING_LOGIN_COOKIE, { path: '/' });
    res.redirect(302, '/d2l/login');
  });

  // oidc-provider sends the browser here when the authorization request needs a login: log in
  // through the ordinary web form first, then come back and finish with that user.
  router.get(`${INTERACTION_PATH}/:uid`, async (req, res) => {
    if (!(await auth.hasInteraction(req, res))) {
      return sendHtml(res, 400, errorPage(400, 'This sign-in request has expired; start again'));
    }
    if (sessions.awaitingTerms(req) !== undefined) return res.redirect(302, TERMS_PATH);
    const userId = sessions.authenticate(req);
    if (userId === undefined) return res.redirect(302, loginUrl(req.originalUrl));
    await auth.finishInteraction(req, res, userId);
  });

  return router;
}
