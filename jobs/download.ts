/**
 * What happens to one certificate: the download processor, top to bottom.
 *
 *   1. parse the job data (ids only; malformed → fails at once, with the reason);
 *   2. already on disk with a whole PDF? → done, nothing downloaded;
 *   3. fetch the PDF the cheapest way that works (bearer API route, else the browser session);
 *   4. check the bytes are a whole PDF;
 *   5. store it atomically beside its metadata sidecar;
 *   6. credit every batch that waits for this certificate.
 */
import type { Job, Processor } from 'bullmq';
import type { DownloadStrategy } from '../src/config/index.ts';
import type { Logger } from '../src/log/index.ts';
import { assertWholePdf } from '../src/pdf/index.ts';
import {
  BatchTracker,
  downloadJobSchema,
  type DownloadJobData,
  type DownloadResult,
} from '../src/queue/index.ts';
import type { CertificateStore } from '../src/storage/index.ts';
import { handleJobFailure } from '../src/worker/failure.ts';
import { parseJobData } from '../src/worker/parse-job-data.ts';
import type { CertificateFetcher, PdfBody } from '../src/worker/ports.ts';
import { ApiRouteMissingError, ApiSupportMemo } from '../src/worker/api-support.ts';

export interface DownloadDeps {
  store: CertificateStore;
  tracker: BatchTracker;
  fetcher: CertificateFetcher;
  strategy: DownloadStrategy;
  /** Remembers whether this tenant serves the bearer `/pdf` route (asked once per process). */
  apiSupport: ApiSupportMemo;
  lmsHost: string;
  logger: Logger;
}

export function createDownloadProcessor(deps: DownloadDeps): Processor<DownloadJobData, DownloadResult> {
  return async (job, token) => {
    const data = parseJobData(downloadJobSchema, job.data, 'download');
    const log = jobLogger(
      job,
      deps.logger.child({ jobId: job.id, batchId: data.batchId, issuedId: data.issuedId }),
    );
    try {
      const present = await deps.store.existing(data);
      if (present) {
        log(
          `already stored with the same bytes (sha256 ${present.sha256.slice(0, 12)}…): nothing to download`,
        );
        await deps.tracker.certificateFinished(data.certKey, { status: 'already-present' });
        return result(
          data,
          'already-present',
          deps.store.paths(data).pdf,
          present.sha256,
          present.bytes,
          'disk',
        );
      }

      const { body, source } = await fetchCertificate(deps, data, log);
      assertWholePdf(body.bytes, body);
      log(`received a whole PDF (${body.bytes.length} bytes) via ${source}`);

      const saved = await deps.store.save(
        {
          userId: data.userId,
          orgUnitId: data.orgUnitId,
          issuedId: data.issuedId,
          awardId: data.awardId,
          title: data.title,
          issuedDate: data.issuedDate,
          source,
          lmsHost: deps.lmsHost,
          ...(data.userRef ? { userRef: data.userRef } : {}),
        },
        body.bytes,
      );
      log(`stored ${saved.paths.pdf} (sha256 ${saved.sha256.slice(0, 12)}…)`);
      await deps.tracker.certificateFinished(data.certKey, {
        status: saved.status === 'stored' ? 'stored' : 'already-present',
      });
      return result(
        data,
        saved.status === 'stored' ? 'stored' : 'already-present',
        saved.paths.pdf,
        saved.sha256,
        saved.bytes,
        source,
      );
    } catch (err) {
      throw await handleJobFailure(job, token, err, {
        onFinal: async (f) => {
          await deps.tracker.certificateFinished(data.certKey, {
            status: 'failed',
            ref: `${data.orgUnitId}-${data.issuedId} (user ${data.userId})`,
            code: f.code,
            reason: f.message,
          });
        },
      });
    }
  };
}

/** The bearer API route when the tenant has it (and the strategy allows), else the browser. */
async function fetchCertificate(
  deps: DownloadDeps,
  data: DownloadJobData,
  log: (line: string) => void,
): Promise<{ body: PdfBody; source: 'api' | 'browser' }> {
  if (deps.strategy !== 'browser' && deps.apiSupport.worthTrying()) {
    log(`fetching via the bearer API route /issued/certificates/${data.issuedId}/pdf`);
    const answer = await deps.fetcher.viaApi(data.issuedId);
    if (answer !== 'unsupported') {
      deps.apiSupport.record(true);
      return { body: answer, source: 'api' };
    }
    deps.apiSupport.record(false);
    if (deps.strategy === 'api') throw new ApiRouteMissingError();
    log('this LMS has no bearer PDF route: using the browser session from now on');
  } else if (deps.strategy === 'api') {
    throw new ApiRouteMissingError();
  }
  log(
    `fetching the render URL for org unit ${data.orgUnitId}, issued ${data.issuedId} via the browser session`,
  );
  return { body: await deps.fetcher.viaBrowser(data.orgUnitId, data.issuedId, log), source: 'browser' };
}

function result(
  data: DownloadJobData,
  status: DownloadResult['status'],
  path: string,
  sha256: string,
  bytes: number,
  source: DownloadResult['source'],
): DownloadResult {
  return { status, path, sha256, bytes, source, title: data.title };
}

/** A step line in both the job's Bull Board log and pino. */
export function jobLogger(job: Job, logger: Logger): (line: string) => void {
  return (line) => {
    logger.debug(line);
    void job.log(`${new Date().toISOString()} ${line}`).catch(() => {});
  };
}
