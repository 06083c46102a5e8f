export {
  CertificateStore,
  sha256Hex,
  type CertificateFacts,
  type CertificateMetadata,
  type StoreResult,
} from './certificate-store.ts';
export {
  certificatePaths,
  safeId,
  UnsafeIdError,
  type CertificatePaths,
  type CertificateIds,
} from './certificate-path.ts';
export { writeFileAtomic } from './atomic-write.ts';
