import type { Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { FleetBreaker, PauseRecord } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { basicAuth, LoginThrottle, type LoginThrottleOptions } from './basic-auth.ts';
import { batchApiRouter, disabledBatchApi, type BatchApiOptions } from './batch-api.ts';
import { batchPagesRouter, type BatchPagesOptions } from './batch-pages.ts';
import { createMetricsRegistry } from './metrics.ts';

export interface BoardServerOptions {
  queues: readonly Queue[];
  redis: RedisConnection;
  user: string;
  password: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** Per-queue descriptions shown in the board. */
  descriptions?: Record<string, string>;
  /** The fleet's breaker: a pause shows in `/readyz` (503 with the reason) and on the board. */
  breaker?: Pick<FleetBreaker, 'current'>;
  /** Only show: no retry, clean, remove or pause buttons (BOARD_READ_ONLY). Default true. */
  readOnly?: boolean;
  /** Shown in the board's header (BOARD_ENV_LABEL). */
  envLabel?: string;
  /**
   * The batch HTTP API on `/api/batches` (docs/api.md): its clients' keys (API_KEYS), the queues
   * batches go to and their prefix. Without it, or without keys, the API answers 404 API_DISABLED.
   */
  batchApi?: Pick<BatchApiOptions, 'apiKeys' | 'queues' | 'prefix' | 'unsupportedFilters'>;
  /**
   * The batch pages on `/batches` (`batch-pages.ts`), behind the board's login: the queues batches
   * go to and their prefix. Without it they are not served.
   */
  batchPages?: Pick<BatchPagesOptions, 'queues' | 'prefix'>;
  /**
   * Failed logins (board password, API key) per client address: default 10 per 60 s, then 429
   * until the window ends; one warn line per address and window.
   */
  loginThrottle?: Omit<LoginThrottleOptions, 'logger'>;
}

/** How long a probe of Redis may take before `/readyz` answers "not ready". */
const PROBE_TIMEOUT_MS = 900;

/** A queue adapter whose description leads with the fleet's pause, when there is one. */
class FleetAwareAdapter extends BullMQAdapter {
  readonly #pause: () => PauseRecord | null;

  constructor(
    queue: Queue,
    options: ConstructorParameters<typeof BullMQAdapter>[1],
    pause: () => PauseRecord | null,
  ) {
    super(queue, options);
    this.#pause = pause;
  }

  override getDisplayName(): string {
    const p = this.#pause();
    return p ? `${super.getDisplayName()} ⏸ ${p.reason}` : super.getDisplayName();
  }

  override getDescription(): string {
    const p = this.#pause();
    const base = super.getDescription();
    return p ? `⏸ FLEET PAUSED (${p.reason}): ${p.message} — fix: ${p.fix}${base ? ` · ${base}` : ''}` : base;
  }
}

export interface BoardServer {
  url: string;
  close(): Promise<void>;
}

/** The fleet's pause as last read: pages and probes never wait on Redis for it. */
class BoardPause {
  current: PauseRecord | null = null;
  readonly #options: BoardServerOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BoardServerOptions) {
    this.#options = options;
  }

  /** Read it again (not while Redis is away; a slow read keeps the last value). */
  readonly refresh = async (): Promise<void> => {
    const { breaker, redis } = this.#options;
    if (!breaker || !redisReady(redis)) return;
    this.current = await withTimeout(breaker.current(), PROBE_TIMEOUT_MS, 'pause record').catch(
      () => this.current,
    );
  };

  /** Read it now, then every 2 s until `stop()`. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), 2_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * While Redis is away a command would wait in ioredis's offline queue for as long as it takes
 * (maxRetriesPerRequest: null), and a QUIT waits behind it: probes send nothing then, so a
 * probe cannot hold up the shutdown.
 */
const redisReady = (redis: RedisConnection): boolean => redis.status === 'ready';

/** Unauthenticated `/healthz` (the process is up), `/readyz` (Redis answers, no pause) and `/metrics`. */
function serveProbes(app: express.Express, options: BoardServerOptions, pause: BoardPause): void {
  const { redis } = options;
  const registry = createMetricsRegistry(options.queues);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      if (!redisReady(redis)) throw new Error(`Redis connection is ${redis.status}`);
      await withTimeout(redis.ping(), PROBE_TIMEOUT_MS, 'Redis PING');
      await pause.refresh();
      if (pause.current) {
        res.status(503).json({ status: 'paused', redis: 'ok', pause: pause.current });
        return;
      }
      res.json({ status: 'ready', redis: 'ok' });
    } catch (err) {
      res.status(503).json({ status: 'not ready', redis: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, res) => {
    try {
      if (!redisReady(redis)) throw new Error(`Redis connection is ${redis.status}`);
      const text = await withTimeout(registry.metrics(), PROBE_TIMEOUT_MS, 'queue metrics');
      res.type(registry.contentType).send(text);
    } catch (err) {
      res
        .status(503)
        .type('text/plain')
        .send(`metrics unavailable: ${(err as Error).message}\n`);
    }
  });
}

/**
 * The batch API, ahead of the board: its clients send an API key in a header, never the
 * board's basic auth, so the board's credentials (which a browser replays on its own) open
 * nothing here. Hence no CSRF guard either: a forged cross-site request carries no cookie or
 * credential this API accepts, and cannot set Authorization or X-API-Key without a CORS
 * preflight, which is never granted (no CORS headers are sent). Paths other than
 * /api/batches (Bull Board's own /api/queues...) fall through to the board.
 */
function batchApi(options: BoardServerOptions, throttle: LoginThrottle, pause: BoardPause): express.Router {
  return options.batchApi && options.batchApi.apiKeys.length > 0
    ? batchApiRouter({
        ...options.batchApi,
        redis: options.redis,
        logger: options.logger,
        throttle,
        pause: async () => {
          await pause.refresh();
          return pause.current;
        },
      })
    : disabledBatchApi();
}

/** Bull Board itself: every queue, its description led by the fleet's pause. */
function bullBoardRouter(options: BoardServerOptions, readOnly: boolean, pause: BoardPause): express.Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({
    queues: options.queues.map(
      (q) =>
        new FleetAwareAdapter(
          q,
          {
            readOnlyMode: readOnly,
            allowRetries: !readOnly,
            description: options.descriptions?.[q.name] ?? '',
            displayName: q.name,
          },
          () => pause.current,
        ),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'certharvest',
        ...(options.envLabel
          ? {
              environment: {
                label: options.envLabel,
                color: envColor(options.envLabel),
                textColor: '#ffffff',
              },
            }
          : {}),
        // Bull Board's header menu: its one way to link to a page of ours.
        ...(options.batchPages ? { miscLinks: [{ text: 'Batches', url: '/batches' }] } : {}),
      },
    },
  });
  return serverAdapter.getRouter() as express.Router;
}

/** The batch pages, when served, behind the board's login. */
function batchPages(options: BoardServerOptions, readOnly: boolean): express.Router[] {
  if (!options.batchPages) return [];
  const env = options.envLabel ? { label: options.envLabel, color: envColor(options.envLabel) } : undefined;
  return [
    batchPagesRouter({
      ...options.batchPages,
      redis: options.redis,
      logger: options.logger,
      readOnly,
      ...(env ? { env } : {}),
    }),
  ];
}

/** Listen on `host:port` (0: a free port); resolves with the server and its URL. */
async function listen(
  app: express.Express,
  host: string,
  port: number,
): Promise<{ server: Server; url: string }> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/` };
}

/**
 * Bull Board for every certharvest queue, behind basic auth, plus unauthenticated `/healthz`
 * (the process is up), `/readyz` (Redis answers) and `/metrics` (Prometheus text), the batch
 * HTTP API on `/api/batches` behind API keys (`batch-api.ts`), and the batch pages on `/batches`
 * behind the board's login (`batch-pages.ts`).
 */
export async function startBoardServer(options: BoardServerOptions): Promise<BoardServer> {
  const app = express();
  app.disable('x-powered-by');
  const readOnly = options.readOnly ?? true;
  const throttle = new LoginThrottle({ ...options.loginThrottle, logger: options.logger });
  const pause = new BoardPause(options);
  await pause.start();
  serveProbes(app, options, pause);
  app.use('/api', batchApi(options, throttle, pause));
  app.use(
    '/',
    basicAuth(options.user, options.password, { throttle }),
    sameOriginWrites,
    ...batchPages(options, readOnly),
    bullBoardRouter(options, readOnly, pause),
  );
  const { server, url } = await listen(app, options.host, options.port);
  options.logger.info({ url }, 'Bull Board is listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        pause.stop();
        throttle.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Red for production, amber for anything else: who is looking at which board is plain. */
function envColor(label: string): string {
  return /^prod/i.test(label) ? '#b91c1c' : '#b45309';
}

/**
 * CSRF: a browser sends the board's basic-auth credentials with any request to it, a forged one
 * from another site too. A write (anything but GET/HEAD/OPTIONS) must come from the board's own
 * pages: its Origin (or, without one, its Referer) must be the board's host.
 */
export function sameOriginWrites(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
  const from = req.get('origin') ?? req.get('referer');
  let host: string | undefined;
  try {
    host = from ? new URL(from).host : undefined;
  } catch {
    host = undefined;
  }
  if (host !== undefined && host === req.get('host')) return next();
  res
    .status(403)
    .type('text/plain')
    .send('cross-site request refused: write actions only from the board itself\n');
}
