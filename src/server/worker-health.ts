import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PauseRecord } from '../fleet/index.ts';
import type { BatchState } from '../queue/index.ts';
import type { Logger } from '../log/index.ts';
import { withTimeout } from '../util/with-timeout.ts';
import { BATCH_OUTCOME_LABELS, batchOutcomeLabel, registerQueueDepth } from './metrics.ts';

/** How long one readiness check may take: every endpoint answers within a second. */
const CHECK_TIMEOUT_MS = 800;

/** What a worker process counts for `/metrics` (its own work; the queues' depth is added). */
export interface WorkerMetrics {
  readonly registry: Registry;
  /**
   * A certificate's download ended (in its user's discover job, or in a download job): outcome
   * `stored`, `already-stored` or `failed`; source `api`/`browser`.
   */
  downloadEnded(outcome: string, source: string | undefined, seconds: number | undefined): void;
  /** A batch webhook attempt ended: `delivered`, `retried` (failed, tried again later) or `dead`. */
  webhookDelivery(outcome: 'delivered' | 'retried' | 'dead'): void;
  /** An LMS request ended (see `LmsRequestObserver`): `route` is a bounded kind, never an id. */
  lmsRequest(route: string, outcome: string, seconds: number): void;
  /** A batch ended in `state` (the queue's `batchState`; counted once, by one worker). */
  batchSettled(state: BatchState): void;
  /** A check whose message `/readyz` shows as a warning (still 200); undefined: nothing to say. */
  addReadinessWarning(check: () => Promise<string | undefined>): void;
  /** The warnings of the checks added, each within the check timeout. */
  readinessWarnings(): Promise<string[]>;
}

/** The `{outcome, source}` pairs a download can end with (already stored and failed have no source). */
const DOWNLOAD_SERIES = [
  ['stored', 'api'],
  ['stored', 'browser'],
  ['already-stored', 'none'],
  ['failed', 'none'],
] as const;

/**
 * A counter that follows a monotonic count kept elsewhere: each scrape adds what the source grew
 * by. A source that went down (a restarted store) is followed from its new value on.
 */
function followingCounter(
  registry: Registry,
  spec: { name: string; help: string; read: () => Promise<number | undefined> },
): void {
  let last: number | undefined;
  new Counter({
    name: spec.name,
    help: spec.help,
    registers: [registry],
    async collect() {
      const now = await spec.read();
      if (now === undefined) return;
      if (last !== undefined && now > last) this.inc(now - last);
      else if (last === undefined && now > 0) this.inc(now);
      last = now;
    },
  });
}

export interface WorkerMetricsSources {
  /** Web logins this process did for the fleet. */
  webLogins?: () => number;
  /** The shared access token's expiry (epoch ms), when there is one. */
  tokenExpiresAt?: () => Promise<number | undefined>;
  /** Token renewals of the fleet so far (the store's count). */
  tokenRefreshes?: () => Promise<number | undefined>;
  /** 429 answers this process got from the LMS. */
  lmsThrottled?: () => number;
  /** The fleet's pause (cached by the caller: `/metrics` never waits on it). */
  pause: () => PauseRecord | null;
}

/** A counter of ended things, by label, and a histogram of how long they took. */
function countedAndTimed<C extends string, H extends string>(
  registry: Registry,
  counter: { name: string; help: string; labelNames: readonly C[] },
  histogram: { name: string; help: string; labelNames?: readonly H[]; buckets: number[] },
): { count: Counter<C>; time: Histogram<H> } {
  return {
    count: new Counter({ ...counter, registers: [registry] }),
    time: new Histogram({ ...histogram, labelNames: histogram.labelNames ?? [], registers: [registry] }),
  };
}

/** Downloads by outcome and source, and how long they ran; every series at 0 from start. */
function downloadMetrics(registry: Registry) {
  const downloads = countedAndTimed(
    registry,
    {
      name: 'certharvest_downloads_total',
      help: 'Certificates this worker downloaded or found stored (in discover jobs and download jobs), by outcome (stored, already-stored, failed) and source (api, browser).',
      labelNames: ['outcome', 'source'],
    },
    {
      name: 'certharvest_download_duration_seconds',
      help: "Time a certificate's download took, from start to stored (or failed).",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    },
  );
  // Every outcome a download can end with, at 0 from start: rate() and alerts see the first one.
  for (const [outcome, source] of DOWNLOAD_SERIES) downloads.count.inc({ outcome, source }, 0);
  return downloads;
}

/** LMS requests by route kind and outcome, and their latency by route kind. */
function lmsRequestMetrics(registry: Registry) {
  return countedAndTimed(
    registry,
    {
      name: 'certharvest_lms_requests_total',
      help: 'Requests this worker sent to the LMS, by route kind and outcome (ok, client-error, throttled, server-error, network).',
      labelNames: ['route', 'outcome'],
    },
    {
      name: 'certharvest_lms_request_duration_seconds',
      help: 'Time from sending an LMS request to its answer (headers), by route kind.',
      labelNames: ['route'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    },
  );
}

/** A counter by one label whose every value is there at 0 from start. */
function labelledCounter(
  registry: Registry,
  spec: { name: string; help: string; label: string; values: readonly string[] },
): Counter<string> {
  const counter = new Counter({
    name: spec.name,
    help: spec.help,
    labelNames: [spec.label],
    registers: [registry],
  });
  for (const value of spec.values) counter.inc({ [spec.label]: value }, 0);
  return counter;
}

/** The counters that follow a count kept elsewhere (the web session, the HTTP client, the token store). */
function followedCounters(registry: Registry, sources: WorkerMetricsSources): void {
  followingCounter(registry, {
    name: 'certharvest_web_logins_total',
    help: 'Web logins this worker did for the fleet since it started.',
    read: async () => sources.webLogins?.(),
  });
  followingCounter(registry, {
    name: 'certharvest_lms_throttled_total',
    help: 'LMS answers 429 (rate limited) this worker got since it started.',
    read: async () => sources.lmsThrottled?.(),
  });
  followingCounter(registry, {
    name: 'certharvest_token_refreshes_total',
    help: "The fleet's access-token renewals, as the token store counts them (the same on every worker).",
    read: () => withinCheckTimeout(sources.tokenRefreshes?.(), 'token store'),
  });
}

/** `value`, or undefined when it fails or takes longer than a check may. */
function withinCheckTimeout<T>(value: Promise<T> | undefined, what: string): Promise<T | undefined> {
  return withTimeout(value ?? Promise.resolve(undefined), CHECK_TIMEOUT_MS, what).catch(() => undefined);
}

/** Read when scraped: the token's expiry and the fleet's pause. */
function stateGauges(registry: Registry, sources: WorkerMetricsSources): void {
  new Gauge({
    name: 'certharvest_token_expiry_seconds',
    help: 'Seconds until the shared access token expires (negative: expired).',
    registers: [registry],
    async collect() {
      const at = await withinCheckTimeout(sources.tokenExpiresAt?.(), 'token store');
      if (at !== undefined) this.set(Math.round((at - Date.now()) / 1000));
    },
  });
  new Gauge({
    name: 'certharvest_fleet_paused',
    help: 'Whether the fleet is paused (1, labelled with the reason) or running (0).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const pause = sources.pause();
      if (pause) this.set({ reason: pause.reason }, 1);
      else this.set({ reason: '' }, 0);
    },
  });
}

export function createWorkerMetrics(sources: WorkerMetricsSources): WorkerMetrics {
  const registry = new Registry();
  // Unprefixed, as stock Node.js dashboards expect (process_cpu_seconds_total, nodejs_heap_…).
  collectDefaultMetrics({ register: registry });
  const downloads = downloadMetrics(registry);
  const webhookDeliveries = labelledCounter(registry, {
    name: 'certharvest_webhook_deliveries_total',
    help: 'Batch webhook attempts of this worker, by outcome (delivered, retried, dead).',
    label: 'outcome',
    values: ['delivered', 'retried', 'dead'],
  });
  const warningChecks: (() => Promise<string | undefined>)[] = [];
  followedCounters(registry, sources);
  const lms = lmsRequestMetrics(registry);
  const batches = labelledCounter(registry, {
    name: 'certharvest_batches_total',
    help: 'Batches that ended, counted by one worker, by state (completed: every certificate stored or already there; failed: some failed; cancelled).',
    label: 'state',
    values: BATCH_OUTCOME_LABELS,
  });
  stateGauges(registry, sources);
  return {
    registry,
    downloadEnded(outcome, source, seconds) {
      downloads.count.inc({ outcome, source: source ?? 'none' });
      if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) downloads.time.observe(seconds);
    },
    webhookDelivery(outcome) {
      webhookDeliveries.inc({ outcome });
    },
    lmsRequest(route, outcome, seconds) {
      lms.count.inc({ route, outcome });
      if (Number.isFinite(seconds) && seconds >= 0) lms.time.observe({ route }, seconds);
    },
    batchSettled(state) {
      const label = batchOutcomeLabel(state);
      if (label) batches.inc({ state: label });
    },
    addReadinessWarning(check) {
      warningChecks.push(check);
    },
    async readinessWarnings() {
      const found = await Promise.all(
        warningChecks.map((check) =>
          withTimeout(check(), CHECK_TIMEOUT_MS, 'readiness check').catch(() => undefined),
        ),
      );
      return found.filter((w): w is string => w !== undefined);
    },
  };
}

export interface WorkerHealthServerOptions {
  port: number;
  host: string;
  redis: RedisConnection;
  metrics: WorkerMetrics;
  /** Their depth is exported as `certharvest_queue_jobs{queue,state}` (as the board does). */
  queues: readonly Queue[];
  /** The fleet's pause, cached by the caller. */
  pause: () => PauseRecord | null;
  /** False while the worker starts or stops. */
  running: () => boolean;
  /** The fault that keeps this worker (only) out of service, if any. */
  localFault?: () => { reason: string; message: string; fix: string; by: string } | undefined;
  logger: Logger;
}

export interface WorkerHealthServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A worker's own probes (METRICS_PORT): `/healthz` (the process is up), `/readyz` (running, Redis
 * answers, the fleet not paused — 503 with the reasons otherwise; 200 with `warnings` when, say,
 * webhook deliveries have failed for longer than BATCH_WEBHOOK_ALERT_AFTER), `/metrics` (Prometheus text).
 * Every answer comes within a second whatever Redis does.
 */
export async function startWorkerHealthServer(
  options: WorkerHealthServerOptions,
): Promise<WorkerHealthServer> {
  registerQueueDepth(options.metrics.registry, options.queues);
  const server = createServer((req, res) => {
    void route(req, res, options).catch((err: unknown) => {
      options.logger.warn({ err }, 'health endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: WorkerHealthServerOptions) {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
  if (path === '/healthz') return json(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    const reasons: string[] = [];
    if (!options.running()) reasons.push('the worker is starting or stopping');
    const redis = await withTimeout(options.redis.ping(), CHECK_TIMEOUT_MS, 'Redis PING').then(
      () => 'ok',
      (err: unknown) => (err as Error).message,
    );
    if (redis !== 'ok') reasons.push(`Redis: ${redis}`);
    const pause = options.pause();
    if (pause) reasons.push(`fleet paused (${pause.reason}): ${pause.message} — fix: ${pause.fix}`);
    const fault = options.localFault?.();
    if (fault) {
      reasons.push(
        `this worker is out of service (${fault.reason}): ${fault.message} — fix: ${fault.fix}; the other workers go on`,
      );
    }
    // Warnings (a webhook receiver failing for long) leave the worker ready: it still harvests.
    const warnings = redis === 'ok' ? await options.metrics.readinessWarnings() : [];
    return json(res, reasons.length === 0 ? 200 : 503, {
      status: reasons.length === 0 ? 'ready' : 'not ready',
      redis,
      ...(pause ? { pause } : {}),
      ...(fault ? { localFault: fault } : {}),
      ...(reasons.length ? { reasons } : {}),
      ...(warnings.length ? { warnings } : {}),
    });
  }
  if (path === '/metrics') {
    // Queue depth (certharvest_queue_jobs) comes from Redis within its own timeout: never stuck.
    const text = await options.metrics.registry.metrics();
    return send(res, 200, options.metrics.registry.contentType, text);
  }
  return send(res, 404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
}

function json(res: ServerResponse, status: number, body: unknown) {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
