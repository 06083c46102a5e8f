/**
 * How one certificate is downloaded, wherever it runs: in its user's discover job (the usual
 * way), or in a download job of its own (a retry, or a raw producer's).
 *
 *   1. already stored whole for this LMS? → done, nothing downloaded (unless `refresh`);
 *   2. fetch the PDF the cheapest way that works (bearer API route, else the web session),
 *      streaming it into the store's temp file with a byte limit, in one of this worker's LMS
 *      request slots;
 *   3. check the bytes are a whole PDF;
 *   4. publish it atomically beside its sidecar, and return the result (`DownloadResult`, one of
 *      the certificate's result schema in src/certificate/result.ts).
 *
 * Errors are thrown as they are: the caller decides what they mean (the failure policy).
 */
import type { Certificate, CertificateSource, DownloadResult } from '../src/certificate/index.ts';
import type { DownloadStrategy } from '../src/config/index.ts';
import type { CertificateFetcher } from '../src/lms/index.ts';
import { assertWholePdf, type PdfResponseFacts, type PdfSink } from '../src/pdf/index.ts';
import type { CertificateStore } from '../src/storage/index.ts';
import { ApiRouteMissingError, type ApiSupportMemo } from '../src/failure/api-support.ts';

/** What downloading a certificate needs. */
export interface CertificateDownloadDeps {
  store: CertificateStore;
  fetcher: CertificateFetcher;
  strategy: DownloadStrategy;
  /** Remembers whether this tenant serves the bearer `/pdf` route (asked once per process). */
  apiSupport: ApiSupportMemo;
  /**
   * Admits one LMS request of this worker (DOWNLOAD_CONCURRENCY at a time), shared by every job
   * of the worker, so that a certificate waiting for its fsyncs does not hold an LMS slot: the LMS
   * sees a steady DOWNLOAD_CONCURRENCY requests whatever the disk does. Default: no limit.
   */
  lmsSlots?: <T>(request: () => Promise<T>) => Promise<T>;
}

export interface CertificateDownloadOptions {
  /** Fetch it again even when stored; the stored file is replaced only by a whole PDF. */
  refresh?: boolean | undefined;
  /** Discovery has just found it absent: do not look again. */
  checkedAbsent?: boolean | undefined;
  /** How the batch named the user, for the sidecar. */
  userRef?: string | undefined;
  /** One line of what happened (the summary), and the steps before it. */
  summary: (line: string) => void;
  step: (line: string) => void;
}

/** Download `certificate` into the store (or find it there); see the module comment. */
export async function downloadCertificate(
  deps: CertificateDownloadDeps,
  certificate: Certificate,
  options: CertificateDownloadOptions,
): Promise<DownloadResult> {
  const present = options.refresh || options.checkedAbsent ? null : await deps.store.existing(certificate);
  if (present) {
    options.summary(`already stored (sha256 ${present.sha256.slice(0, 12)}…): nothing to download`);
    return { status: 'already-stored', ...present };
  }
  const incoming = deps.store.receive(certificate);
  try {
    const fetch = () => fetchCertificate(deps, certificate, incoming, options.step);
    const { facts, source } = await (deps.lmsSlots ? deps.lmsSlots(fetch) : fetch());
    assertWholePdf(incoming.evidence, facts);
    const saved = await deps.store.commit(certificate, incoming, source, {
      knownAbsent: !options.refresh,
      ...(options.userRef ? { userRef: options.userRef } : {}),
    });
    options.summary(
      `${saved.status} ${saved.path} via ${source} (${saved.bytes} bytes, sha256 ${saved.sha256.slice(0, 12)}…)`,
    );
    return saved;
  } finally {
    await incoming.discard();
  }
}

/** The bearer API route when the tenant has it (and the strategy allows), else the web session. */
async function fetchCertificate(
  deps: CertificateDownloadDeps,
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
