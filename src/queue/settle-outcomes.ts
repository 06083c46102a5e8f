import type { Logger } from '../log/index.ts';
import type { BatchAccounting } from './batch-accounting.ts';
import type { JobEvents } from './job-events.ts';

/**
 * Settle batches from the workers' job lifecycle (`download:settled`, `discover:settled`). This is
 * the fast path; `BatchAccounting.reconcile` settles whatever ended without an event reaching us.
 */
export function settleFromJobEvents(events: JobEvents, accounting: BatchAccounting, logger: Logger): void {
  const settle = (what: Promise<number>, jobId: string) =>
    what.catch((err: unknown) =>
      // Not lost: the job stays open in the accounting and the reconciler settles it later.
      logger.warn({ err, jobId }, 'could not settle a job now; the reconciler will'),
    );
  events.on('download:settled', ({ jobId, outcome }) => {
    void settle(accounting.settleDownload(jobId, outcome), jobId);
  });
  events.on('discover:settled', ({ jobId, outcome, userRef }) => {
    void settle(accounting.settleDiscover(jobId, outcome, userRef), jobId);
  });
}
