/**
 * The workers' job lifecycle as typed events. BullMQ's `completed` and `failed` say less than the
 * fleet needs: a `failed` is either one attempt of several or the job's end. This module decides
 * that once (BullMQ sets `finishedOn` only when the job has ended: no retry left, given up, failed
 * by the stalled checker) and turns each event into what it means:
 *
 *   download:settled     a download job ended (its outcome: stored, already stored or failed)
 *   discover:settled     a discover job ended (its outcome, and the user as the batch named them)
 *   job:attempt-failed   one attempt failed (`final` when it was the job's last)
 *   job:completed        a job completed (any queue)
 *
 * Accounting, metrics, the progress log and the outage clock subscribe here; none of them reads
 * BullMQ's events or `finishedOn` itself.
 */
import type { Job, Worker } from 'bullmq';
import type { CertificateSettlement, FailureFacts } from '../certificate/index.ts';
import {
  discoverSettlement,
  downloadSettlement,
  failureOf,
  userRefOf,
  type DiscoverSettlement,
} from './job-outcomes.ts';

export type JobQueueName = 'discover' | 'download';

export interface JobEventMap {
  'download:settled': {
    job: Job;
    jobId: string;
    outcome: CertificateSettlement;
    seconds: number | undefined;
  };
  'discover:settled': { job: Job; jobId: string; outcome: DiscoverSettlement; userRef: string };
  'job:attempt-failed': { queue: JobQueueName; job: Job; code: string; error: Error; final: boolean };
  'job:completed': { queue: JobQueueName; job: Job };
}

export type JobEventName = keyof JobEventMap;
type Listener<K extends JobEventName> = (event: JobEventMap[K]) => void;

/** Subscribe to the typed job events of a worker pair (see the module comment). */
export interface JobEvents {
  on<K extends JobEventName>(name: K, listener: Listener<K>): void;
}

/** How long a job ran (its last attempt), in seconds, when BullMQ recorded both ends. */
const secondsOf = (job: Job): number | undefined =>
  job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : undefined;

/**
 * The typed events of `workers`. Listeners run in the order they subscribed; one that throws is
 * reported to `onListenerError` and does not stop the others.
 */
export function jobEvents(
  workers: { discover: Worker; download: Worker },
  onListenerError: (err: unknown, name: JobEventName) => void = () => {},
): JobEvents {
  const listeners = new Map<JobEventName, Listener<never>[]>();
  const emit = <K extends JobEventName>(name: K, event: JobEventMap[K]) => {
    for (const listener of listeners.get(name) ?? []) {
      try {
        (listener as Listener<K>)(event);
      } catch (err) {
        onListenerError(err, name);
      }
    }
  };

  /** A job ended: its outcome, from its failure or else its return value (read with a schema). */
  const settled = (
    queue: JobQueueName,
    job: Job,
    jobId: string,
    failure: FailureFacts | null,
    result?: unknown,
  ) => {
    const failed = failure ? { status: 'failed' as const, ...failure } : null;
    if (queue === 'download') {
      const outcome = failed ?? downloadSettlement(result);
      emit('download:settled', { job, jobId, outcome, seconds: secondsOf(job) });
    } else {
      const outcome = failed ?? discoverSettlement(result);
      emit('discover:settled', { job, jobId, outcome, userRef: userRefOf(job) });
    }
  };

  for (const queue of ['discover', 'download'] as const) {
    const worker = workers[queue];
    worker.on('completed', (job: Job, result: unknown) => {
      emit('job:completed', { queue, job });
      settled(queue, job, String(job.id), null, result);
    });
    worker.on('failed', (job: Job | undefined, error: Error) => {
      if (!job) return;
      const final = Boolean(job.finishedOn);
      const facts = failureOf(job, error);
      emit('job:attempt-failed', { queue, job, code: facts.code, error, final });
      if (final && job.id) settled(queue, job, job.id, facts);
    });
  }
  return {
    on(name, listener) {
      const list = listeners.get(name) ?? [];
      list.push(listener as Listener<never>);
      listeners.set(name, list);
    },
  };
}
