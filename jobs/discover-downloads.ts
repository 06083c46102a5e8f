/**
 * The certificates a discover job found, downloaded by that job: one BullMQ job per user instead
 * of one per certificate (each job costs BullMQ ~34 Redis commands and a few milliseconds of CPU;
 * see docs/architecture.md, "The job model").
 *
 * Each certificate is downloaded in one of this worker's slots (`inFlight`: fetching or storing;
 * its LMS request in `lmsSlots`, shared with the download jobs), and what happened to it is
 * decided by the failure policy, as for a download job:
 *   - stored, already stored, or given up (a PDF that is not one, a 404): settled with the
 *     others, in one accounting script for the whole job;
 *   - anything else (a 429 to wait out, a timeout to retry, a refused token): handed to a
 *     download job of its own, under the same job id, which retries it with the queue's backoff
 *     and settles it. A `pause` (a condition that hits every request) also pauses the fleet at
 *     once, and the certificates not started yet are handed off without a request.
 * A worker killed mid-job leaves the certificates open; the job runs again (BullMQ's stalled
 * checker) and finds them open or stored, so each is settled once and stored whole once.
 */
import type { Queue } from 'bullmq';
import { certificateRef, type Certificate, type CertificateOutcome } from '../src/certificate/index.ts';
import { decide, type Decision } from '../src/failure/failure-policy.ts';
import { pauseFor, type FleetControl } from '../src/failure/handle-job-error.ts';
import type { Logger } from '../src/log/index.ts';
import {
  MAX_REJECTED_LISTED,
  type BatchAccounting,
  type DownloadJobData,
  type RejectedAward,
} from '../src/queue/index.ts';
import { downloadCertificate, type CertificateDownloadDeps } from './certificate-download.ts';

export interface InJobDownloadDeps extends CertificateDownloadDeps {
  /** This worker's certificates in flight, fetching or storing, across its discover jobs. */
  inFlight: <T>(work: () => Promise<T>) => Promise<T>;
  downloadQueue: Queue<DownloadJobData>;
  accounting: BatchAccounting;
  fleet: FleetControl;
  /** Heard for each certificate this job settles (the worker's metrics). */
  onDownloadEnded?: ((outcome: CertificateOutcome, seconds: number) => void) | undefined;
}

/** A certificate the batch opened a download for, under `jobId`, with what its job needs. */
export interface OpenDownload {
  certificate: Certificate;
  certKey: string;
  jobId: string;
  /** Discovery found it absent from the store moments ago (else it looks first). */
  checkedAbsent?: boolean;
}

export interface InJobDownloadsContext {
  batchId: string;
  userRef: string;
  refresh: boolean;
  logger: Logger;
}

/** What the job did with its certificates. */
export interface InJobDownloads {
  stored: number;
  alreadyStored: number;
  failed: number;
  /** The first MAX_REJECTED_LISTED of the failed ones, with why (the board shows the job's return value). */
  failures: RejectedAward[];
  /** Handed to download jobs of their own (to retry, or to run once the fleet resumes). */
  handedOff: number;
}

/** Download `open` in this job (see the module comment); resolves when each is settled or handed off. */
export async function downloadInJob(
  deps: InJobDownloadDeps,
  open: readonly OpenDownload[],
  ctx: InJobDownloadsContext,
): Promise<InJobDownloads> {
  const settled: { jobId: string; outcome: CertificateOutcome }[] = [];
  const handOff: OpenDownload[] = [];
  const failures: RejectedAward[] = [];
  let paused: Decision | undefined;
  const one = async (d: OpenDownload): Promise<void> => {
    if (paused) {
      handOff.push(d);
      return;
    }
    const started = performance.now();
    const log = (line: string) => ctx.logger.debug({ issuedId: d.certificate.issuedId }, line);
    try {
      const outcome = await downloadCertificate(deps, d.certificate, {
        refresh: ctx.refresh,
        checkedAbsent: d.checkedAbsent,
        userRef: ctx.userRef,
        summary: log,
        step: log,
      });
      settled.push({ jobId: d.jobId, outcome });
      deps.onDownloadEnded?.(outcome, (performance.now() - started) / 1000);
    } catch (err) {
      const decision = decide(err);
      if (decision.action === 'give-up') {
        const outcome = { status: 'failed' as const, code: decision.code, reason: decision.message };
        settled.push({ jobId: d.jobId, outcome });
        if (failures.length < MAX_REJECTED_LISTED)
          failures.push({
            ref: certificateRef(d.certificate),
            code: decision.code,
            reason: decision.message,
          });
        deps.onDownloadEnded?.(outcome, (performance.now() - started) / 1000);
        return;
      }
      handOff.push(d);
      if (decision.action === 'pause' && !paused) {
        paused = decision;
        await pauseFor(deps.fleet, decision);
      }
    }
  };
  await Promise.all(open.map((d) => deps.inFlight(() => one(d))));
  await handOffDownloads(deps.downloadQueue, handOff, ctx);
  await deps.accounting.settleDownloads(settled);
  const count = (status: CertificateOutcome['status']) =>
    settled.filter((s) => s.outcome.status === status).length;
  return {
    stored: count('stored'),
    alreadyStored: count('already-stored'),
    failed: count('failed'),
    failures,
    handedOff: handOff.length,
  };
}

/** Download jobs for `open`, under their open job ids (adding an id that exists is a no-op). */
export async function handOffDownloads(
  queue: Queue<DownloadJobData>,
  open: readonly OpenDownload[],
  ctx: Pick<InJobDownloadsContext, 'batchId' | 'userRef' | 'refresh'>,
): Promise<void> {
  if (open.length === 0) return;
  await queue.addBulk(
    open.map((d) => ({
      name: `${d.certificate.orgUnitId}-${d.certificate.issuedId}`,
      data: {
        ...d.certificate,
        batchId: ctx.batchId,
        certKey: d.certKey,
        userRef: ctx.userRef,
        ...(ctx.refresh ? { refresh: true } : {}),
      },
      opts: { jobId: d.jobId },
    })),
  );
}
