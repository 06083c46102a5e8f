import { randomBytes } from 'node:crypto';
import { RedisLock, SealedBox } from '../auth/index.ts';
import {
  BrowserFailedError,
  BrowserLaunchError,
  BrowserLogin,
  CertificateForbiddenError,
  CertificateHttpError,
  LoginFailedError,
  OffHostRedirectError,
  PdfTooLargeError,
  SessionExpiredError,
  SessionRequestError,
  SessionStore,
  totpCodes,
  WebSession,
  type SessionRecord,
} from '../browser/index.ts';
import { InvalidPdfError } from '../pdf/index.ts';
import { fail, pass, skip, warn, type CheckOutcome } from './check.ts';
import { LOGIN_HOLD_FIX } from './setup-checks.ts';
export { checkChromium } from './setup-checks.ts';
import type { DoctorState } from './state.ts';

/** The code of the refusal the doctor's own gate gives a second login in one run. */
export const SECOND_LOGIN = 'DOCTOR_ONE_LOGIN';
/** A throw-away session outlives a doctor that died before removing it by this much, at most. */
const THROWAWAY_TTL_MS = 10 * 60_000;

const LOGIN_FIX =
  'fix LMS_USERNAME / LMS_PASSWORD (or unlock the service user); if the login stopped on another ' +
  'page (terms of use, a password change), clear it once in a browser as the service user, or set ' +
  'LMS_LOGIN_LANDING when the landing page differs. The doctor posted the password once and does ' +
  'not retry';

/**
 * One web login as the service user, as the fleet would do it: Chromium fills the form (and the
 * two-factor code), the landing page must then answer as logged in.
 *
 * Where the session goes: the fleet keeps one shared session in Redis, and its workers download
 * with it. If one exists, the doctor logs in on a throw-away store of its own (a random key under
 * QUEUE_PREFIX, removed at the end, with a TTL in case the doctor dies): replacing the fleet's
 * session would bump its generation and hand every worker a session made by a diagnostic run,
 * whose settings (LMS_LOGIN_*, a password being tried out) may not be the fleet's. If none
 * exists, the fleet needs a login anyway: the doctor logs in on the fleet's own store, under the
 * fleet's login lock (a worker logging in at that moment is waited for, not raced), and its
 * session saves the fleet that login. It does so only once a token was obtained, i.e. the token
 * store opened with this SECRETS_KEY: a session sealed with another key would pause the fleet.
 *
 * The password is posted at most once per run: a refused login is not retried; the doctor's
 * gate refuses a second login (the render below never logs in again); the token check does not
 * heal a refused refresh token through a web login. The fleet's own gate is respected: while the
 * fleet holds logins back (a refused password, `LOGIN_REFUSED`), nothing is posted. The doctor
 * does not hold the fleet's logins itself after a refusal: it may be trying a configuration that
 * is not the fleet's, and a running fleet whose password works must not be stopped by it.
 */
export async function checkWebLogin(s: DoctorState): Promise<CheckOutcome> {
  const config = s.config!;
  const redis = s.redis!;
  const login = config.webLogin;
  if (!login) {
    const unset = 'not configured (LMS_USERNAME / LMS_PASSWORD unset)';
    const fix = "set LMS_USERNAME and LMS_PASSWORD to the service user's web login";
    if (config.downloadStrategy === 'api') return skip(`${unset}; not needed with DOWNLOAD_STRATEGY=api`);
    if (s.pdfRoute === 'works') {
      return warn(
        `${unset}: certificates come only through the /pdf route, and a refused refresh token cannot heal itself`,
        fix,
      );
    }
    return fail(
      `${unset}, and the /pdf route does not serve certificates here: nothing can be downloaded`,
      fix,
    );
  }

  const breaker = s.breaker;
  const hold = await breaker?.loginHold();
  const pause = await breaker?.current();
  if ((hold !== undefined && hold !== null) || pause?.reason === 'LOGIN_REFUSED') {
    return fail(
      `not tried: the fleet holds web logins back, the LMS refused them (${hold ?? pause?.message})`,
      LOGIN_HOLD_FIX,
    );
  }

  const box = SealedBox.fromSecret(config.secretsKey, config.secretsKeyPrevious);
  const host = config.lms.host;
  const fleetStore = new SessionStore({ redis, box, host, keyPrefix: config.queuePrefix });
  let fleetSession: SessionRecord | undefined | 'unreadable';
  try {
    fleetSession = await fleetStore.read();
  } catch {
    fleetSession = 'unreadable';
  }
  const onFleetStore = fleetSession === undefined && s.tokenWorks;
  const store = onFleetStore
    ? fleetStore
    : new SessionStore({
        redis,
        box,
        host,
        keyPrefix: `${config.queuePrefix}:doctor:${randomBytes(6).toString('hex')}`,
      });
  if (!onFleetStore) s.onClose(() => store.clear());

  let codeAsked = false;
  const totp = login.totpSecret ? totpCodes(login.totpSecret) : undefined;
  let loggedIn = false;
  const session = new WebSession({
    lmsUrl: config.lms.url,
    store,
    lock: new RedisLock(redis, store.lockKey, { ttlMs: 120_000 }),
    maxPdfBytes: config.maxPdfBytes,
    profile: config.webSession.profile,
    logger: s.logger,
    login: new BrowserLogin({
      lmsUrl: config.lms.url,
      username: login.username,
      password: () => login.password.reveal(),
      profile: config.webSession.profile,
      script: config.webSession.script,
      totp: totp
        ? () => {
            codeAsked = true;
            return totp();
          }
        : undefined,
      chromiumPath: config.chromiumPath,
      logger: s.logger,
    }),
    loginGate: {
      heldBack: async () =>
        loggedIn ? new LoginFailedError('the doctor logs in once per run', SECOND_LOGIN) : undefined,
      refused: async () => undefined,
    },
  });
  s.onClose(() => session.close());
  try {
    await session.withSession(async () => 'ok' as const);
  } catch (err) {
    return loginFailure(err, s);
  }
  loggedIn = session.stats.logins > 0;
  const record = await store.read();
  for (const cookie of record?.cookies ?? []) s.addSecret(cookie.value);
  if (!onFleetStore) await redis.pexpire(store.key, THROWAWAY_TTL_MS);
  s.session = session;

  const where = onFleetStore
    ? "kept as the fleet's web session (it had none)"
    : fleetSession === 'unreadable'
      ? "a throw-away session (the fleet's stored one does not open with this SECRETS_KEY)"
      : `a throw-away session: the fleet's own (generation ${fleetSession?.generation}) is left alone`;
  if (!loggedIn) {
    return pass(
      `a worker logged in for the fleet meanwhile (generation ${record?.generation ?? '?'}): ` +
        'its session is used, no second login',
    );
  }
  const how = config.webSession.script ? 'LMS_LOGIN_SCRIPT' : config.webSession.profile.loginPath;
  return pass(
    `logged in as ${login.username} through ${how}; two-factor: ` +
      `${codeAsked ? 'asked, and the LMS_TOTP_SECRET code was taken' : 'not asked'}; ` +
      `${config.webSession.profile.landingPath} answers as logged in; ${where}`,
  );
}

function loginFailure(err: unknown, s: DoctorState): CheckOutcome {
  const config = s.config!;
  if (err instanceof LoginFailedError) {
    const fix =
      err.code === 'LOGIN_TWO_FACTOR_REQUIRED'
        ? "set LMS_TOTP_SECRET to the base32 secret of the service user's authenticator (or turn two-factor off for it)"
        : err.code === 'LOGIN_TWO_FACTOR_REFUSED'
          ? "check LMS_TOTP_SECRET, and this machine's clock (codes last 30 s)"
          : err.code === 'LOGIN_PAGE_UNKNOWN'
            ? 'set LMS_LOGIN_URL to the local login form (and the LMS_LOGIN_*_SELECTOR variables), or LMS_LOGIN_SCRIPT for SSO'
            : LOGIN_FIX;
    return fail(err.message, fix);
  }
  if (err instanceof BrowserLaunchError) {
    return fail(err.message, 'install Chromium (`apt-get install chromium`) or set CHROMIUM_PATH');
  }
  if (err instanceof BrowserFailedError) {
    return fail(
      err.message,
      `check that ${config.lms.url}${config.webSession.profile.loginPath} opens from this machine (LMS_URL, LMS_LOGIN_URL)`,
    );
  }
  throw err;
}

export function renderFailure(err: unknown, path: string, s: DoctorState): CheckOutcome {
  const landing = s.config!.webSession.profile.landingPath;
  if (err instanceof InvalidPdfError) {
    return fail(
      `${path}: ${err.message}`,
      'run the doctor again; if bodies keep arriving cut, look at the proxies and time limits ' +
        'between this machine and the LMS (the workers retry such downloads)',
    );
  }
  if ((err instanceof LoginFailedError && err.code === SECOND_LOGIN) || err instanceof SessionExpiredError) {
    return fail(
      `${path} answered as logged out to the session the doctor had just logged in`,
      `check that LMS_LOGIN_LANDING (${landing}) is a page only a logged-in user gets: ` +
        'the doctor and the workers test sessions on it',
    );
  }
  if (err instanceof CertificateForbiddenError) {
    return fail(
      err.message,
      "give the service user's role the permission to see certificates issued to others, " +
        'or probe another one with --user / --issued-id',
    );
  }
  if (err instanceof CertificateHttpError) {
    return fail(
      err.message,
      err.status === 429 || err.status === 503
        ? 'the LMS throttles renders right now: run the doctor again in a minute (workers wait as told)'
        : 'run the doctor again; if it persists, open the render URL as the service user in a browser',
    );
  }
  if (err instanceof OffHostRedirectError) {
    return fail(
      err.message,
      'the LMS sends certificates to another host, which certharvest never follows with its cookies: ' +
        'ask the LMS administrators where certificates are served from',
    );
  }
  if (err instanceof PdfTooLargeError) {
    return fail(err.message, 'raise MAX_PDF_BYTES if certificates this large are real');
  }
  if (err instanceof SessionRequestError) {
    return fail(
      err.message,
      'run the doctor again; if bodies keep breaking off, look at the proxies and time limits ' +
        'between this machine and the LMS',
    );
  }
  throw err;
}
