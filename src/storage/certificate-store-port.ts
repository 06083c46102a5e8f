import type {
  Certificate,
  CertificateIds,
  CertificateOnDisk,
  CertificateSource,
} from '../certificate/index.ts';
import type { PdfSink } from '../pdf/index.ts';
import type { CertificatePaths } from './certificate-path.ts';
import type { CommitOptions, SaveOutcome } from './certificate-store.ts';

/** A PDF arriving for a store: a sink the fetcher streams into, with its evidence, and a way to drop it. */
export interface IncomingCertificate extends PdfSink {
  /** Drop the body; harmless after a commit, and safe to call more than once. */
  discard(): Promise<void>;
}

/**
 * What the download path needs from wherever certificates land: the disk (`CertificateStore`,
 * OUTPUT_DIR) or object storage (`S3CertificateStore`, `s3://bucket/prefix`). `path` in every
 * result is where the PDF lies, a file path or an `s3://` URL.
 *
 * Sequence for one certificate: `existing()` → `receive()` → stream → `commit()` (or `discard()`),
 * `discard()` always at the end.
 */
export interface CertificateStorePort {
  /** The LMS host the certificates come from; part of what makes a stored one "the same". */
  readonly lmsHost: string;

  /**
   * Where the certificate's PDF and sidecar go (paths, or object keys for object storage). Throws
   * `UnsafeIdError` when an id cannot name a file: discovery calls it to refuse such ids early.
   */
  paths(ids: CertificateIds): CertificatePaths;

  /** Where it lies when already stored whole for this LMS host, else null. Cheap: no body is read. */
  existing(ids: CertificateIds): Promise<CertificateOnDisk | null>;

  /** Somewhere for a download to stream into; publish it with `commit()`, drop it with `discard()`. */
  receive(ids: CertificateIds): IncomingCertificate;

  /**
   * Publish a received (validated) PDF with its sidecar: 'already-stored' when the same bytes are
   * there, else 'stored'. `incoming` must be what this store's `receive()` returned (method syntax:
   * each store takes its own kind).
   */
  commit(
    cert: Certificate,
    incoming: IncomingCertificate,
    source: CertificateSource,
    extra?: CommitOptions,
    now?: Date,
  ): Promise<SaveOutcome>;

  /** `receive()`, write `pdf`, `commit()`, `discard()`: for bytes already in memory. */
  save(
    cert: Certificate,
    pdf: Uint8Array,
    source: CertificateSource,
    extra?: CommitOptions,
    now?: Date,
  ): Promise<SaveOutcome>;

  /** Remove what writers that died mid-write left behind (local temp files); how many. */
  sweepPartials(): Promise<number>;

  /** Throw a typed error naming the output when a certificate cannot be stored there now. */
  checkWritable(): Promise<void>;
}
