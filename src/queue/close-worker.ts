import type { Worker } from 'bullmq';

/** How long a worker's close may take before it is given up (the jobs' grace comes before it). */
export const WORKER_CLOSE_TIMEOUT_MS = 5_000;

/**
 * Close a BullMQ worker within `timeoutMs`; false when the close was given up. After a Redis
 * Cluster failover an idle worker's blocking connection (its own cluster client) can be caught
 * between a disconnect and a reconnect, and BullMQ's close() then waits for an `end` event that
 * never comes (taskforcesh/bullmq#4656, #4138). Given up, the worker is still closing: it takes no
 * new job, and its connection goes with the process (the CLI exits once stopped).
 */
export async function closeWorker(
  worker: Pick<Worker, 'close'>,
  options: { force?: boolean; timeoutMs?: number } = {},
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), options.timeoutMs ?? WORKER_CLOSE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([worker.close(options.force ?? false).then(() => true as const), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}
