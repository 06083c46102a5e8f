/**
 * Live counters, so tests can assert on what the LMS saw ("about one login per session expiry",
 * "no token replays"). One object per sandbox, mutated in place; `resetStats()` zeroes it in place.
 */
export interface SandboxStats {
  /** Successful posts of the web login form. */
  webLogins: number;
  /** Login form posts with a wrong user name or password. */
  failedLogins: number;
  /** Successful token-endpoint grants, by grant type. */
  tokenGrants: { refresh_token: number; authorization_code: number; client_credentials: number };
  /** Token-endpoint requests that failed (any error, replays included). */
  tokenErrors: number;
  /** Refresh tokens presented a second time (answered `400 invalid_grant`). */
  replayRejections: number;
  /** Valence requests refused with 401 (no, unknown or expired bearer token). */
  unauthorized401: number;
  /** PDFs served by the render URL (truncated ones included). */
  renderPdf: number;
  /**
   * Render-URL requests without a live session (none, expired, or awaiting the terms), answered
   * as `expiryStyle` says: the login page by default, or a 302, 403 or 401.
   */
  renderLoginPage: number;
  /** Render-URL requests refused 403 to a live session (`forbiddenIssuedIds`). */
  renderForbidden: number;
  /** Huge bodies the render URL started to stream (`hugeBodyIssuedIds`). */
  hugeBodiesStarted: number;
  /** Requests the "elsewhere" server (another origin, `Sandbox.elsewhereUrl`) received. */
  offHostRequests: number;
  /** The part of `offHostRequests` that carried any `Cookie` header. */
  offHostCookies: number;
  /** Render requests refused by `renderThrottleRate` / `renderThrottleFirst` (429 or 503). */
  renderThrottled: number;
  /** PDFs served by the `/pdf` API route (truncated ones included). */
  pdfApi: number;
  /** Every 429 Valence sent: throttle knob and spent budget (render 429s: `renderThrottled`). */
  throttled429: number;
  /** The part of `throttled429` caused by a spent per-minute budget. */
  budget429: number;
  /** 500/502/503 answers injected by the `errorRate` knob. */
  injected5xx: number;
  /** PDF responses cut short by the `truncateRate` knob. */
  truncated: number;
  /** Requests whose connection was destroyed unanswered because of the `unreachable` knob. */
  unreachableRequests: number;
  /** Live refresh tokens revoked by `revokeRefreshTokens()`. */
  refreshTokensRevoked: number;
  /** Every request under `/d2l/api/`. */
  valenceRequests: number;
  /** Web sessions that ended, by cause. */
  sessionsExpired: { idle: number; maxRequests: number };
  /** Successful calls of `/d2l/lp/auth/session/extend`. */
  sessionExtends: number;
  /** Correct passwords sent on to the two-factor code entry page (`twoFactor`). */
  twoFactorPrompts: number;
  /** Two-factor codes refused (wrong, missing or out of the ±1 step window). */
  twoFactorFailures: number;
  /** New sessions sent to the terms-of-use page (`termsInterstitial`). */
  termsShown: number;
  /** Requests per route, keyed like `GET /d2l/api/lp/:version/users/whoami`. */
  routes: Record<string, number>;
  /** Learn mode: requests to `/learn/api/public/v1/oauth2/token`, whatever their outcome. */
  learnTokenRequests: number;
  /** Learn mode: access tokens minted (a renewed site token is not a new one). */
  learnTokensIssued: number;
  /** Learn mode: successful posts of `/webapps/login/`. */
  learnWebLogins: number;
  /** Learn mode: refused login posts (wrong credentials, missing or used nonce). */
  learnFailedLogins: number;
  /** Learn mode: achievements pages served to a live session. */
  achievementPages: number;
  /** Learn mode: REST requests (everything under `/learn/api/public/v1` but the OAuth routes). */
  learnRestCalls: number;
  /** Learn mode: REST requests refused 429 because `learnDailyQuota` was spent. */
  learnQuota429: number;
  /** Learn mode: REST requests refused 401 (no, unknown or expired bearer token). */
  learnUnauthorized401: number;
  /** Learn mode: PDFs served by the certificate download URL (truncated ones included). */
  learnCertificateDownloads: number;
}

export function createStats(): SandboxStats {
  return {
    webLogins: 0,
    failedLogins: 0,
    tokenGrants: { refresh_token: 0, authorization_code: 0, client_credentials: 0 },
    tokenErrors: 0,
    replayRejections: 0,
    unauthorized401: 0,
    renderPdf: 0,
    renderLoginPage: 0,
    renderForbidden: 0,
    hugeBodiesStarted: 0,
    offHostRequests: 0,
    offHostCookies: 0,
    renderThrottled: 0,
    pdfApi: 0,
    throttled429: 0,
    budget429: 0,
    injected5xx: 0,
    truncated: 0,
    unreachableRequests: 0,
    refreshTokensRevoked: 0,
    valenceRequests: 0,
    sessionsExpired: { idle: 0, maxRequests: 0 },
    sessionExtends: 0,
    twoFactorPrompts: 0,
    twoFactorFailures: 0,
    termsShown: 0,
    routes: {},
    learnTokenRequests: 0,
    learnTokensIssued: 0,
    learnWebLogins: 0,
    learnFailedLogins: 0,
    achievementPages: 0,
    learnRestCalls: 0,
    learnQuota429: 0,
    learnUnauthorized401: 0,
    learnCertificateDownloads: 0,
  };
}

/** Zero every counter of `stats` without replacing the object others hold. */
export function resetStats(stats: SandboxStats): void {
  Object.assign(stats, createStats());
}
