import { type Response, Router, urlencoded } from 'express';
import { authenticator } from 'otplib';
import {
  IDP_LOGIN_PATH,
  idpLoginPage,
  LOGIN_FAILED_PATH,
  LOGIN_PATH,
  loginFailedPage,
  loginPage,
  PROCESS_LOGIN_PATH,
  TERMS_PATH,
  termsPage,
  TWO_FACTOR_PATH,
  twoFactorPage,
} from './html.ts';
import type { Institution } from './institution.ts';
import type { KnobBox } from './knobs.ts';
import type { SandboxStats } from './stats.ts';
import { safeTarget, sendHtml } from './web-common.ts';
import {
  PENDING_LOGIN_COOKIE,
  PendingLoginStore,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  type WebSessionStore,
} from './web-sessions.ts';

/**
 * The fixed base32 TOTP secret of the service user's two-factor login (the sandbox's test
 * credential, like its password; printed as LMS_TOTP_SECRET when `twoFactor` is on).
 */
export const SANDBOX_TOTP_SECRET = 'SANDBOXCERTHARVESTTOTPSECRET2345';

/** RFC 6238 as D2L's authenticator apps use it: 30 s, 6 digits, SHA-1; one step either side. */
const totp = authenticator.clone({ window: 1 });

export interface WebLoginDeps {
  institution: Institution;
  knobs: KnobBox;
  stats: SandboxStats;
  sessions: WebSessionStore;
  /** The service user's web password. */
  password: string;
  /** The service user's base32 TOTP secret. */
  totpSecret: string;
}

// Not `Secure`: the sandbox speaks plain http, and Chromium drops Secure cookies set over http.
const COOKIE = { path: '/', httpOnly: true, sameSite: 'lax' } as const;

/**
 * Everything from the login form to a usable session: the SSO redirect, the password, the
 * two-factor step and the terms interstitial, each behind its knob (not documented by D2L: as real tenants and working client code show it).
 *
 *   password ─▶ [TwoFactorCodeEntry.d2l ─▶ ProcessLoginActions.d2l] ─▶ session ─▶ [terms] ─▶ target
 */
export function loginRouter(deps: WebLoginDeps): Router {
  const { institution, knobs, stats, sessions } = deps;
  const pending = new PendingLoginStore();
  const router = Router();
  const form = urlencoded({ extended: false, limit: '16kb' });

  router.get('/d2l/login', (req, res) => {
    const target = safeTarget(req.query.target);
    if (knobs.current.ssoRedirect && req.query.noredirect !== '1') {
      const relay = target === undefined ? '' : `?RelayState=${encodeURIComponent(target)}`;
      return res.redirect(302, `${IDP_LOGIN_PATH}${relay}`);
    }
    sendHtml(res, 200, loginPage({ target }));
  });
  router.get(LOGIN_PATH, (req, res) =>
    sendHtml(res, 200, loginPage({ target: safeTarget(req.query.target) })),
  );
  router.get(LOGIN_FAILED_PATH, (_req, res) => sendHtml(res, 200, loginFailedPage()));

  // The identity provider's own page. Nobody can sign in here: the service account is local.
  router.get(IDP_LOGIN_PATH, (req, res) =>
    sendHtml(res, 200, idpLoginPage({ relayState: safeTarget(req.query.RelayState) })),
  );
  router.post(IDP_LOGIN_PATH, form, (_req, res) =>
    sendHtml(res, 200, idpLoginPage({ error: 'Unknown University ID or passphrase.' })),
  );

  router.post(LOGIN_PATH, form, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = typeof body.userName === 'string' ? institution.userByName(body.userName) : undefined;
    // Only the service user has a web password: students never log in to the sandbox.
    if (!user || user.role !== 'service' || body.password !== deps.password) {
      stats.failedLogins++;
      return res.redirect(302, LOGIN_FAILED_PATH);
    }
    stats.webLogins++;
    const target = safeTarget(body.target);
    if (knobs.current.twoFactor) {
      stats.twoFactorPrompts++;
      res.cookie(PENDING_LOGIN_COOKIE, pending.create(user.UserId, target), COOKIE);
      return res.redirect(302, TWO_FACTOR_PATH);
    }
    startSession(res, user.UserId, target);
  });

  router.get(TWO_FACTOR_PATH, (req, res) => {
    const login = pending.get(req);
    if (!login) return res.redirect(302, '/d2l/login');
    if (login.verified) return res.redirect(302, PROCESS_LOGIN_PATH);
    sendHtml(res, 200, twoFactorPage());
  });

  router.post(TWO_FACTOR_PATH, form, (req, res) => {
    const login = pending.get(req);
    if (!login) return res.redirect(302, '/d2l/login');
    const code = (req.body as Record<string, unknown> | undefined)?.twoFactorCode;
    if (
      typeof code !== 'string' ||
      !/^\d{6}$/.test(code.trim()) ||
      !totp.check(code.trim(), deps.totpSecret)
    ) {
      stats.twoFactorFailures++;
      return sendHtml(res, 200, twoFactorPage({ error: 'The code is not valid. Please try again.' }));
    }
    login.verified = true;
    res.redirect(302, PROCESS_LOGIN_PATH);
  });

  router.get(PROCESS_LOGIN_PATH, (req, res) => {
    const login = pending.get(req);
    if (!login)
      return res.redirect(302, sessions.authenticate(req) === undefined ? '/d2l/login' : '/d2l/home');
    if (!login.verified) return res.redirect(302, TWO_FACTOR_PATH);
    pending.delete(req);
    res.clearCookie(PENDING_LOGIN_COOKIE, { path: '/' });
    startSession(res, login.userId, login.target);
  });

  router.get(TERMS_PATH, (req, res) => {
    if (sessions.awaitingTerms(req) !== undefined) return sendHtml(res, 200, termsPage());
    res.redirect(302, sessions.authenticate(req) === undefined ? '/d2l/login' : '/d2l/home');
  });

  router.post(TERMS_PATH, form, (req, res) => {
    const accepted = sessions.acceptTerms(req);
    if (!accepted) return res.redirect(302, '/d2l/login');
    res.redirect(302, accepted.target ?? '/d2l/home');
  });

  /** Set the session cookies and go on: to the terms page first if the tenant has one. */
  function startSession(res: Response, userId: number, target: string | undefined): void {
    const termsPending = knobs.current.termsInterstitial;
    const { sessionVal, secureVal } = sessions.create(userId, { termsPending, target });
    res.cookie(SESSION_COOKIE, sessionVal, COOKIE);
    res.cookie(SECURE_SESSION_COOKIE, secureVal, COOKIE);
    if (termsPending) {
      stats.termsShown++;
      return res.redirect(302, TERMS_PATH);
    }
    res.redirect(302, target ?? '/d2l/home');
  }

  return router;
}
