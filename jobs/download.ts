/**
 * What happens to one certificate: the download processor, top to bottom.
 *
 *   1. parse the job data into a `Certificate` (malformed → fails at once, with the reason);
 *   2. already stored whole for this LMS? → done, nothing downloaded;
 *   3. fetch the PDF the cheapest way that works (bearer API route, else the web session),
 *      streaming it into the store's temp file with a byte limit;
 *   4. check the bytes are a whole PDF;
 *   5. publish it atomically beside its sidecar, and return the result (`DownloadResult`, one of
 *      the certificate's result schema in src/certificate/result.ts).
 *
 * Errors go through the failure policy (`handleJobError`); the outcome settles every batch that
 * waits for this certificate (`BatchAccounting`, from the job's completed/failed event).
 */
import type { Processor } from 'bullmq';
import type { Certificate, CertificateSource, DownloadResult } from '../src/certificate/index.ts';
import type { DownloadStrategy } from '../src/config/index.ts';
import type { CertificateFetcher } from '../src/lms/index.ts';
import type { Logger } from '../src/log/index.ts';
import { assertWholePdf, type PdfResponseFacts, type PdfSink } from '../src/pdf/index.ts';
import { downloadJobSchema, type DownloadJobData } from '../src/queue/index.ts';
import type { CertificateStore } from '../src/storage/index.ts';
import { ApiRouteMissingError, ApiSupportMemo } from '../src/failure/api-support.ts';
import { handleJobError, type FleetControl } from '../src/failure/handle-job-error.ts';
import { parseJobData } from '../src/failure/parse-job-data.ts';
import { jobLog, type JobLog } from './job-logger.ts';

export interface DownloadDeps {
  store: CertificateStore;
  fetcher: CertificateFetcher;
  strategy: DownloadStrategy;
  /** Remembers whether this tenant serves the bearer `/pdf` route (asked once per process). */
  apiSupport: ApiSupportMemo;
  fleet: FleetControl;
  logger: Logger;
  /**
   * Admits one LMS request of this worker (DOWNLOAD_CONCURRENCY at a time). The worker runs more
   * jobs than that, so a certificate waiting for its fsyncs does not hold an LMS slot: the LMS
   * sees a steady DOWNLOAD_CONCURRENCY requests whatever the disk does. Default: no limit.
   */
  lmsSlots?: <T>(request: () => Promise<T>) => Promise<T>;
}

export function createDownloadProcessor(deps: DownloadDeps): Processor<DownloadJobData, DownloadResult> {
  return async (job, token) => {
    let jl: JobLog | undefined;
    try {
      const data = parseJobData(downloadJobSchema, job.data, 'download');
      const { batchId, certKey: _certKey, userRef, refresh, ...certificate } = data;
      jl = jobLog(job, deps.logger.child({ jobId: job.id, batchId, issuedId: certificate.issuedId }));
      const log = jl.step;

      // A refresh fetches it again; the store keeps the old file unless the new one is whole.
      const present = refresh ? null : await deps.store.existing(certificate);
      if (present) {
        jl.summary(`already stored (sha256 ${present.sha256.slice(0, 12)}…): nothing to download`);
        return { status: 'already-stored', ...present };
      }

      const incoming = deps.store.receive(certificate);
      try {
        const fetch = () => fetchCertificate(deps, certificate, incoming, log);
        const { facts, source } = await (deps.lmsSlots ? deps.lmsSlots(fetch) : fetch());
        assertWholePdf(incoming.evidence, facts);
        const saved = await deps.store.commit(certificate, incoming, source, {
          knownAbsent: !refresh,
          ...(userRef ? { userRef } : {}),
        });
        jl.summary(
          `${saved.status} ${saved.path} via ${source} (${saved.bytes} bytes, sha256 ${saved.sha256.slice(0, 12)}…)`,
        );
        return saved;
      } finally {
        await incoming.discard();
      }
    } catch (err) {
      jl?.flush();
      throw await handleJobError(job, token, err, deps.fleet);
    }
  };
}

/** The bearer API route when the tenant has it (and the strategy allows), else the web session. */
async function fetchCertificate(
  deps: DownloadDeps,
  certificate: Certificate,
  sink: PdfSink,
  log: (line: string) => void,
): Promise<{ facts: PdfResponseFacts; source: CertificateSource }> {
  if (deps.strategy !== 'browser' && deps.apiSupport.worthTrying()) {
    const answer = await deps.fetcher.viaApi(certificate, sink);
    if (answer !== 'unsupported') {
      deps.apiSupport.record(true);
      return { facts: answer, source: 'api' };
    }
    deps.apiSupport.record(false);
    if (deps.strategy === 'api') throw new ApiRouteMissingError();
    log('this LMS has no bearer PDF route: using the web session from now on');
  } else if (deps.strategy === 'api') {
    throw new ApiRouteMissingError();
  }
  return { facts: await deps.fetcher.viaBrowser(certificate, sink, log), source: 'browser' };
}
