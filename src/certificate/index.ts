/**
 * One certificate, one type, from discovery to disk: the LMS adapter yields `Certificate`s, the
 * download job carries one, the store writes it into the sidecar. `CertificateOutcome` is the one
 * union of what happened to it; "already stored" has exactly that name everywhere.
 */
import { z } from 'zod';

const intId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const certificateSchema = z.object({
  userId: intId.describe('The LMS user the certificate was issued to.'),
  orgUnitId: intId.describe('The org unit (course) that issued it.'),
  issuedId: intId.describe('The id of this issuance.'),
  awardId: intId.describe('The award (certificate template) issued.'),
  title: z.string().max(1000).describe('The award title.'),
  issuedDate: z.iso.datetime().nullable().describe('When it was issued (ISO 8601, UTC), or null.'),
});
export type Certificate = z.infer<typeof certificateSchema>;

/** The ids that place a certificate on disk. */
export type CertificateIds = Pick<Certificate, 'userId' | 'orgUnitId' | 'issuedId'>;

/** How the PDF was fetched: the bearer `/pdf` API route, or the render URL with the web session. */
export type CertificateSource = 'api' | 'browser';

/** The sidecar JSON beside each PDF. */
export interface StoredCertificate extends Certificate {
  sha256: string;
  bytes: number;
  source: CertificateSource;
  /** ISO 8601, UTC. */
  downloadedAt: string;
  /** The LMS host it came from: a file of another tenant is never taken as this one's. */
  lmsHost: string;
  /** The reference the batch named the user by, e.g. `userName:jdoe`. */
  userRef?: string;
}

/** Where a certificate lies on disk, with what bytes. */
export interface CertificateOnDisk {
  path: string;
  sha256: string;
  bytes: number;
}

/** The one union of what happened to one certificate. */
export type CertificateOutcome =
  | ({ status: 'stored'; source: CertificateSource } & CertificateOnDisk)
  | ({ status: 'already-stored' } & CertificateOnDisk)
  | { status: 'failed'; code: string; reason: string };

export type CertificateStatus = CertificateOutcome['status'];

/** `<lmsHost>:<orgUnitId>:<issuedId>`: a certificate's identity across batches and users. */
export const certificateKey = (lmsHost: string, c: Pick<Certificate, 'orgUnitId' | 'issuedId'>): string =>
  `${lmsHost}:${c.orgUnitId}:${c.issuedId}`;

/** `<orgUnitId>-<issuedId> (user <userId>)`: how a certificate is named in failures and logs. */
export const certificateRef = (c: CertificateIds): string =>
  `${c.orgUnitId}-${c.issuedId} (user ${c.userId})`;
