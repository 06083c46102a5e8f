import type { WebProfile } from '../../browser/index.ts';

/**
 * Learn's own login form (not documented by Anthology; as real sites show it): `user_id`, `password` and a one-time nonce
 * the browser submits with the form; the BbRouter cookie is the session. `action=relogin` is the
 * refused login; the Ultra stream is the page only a logged-in user gets. A site profile's
 * `login:` section, then LMS_LOGIN_*, override each value.
 */
export const LEARN_WEB_PROFILE: WebProfile = {
  loginPath: '/webapps/login/',
  landingPath: '/ultra/stream',
  selectors: {
    username: 'input[name="user_id"]',
    password: 'input[name="password"]',
    submit: '#entry-login, input[type="submit"][name="login"], button[type="submit"]',
  },
  loggedOutPaths: [/^\/webapps\/login\//],
  loginFailedUrls: [/[?&]action=relogin\b/],
  extend: { method: 'GET', path: '/ultra/stream' },
};
