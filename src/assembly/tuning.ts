/** Timing knobs of a worker; the defaults suit production, tests shorten them. */
export interface WorkerTuning {
  /** BullMQ job lock; renewed every half of it while a job runs. Default 15 000 ms. */
  lockDurationMs: number;
  /** How often a worker looks for jobs whose lock expired (a killed worker's). Default 10 000 ms. */
  stalledIntervalMs: number;
  /** Stalls a job may survive before it fails. Default 1. */
  maxStalledCount: number;
  /** The fleet monitor's round (pause probes, reconcile). Default 15 000 ms. */
  monitorEveryMs: number;
  /** Jobs younger than this are left to the event path by the reconciler. Default 30 000 ms. */
  reconcileMinAgeMs: number;
  /** How often a worker says "alive" and re-checks a fault of its own. Default 5 000 ms. */
  localCheckEveryMs: number;
}

export const DEFAULT_TUNING: WorkerTuning = {
  lockDurationMs: 15_000,
  stalledIntervalMs: 10_000,
  maxStalledCount: 1,
  monitorEveryMs: 15_000,
  reconcileMinAgeMs: 30_000,
  localCheckEveryMs: 5_000,
};
