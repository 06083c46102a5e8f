import { randomBytes } from 'node:crypto';
import type { RedisConnection } from '../util/redis-nodes.ts';
import {
  BrowserFailedError,
  BrowserLaunchError,
  LoginFailedError,
  type LoginGate,
  type SessionRecord,
  type SessionStore,
} from '../browser/index.ts';
import type { WorkerConfig } from '../config/shape.ts';
import type { FleetBreaker } from '../fleet/index.ts';
import { fail, failureOf, pass, rule, skip, warn, type CheckOutcome } from './check.ts';
import { LOGIN_HOLD_FIX } from './setup-checks.ts';
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
  const { config, redis } = s.need('config', 'redis');
  const webLogin = config.webLogin;
  if (!webLogin) return withoutWebLogin(s, config);
  const held = await fleetHoldsLogins(s.part('breaker'));
  if (held) return held;
  const place = await choosePlace(s, config, redis);
  const attempt = { loggedIn: false, codeAsked: false };
  const session = s.assembly.webSession(config, redis, s.logger, {
    webLogin,
    store: place.store,
    loginGate: oneLoginPerRun(attempt),
    onTwoFactorCode: () => {
      attempt.codeAsked = true;
    },
  });
  s.onClose(() => session.close());
  try {
    await session.withSession(async () => 'ok' as const);
  } catch (err) {
    return loginFailure(err, config);
  }
  attempt.loggedIn = session.stats.logins > 0;
  const record = await place.store.read();
  for (const cookie of record?.cookies ?? []) s.addSecret(cookie.value);
  if (!place.onFleetStore) await redis.pexpire(place.store.key, THROWAWAY_TTL_MS);
  s.provide('session', session);
  if (!attempt.loggedIn) {
    return pass(
      `a worker logged in for the fleet meanwhile (generation ${record?.generation ?? '?'}): ` +
        'its session is used, no second login',
    );
  }
  const how = config.webSession.script ? 'LMS_LOGIN_SCRIPT' : config.webSession.profile.loginPath;
  return pass(
    `logged in as ${webLogin.username} through ${how}; two-factor: ` +
      `${attempt.codeAsked ? 'asked, and the LMS_TOTP_SECRET code was taken' : 'not asked'}; ` +
      `${config.webSession.profile.landingPath} answers as logged in; ${place.where}`,
  );
}

/** No web login configured: fine only when certificates come another way. */
function withoutWebLogin(s: DoctorState, config: WorkerConfig): CheckOutcome {
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

/** ✖ while the fleet holds web logins back (the LMS refused them): nothing is posted then. */
async function fleetHoldsLogins(breaker: FleetBreaker | undefined): Promise<CheckOutcome | undefined> {
  const hold = await breaker?.loginHold();
  const pause = await breaker?.current();
  if ((hold === undefined || hold === null) && pause?.reason !== 'LOGIN_REFUSED') return undefined;
  return fail(
    `not tried: the fleet holds web logins back, the LMS refused them (${hold ?? pause?.message})`,
    LOGIN_HOLD_FIX,
  );
}

/** Where the doctor's session goes: the fleet's store when it has none, else a throw-away one. */
async function choosePlace(
  s: DoctorState,
  config: WorkerConfig,
  redis: RedisConnection,
): Promise<{ store: SessionStore; onFleetStore: boolean; where: string }> {
  const fleetStore = s.assembly.sessionStore(config, redis);
  let fleetSession: SessionRecord | undefined | 'unreadable';
  try {
    fleetSession = await fleetStore.read();
  } catch {
    fleetSession = 'unreadable';
  }
  if (fleetSession === undefined && s.tokenWorks) {
    return { store: fleetStore, onFleetStore: true, where: "kept as the fleet's web session (it had none)" };
  }
  const keyPrefix = `${config.queuePrefix}:doctor:${randomBytes(6).toString('hex')}`;
  const store = s.assembly.sessionStore(config, redis, keyPrefix);
  s.onClose(() => store.clear());
  const where =
    fleetSession === 'unreadable'
      ? "a throw-away session (the fleet's stored one does not open with this SECRETS_KEY)"
      : `a throw-away session: the fleet's own (generation ${fleetSession?.generation}) is left alone`;
  return { store, onFleetStore: false, where };
}

/** The doctor's gate: one login per run, and never a hold on the fleet's logins. */
function oneLoginPerRun(attempt: { loggedIn: boolean }): LoginGate {
  return {
    heldBack: async () =>
      attempt.loggedIn ? new LoginFailedError('the doctor logs in once per run', SECOND_LOGIN) : undefined,
    refused: async () => undefined,
  };
}

function loginFailure(err: unknown, config: WorkerConfig): CheckOutcome {
  return failureOf(err, [
    rule(LoginFailedError, (e) => LOGIN_FIXES[e.code] ?? LOGIN_FIX),
    rule(BrowserLaunchError, 'install Chromium (`apt-get install chromium`) or set CHROMIUM_PATH'),
    rule(
      BrowserFailedError,
      `check that ${config.lms.url}${config.webSession.profile.loginPath} opens from this machine (LMS_URL, LMS_LOGIN_URL)`,
    ),
  ]);
}

const LOGIN_FIXES: Readonly<Record<string, string>> = {
  LOGIN_TWO_FACTOR_REQUIRED:
    "set LMS_TOTP_SECRET to the base32 secret of the service user's authenticator (or turn two-factor off for it)",
  LOGIN_TWO_FACTOR_REFUSED: "check LMS_TOTP_SECRET, and this machine's clock (codes last 30 s)",
  LOGIN_PAGE_UNKNOWN:
    'set LMS_LOGIN_URL to the local login form (and the LMS_LOGIN_*_SELECTOR variables), or LMS_LOGIN_SCRIPT for SSO',
};
