import type { WebSession } from '../browser/index.ts';
import type { Logger } from '../log/index.ts';
import type { JobEvents } from '../queue/index.ts';

/** How often a running worker logs one progress line. */
export const PROGRESS_EVERY_MS = 30_000;

/**
 * One periodic log line with what this process did since the last one: jobs completed and failed
 * per queue, certificates stored per second (by discover jobs, which download what they find, and
 * by download jobs), web logins, and the failure codes seen (a small histogram).
 */
export function logProgress(
  logger: Logger,
  events: JobEvents,
  session: WebSession | undefined,
  everyMs = PROGRESS_EVERY_MS,
): () => void {
  const counts = { discover: { done: 0, attemptsFailed: 0 }, download: { done: 0, attemptsFailed: 0 } };
  const codes = new Map<string, number>();
  let stored = 0;
  events.on('job:completed', ({ queue }) => counts[queue].done++);
  events.on('download:settled', ({ outcome }) => {
    if (outcome.status === 'stored') stored++;
  });
  events.on('discover:settled', ({ outcome }) => {
    if (outcome.status === 'done') stored += outcome.stored ?? 0;
  });
  events.on('job:attempt-failed', ({ queue, code }) => {
    counts[queue].attemptsFailed++;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  });
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
          stored,
          downloadsPerSecond: Number((stored / seconds).toFixed(2)),
          webLogins: session?.stats.logins ?? 0,
          failures: Object.fromEntries(codes),
        },
        'progress',
      );
    }
    counts.discover = { done: 0, attemptsFailed: 0 };
    counts.download = { done: 0, attemptsFailed: 0 };
    codes.clear();
    stored = 0;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
