import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';

const STATES = [
  'waiting',
  'active',
  'delayed',
  'completed',
  'failed',
  'prioritized',
  'waiting-children',
] as const;

/** Prometheus metrics of the queues, read from Redis on every scrape. */
export function createMetricsRegistry(queues: readonly Queue[]): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'certharvest_board_' });
  new Gauge({
    name: 'certharvest_queue_jobs',
    help: 'Jobs in each certharvest queue, by state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        const counts = await queue.getJobCounts(...STATES);
        for (const state of STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    },
  });
  return registry;
}
