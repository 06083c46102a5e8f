/**
 * The fleet's web session and its session record: built here for the worker, the CLI (`auth`,
 * `inspect`) and the doctor, which differ only in the store and the login gate they give it.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import { RedisLock, SealedBox } from '../auth/index.ts';
import {
  BrowserLogin,
  LoginFailedError,
  SessionStore,
  totpCodes,
  WebSession,
  type LoginGate,
  type WebSessionOptions,
} from '../browser/index.ts';
import type { WebLoginConfig, WorkerConfig } from '../config/shape.ts';
import type { FleetBreaker } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import { decide } from '../failure/failure-policy.ts';

/** A login writes the session record under this lock: long enough for a slow login (launch, form, redirects, the landing probe). */
const LOGIN_LOCK_TTL_MS = 120_000;

/** The fleet's session record, sealed in Redis (under `keyPrefix`, default QUEUE_PREFIX). */
export function createSessionStore(
  config: Pick<WorkerConfig, 'secretsKey' | 'secretsKeyPrevious' | 'lms' | 'queuePrefix'>,
  redis: RedisConnection,
  keyPrefix = config.queuePrefix,
): SessionStore {
  const box = SealedBox.fromSecret(config.secretsKey, config.secretsKeyPrevious);
  return new SessionStore({ redis, box, host: config.lms.host, keyPrefix });
}

/** The lock a login (or an import) holds while it writes the session record. */
export function sessionLock(redis: RedisConnection, store: SessionStore): RedisLock {
  return new RedisLock(redis, store.lockKey, { ttlMs: LOGIN_LOCK_TTL_MS });
}

/** What a web session is built from; `createWebSession` chooses the store and gate a worker uses. */
export interface WebSessionParts {
  config: WorkerConfig;
  webLogin: WebLoginConfig;
  redis: RedisConnection;
  logger: Logger;
  store: SessionStore;
  loginGate: LoginGate;
  /** Told each time the two-factor code is taken (the doctor counts them). */
  onTwoFactorCode?: () => void;
  /** Told of every download with the session (the LMS request metrics). */
  observe?: WebSessionOptions['observe'];
}

/** A web session on `store`: Chromium logs in (one process at a time) with the service user's login. */
export function assembleWebSession(parts: WebSessionParts): WebSession {
  const { config, webLogin, redis, logger, store, loginGate, onTwoFactorCode } = parts;
  const codes = webLogin.totpSecret ? totpCodes(webLogin.totpSecret) : undefined;
  return new WebSession({
    lmsUrl: config.lms.url,
    store,
    ...(parts.observe ? { observe: parts.observe } : {}),
    lock: sessionLock(redis, store),
    maxPdfBytes: config.maxPdfBytes,
    profile: config.webSession.profile,
    logger,
    login: new BrowserLogin({
      lmsUrl: config.lms.url,
      username: webLogin.username,
      password: () => webLogin.password.reveal(),
      profile: config.webSession.profile,
      script: config.webSession.script,
      totp: codes && onTwoFactorCode ? () => (onTwoFactorCode(), codes()) : codes,
      chromiumPath: config.chromiumPath,
      logger,
    }),
    loginGate,
  });
}

/** The breaker as a login gate: a refused password holds every login back and pauses the fleet. */
export function breakerLoginGate(breaker: FleetBreaker): LoginGate {
  return {
    async heldBack() {
      const held = await breaker.loginHold();
      return held === null
        ? undefined
        : new LoginFailedError(`logins are held back until the password is fixed: ${held}`);
    },
    async refused(error) {
      await breaker.holdLogins(error.message);
      const d = decide(error);
      if (d.action === 'pause') await breaker.trip(d);
    },
  };
}

export interface CreateWebSessionOptions {
  config: WorkerConfig;
  webLogin: WebLoginConfig;
  redis: RedisConnection;
  breaker: FleetBreaker;
  logger: Logger;
  /** Told of every download with the session (the LMS request metrics). */
  observe?: WebSessionOptions['observe'];
}

/** The fleet's web session: Chromium logs in (one process at a time), Redis keeps the cookies sealed. */
export function createWebSession(options: CreateWebSessionOptions): WebSession {
  const { config, redis, breaker, ...rest } = options;
  return assembleWebSession({
    ...rest,
    config,
    redis,
    store: createSessionStore(config, redis),
    loginGate: breakerLoginGate(breaker),
  });
}
