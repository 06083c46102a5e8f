import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import type { BatchState } from '../queue/index.ts';
import { withTimeout } from '../util/with-timeout.ts';

/** The states queue depth is reported in; `paused` holds the waiting jobs during a fleet pause. */
const STATES = [
  'waiting',
  'active',
  'delayed',
  'paused',
  'completed',
  'failed',
  'prioritized',
  'waiting-children',
] as const;

/**
 * How a batch ended, as `certharvest_batches_total{state}` counts it: `completed` (the queue's
 * `done`), `failed` (`done-with-failures`) or `cancelled`. The names are the metric's since 0.2.0;
 * the state itself is decided by the queue's `batchState` alone.
 */
export const BATCH_OUTCOME_LABELS = ['completed', 'failed', 'cancelled'] as const;
export type BatchOutcomeLabel = (typeof BATCH_OUTCOME_LABELS)[number];

/** The metric's label for a batch's state; null for a batch still running (or cancelling). */
export function batchOutcomeLabel(state: BatchState): BatchOutcomeLabel | null {
  switch (state) {
    case 'done':
      return 'completed';
    case 'done-with-failures':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return null;
  }
}

/** A scrape never waits longer than this on Redis for the queue counts. */
const QUEUE_COUNTS_TIMEOUT_MS = 800;

/**
 * Queue depth under its one name, `certharvest_queue_jobs{queue,state}`, for the board and every
 * worker alike (BullMQ's own `bullmq_job_count` is not exported). Read from Redis on each scrape;
 * when Redis is slow or down the family is left empty rather than holding the scrape.
 */
export function registerQueueDepth(registry: Registry, queues: readonly Queue[]): void {
  new Gauge({
    name: 'certharvest_queue_jobs',
    help: 'Jobs in each certharvest queue, by state (fleet-wide: the same on every process).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const all = await withTimeout(
        Promise.all(queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts(...STATES) }))),
        QUEUE_COUNTS_TIMEOUT_MS,
        'queue counts',
      ).catch(() => undefined);
      this.reset();
      for (const { name, counts } of all ?? []) {
        for (const state of STATES) this.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  });
}

/** The board's Prometheus metrics: queue depth and its process's default metrics. */
export function createMetricsRegistry(queues: readonly Queue[]): Registry {
  const registry = new Registry();
  // Unprefixed, as stock Node.js dashboards expect; a registry of its own, so a demo process that
  // also runs a worker registers them once per registry, never twice in one.
  collectDefaultMetrics({ register: registry });
  registerQueueDepth(registry, queues);
  return registry;
}
