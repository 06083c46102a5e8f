import type { Worker } from 'bullmq';
import type { WebSession } from '../browser/index.ts';
import type { Logger } from '../log/index.ts';

/** How often a running worker logs one progress line. */
export const PROGRESS_EVERY_MS = 30_000;

/**
 * One periodic log line with what this process did since the last one: jobs completed and failed
 * per queue, downloads per second, web logins, and the failure codes seen (a small histogram).
 */
export function logProgress(
  logger: Logger,
  workers: { discover: Worker; download: Worker },
  session: WebSession | undefined,
  everyMs = PROGRESS_EVERY_MS,
): () => void {
  const counts = { discover: { done: 0, attemptsFailed: 0 }, download: { done: 0, attemptsFailed: 0 } };
  const codes = new Map<string, number>();
  for (const [name, worker] of Object.entries(workers) as [keyof typeof counts, Worker][]) {
    worker.on('completed', () => counts[name].done++);
    worker.on('failed', (_job, err) => {
      counts[name].attemptsFailed++;
      const code = (err as { code?: unknown }).code;
      const key = typeof code === 'string' ? code : err.name;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    });
  }
  let last = Date.now();
  const timer = setInterval(() => {
    const seconds = (Date.now() - last) / 1000;
    last = Date.now();
    const active =
      counts.discover.done +
      counts.discover.attemptsFailed +
      counts.download.done +
      counts.download.attemptsFailed;
    if (active > 0) {
      logger.info(
        {
          discover: { ...counts.discover },
          download: { ...counts.download },
          downloadsPerSecond: Number((counts.download.done / seconds).toFixed(2)),
          webLogins: session?.stats.logins ?? 0,
          failures: Object.fromEntries(codes),
        },
        'progress',
      );
    }
    counts.discover = { done: 0, attemptsFailed: 0 };
    counts.download = { done: 0, attemptsFailed: 0 };
    codes.clear();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
