/** The web UI's pages: plain HTML shaped like Brightspace's (same form action and field names). */

export const LOGIN_PATH = '/d2l/lp/auth/login/login.d2l';
export const LOGIN_FAILED_PATH = '/d2l/lp/auth/login/loginFailed.d2l';
export const TWO_FACTOR_PATH = '/d2l/lp/auth/twofactorauthentication/TwoFactorCodeEntry.d2l';
export const PROCESS_LOGIN_PATH = '/d2l/lp/auth/login/ProcessLoginActions.d2l';
export const TERMS_PATH = '/d2l/lp/auth/terms/accept.d2l';
export const IDP_LOGIN_PATH = '/sso/idp/login';

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} - Sandbox University</title>
<style>body{font-family:sans-serif;margin:3em auto;max-width:36em;color:#1e2947}
label{display:block;margin-top:1em}input[type=text],input[type=password]{width:100%;padding:.4em}
button{margin-top:1.2em;padding:.5em 2em}.error{color:#a4000f}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/**
 * The login page, also what the render URL answers without a session. The hidden fields are the
 * ones D2L's own form posts (not documented by D2L: as real tenants show it).
 */
export function loginPage(options: { target?: string | undefined; error?: string } = {}): string {
  const target =
    options.target === undefined
      ? ''
      : `\n  <input type="hidden" name="target" value="${escapeHtml(options.target)}">`;
  const error = options.error ? `\n<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return layout(
    'Login',
    `<h1>Sandbox University</h1>
<h2>Log in to Brightspace</h2>${error}
<form method="post" action="${LOGIN_PATH}" name="loginForm" id="loginForm">
  <input type="hidden" name="d2l_referrer" value="">
  <input type="hidden" name="noredirect" value="1">
  <input type="hidden" name="loginPath" value="${LOGIN_PATH}">${target}
  <label for="userName">Username</label>
  <input type="text" id="userName" name="userName" autocomplete="username" autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password">
  <button type="submit" id="loginButton">Log In</button>
</form>`,
  );
}

export function loginFailedPage(): string {
  return loginPage({ error: 'Invalid Username or Password. Please try again.' });
}

/** D2L's native two-factor step: one code field, posted back to the same URL. */
export function twoFactorPage(options: { error?: string } = {}): string {
  const error = options.error ? `\n<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return layout(
    'Two-Step Verification',
    `<h1>Two-Step Verification</h1>
<p>Enter the 6-digit code from your authenticator app.</p>${error}
<form method="post" action="${TWO_FACTOR_PATH}" id="twoFactorForm">
  <label for="twoFactorCode">Verification code</label>
  <input type="text" id="twoFactorCode" name="twoFactorCode" autocomplete="one-time-code" inputmode="numeric" autofocus>
  <button type="submit" id="twoFactorSubmit">Verify</button>
</form>`,
  );
}

/** A terms-of-use interstitial: the new session is usable only after "I accept". */
export function termsPage(): string {
  return layout(
    'Terms of Use',
    `<h1>Terms of Use</h1>
<p>Before you continue, you must accept Sandbox University's acceptable use policy.</p>
<form method="post" action="${TERMS_PATH}" id="termsForm">
  <button type="submit" id="acceptTerms" name="accept" value="1">I accept</button>
</form>`,
  );
}

/** The institution's identity provider (SSO): a login form that is not D2L's. */
export function idpLoginPage(options: { relayState?: string | undefined; error?: string } = {}): string {
  const relay =
    options.relayState === undefined
      ? ''
      : `\n  <input type="hidden" name="RelayState" value="${escapeHtml(options.relayState)}">`;
  const error = options.error ? `\n<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return layout(
    'Single Sign-On',
    `<h1>Sandbox University Single Sign-On</h1>${error}
<form method="post" action="${IDP_LOGIN_PATH}" id="idpForm">${relay}
  <label for="j_username">University ID</label>
  <input type="text" id="j_username" name="j_username" autocomplete="username">
  <label for="j_password">Passphrase</label>
  <input type="password" id="j_password" name="j_password" autocomplete="current-password">
  <button type="submit" name="_eventId_proceed">Sign in</button>
</form>`,
  );
}

/** What `expiryStyle` `forbidden` and `unauthorized` answer: a page, no login form. */
export function loggedOutPage(status: 401 | 403): string {
  return layout(
    status === 401 ? 'Unauthorized' : 'Access Denied',
    `<h1>${status === 401 ? '401 Unauthorized' : 'Access Denied'}</h1>
<p>You are not logged in, or your session has expired. <a href="/d2l/login">Log in</a></p>`,
  );
}

/** Another origin's page (the "elsewhere" server), where an off-host redirect lands. */
export function elsewherePage(): string {
  return layout('Elsewhere', '<h1>Elsewhere</h1>\n<p>This is not the LMS.</p>');
}

export function homePage(displayName: string): string {
  return layout(
    'Homepage',
    `<h1>My Home</h1>
<p id="welcome">Welcome, ${escapeHtml(displayName)}.</p>
<p><a href="/d2l/logout">Log out</a></p>`,
  );
}

export function notFoundPage(): string {
  return layout('Not Found', '<h1>Not Found</h1>\n<p>The page you requested could not be found.</p>');
}

export function forbiddenPage(): string {
  return layout(
    'Access Denied',
    '<h1>Access Denied</h1>\n<p>You do not have permission to view this page.</p>',
  );
}

export function errorPage(status: number, reason: string): string {
  return layout(`${status} ${reason}`, `<h1>${status} ${escapeHtml(reason)}</h1>`);
}
