/**
 * The worker's background loops, each one `Loop` (`./loops.ts`): its own faults, the fleet
 * monitor, the start-up checks, the batch webhook and the batch ends, the progress line and the
 * session keep-alive. `jobs/worker.ts` lists them in start order.
 */
import { LocalFaults, LOCAL_REASONS, OutageClock, type FleetBreaker } from '../fleet/index.ts';
import { settleFromJobEvents, type JobEvents } from '../queue/index.ts';
import { writeBatchManifest, followBatchEnds } from '../report/manifest-file.ts';
import type { WorkerMetrics } from '../server/worker-health.ts';
import { startBatchWebhook } from '../webhook/batch-webhook.ts';
import { startFleetMonitor, type FleetMonitor } from '../worker/fleet-monitor.ts';
import type { FleetControl } from '../failure/handle-job-error.ts';
import { logProgress } from '../worker/progress-log.ts';
import { startSessionKeepAlive } from '../worker/session-keepalive.ts';
import { checkBeforeStart } from '../worker/startup-checks.ts';
import type { FleetParts } from './fleet.ts';
import { healthProbes, type ProbeParts } from './health-probes.ts';
import { NOTHING_TO_STOP, type Loop } from './loops.ts';
import type { WorkerTuning } from './tuning.ts';

/** What the processors' failure handling needs of the fleet, and this worker's own faults. */
export interface WorkerFleet {
  fleet: FleetParts;
  outage: OutageClock;
  localFaults: LocalFaults;
  /** Pause for a decision: only this worker for a local reason, else the fleet. */
  trip: (t: Parameters<FleetBreaker['trip']>[0]) => Promise<boolean>;
  /** The processors' view of the fleet (pauses go through `trip`). */
  control: FleetControl;
  probes: ProbeParts;
}

/** The outage clock, this worker's local faults (probed by the shared health probes), and `FleetControl`. */
export function createWorkerFleet(fleet: FleetParts, tuning: WorkerTuning): WorkerFleet {
  const { config, redis, breaker, logger, tokens, store, adapter } = fleet;
  const outage = new OutageClock(redis, config.queuePrefix);
  const probes: ProbeParts = {
    tokens,
    store,
    directory: adapter.directory,
    redis,
    outage,
    chromiumPath: config.chromiumPath,
  };
  // A fault only this process sees (its key, its disk, its browser) takes only this worker out.
  const localFaults = new LocalFaults({
    redis,
    prefix: config.queuePrefix,
    breaker,
    logger: logger.child({ component: 'fleet' }),
    everyMs: tuning.localCheckEveryMs,
    probes: healthProbes(probes, LOCAL_REASONS),
  });
  const trip = (t: Parameters<FleetBreaker['trip']>[0]) => localFaults.trip(t);
  const control: FleetControl = {
    breaker,
    trip,
    outage,
    outagePauseAfterMs: config.outagePauseAfterMs,
    logger: logger.child({ component: 'fleet' }),
  };
  return { fleet, outage, localFaults, trip, control, probes };
}

/** The start-up checks, as a loop with nothing to stop: a failure stops the loops started before it. */
export function startupChecksLoop(w: WorkerFleet): Loop {
  const { fleet } = w;
  return {
    name: 'start-up checks',
    async start() {
      await checkBeforeStart({
        redis: fleet.redis,
        tokens: fleet.tokens,
        store: fleet.store,
        queuePrefix: fleet.config.queuePrefix,
        session: fleet.session,
        chromiumPath: fleet.config.chromiumPath,
        breaker: fleet.breaker,
        trip: w.trip,
        logger: fleet.logger,
      });
      return NOTHING_TO_STOP;
    },
  };
}

/** Out of service, this worker stops taking jobs (the active ones end as they may); back, takes them again. */
export function localFaultsLoop(w: WorkerFleet, processing: { pause(): void; resume(): void }): Loop {
  return {
    name: 'local faults',
    async start() {
      await w.localFaults.start({ out: () => processing.pause(), back: () => processing.resume() });
      return { stop: () => w.localFaults.stop() };
    },
  };
}

/** The fleet monitor: probes a pause's cause (the same probes), reconciles missed settles. */
export function fleetMonitorLoop(w: WorkerFleet, tuning: WorkerTuning): Loop<FleetMonitor> {
  const { fleet } = w;
  const reasons = [
    'AUTH_REFRESH_REFUSED',
    'SECRETS_KEY_MISMATCH',
    'OUTPUT_UNAVAILABLE',
    'LMS_UNREACHABLE',
    ...(fleet.session ? (['BROWSER_UNAVAILABLE'] as const) : []),
  ] as const;
  return {
    name: 'fleet monitor',
    start: () =>
      startFleetMonitor({
        redis: fleet.redis,
        prefix: fleet.config.queuePrefix,
        breaker: fleet.breaker,
        accounting: fleet.accounting,
        queues: fleet.queues,
        logger: fleet.logger,
        everyMs: tuning.monitorEveryMs,
        reconcileMinAgeMs: tuning.reconcileMinAgeMs,
        probes: healthProbes(w.probes, reasons),
      }),
  };
}

/** BATCH_WEBHOOK: a POST per ended batch; its trouble shows as a /readyz warning. */
export function batchWebhookLoop(fleet: FleetParts, metrics: WorkerMetrics): Loop {
  const { config, redis, logger } = fleet;
  return {
    name: 'batch webhook',
    async start() {
      const hook = config.batchWebhook;
      if (!hook) return NOTHING_TO_STOP;
      const webhook = await startBatchWebhook({
        redis,
        prefix: config.queuePrefix,
        url: hook.url,
        secret: hook.secret,
        retryForMs: hook.retryForMs,
        alertAfterMs: hook.alertAfterMs,
        logger: logger.child({ component: 'webhook' }),
        onOutcome: (outcome) => metrics.webhookDelivery(outcome),
        ...(config.batchManifest ? { manifestFile: { outputDir: config.outputDir } } : {}),
      });
      metrics.addReadinessWarning(() => webhook.warning());
      return webhook;
    },
  };
}

/** One worker of the fleet hears of each ended batch: count it, and write its manifest file (BATCH_MANIFEST). */
export function batchEndsLoop(fleet: FleetParts, metrics: WorkerMetrics): Loop {
  const { config, redis, logger, tracker } = fleet;
  const batchEnded = async (batchId: string): Promise<void> => {
    const status = await tracker.status(batchId, 0);
    if (!status) return;
    metrics.batchSettled(status.state);
    if (!config.batchManifest) return;
    await writeBatchManifest(tracker, batchId, config.outputDir, config.outputModes).catch((err: unknown) =>
      logger.warn(
        { batchId, err },
        'the batch manifest file was not written (the batch is not affected; GET /api/batches/:id/certificates has it)',
      ),
    );
  };
  return {
    name: 'batch ends',
    start: () =>
      followBatchEnds({
        redis,
        prefix: config.queuePrefix,
        logger: logger.child({ component: 'batch-ends' }),
        onEnd: batchEnded,
      }),
  };
}

/** The periodic progress line. */
export function progressLoop(fleet: FleetParts, events: JobEvents): Loop {
  return {
    name: 'progress line',
    start: () => ({ stop: logProgress(fleet.logger, events, fleet.session) }),
  };
}

/** While work is queued, the web session is extended before the tenant's idle logout. */
export function sessionKeepAliveLoop(fleet: FleetParts): Loop {
  const { session, config, redis, queues, logger } = fleet;
  return {
    name: 'session keep-alive',
    start: () =>
      session
        ? {
            stop: startSessionKeepAlive({
              session,
              redis,
              prefix: config.queuePrefix,
              queues: [queues.discover, queues.download],
              idleMs: config.webSession.idleMs,
              logger,
            }),
          }
        : NOTHING_TO_STOP,
  };
}

/** The subscribers of the job events: the accounting, download metrics, the outage clock, the final-failure line. */
export function followJobEvents(w: WorkerFleet, events: JobEvents, metrics: WorkerMetrics): void {
  const { logger, accounting } = w.fleet;
  settleFromJobEvents(events, accounting, logger);
  events.on('download:settled', ({ outcome, seconds }) =>
    metrics.downloadEnded(outcome.status, outcome.status === 'stored' ? outcome.source : undefined, seconds),
  );
  events.on('job:completed', () => void w.outage.reachable().catch(() => {}));
  events.on('job:attempt-failed', ({ queue, job, error, final }) => {
    if (final) logger.warn({ queue, jobId: job.id, reason: error.message }, 'job failed');
  });
}
