import type { Job, Worker } from 'bullmq';
import type { Logger } from '../log/index.ts';
import {
  discoverSettlement,
  downloadSettlement,
  userRefOf,
  type BatchAccounting,
  type FailureFacts,
} from './batch-accounting.ts';

/**
 * Settle batches from the workers' job lifecycle: `completed`, and `failed` when BullMQ has
 * finished the job (no retry left, given up, failed by the stalled checker). This is the fast
 * path; `BatchAccounting.reconcile` settles whatever ended without an event reaching us.
 */
export function settleFromWorkerEvents(
  workers: { discover: Worker; download: Worker },
  accounting: BatchAccounting,
  logger: Logger,
): void {
  const settle = (what: Promise<number>, job: Job) =>
    what.catch((err: unknown) =>
      // Not lost: the job stays open in the accounting and the reconciler settles it later.
      logger.warn({ err, jobId: job.id }, 'could not settle a job now; the reconciler will'),
    );

  workers.download.on('completed', (job, result: unknown) => {
    void settle(accounting.settleDownload(String(job.id), downloadSettlement(result)), job);
  });
  workers.download.on('failed', (job, err) => {
    if (!job?.id || !job.finishedOn) return;
    void settle(accounting.settleDownload(job.id, { status: 'failed', ...failureOf(job, err) }), job);
  });
  workers.discover.on('completed', (job, result: unknown) => {
    void settle(accounting.settleDiscover(String(job.id), discoverSettlement(result), userRefOf(job)), job);
  });
  workers.discover.on('failed', (job, err) => {
    if (!job?.id || !job.finishedOn) return;
    void settle(
      accounting.settleDiscover(job.id, { status: 'failed', ...failureOf(job, err) }, userRefOf(job)),
      job,
    );
  });
}

/** The code (a field of our errors) and reason of a job's final failure. */
export function failureOf(job: Pick<Job, 'stalledCounter'>, err: Error): FailureFacts {
  const code = (err as { code?: unknown }).code;
  return {
    code:
      typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)
        ? code
        : job.stalledCounter > 0
          ? 'JOB_STALLED'
          : 'JOB_FAILED',
    reason: err.message.slice(0, 1000),
  };
}
