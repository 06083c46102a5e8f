/**
 * The certificates a discover job found, downloaded by that job: one BullMQ job for several users
 * instead of one per certificate (each job costs BullMQ ~34 Redis commands and a few milliseconds
 * of CPU; see docs/architecture.md, "The job model").
 *
 * Each certificate is downloaded in one of this worker's slots (`inFlight`: fetching or storing;
 * its LMS request in `lmsSlots`, shared with the download jobs), and what happened to it is
 * decided by the failure policy, as for a download job:
 *   - stored, already stored, or given up (a PDF that is not one, a 404): settled with the
 *     others, in one accounting script for the whole job (`finish()`);
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

/** What the job did with one user's certificates (counted as each is decided). */
export interface InJobDownloads {
  stored: number;
  alreadyStored: number;
  failed: number;
  /** Handed to download jobs of their own (to retry, or to run once the fleet resumes). */
  handedOff: number;
}

/**
 * The certificates one discover job downloads, for one user or several: each is decided as it
 * ends; `finish()` then hands off what may succeed later and settles the rest in one script.
 */
export class JobDownloads {
  readonly #deps: InJobDownloadDeps;
  readonly #settled: { jobId: string; outcome: CertificateOutcome }[] = [];
  readonly #handOff: { d: OpenDownload; ctx: InJobDownloadsContext }[] = [];
  /** The first MAX_REJECTED_LISTED that failed for good, with why (the board shows the job's return value). */
  readonly failures: RejectedAward[] = [];
  #paused: Decision | undefined;

  constructor(deps: InJobDownloadDeps) {
    this.#deps = deps;
  }

  /** The fleet was paused by one of this job's certificates: start nothing more. */
  get paused(): boolean {
    return this.#paused !== undefined;
  }

  /** Download one user's `open` certificates (see the module comment); resolves when each is decided. */
  async run(open: readonly OpenDownload[], ctx: InJobDownloadsContext): Promise<InJobDownloads> {
    const counts: InJobDownloads = { stored: 0, alreadyStored: 0, failed: 0, handedOff: 0 };
    await Promise.all(open.map((d) => this.#deps.inFlight(() => this.#one(d, ctx, counts))));
    return counts;
  }

  async #one(d: OpenDownload, ctx: InJobDownloadsContext, counts: InJobDownloads): Promise<void> {
    if (this.#paused) {
      this.#handOff.push({ d, ctx });
      counts.handedOff++;
      return;
    }
    const started = performance.now();
    const log = (line: string) => ctx.logger.debug({ issuedId: d.certificate.issuedId }, line);
    const ended = (outcome: CertificateOutcome) => {
      this.#settled.push({ jobId: d.jobId, outcome });
      if (outcome.status === 'stored') counts.stored++;
      else if (outcome.status === 'already-stored') counts.alreadyStored++;
      else counts.failed++;
      this.#deps.onDownloadEnded?.(outcome, (performance.now() - started) / 1000);
    };
    try {
      ended(
        await downloadCertificate(this.#deps, d.certificate, {
          refresh: ctx.refresh,
          checkedAbsent: d.checkedAbsent,
          userRef: ctx.userRef,
          summary: log,
          step: log,
        }),
      );
    } catch (err) {
      const decision = decide(err);
      if (decision.action === 'give-up') {
        if (this.failures.length < MAX_REJECTED_LISTED)
          this.failures.push({
            ref: certificateRef(d.certificate),
            code: decision.code,
            reason: decision.message,
          });
        ended({ status: 'failed', code: decision.code, reason: decision.message });
        return;
      }
      this.#handOff.push({ d, ctx });
      counts.handedOff++;
      if (decision.action === 'pause' && !this.#paused) {
        this.#paused = decision;
        await pauseFor(this.#deps.fleet, decision);
      }
    }
  }

  /** Hand off what may succeed later, then settle every certificate decided, in one script. */
  async finish(): Promise<void> {
    await handOffDownloads(this.#deps.downloadQueue, this.#handOff);
    await this.#deps.accounting.settleDownloads(this.#settled);
  }
}

/** Download jobs for `open`, under their open job ids (adding an id that exists is a no-op). */
export async function handOffDownloads(
  queue: Queue<DownloadJobData>,
  open: readonly { d: OpenDownload; ctx: Pick<InJobDownloadsContext, 'batchId' | 'userRef' | 'refresh'> }[],
): Promise<void> {
  if (open.length === 0) return;
  await queue.addBulk(
    open.map(({ d, ctx }) => ({
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
