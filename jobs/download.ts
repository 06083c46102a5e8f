/**
 * A download job: one certificate in a job of its own. Most certificates are downloaded by their
 * user's discover job (jobs/discover-downloads.ts); a download job is a certificate that failed
 * there and is tried again with the queue's retries, or one a raw BullMQ producer added.
 *
 *   1. parse the job data into a `Certificate` (malformed → fails at once, with the reason);
 *   2. download it (jobs/certificate-download.ts): already stored, or fetched, checked, published.
 *
 * Errors go through the failure policy (`handleJobError`); the outcome settles every batch that
 * waits for this certificate (`BatchAccounting`, from the job's completed/failed event).
 */
import type { Processor } from 'bullmq';
import type { DownloadResult } from '../src/certificate/index.ts';
import type { Logger } from '../src/log/index.ts';
import { downloadJobSchema, type DownloadJobData } from '../src/queue/index.ts';
import { handleJobError, type FleetControl } from '../src/failure/handle-job-error.ts';
import { parseJobData } from '../src/failure/parse-job-data.ts';
import { downloadCertificate, type CertificateDownloadDeps } from './certificate-download.ts';
import { jobLog, type JobLog } from './job-logger.ts';

export interface DownloadDeps extends CertificateDownloadDeps {
  fleet: FleetControl;
  logger: Logger;
}

export function createDownloadProcessor(deps: DownloadDeps): Processor<DownloadJobData, DownloadResult> {
  return async (job, token) => {
    let jl: JobLog | undefined;
    try {
      const data = parseJobData(downloadJobSchema, job.data, 'download');
      const { batchId, certKey: _certKey, userRef, refresh, ...certificate } = data;
      jl = jobLog(job, deps.logger.child({ jobId: job.id, batchId, issuedId: certificate.issuedId }));
      return await downloadCertificate(deps, certificate, {
        refresh,
        userRef,
        summary: jl.summary,
        step: jl.step,
      });
    } catch (err) {
      jl?.flush();
      throw await handleJobError(job, token, err, deps.fleet);
    }
  };
}
