/**
 * The composition root: the fleet's shared parts, built once, in one order, for the worker
 * (`jobs/worker.ts`), the doctor and the CLI. Nothing below `src/assembly` imports it.
 *
 * - `createFleet(config, redis, logger, options?)` builds every part and returns them with one
 *   `close()` (the web session and the queues; never the caller's Redis).
 * - The builders it is made of, for a caller that needs one part only:
 *   - `createBreaker(config, redis, queues, logger)`: the fleet's pause record over both queues;
 *   - `createWebSession({ config, webLogin, redis, breaker, logger, observe? })`: the logged-in
 *     web session (`./web-session.ts`);
 *   - `createFleetTokens(config, redis, logger, webSession?)`: the token provider, healed through
 *     the web session when there is one;
 *   - `createFleetAdapter({ config, redis, logger, tokens, webSession, rateState?, observeLmsRequest? })`:
 *     the configured LMS's adapter, through its module (`config.lms.site`), from
 *     `fleetAdapterContext(...)` (the same options);
 *   - `createSessionStore`, `sessionLock`, `assembleWebSession`, `breakerLoginGate`: the web
 *     session's pieces, for a caller (the doctor, `auth session`) that picks its own store or gate.
 */
import type { RedisConnection } from '../util/redis-nodes.ts';
import { createTokenProvider, type TokenProvider } from '../auth/index.ts';
import { useChromiumSandbox, type WebSession } from '../browser/index.ts';
import type { WorkerConfig } from '../config/shape.ts';
import { FleetBreaker } from '../fleet/index.ts';
import {
  RedisRateStateStore,
  type AccessTokenSource,
  type AdapterContext,
  type LmsAdapterHandle,
  type LmsRequestObserver,
} from '../lms/index.ts';
import type { Logger } from '../log/index.ts';
import { BatchAccounting, BatchTracker, openQueues, type CertharvestQueues } from '../queue/index.ts';
import { CertificateStore } from '../storage/index.ts';
import { createWebSession } from './web-session.ts';

export {
  assembleWebSession,
  breakerLoginGate,
  createSessionStore,
  createWebSession,
  sessionLock,
  type CreateWebSessionOptions,
  type WebSessionParts,
} from './web-session.ts';

/** The two queues, as `openQueues(redis, config.queuePrefix)` opens them. */
export type Queues = CertharvestQueues;

/** Every shared part of the fleet, built by `createFleet`. */
export interface FleetParts {
  config: WorkerConfig;
  redis: RedisConnection;
  logger: Logger;
  breaker: FleetBreaker;
  /** `openQueues(redis, config.queuePrefix)`. */
  queues: Queues;
  /** Built when the service user's web login is configured (`config.webLogin`). */
  webSession: WebSession | undefined;
  /** The session downloads go through: `webSession`, unless DOWNLOAD_STRATEGY=api. */
  session: WebSession | undefined;
  /** The token provider, healed through `webSession` when there is one. */
  tokens: TokenProvider;
  /** The fleet's shared view of the LMS's request budget. */
  rateState: RedisRateStateStore;
  /** The configured LMS's adapter (`config.lms.site.createAdapter`). */
  adapter: LmsAdapterHandle;
  store: CertificateStore;
  accounting: BatchAccounting;
  tracker: BatchTracker;
  /** Close the web session and the queues (never the caller's Redis). */
  close(): Promise<void>;
}

export interface FleetOptions {
  /** Hears every LMS request (API routes, and downloads with the session as `render`): the metrics. */
  observeLmsRequest?: LmsRequestObserver;
  /** Hears of each batch this process's settles finish. */
  onBatchDone?: (batchIds: string[]) => void;
}

/**
 * The breaker: one pause record and the queues' pause, for every worker of the fleet. Without
 * queues (the doctor's), it reads and writes the record only.
 */
export function createBreaker(
  config: Pick<WorkerConfig, 'queuePrefix'>,
  redis: RedisConnection,
  queues: Queues | undefined,
  logger: Logger,
): FleetBreaker {
  return new FleetBreaker({
    redis,
    prefix: config.queuePrefix,
    queues: queues ? [queues.discover, queues.download] : [],
    logger: logger.child({ component: 'fleet' }),
  });
}

/** The token provider; a refused refresh token is healed through the web session when there is one. */
export async function createFleetTokens(
  config: WorkerConfig,
  redis: RedisConnection,
  logger: Logger,
  webSession?: WebSession,
): Promise<TokenProvider> {
  return createTokenProvider({
    config,
    redis,
    logger: logger.child({ component: 'auth' }),
    ...(webSession ? { session: webSession } : {}),
  });
}

export interface FleetAdapterOptions {
  config: WorkerConfig;
  redis: RedisConnection;
  logger: Logger;
  tokens: AccessTokenSource;
  webSession: WebSession | undefined;
  /** Default: the fleet's shared view of the LMS's request budget. */
  rateState?: RedisRateStateStore;
  observeLmsRequest?: LmsRequestObserver | undefined;
}

/** What the LMS module builds its adapter from (the doctor builds one from it too). */
export function fleetAdapterContext(options: FleetAdapterOptions): AdapterContext {
  const { config, redis, logger, tokens, webSession, observeLmsRequest } = options;
  return {
    lmsUrl: config.lms.url,
    tokens,
    webSession,
    downloadStrategy: config.downloadStrategy,
    logger,
    redis,
    prefix: config.queuePrefix,
    // The LMS counts its request budget per app: the fleet spends it together.
    rateState: options.rateState ?? new RedisRateStateStore(redis, config.queuePrefix, config.lms.host),
    ...(observeLmsRequest ? { observeLmsRequest } : {}),
  };
}

/** The configured LMS's module builds its adapter, and decides what it needs the session for. */
export async function createFleetAdapter(options: FleetAdapterOptions): Promise<LmsAdapterHandle> {
  return options.config.lms.site.createAdapter(fleetAdapterContext(options));
}

/** Build the fleet's shared parts once: the worker, the doctor and the CLI all start here. */
export async function createFleet(
  config: WorkerConfig,
  redis: RedisConnection,
  logger: Logger,
  options: FleetOptions = {},
): Promise<FleetParts> {
  useChromiumSandbox(!config.chromiumNoSandbox);
  const queues = openQueues(redis, config.queuePrefix);
  const breaker = createBreaker(config, redis, queues, logger);
  const { webLogin } = config;
  const observe = options.observeLmsRequest;
  // The web session heals a refused refresh token whenever the service user's login is configured;
  // it downloads too unless DOWNLOAD_STRATEGY=api. Chromium starts only when a login is needed.
  const webSession = webLogin
    ? createWebSession({
        config,
        webLogin,
        redis,
        breaker,
        logger: logger.child({ component: 'browser' }),
        // Downloads with the session count as LMS requests (route `render`).
        ...(observe ? { observe } : {}),
      })
    : undefined;
  const close = async (): Promise<void> => {
    await webSession?.close();
    await queues.close();
  };
  try {
    const tokens = await createFleetTokens(config, redis, logger, webSession);
    const rateState = new RedisRateStateStore(redis, config.queuePrefix, config.lms.host);
    const adapter = await createFleetAdapter({
      config,
      redis,
      logger,
      tokens,
      webSession,
      rateState,
      observeLmsRequest: observe,
    });
    const onBatchDone = options.onBatchDone;
    return {
      config,
      redis,
      logger,
      breaker,
      queues,
      webSession,
      session: config.downloadStrategy === 'api' ? undefined : webSession,
      tokens,
      rateState,
      adapter,
      store: new CertificateStore(config.outputDir, { lmsHost: config.lms.host, ...config.outputModes }),
      accounting: new BatchAccounting(
        redis,
        config.queuePrefix,
        onBatchDone ? { onBatchDone: (ids) => onBatchDone([...ids]) } : {},
      ),
      tracker: new BatchTracker(redis, config.queuePrefix),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
