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
