import { isLoginPageUrl } from '../http/classify-answer.ts';
/**
 * What a web session must know about one site's web login: where it starts, the page that proves
 * it worked, the form, and which URLs mean "logged out" or "refused". `src/browser` has no defaults
 * of its own: each LMS module declares its profile (`src/lms/<kind>/web-profile.ts`), the
 * configuration (LMS_LOGIN_*, a site profile's `login:` section) overrides it, and the result is
 * handed to `BrowserLogin`, `WebSession` and every session fetch.
 */

/** CSS selectors of the login form. */
export interface LoginSelectors {
  username: string;
  password: string;
  submit: string;
}

/** A native two-factor step the login can answer with the service user's TOTP code. */
export interface TwoFactorStep {
  /** The URL (whole) of the step's page. */
  urlPattern: RegExp;
  /** The one-time-code field. */
  codeSelector: string;
  /** The button that sends it. */
  submitSelector: string;
}

export interface WebProfile {
  /** Where the login starts (a path on the LMS host, with its query), e.g. the local login form. */
  loginPath: string;
  /** The page a logged-in user gets: a login counts only when it lands here, and probes ask it. */
  landingPath: string;
  selectors: LoginSelectors;
  /**
   * URL paths that are the login page: a redirect there, or an answer from there, means the
   * session is gone. Matched against the path and query (`/webapps/login/?action=relogin`).
   */
  loggedOutPaths: readonly RegExp[];
  /** URLs (whole) that mean "the login was refused". */
  loginFailedUrls: readonly RegExp[];
  /** The request that extends an idle session. */
  extend: { method: 'GET' | 'POST'; path: string };
  /** The site's native two-factor step, when it has one. */
  twoFactor?: TwoFactorStep;
}

/** Whether `url` is the site's login page (logged out). A URL that does not parse is not. */
export function isLoggedOutUrl(profile: Pick<WebProfile, 'loggedOutPaths'>, url: string | URL): boolean {
  return isLoginPageUrl(profile.loggedOutPaths, url);
}

/** Whether `url` says the login was refused. */
export function isLoginFailedUrl(profile: Pick<WebProfile, 'loginFailedUrls'>, url: string): boolean {
  return profile.loginFailedUrls.some((p) => p.test(url));
}
