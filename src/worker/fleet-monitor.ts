import type { Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { RedisLock, runExclusive } from '../auth/redis-lock.ts';
import type { FleetBreaker, PauseReason } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import type { BatchAccounting } from '../queue/index.ts';

/** A check that the cause of a pause is gone; it must be safe to repeat (it never posts a password). */
export type PauseProbe = () => Promise<boolean>;

export interface FleetMonitorOptions {
  redis: RedisConnection;
  prefix: string;
  breaker: FleetBreaker;
  accounting: BatchAccounting;
  queues: { discover: Queue; download: Queue };
  logger: Logger;
  /** Per pause reason, how this process can tell the cause is gone. */
  probes: Partial<Record<PauseReason, PauseProbe>>;
  /** How often to look. Default 15 000 ms. */
  everyMs?: number;
  /** Jobs younger than this are left to the event path. Default 30 000 ms. */
  reconcileMinAgeMs?: number;
}

export interface FleetMonitor {
  /** One round now (tests, start-up). */
  tick(): Promise<void>;
  stop(): void;
}

/**
 * Each worker's periodic round: while the fleet is paused, probe whether the cause is gone and
 * resume it; and settle jobs that ended without their event reaching anyone (one process per
 * round does that, under a short Redis lock).
 */
export function startFleetMonitor(options: FleetMonitorOptions): FleetMonitor {
  const everyMs = options.everyMs ?? 15_000;
  const log = options.logger.child({ component: 'fleet' });
  let running: Promise<void> | undefined;
  const reconcileLock = new RedisLock(options.redis, `${options.prefix}:acct:reconcile-lock`, {
    ttlMs: Math.max(1000, everyMs - 100),
  });

  async function round(): Promise<void> {
    await options.breaker.enforce();
    const pause = await options.breaker.current();
    const probe = pause && options.probes[pause.reason];
    if (pause && probe) {
      const gone = await probe().catch(() => false);
      if (gone) await options.breaker.resumeIf([pause.reason], 'probe');
    }
    // One process per round: the lock is kept (not released) until the round's time is up.
    await runExclusive(reconcileLock, { waitMs: 0, onBusy: () => undefined }, async (held) => {
      held.keep();
      const settled = await options.accounting.reconcile(options.queues, {
        minAgeMs: options.reconcileMinAgeMs ?? 30_000,
      });
      if (settled > 0) log.warn({ settled }, 'settled jobs that had ended without an event');
    });
  }

  const tick = () => {
    running ??= round()
      .catch((err: unknown) => log.warn({ err }, 'fleet monitor round failed; trying again later'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return { tick, stop: () => clearInterval(timer) };
}
