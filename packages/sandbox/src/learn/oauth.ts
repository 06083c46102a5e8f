import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type Response, Router, urlencoded } from 'express';
import { escapeHtml } from '../html.ts';
import type { ConsentPrompt, KnobBox } from '../knobs.ts';
import type { SandboxStats } from '../stats.ts';
import { LEARN_LOGIN_PATH, NONCE_FIELD } from './html.ts';
import { NonceStore, type LearnSessionStore } from './sessions.ts';

export const LEARN_API_BASE = '/learn/api/public/v1';
export const LEARN_TOKEN_PATH = `${LEARN_API_BASE}/oauth2/token`;
export const LEARN_AUTHORIZE_PATH = `${LEARN_API_BASE}/oauth2/authorizationcode`;

/** Learn's 3LO scopes (reference §6.1); `offline` is what earns a refresh token. */
const KNOWN_SCOPES = new Set(['read', 'write', 'delete', 'offline']);
/** [I] An authorization code is good for 10 minutes, once. */
const CODE_MS = 10 * 60_000;
/** The name the app was registered with, as the authorization screen shows it. */
const APP_NAME = 'certharvest (sandbox)';

interface IssuedToken {
  userId: number;
  scope: string;
  expiresAt: number;
}

interface PendingCode {
  userId: number;
  redirectUri: string;
  scope: string;
  expiresAt: number;
}

export interface LearnTokenInfo {
  userId: number;
  scope: string;
}

/**
 * Learn's OAuth2, by hand (oidc-provider has no "one token per site"):
 *
 * - `client_credentials`: the app has ONE token on the site; asking again while it is valid gives
 *   the same access_token with a fresh `expires_in` (`learnTokenTtlSeconds`), after expiry a new
 *   one (reference `blackboard-learn-basic-oauth.txt`, implementation notes). It acts as the
 *   service user (the Learn user the REST integration is bound to).
 * - 3LO: `authorizationcode` (web session required) → `authorization_code` grant, with a
 *   refresh token when the scope has `offline`; `refresh_token` rotates it (the old one is dead).
 */
export class LearnAuth {
  readonly key: string;
  readonly secret: string;
  readonly #knobs: KnobBox;
  readonly #stats: SandboxStats;
  readonly #serviceUserId: number;
  #siteToken: { token: string; expiresAt: number } | undefined;
  readonly #userTokens = new Map<string, IssuedToken>();
  readonly #codes = new Map<string, PendingCode>();
  readonly #refreshTokens = new Map<string, { userId: number; scope: string }>();
  /** Users who allowed this app on the authorization screen (remembered, as Learn does). */
  readonly #consented = new Set<number>();
  readonly #consentNonces = new NonceStore();

  constructor(knobs: KnobBox, stats: SandboxStats, serviceUserId: number) {
    this.#knobs = knobs;
    this.#stats = stats;
    this.#serviceUserId = serviceUserId;
    this.key = `certharvest-learn-key-${randomBytes(8).toString('hex')}`;
    this.secret = randomBytes(24).toString('base64url');
  }

  /** The user and scope behind a bearer token, or undefined when unknown or expired. */
  verify(token: string): LearnTokenInfo | undefined {
    const now = Date.now();
    const site = this.#siteToken;
    if (site && safeEqual(site.token, token)) {
      return now < site.expiresAt ? { userId: this.#serviceUserId, scope: 'read' } : undefined;
    }
    const issued = this.#userTokens.get(token);
    if (!issued) return undefined;
    if (now >= issued.expiresAt) {
      this.#userTokens.delete(token);
      return undefined;
    }
    return { userId: issued.userId, scope: issued.scope };
  }

  /** Whether `Authorization: Basic` carries this app's key and secret. */
  clientAuthenticated(header: string | undefined): 'ok' | 'missing' | 'bad' {
    const encoded = /^Basic\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (!encoded) return 'missing';
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'bad';
    const key = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    return safeEqual(key, this.key) && safeEqual(secret, this.secret) ? 'ok' : 'bad';
  }

  /** The site's client-credentials token: the live one renewed, or a new one. */
  siteToken(): { token: string; expiresIn: number } {
    const ttl = this.#knobs.current.learnTokenTtlSeconds;
    const now = Date.now();
    if (!this.#siteToken || now >= this.#siteToken.expiresAt) {
      this.#siteToken = { token: newToken(), expiresAt: 0 };
      this.#stats.learnTokensIssued++;
    }
    this.#siteToken.expiresAt = now + ttl * 1000;
    return { token: this.#siteToken.token, expiresIn: ttl };
  }

  /** A one-time authorization code for a logged-in user. */
  createCode(userId: number, redirectUri: string, scope: string): string {
    const now = Date.now();
    for (const [code, pending] of this.#codes) if (now >= pending.expiresAt) this.#codes.delete(code);
    const code = randomBytes(16).toString('base64url');
    this.#codes.set(code, { userId, redirectUri, scope, expiresAt: now + CODE_MS });
    return code;
  }

  /** Exchange a code (used up whatever the outcome); undefined when unknown, expired or misused. */
  redeemCode(code: string, redirectUri: string | undefined): TokenSet | undefined {
    const pending = this.#codes.get(code);
    this.#codes.delete(code);
    if (!pending || Date.now() >= pending.expiresAt || pending.redirectUri !== redirectUri) return undefined;
    return this.#userTokenSet(pending.userId, pending.scope);
  }

  /** The `consentPrompt` knob, as it is now. */
  get consentPrompt(): ConsentPrompt {
    return this.#knobs.current.consentPrompt;
  }

  /** Whether the authorization screen is skipped for this user: allowed before, or the knob is off. */
  consentGiven(userId: number): boolean {
    const mode = this.consentPrompt;
    return mode === 'off' || (mode === 'new-client' && this.#consented.has(userId));
  }

  rememberConsent(userId: number): void {
    this.#consented.add(userId);
  }

  /** The authorization screen's nonce: single use, 5 minutes. */
  consentNonce(): string {
    return this.#consentNonces.issue();
  }

  useConsentNonce(nonce: unknown): boolean {
    return this.#consentNonces.consume(nonce);
  }

  /** Rotate a refresh token: a new access and refresh token; the presented one is dead. */
  refresh(refreshToken: string): TokenSet | undefined {
    const grant = this.#refreshTokens.get(refreshToken);
    if (!grant) return undefined;
    this.#refreshTokens.delete(refreshToken);
    return this.#userTokenSet(grant.userId, grant.scope);
  }

  #userTokenSet(userId: number, scope: string): TokenSet {
    const ttl = this.#knobs.current.learnTokenTtlSeconds;
    const accessToken = newToken();
    this.#userTokens.set(accessToken, { userId, scope, expiresAt: Date.now() + ttl * 1000 });
    this.#stats.learnTokensIssued++;
    let refreshToken: string | undefined;
    if (scope.split(' ').includes('offline')) {
      refreshToken = newToken();
      this.#refreshTokens.set(refreshToken, { userId, scope });
    }
    return { accessToken, expiresIn: ttl, scope, userId, refreshToken };
  }
}

export interface TokenSet {
  accessToken: string;
  expiresIn: number;
  scope: string;
  userId: number;
  refreshToken: string | undefined;
}

function newToken(): string {
  return randomBytes(24).toString('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface LearnOAuthDeps {
  auth: LearnAuth;
  stats: SandboxStats;
  sessions: LearnSessionStore;
  /** The Learn uuid of a user (the 3LO token answer's `user_id`). */
  userUuid(userId: number): string | undefined;
  /** The user's display name, for the authorization screen. Default: none (the id is shown). */
  userName?(userId: number): string | undefined;
}

interface AuthorizeRequest {
  redirectUri: string;
  scope: string;
  state: string | undefined;
}

/** The token endpoint and the 3LO authorization endpoint, mounted at the site root. */
export function learnOAuthRouter(deps: LearnOAuthDeps): Router {
  const { auth, stats, sessions } = deps;
  const router = Router();
  const form = urlencoded({ extended: false, limit: '16kb' });

  router.post(LEARN_TOKEN_PATH, form, (req, res) => {
    stats.learnTokenRequests++;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    const client = auth.clientAuthenticated(req.headers.authorization);
    if (client !== 'ok') {
      res.setHeader('WWW-Authenticate', 'Basic realm="Blackboard Learn"');
      return oauthError(
        res,
        401,
        'invalid_client',
        client === 'missing'
          ? 'Client authentication is required (HTTP Basic key:secret)'
          : 'Invalid client credentials',
      );
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const param = (name: string) => (typeof body[name] === 'string' ? body[name] : undefined);
    switch (param('grant_type')) {
      case 'client_credentials': {
        const { token, expiresIn } = auth.siteToken();
        return res.json({ access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: 'read' });
      }
      case 'authorization_code': {
        const set = auth.redeemCode(param('code') ?? '', param('redirect_uri'));
        return set
          ? sendTokenSet(res, set)
          : oauthError(res, 400, 'invalid_grant', 'Invalid authorization code');
      }
      case 'refresh_token': {
        const set = auth.refresh(param('refresh_token') ?? '');
        return set ? sendTokenSet(res, set) : oauthError(res, 400, 'invalid_grant', 'Invalid refresh token');
      }
      default:
        return oauthError(res, 400, 'unsupported_grant_type');
    }
  });
  router.all(LEARN_TOKEN_PATH, (req, res) => {
    stats.learnTokenRequests++;
    res.setHeader('Allow', 'POST');
    oauthError(res, 405, 'invalid_request', `${req.method} is not allowed`);
  });

  /**
   * The authorization request, from the query (GET) or the authorization screen's form (POST):
   * checked alike; the error is already answered when undefined.
   */
  function authorizeRequest(source: Record<string, unknown>, res: Response): AuthorizeRequest | undefined {
    const param = (name: string) => (typeof source[name] === 'string' ? source[name] : undefined);
    if (param('client_id') !== auth.key) {
      oauthError(res, 400, 'invalid_client', 'Unknown client_id');
      return undefined;
    }
    const redirectUri = param('redirect_uri');
    if (!redirectUri || !isHttpUrl(redirectUri)) {
      oauthError(res, 400, 'invalid_request', 'redirect_uri must be an absolute http(s) URL');
      return undefined;
    }
    if (param('response_type') !== 'code') {
      oauthError(res, 400, 'unsupported_response_type');
      return undefined;
    }
    const scope = (param('scope') ?? 'read').split(/[\s+]+/).filter(Boolean);
    if (scope.length === 0) scope.push('read');
    if (!scope.every((s) => KNOWN_SCOPES.has(s))) {
      oauthError(res, 400, 'invalid_scope');
      return undefined;
    }
    return { redirectUri, scope: scope.join(' '), state: param('state') };
  }

  /** Back to the app: with a code, or with `error=access_denied`. */
  function answer(res: Response, request: AuthorizeRequest, userId: number | undefined): void {
    const target = new URL(request.redirectUri);
    if (userId === undefined) {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied the application access');
    } else {
      target.searchParams.set('code', auth.createCode(userId, request.redirectUri, request.scope));
    }
    if (request.state !== undefined) target.searchParams.set('state', request.state);
    res.redirect(302, target.href);
  }

  function showAuthorizeScreen(res: Response, request: AuthorizeRequest, userId: number): void {
    res.setHeader('Cache-Control', 'no-store');
    if (auth.consentPrompt === 'other-page') {
      res.status(200).type('html').send(approvalPendingPage());
      return;
    }
    res
      .status(200)
      .type('html')
      .send(
        authorizePage({
          request,
          clientId: auth.key,
          nonce: auth.consentNonce(),
          userName: deps.userName?.(userId) ?? `user ${userId}`,
        }),
      );
  }

  router.get(LEARN_AUTHORIZE_PATH, (req, res) => {
    const request = authorizeRequest(req.query, res);
    if (!request) return;
    const userId = sessions.authenticate(req);
    if (userId === undefined) {
      return res.redirect(302, `${LEARN_LOGIN_PATH}?new_loc=${encodeURIComponent(req.originalUrl)}`);
    }
    if (auth.consentGiven(userId)) return answer(res, request, userId);
    showAuthorizeScreen(res, request, userId);
  });

  // The authorization screen's answer: "Allow" (`authorize`) or "Deny" (`deny`).
  router.post(LEARN_AUTHORIZE_PATH, form, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const request = authorizeRequest(body, res);
    if (!request) return;
    const userId = sessions.authenticate(req);
    if (userId === undefined) return res.redirect(302, LEARN_LOGIN_PATH);
    if (!auth.useConsentNonce(body[NONCE_FIELD])) {
      return res
        .status(400)
        .type('html')
        .send(approvalPendingPage('This form has expired. Please try again.'));
    }
    const mode = auth.consentPrompt;
    const allowed = typeof body.authorize === 'string' && mode !== 'refuse';
    // `ask-again`: the answer is taken and forgotten; the screen comes once more.
    if (allowed && mode === 'ask-again') return showAuthorizeScreen(res, request, userId);
    if (allowed) auth.rememberConsent(userId);
    answer(res, request, allowed ? userId : undefined);
  });

  function sendTokenSet(res: Response, set: TokenSet): void {
    res.json({
      access_token: set.accessToken,
      token_type: 'bearer',
      expires_in: set.expiresIn,
      scope: set.scope,
      ...(set.refreshToken === undefined ? {} : { refresh_token: set.refreshToken }),
      user_id: deps.userUuid(set.userId),
    });
  }

  return router;
}

function oauthError(res: Response, status: number, error: string, description?: string): void {
  res.status(status).json(description === undefined ? { error } : { error, error_description: description });
}

/**
 * Learn's three-legged authorization screen ("Authorize Application": the app asks for the
 * listed permissions; Allow or Deny). [I] The markup is a guess in Learn's Original style (nonce
 * field, `<input type=submit>` buttons with ids): no real page was at hand;
 * src/lms/blackboard/consent.ts holds the selectors the product uses, and says so too. The form
 * carries the request's parameters back, so its POST needs nothing else.
 */
function authorizePage(options: {
  request: AuthorizeRequest;
  clientId: string;
  nonce: string;
  userName: string;
}): string {
  const { request } = options;
  const hidden = (name: string, value: string) =>
    `\n  <input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
  const scopes = request.scope
    .split(' ')
    .map((s) => `<li>${escapeHtml(s)}</li>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Authorize Application – Blackboard Learn</title>
</head>
<body>
<div id="authorizeApplication" class="container">
<h1 id="pageTitleText">Authorize Application</h1>
<p><strong>${escapeHtml(APP_NAME)}</strong> is requesting access to your Blackboard Learn account
(${escapeHtml(options.userName)}) with these permissions:</p>
<ul id="scopeList">${scopes}</ul>
<form id="authorizeForm" name="authorizeForm" method="post" action="${LEARN_AUTHORIZE_PATH}">${hidden(NONCE_FIELD, options.nonce)}${hidden('client_id', options.clientId)}${hidden('redirect_uri', request.redirectUri)}${hidden('response_type', 'code')}${hidden('scope', request.scope)}${request.state === undefined ? '' : hidden('state', request.state)}
  <div class="submitStepBottom">
  <input type="submit" id="denyButton" name="deny" value="Deny" class="button-2">
  <input type="submit" id="authorizeButton" name="authorize" value="Allow" class="submit button-1">
  </div>
</form>
</div>
</body>
</html>
`;
}

/** What `consentPrompt: other-page` shows (and a stale form's answer): no form to submit. */
function approvalPendingPage(
  message = 'This application has not been approved for your institution yet.',
): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize Application – Blackboard Learn</title></head>
<body><div class="container"><h1>Application not available</h1>
<p class="error">${escapeHtml(message)}</p></div></body>
</html>
`;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
