import { randomBytes } from 'node:crypto';
import { buildApp } from './app.ts';
import { startElsewhere } from './elsewhere.ts';
import type { LearnSandboxEnv, SandboxEnv } from './env.ts';
import { FaultInjector } from './faults.ts';
import { createInstitution, type Institution } from './institution.ts';
import { KnobBox, type SandboxKnobs } from './knobs.ts';
import { createLearn } from './learn/index.ts';
import { AUTHORIZE_PATH, createAuthServer, DEFAULT_SCOPE, TOKEN_PATH } from './oauth.ts';
import { SandboxCertificateStore } from './pdf.ts';
import { RateLimitBucket } from './rate-limit.ts';
import { startHttpServer } from './server.ts';
import { createStats, resetStats, type SandboxStats } from './stats.ts';
import { SANDBOX_TOTP_SECRET } from './web-login.ts';
import { WebSessionStore } from './web-sessions.ts';

export interface SandboxOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Seed of the simulated institution: same seed, same users, awards and PDFs. Default 1. */
  seed?: number;
  /** Number of students. Default 40. */
  userCount?: number;
  /** Every student holds exactly this many certificates (see `InstitutionOptions`). */
  certificatesPerStudent?: number;
  /** Objects per page of issued awards (when the client sends no `limit`). Default 5. */
  awardsPageSize?: number;
  /** Items per page of the unfiltered `/users/` listing. Default 10. */
  usersPageSize?: number;
  /** Initial knob values; defaults in `DEFAULT_KNOBS`. */
  knobs?: Partial<SandboxKnobs>;
  /** Register the private-key-JWT client with this public JWKS at start (see `registerJwtClient`). */
  clientJwks?: { keys: readonly object[] };
}

export interface RevokeOptions {
  /** Also revoke every access token issued so far. Default false. */
  accessTokens?: boolean;
}

export interface Sandbox {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /**
   * The worker's configuration for this sandbox (printed as the `.env` block); includes
   * `LMS_TOTP_SECRET` while the `twoFactor` knob is on.
   */
  readonly env: SandboxEnv;
  /**
   * The worker's configuration for Blackboard Learn mode (`learn/`, docs/sandbox.md "Blackboard
   * Learn mode"), served on the same port: the Learn app's key and secret, the Learn token URL,
   * the same service user and password as `env`, and the Learn login form's URL and selectors.
   */
  readonly learnEnv: LearnSandboxEnv;
  /**
   * The service user's base32 TOTP secret (RFC 6238: 30 s, 6 digits, SHA-1), the same on every
   * start; the code it gives is asked for while `twoFactor` is on.
   */
  readonly totpSecret: string;
  /**
   * Base URL of "elsewhere", a second server on 127.0.0.1 (another port, so another origin) where
   * `offHostRedirectIssuedIds` redirects; `stats.offHostRequests` and `offHostCookies` count
   * what it received.
   */
  readonly elsewhereUrl: string;
  /** Current knob values (a snapshot; change them with `setKnobs`). */
  readonly knobs: Readonly<SandboxKnobs>;
  /** Change knobs while running; throws a RangeError for a bad value and changes nothing. */
  setKnobs(patch: Partial<SandboxKnobs>): void;
  /** Users, courses and awards: what a complete run must download. */
  readonly institution: Institution;
  /** The exact bytes served for a certificate (render URL and `/pdf`). Rejects for badges. */
  certificatePdf(issuedId: number): Promise<Uint8Array>;
  /**
   * A client-credentials client authenticated with HTTP Basic `key:secret` (Blackboard Learn's
   * way); its tokens act as the service user. Use with `AUTH_MODE=client-credentials`.
   */
  readonly basicClient: { readonly clientId: string; readonly clientSecret: string };
  /**
   * Register (or replace) the client-credentials client that authenticates with a private-key JWT
   * (Brightspace's way), with the public JWKS an admin would paste into the registration form
   * (`certharvest auth jwks`). Returns its client id; its tokens act as the service user.
   */
  registerJwtClient(jwks: { keys: readonly object[] }): string;
  /** A fresh refresh token for the service user, on a grant of its own (its own rotation chain). */
  issueRefreshToken(): Promise<string>;
  /**
   * Revoke every grant and refresh token issued so far, as an administrator revoking the app's
   * tokens would: the next refresh with any of them is `400 invalid_grant`. Access tokens already
   * issued keep working until they expire, unless `accessTokens: true` revokes them too (then
   * Valence answers 401). `issueRefreshToken()` mints working ones again. Resolves to the number
   * of usable refresh tokens revoked.
   */
  revokeRefreshTokens(options?: RevokeOptions): Promise<number>;
  /** Live counters (the same object throughout; `resetStats` zeroes it). */
  readonly stats: SandboxStats;
  resetStats(): void;
  /** Stop serving and free every socket and handle. Idempotent. */
  close(): Promise<void>;
}

/** Start a simulated Brightspace (OAuth, Valence, web UI) on loopback. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const awardsPageSize = options.awardsPageSize ?? 5;
  const usersPageSize = options.usersPageSize ?? 10;
  checkWhole('port', port, 0, 65535);
  checkWhole('awardsPageSize', awardsPageSize, 1, 200);
  checkWhole('usersPageSize', usersPageSize, 1, 1000);
  const knobs = new KnobBox(options.knobs);
  const institution = createInstitution({
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.userCount === undefined ? {} : { userCount: options.userCount }),
    ...(options.certificatesPerStudent === undefined
      ? {}
      : { certificatesPerStudent: options.certificatesPerStudent }),
  });
  const stats = createStats();
  const bucket = new RateLimitBucket();
  knobs.onChange((patch) => {
    if (patch.rateLimitCredits !== undefined) bucket.reset();
  });
  const certificates = new SandboxCertificateStore(institution);
  const password = randomBytes(12).toString('base64url');
  const closing = new AbortController();

  const http = await startHttpServer(host, port);
  const elsewhere = await startElsewhere(stats).catch(async (err: unknown) => {
    await http.close();
    throw err;
  });
  try {
    const auth = await createAuthServer({
      issuer: http.url,
      institution,
      knobs,
      stats,
      serviceAccountId: String(institution.serviceUser.UserId),
    });
    if (options.clientJwks) auth.registerJwtClient(options.clientJwks);
    const faults = new FaultInjector(knobs, stats, institution.seed);
    const sessions = new WebSessionStore(knobs, stats);
    const learn = createLearn({
      baseUrl: http.url,
      institution,
      knobs,
      stats,
      faults,
      certificates,
      password,
      elsewhereUrl: elsewhere.url,
      closing: closing.signal,
    });
    http.setHandler(
      learn.handler(
        buildApp({
          baseUrl: http.url,
          institution,
          knobs,
          stats,
          faults,
          bucket,
          auth,
          certificates,
          sessions,
          password,
          totpSecret: SANDBOX_TOTP_SECRET,
          elsewhereUrl: elsewhere.url,
          usersPageSize,
          awardsPageSize,
          closing: closing.signal,
        }),
      ),
    );
    const serviceAccount = String(institution.serviceUser.UserId);
    const env: SandboxEnv = {
      LMS_URL: http.url,
      OAUTH_TOKEN_URL: `${http.url}${TOKEN_PATH}`,
      OAUTH_AUTHORIZE_URL: `${http.url}${AUTHORIZE_PATH}`,
      OAUTH_CLIENT_ID: auth.clientId,
      OAUTH_CLIENT_SECRET: auth.clientSecret,
      OAUTH_REFRESH_TOKEN: await auth.issueRefreshToken(serviceAccount),
      OAUTH_SCOPE: DEFAULT_SCOPE,
      LMS_USERNAME: institution.serviceUser.UserName,
      LMS_PASSWORD: password,
    };
    return {
      url: http.url,
      get env() {
        return knobs.current.twoFactor ? { ...env, LMS_TOTP_SECRET: SANDBOX_TOTP_SECRET } : env;
      },
      learnEnv: learn.env,
      totpSecret: SANDBOX_TOTP_SECRET,
      elsewhereUrl: elsewhere.url,
      get knobs() {
        return knobs.current;
      },
      setKnobs: (patch) => knobs.set(patch),
      institution,
      certificatePdf: async (issuedId) => (await certificates.get(issuedId)).slice(),
      issueRefreshToken: () => auth.issueRefreshToken(serviceAccount),
      basicClient: auth.basicClient,
      registerJwtClient: (jwks) => auth.registerJwtClient(jwks),
      revokeRefreshTokens: async (revokeOptions = {}) =>
        auth.revokeRefreshTokens({ accessTokens: revokeOptions.accessTokens ?? false }),
      stats,
      resetStats: () => resetStats(stats),
      close: async () => {
        closing.abort();
        await Promise.all([http.close(), elsewhere.close()]);
      },
    };
  } catch (err) {
    await Promise.all([http.close(), elsewhere.close()]);
    throw err;
  }
}

function checkWhole(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a whole number from ${min} to ${max} (got ${value})`);
  }
}
