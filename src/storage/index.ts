export {
  CertificateStore,
  sha256Hex,
  type CertificateStoreOptions,
  type CommitOptions,
  type SaveOutcome,
} from './certificate-store.ts';
export {
  certificateKey,
  certificatePaths,
  decodeIdFromFileName,
  encodeIdForFileName,
  MAX_ID_NAME_BYTES,
  UnsafeIdError,
  type CertificatePaths,
} from './certificate-path.ts';
export { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE } from './atomic-write.ts';
export { OutputSymlinkError, OutputUnavailableError, toOutputError } from './errors.ts';
export { IncomingPdf, SPILL_BYTES } from './incoming-pdf.ts';
export {
  claimOutputDir,
  OUTPUT_MARKER_NAME,
  OUTPUT_MARKER_SCHEMA_VERSION,
  OutputDirOtherLmsError,
  OutputMarkerInvalidError,
  outputMarkerPath,
  readOutputMarker,
  verifyOutputMarker,
  type ClaimOptions,
  type OutputMarker,
  type OutputOwner,
} from './output-marker.ts';
export type { CertificateStorePort, IncomingCertificate } from './certificate-store-port.ts';
// Types only: the store's module loads the AWS SDK; `openS3CertificateStore` loads it when used.
export type { S3CertificateStore, S3CertificateStoreOptions } from './s3-certificate-store.ts';
export { openS3CertificateStore } from './s3-open.ts';
export { parseS3Url, S3UrlInvalidError, type S3Location } from './s3-location.ts';
export {
  ObjectStoreAccessDeniedError,
  ObjectStoreContendedError,
  ObjectStoreNoSuchBucketError,
  ObjectStoreUnreachableError,
  ObjectStoreUnsupportedError,
  type ObjectStoreSite,
} from './s3-errors.ts';
export { defaultSpoolDir, SpoolUnsafeError } from './spool.ts';
