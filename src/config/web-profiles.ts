/**
 * What each LMS's web login looks like by default: where it starts, the page that proves it
 * worked, the form's fields, the URLs that mean "the login page" and "the login was refused", and
 * how a session is kept alive. Every value can be overridden (LMS_LOGIN_* variables).
 */
import type { LmsKind } from './load.ts';

export interface LmsWebProfile {
  loginPath: string;
  landingPath: string;
  selectors: { username: string; password: string; submit: string };
  /** URL fragments that mean "this is the login page". */
  loginUrlPatterns: readonly RegExp[];
  /** URL fragments that mean "the login was refused". */
  loginFailedPatterns: readonly RegExp[];
  /** The request that extends an idle session. */
  extend: { method: 'GET' | 'POST'; path: string };
}

export const WEB_PROFILES: Record<LmsKind, LmsWebProfile> = {
  brightspace: {
    loginPath: '/d2l/login?noredirect=1',
    landingPath: '/d2l/home',
    selectors: {
      username: 'input[name="userName"]',
      password: 'input[name="password"]',
      submit: 'button[type="submit"], input[type="submit"]',
    },
    loginUrlPatterns: [/\/d2l\/login\b/, /\/d2l\/lp\/auth\/login\//, /\/d2l\/lp\/auth\/saml\//],
    loginFailedPatterns: [/loginFailed\.d2l/i],
    extend: { method: 'POST', path: '/d2l/lp/auth/session/extend' },
  },
  // Learn's own login form (reference/lms-apis.md §6.4): user_id, password and a one-time nonce
  // the browser submits with the form; the BbRouter cookie is the session.
  blackboard: {
    loginPath: '/webapps/login/',
    landingPath: '/ultra/stream',
    selectors: {
      username: 'input[name="user_id"]',
      password: 'input[name="password"]',
      submit: '#entry-login, input[type="submit"][name="login"], button[type="submit"]',
    },
    loginUrlPatterns: [/\/webapps\/login\//],
    loginFailedPatterns: [/[?&]action=relogin\b/],
    extend: { method: 'GET', path: '/ultra/stream' },
  },
};
