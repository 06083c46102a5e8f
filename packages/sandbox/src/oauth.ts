import { generateKeyPair, randomBytes, type JsonWebKey } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import type { Configuration, JWK } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { errorPage, escapeHtml } from './html.ts';
import type { Institution } from './institution.ts';
import type { KnobBox } from './knobs.ts';
import { OAuthStore } from './oauth-store.ts';
import type { SandboxStats } from './stats.ts';

/** Brightspace's paths (https://docs.valence.desire2learn.com/basic/oauth2.html), served by oidc-provider on the LMS's own port. */
export const AUTHORIZE_PATH = '/oauth2/auth';
export const TOKEN_PATH = '/core/connect/token';
export const INTERACTION_PATH = '/oauth2/interaction';
/** Where the consent page posts its answer: `${INTERACTION_PATH}/<uid>/consent`. */
const CONSENT_POST = /^\/oauth2\/interaction\/([\w-]+)\/consent$/;

/** What the worker asks for by default (src/config/load.ts, `OAUTH_SCOPE`). */
export const DEFAULT_SCOPE = 'core:*:* users:userdata:read awards:issued:read awards:certificate:read';

/**
 * The scopes the sandbox's apps may be granted. [I] Only the bearer `/pdf` route checks a scope
 * (`awards:certificate:read`, as D2L's scope table is transcribed); which scope covers the other
 * Awards routes is not verified (§1.4), so `core:*:*` is enough for them here.
 */
export const APP_SCOPES: readonly string[] = [
  'core:*:*',
  'users:*:*',
  'awards:*:*',
  'users:userdata:read',
  'users:own_profile:read',
  'awards:issued:read',
  'awards:certificate:read',
  'awards:awards:read',
];

const OIDC_SCOPES = new Set(['openid', 'offline_access']);
const DAY = 24 * 60 * 60;

/**
 * A redirect URI registered the way real Brightspace demands (HTTPS only): for paste-mode
 * bootstraps (`auth bootstrap --redirect-uri … --paste`). Nothing listens there.
 */
export const SANDBOX_HTTPS_REDIRECT_URI = 'https://certharvest.example.edu/oauth/callback';

/** The client id of the private-key-JWT client registered with `registerJwtClient`. */
export const JWT_CLIENT_ID = 'certharvest-sandbox-jwt';

export interface AuthServerOptions {
  /** The sandbox's base URL, which is also the issuer. */
  issuer: string;
  institution: Institution;
  /** The account a client-credentials token acts as (Brightspace: the app's service user). */
  serviceAccountId: string;
  knobs: KnobBox;
  stats: SandboxStats;
}

export interface AccessTokenInfo {
  accountId: string;
  scope: string;
}

/** oidc-provider, configured as Brightspace's auth service, plus the hooks the sandbox needs. */
export interface AuthServer {
  readonly clientId: string;
  readonly clientSecret: string;
  /** A client-credentials client authenticated with HTTP Basic `key:secret` (Learn's way). */
  readonly basicClient: { clientId: string; clientSecret: string };
  /**
   * Register (or replace) the private-key-JWT client-credentials client with this public JWKS,
   * as an admin pasting `certharvest auth jwks` into the registration form. Returns its client id.
   */
  registerJwtClient(jwks: { keys: readonly object[] }): string;
  /** The resource indicator (audience) of every access token: the Valence API. */
  readonly resource: string;
  /** Whether oidc-provider answers this path. */
  owns(pathname: string): boolean;
  /** Hand a request to oidc-provider. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The account behind a bearer token, or undefined when it is unknown, expired or not ours. */
  verifyAccessToken(token: string): Promise<AccessTokenInfo | undefined>;
  /** Mint a refresh token for an account (a new grant), as if it had consented in a browser. */
  issueRefreshToken(accountId: string): Promise<string>;
  /** Revoke every grant and usable refresh token (see `OAuthStore.revokeRefreshTokens`). */
  revokeRefreshTokens(options: { accessTokens: boolean }): number;
  /**
   * The authorization request's interaction, for a user already logged in to the web UI: finish
   * its login and consent when this user allowed this client before (or the `consentPrompt`
   * knob is `off`); otherwise answer with the consent page, whose "Allow" (posted to
   * `${INTERACTION_PATH}/<uid>/consent`) finishes it with a new grant and remembers the consent.
   */
  finishInteraction(req: IncomingMessage, res: ServerResponse, userId: number): Promise<void>;
  /** The interaction a request belongs to exists (its cookie is valid). */
  hasInteraction(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export async function createAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const { issuer, institution, knobs, stats } = options;
  const { Provider, errors } = await loadOidcProvider();
  const clientId = 'certharvest-sandbox';
  const clientSecret = randomBytes(24).toString('base64url');
  const basicClient = {
    clientId: 'certharvest-sandbox-service',
    clientSecret: randomBytes(24).toString('base64url'),
  };
  const serviceClients = new Set([basicClient.clientId, JWT_CLIENT_ID]);
  const resource = `${issuer}/d2l/api`;
  const store = new OAuthStore({
    onRefreshTokenReplay: () => stats.replayRejections++,
    replayRevokesChain: () => knobs.current.replayRevokesChain,
  });

  const configuration: Configuration = {
    adapter: store.adapterFor,
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        client_name: 'certharvest (sandbox)',
        // "native" is what makes oidc-provider accept a loopback redirect on any port
        // (RFC 8252 §7.3), which `certharvest auth bootstrap` needs for its local callback.
        application_type: 'native',
        redirect_uris: [
          'http://127.0.0.1/callback',
          'http://localhost/callback',
          'http://[::1]/callback',
          SANDBOX_HTTPS_REDIRECT_URI,
        ],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: basicClient.clientId,
        client_secret: basicClient.clientSecret,
        client_name: 'certharvest (sandbox, client credentials with a secret)',
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    // The private-key-JWT client is not listed: its JWKS comes later (registerJwtClient), so it
    // lives in the store, where oidc-provider looks for clients it was not configured with.
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
    responseTypes: ['code'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [await signingKey()] },
    findAccount: async (_ctx, sub) =>
      institution.user(Number(sub)) ? { accountId: sub, claims: async () => ({ sub }) } : undefined,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      // Brightspace scopes (`core:*:*`) are not OIDC scopes: oidc-provider only puts non-OIDC
      // scopes in access tokens through a resource server. Every request gets the Valence API
      // as its resource, so clients never have to send `resource=`.
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: APP_SCOPES.join(' '),
            accessTokenFormat: 'opaque',
            accessTokenTTL: knobs.current.accessTokenTtlSeconds,
          };
        },
      },
    },
    interactions: { url: async (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}` },
    // Brightspace hands out refresh tokens without `offline_access`.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // One-time refresh tokens: every refresh returns a new one (reference §2.3).
    rotateRefreshToken: true,
    // Tokens must outlive oidc-provider's own browser session: the worker never has one.
    expiresWithSession: async () => false,
    pkce: { required: () => true },
    routes: {
      authorization: AUTHORIZE_PATH,
      token: TOKEN_PATH,
      revocation: '/core/connect/revocation',
      introspection: '/core/connect/introspect',
      userinfo: '/core/connect/userinfo',
      jwks: '/oauth2/jwks',
      end_session: '/oauth2/session/end',
      pushed_authorization_request: '/oauth2/par',
      code_verification: '/oauth2/device',
      device_authorization: '/oauth2/device/auth',
      backchannel_authentication: '/oauth2/backchannel',
      registration: '/oauth2/reg',
      challenge: '/oauth2/challenge',
      credential: '/oauth2/credential',
    },
    ttl: {
      // A function, so the knob applies to the next token without a restart.
      AccessToken: () => knobs.current.accessTokenTtlSeconds,
      ClientCredentials: () => knobs.current.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: DAY,
      // Each rotation issues a token with a fresh lifetime: this is a disuse limit, as on tenants.
      RefreshToken: () => knobs.current.refreshTokenDisuseSeconds,
      Grant: 365 * DAY,
    },
    clientBasedCORS: () => false,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>Sign-in error</title></head><body><h1>Sign-in error</h1>${Object.entries(
        out,
      )
        .map(([k, v]) => `<p><b>${escapeHtml(k)}</b>: ${escapeHtml(String(v))}</p>`)
        .join('')}</body></html>`;
    },
  };

  const provider = new Provider(issuer, configuration);
  /** Consents given, `accountId clientId`: the page is not shown again for them (`new-client`). */
  const consented = new Set<string>();
  const consentKey = (accountId: string, clientId: string) => `${accountId} ${clientId}`;
  /** Consent pages shown, by interaction uid: who is asked, and the form's anti-forgery token. */
  const pendingConsent = new Map<string, { accountId: string; xsrf: string; shownAt: number }>();
  /** Show a consent page: remember it, forgetting pages older than an interaction lives (600 s). */
  const rememberPage = (uid: string, accountId: string, xsrf: string) => {
    const now = Date.now();
    for (const [id, page] of pendingConsent) if (now - page.shownAt > 600_000) pendingConsent.delete(id);
    pendingConsent.set(uid, { accountId, xsrf, shownAt: now });
  };
  type Details = Awaited<ReturnType<typeof provider.interactionDetails>>;

  /** oidc-provider's own consent result: a Grant holding the requested scopes, login included. */
  async function finishWithGrant(
    req: IncomingMessage,
    res: ServerResponse,
    details: Details,
    accountId: string,
  ): Promise<void> {
    const params = details.params as { client_id?: unknown; scope?: unknown };
    const existing =
      details.grantId && details.session?.accountId === accountId
        ? await provider.Grant.find(details.grantId)
        : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId: String(params.client_id) });
    const requested = String(params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    const oidcScopes = requested.filter((s) => OIDC_SCOPES.has(s));
    const apiScopes = requested.filter((s) => APP_SCOPES.includes(s));
    if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
    if (apiScopes.length > 0) grant.addResourceScope(resource, apiScopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  /** The consent form's answer: Allow finishes with a grant, Deny (or `refuse`) with access_denied. */
  async function answerConsent(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    if (req.method !== 'POST') return sendPage(res, 405, errorPage(405, 'This page takes a form submission'));
    let details: Details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      if (err instanceof errors.SessionNotFound) {
        return sendPage(res, 400, errorPage(400, 'This sign-in request has expired; start again'));
      }
      throw err;
    }
    const form = await readForm(req);
    const pending = pendingConsent.get(uid);
    if (details.uid !== uid || !pending || form.get('xsrf') !== pending.xsrf) {
      return sendPage(res, 400, errorPage(400, 'This form has expired; start the sign-in again'));
    }
    const mode = knobs.current.consentPrompt;
    const allowed = form.get('consent') === 'allow' && mode !== 'refuse';
    // `ask-again`: the answer is taken and forgotten; the interaction shows the page once more.
    if (allowed && mode === 'ask-again') {
      res.writeHead(303, { location: `${INTERACTION_PATH}/${uid}` }).end();
      return;
    }
    pendingConsent.delete(uid);
    if (!allowed) {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user denied the application access' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    consented.add(consentKey(pending.accountId, String(details.params.client_id)));
    await finishWithGrant(req, res, details, pending.accountId);
  }

  provider.on('grant.success', (ctx) => {
    const grantType = String(ctx.oidc.params?.grant_type ?? '');
    if (grantType in stats.tokenGrants) stats.tokenGrants[grantType as keyof SandboxStats['tokenGrants']]++;
  });
  provider.on('grant.error', () => stats.tokenErrors++);
  const callback = provider.callback();

  return {
    clientId,
    clientSecret,
    resource,
    owns: (pathname) =>
      (pathname.startsWith('/oauth2/') && !pathname.startsWith(`${INTERACTION_PATH}/`)) ||
      CONSENT_POST.test(pathname) ||
      pathname.startsWith('/core/connect/') ||
      pathname.startsWith('/.well-known/'),
    handle: async (req, res) => {
      const consentUid = CONSENT_POST.exec(new URL(req.url ?? '/', issuer).pathname)?.[1];
      if (consentUid !== undefined) await answerConsent(req, res, consentUid);
      else await callback(req, res);
    },
    basicClient,
    registerJwtClient: (jwks) => {
      store.putClient(JWT_CLIENT_ID, {
        client_id: JWT_CLIENT_ID,
        client_name: 'certharvest (sandbox, client credentials with a private-key JWT)',
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [...jwks.keys] },
      });
      return JWT_CLIENT_ID;
    },
    verifyAccessToken: async (value) => {
      const user = await provider.AccessToken.find(value);
      // Client-credentials tokens act as the app's service user (D2L: the user the app runs as).
      const service = user ? undefined : await provider.ClientCredentials.find(value);
      const token = user ?? service;
      if (!token || token.isExpired) return undefined;
      const known = user ? token.clientId === clientId : serviceClients.has(token.clientId ?? '');
      if (!known) return undefined;
      const audience = Array.isArray(token.aud) ? token.aud : [token.aud];
      if (!audience.includes(resource)) return undefined;
      const accountId = user ? user.accountId : options.serviceAccountId;
      return { accountId, scope: token.scope ?? '' };
    },
    issueRefreshToken: async (accountId) => {
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error('sandbox OAuth client is missing');
      const scope = APP_SCOPES.join(' ');
      const grant = new provider.Grant({ accountId, clientId });
      grant.addResourceScope(resource, scope);
      const grantId = await grant.save();
      const token = new provider.RefreshToken({
        client,
        accountId,
        grantId,
        gty: 'authorization_code',
        scope,
        resource,
        rotations: 0,
        expiresWithSession: false,
      });
      return token.save();
    },
    revokeRefreshTokens: (revokeOptions) => {
      const revoked = store.revokeRefreshTokens(revokeOptions);
      stats.refreshTokensRevoked += revoked;
      return revoked;
    },
    finishInteraction: async (req, res, userId) => {
      const details = await provider.interactionDetails(req, res);
      const accountId = String(userId);
      const clientId = String(details.params.client_id);
      const mode = knobs.current.consentPrompt;
      if (mode === 'off' || (mode === 'new-client' && consented.has(consentKey(accountId, clientId)))) {
        return finishWithGrant(req, res, details, accountId);
      }
      if (mode === 'other-page') return sendPage(res, 200, awaitingApprovalPage());
      const xsrf = randomBytes(16).toString('base64url');
      rememberPage(details.uid, accountId, xsrf);
      const client = await provider.Client.find(clientId);
      const user = institution.user(userId);
      sendPage(
        res,
        200,
        consentPage({
          uid: details.uid,
          xsrf,
          appName: client?.clientName ?? clientId,
          userName: user ? `${user.FirstName} ${user.LastName}` : accountId,
          scopes: String(details.params.scope ?? '')
            .split(' ')
            .filter(Boolean),
        }),
      );
    },
    hasInteraction: async (req, res) => {
      try {
        await provider.interactionDetails(req, res);
        return true;
      } catch (err) {
        if (err instanceof errors.SessionNotFound) return false;
        throw err;
      }
    },
  };
}

type OidcProviderModule = typeof import('oidc-provider');
let oidcModule: Promise<{ Provider: typeof Provider; errors: OidcProviderModule['errors'] }> | undefined;

/**
 * oidc-provider 9 prints "Unsupported runtime" when imported on Node 20 (it targets 22 LTS). It
 * works on Node 20.19 (the project's floor; the sandbox's tests run on it), and the line would
 * print on every `certharvest demo`, so exactly that one line is swallowed during the import.
 */
function loadOidcProvider() {
  oidcModule ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime'))
        return;
      warn(...args);
    };
    try {
      const mod = await import('oidc-provider');
      return { Provider: mod.default, errors: mod.errors };
    } finally {
      console.warn = warn;
    }
  })();
  return oidcModule;
}

let keyPromise: Promise<JWK> | undefined;

/** One RSA key per process signs id tokens (only issued if a client asks for `openid`). */
function signingKey(): Promise<JWK> {
  keyPromise ??= promisify(generateKeyPair)('rsa', { modulusLength: 2048 }).then(({ privateKey }) => {
    const jwk: JsonWebKey = privateKey.export({ format: 'jwk' });
    return { ...jwk, kid: 'sandbox-rs256', use: 'sig', alg: 'RS256' } as JWK;
  });
  return keyPromise;
}

function sendPage(res: ServerResponse, status: number, html: string): void {
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    .end(html);
}

/** A urlencoded form body (at most 16 KiB, like the web UI's own forms). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Brightspace's consent page: the app's registered name, the user, the scopes asked for, and an
 * Allow / Deny choice posted as a form. [I] The markup is a guess (D2L does not document it;
 * src/lms/brightspace/consent.ts holds the selectors the product uses, and says so too).
 */
function consentPage(options: {
  uid: string;
  xsrf: string;
  appName: string;
  userName: string;
  scopes: readonly string[];
}): string {
  const scopes = options.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Authorize Application - Brightspace</title>
</head>
<body class="d2l-body">
<main class="d2l-oauth2-consent">
<h1>Authorize Application</h1>
<p><strong>${escapeHtml(options.appName)}</strong> would like to access your Brightspace account
(${escapeHtml(options.userName)}) on your behalf.</p>
<p>This application is requesting permission to:</p>
<ul class="d2l-oauth2-scopes">${scopes}</ul>
<form id="d2l-oauth2-consent" method="post" action="${INTERACTION_PATH}/${escapeHtml(options.uid)}/consent">
<input type="hidden" name="xsrf" value="${escapeHtml(options.xsrf)}">
<button type="submit" name="consent" value="allow" class="d2l-button d2l-button-primary">Allow</button>
<button type="submit" name="consent" value="deny" class="d2l-button">Deny</button>
</form>
</main>
</body>
</html>
`;
}

/** What `consentPrompt: other-page` shows: no form, nothing to press. */
function awaitingApprovalPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Application Approval Required - Brightspace</title></head>
<body class="d2l-body">
<main><h1>Application approval required</h1>
<p>This application must be approved by your organization's administrator before you can use it.</p></main>
</body>
</html>
`;
}
