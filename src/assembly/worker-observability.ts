/**
 * What a worker shows of itself: the fleet's pause (read now and then, so probes and metrics never
 * wait on Redis for it), its metrics, and its health server (/healthz, /readyz, /metrics).
 */
import type { FleetBreaker, LocalFaults, PauseRecord } from '../fleet/index.ts';
import { createWorkerMetrics, startWorkerHealthServer, type WorkerMetrics } from '../server/worker-health.ts';
import { withTimeout } from '../util/with-timeout.ts';
import type { FleetParts } from './fleet.ts';
import { NOTHING_TO_STOP, type Loop, type Stoppable } from './loops.ts';

/** How often the pause record is read again. */
const PAUSE_REFRESH_EVERY_MS = 2_000;

/** The fleet's pause as last read: the probes and metrics read this, never Redis. */
export class PauseWatch {
  readonly #breaker: Pick<FleetBreaker, 'current'>;
  #pause: PauseRecord | null = null;

  constructor(breaker: Pick<FleetBreaker, 'current'>) {
    this.#breaker = breaker;
  }

  readonly current = (): PauseRecord | null => this.#pause;

  /** Read the record now (at most 800 ms; a slow read keeps the last value). */
  refresh(): Promise<void> {
    return withTimeout(this.#breaker.current(), 800, 'pause record').then(
      (p) => void (this.#pause = p),
      () => undefined,
    );
  }

  /** The loop that reads it every 2 s. */
  loop(): Loop {
    return {
      name: 'pause record',
      start: () => {
        const timer = setInterval(() => void this.refresh(), PAUSE_REFRESH_EVERY_MS);
        timer.unref();
        return { stop: () => clearInterval(timer) };
      },
    };
  }
}

/** The worker's metrics, reading the fleet's parts when scraped. */
export function createFleetMetrics(fleet: FleetParts, pause: PauseWatch): WorkerMetrics {
  const { webSession, adapter, tokens } = fleet;
  return createWorkerMetrics({
    webLogins: () => webSession?.stats.logins ?? 0,
    lmsThrottled: () => adapter.throttledAnswers(),
    tokenExpiresAt: async () => (await tokens.status()).expiresAt?.getTime(),
    tokenRefreshes: async () => (await tokens.status()).refreshCount,
    pause: pause.current,
  });
}

/** The health server, when served. */
export interface HealthServing extends Stoppable {
  url: string | undefined;
}

/** METRICS_PORT's server: it answers first, so /readyz says "starting" during the start-up checks. */
export function healthServerLoop(options: {
  fleet: FleetParts;
  metrics: WorkerMetrics;
  pause: PauseWatch;
  running: () => boolean;
  localFaults: Pick<LocalFaults, 'current'>;
}): Loop<HealthServing> {
  const { fleet, metrics, pause, running, localFaults } = options;
  return {
    name: 'health server',
    async start() {
      const served = fleet.config.metrics;
      if (!served) return { url: undefined, ...NOTHING_TO_STOP };
      const health = await startWorkerHealthServer({
        ...served,
        redis: fleet.redis,
        metrics,
        queues: [fleet.queues.discover, fleet.queues.download],
        pause: pause.current,
        running,
        localFault: () => localFaults.current(),
        logger: fleet.logger,
      });
      fleet.logger.info({ url: health.url }, 'worker health and metrics served');
      return { url: health.url, stop: () => health.close() };
    },
  };
}
