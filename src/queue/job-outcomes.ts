/**
 * What a job's end says for its batches, read from what BullMQ holds: the return value of a
 * completed job, the error (or the recorded reason) of a failed one, the user a discover job was
 * about. Everything here is parsed with a schema, never cast: a return value is read back from
 * Redis, and may have been written by a worker of another version.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import {
  completedDownloadSchema,
  type CertificateSettlement,
  type FailureFacts,
} from '../certificate/index.ts';
import { rejectedAwardSchema, type RejectedAward } from './job-data.ts';

/** A discover job's end, as its batch is settled by it. */
export type DiscoverSettlement =
  /** Removed from the queue by `cancel` before it ran. */
  | { status: 'cancelled' }
  | {
      status: 'done';
      badges?: number;
      /** Some of the unusable awards, listed; `rejectedCount` counts them all. */
      rejected?: readonly RejectedAward[];
      rejectedCount?: number;
      /** Certificates the job downloaded itself and stored (its return value says; 0 when not). */
      stored?: number;
    }
  | ({ status: 'failed' } & FailureFacts);

/**
 * What a completed download job's return value says for its batches. A value this version cannot
 * read (a worker of another version, a job added by hand) still means the job completed, so the PDF
 * is stored; where it lies is not known, and the batch records it without a file.
 */
export function downloadSettlement(result: unknown): CertificateSettlement {
  const read = completedDownloadSchema.safeParse(result);
  return read.success ? read.data : { status: 'stored' };
}

/** The parts of a discover job's return value its batch counts; what does not parse counts as none. */
const discoverReturnSchema = z.lazy(() =>
  z.object({
    badgesIgnored: z.number().catch(0),
    rejected: z.array(z.unknown()).catch([]),
    rejectedCount: z.number().optional().catch(undefined),
    stored: z.number().catch(0),
  }),
);

/** What a completed discover job's return value says for its batch. */
export function discoverSettlement(result: unknown): DiscoverSettlement {
  const read = discoverReturnSchema.safeParse(result);
  const r = read.success
    ? read.data
    : { badgesIgnored: 0, rejected: [], rejectedCount: undefined, stored: 0 };
  const rejected = r.rejected.flatMap((entry) => {
    const award = rejectedAwardSchema.safeParse(entry);
    return award.success ? [award.data] : [];
  });
  return {
    status: 'done',
    badges: r.badgesIgnored,
    rejected,
    rejectedCount: r.rejectedCount ?? rejected.length,
    stored: r.stored,
  };
}

const userReferenceSchema = z.lazy(() =>
  z.object({ by: z.string(), value: z.union([z.string(), z.number()]) }),
);

/** `userName jdoe` from a discover job's data, leniently (the data may be what failed). */
export function userRefOf(job: Pick<Job, 'data' | 'id'>): string {
  const d = userReferenceSchema.safeParse(job.data);
  return d.success ? `${d.data.by} ${String(d.data.value).slice(0, 100)}` : `job ${job.id ?? '?'}`;
}

/** A stable code, as our errors carry it in their `code` field. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]+$/;

/**
 * The code and reason of a job's failure: the error's code when it has one of ours, else
 * `JOB_STALLED` (the stalled checker failed it) or `JOB_FAILED`.
 */
export function failureOf(job: Pick<Job, 'stalledCounter'>, err: Error): FailureFacts {
  const code = 'code' in err && typeof err.code === 'string' && ERROR_CODE.test(err.code) ? err.code : null;
  return {
    code: code ?? (job.stalledCounter > 0 ? 'JOB_STALLED' : 'JOB_FAILED'),
    reason: err.message.slice(0, 1000),
  };
}

/** The failure of a job BullMQ failed without its event reaching us, from the job's record. */
export const failureOfEndedJob = (job: Pick<Job, 'stalledCounter' | 'failedReason'>): FailureFacts =>
  failureOf(job, new Error(job.failedReason || 'failed'));
