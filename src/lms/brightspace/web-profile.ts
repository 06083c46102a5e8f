import type { WebProfile } from '../../browser/index.ts';

/**
 * Brightspace's web login (not documented by D2L; as real tenants show it): the local login form (`noredirect=1` skips an
 * SSO redirect), the homepage as the proof of a login, D2L's login and SAML paths as "logged out",
 * `loginFailed.d2l` as a refused password, native two-factor, and the session-extend call the
 * web UI makes itself.
 */
export const BRIGHTSPACE_WEB_PROFILE: WebProfile = {
  loginPath: '/d2l/login?noredirect=1',
  landingPath: '/d2l/home',
  selectors: {
    username: 'input[name="userName"]',
    password: 'input[name="password"]',
    submit: 'button[type="submit"], input[type="submit"]',
  },
  loggedOutPaths: [/^\/d2l\/login\b/, /^\/d2l\/lp\/auth\/login\//, /^\/d2l\/lp\/auth\/saml\//],
  loginFailedUrls: [/loginFailed\.d2l/i],
  extend: { method: 'POST', path: '/d2l/lp/auth/session/extend' },
  twoFactor: {
    urlPattern: /\/d2l\/lp\/auth\/twofactorauthentication\//i,
    codeSelector:
      'input[autocomplete="one-time-code"], input[name="twoFactorCode"], input[name*="code" i], input[type="tel"]',
    submitSelector: 'button[type="submit"], input[type="submit"]',
  },
};
