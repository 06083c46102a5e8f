import {
  SCHEMA_VERSION,
  type Certificate,
  type CertificateSource,
  type StoredCertificate,
} from '../certificate/index.ts';

/** What a store knows of a certificate's bytes when it publishes them. */
export interface PublishedFacts {
  sha256: string;
  bytes: number;
  source: CertificateSource;
  lmsHost: string;
  now: Date;
  userRef?: string | undefined;
}

/**
 * The sidecar's content: the certificate's own fields (only those, whatever else the object
 * carries) and the facts of its bytes. The same fields, in the same order, as the disk store's.
 */
export const storedCertificate = (cert: Certificate, facts: PublishedFacts): StoredCertificate => ({
  schemaVersion: SCHEMA_VERSION,
  userId: cert.userId,
  orgUnitId: cert.orgUnitId,
  issuedId: cert.issuedId,
  awardId: cert.awardId,
  title: cert.title,
  ...(cert.orgUnitName !== undefined && { orgUnitName: cert.orgUnitName }),
  issuedDate: cert.issuedDate,
  sha256: facts.sha256,
  bytes: facts.bytes,
  source: facts.source,
  downloadedAt: facts.now.toISOString(),
  lmsHost: facts.lmsHost,
  ...(facts.userRef !== undefined && { userRef: facts.userRef }),
});
