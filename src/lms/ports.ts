import type { Certificate, LmsId } from '../certificate/index.ts';
import type { PdfResponseFacts, PdfSink } from '../pdf/index.ts';
import type { UserReferenceKind } from './errors.ts';

/**
 * What the processors need from an LMS, and nothing more. Brightspace implements it
 * (`src/lms/brightspace/adapter.ts`), Blackboard Learn the same (`src/lms/blackboard/adapter.ts`).
 */

export type UserRefKind = UserReferenceKind;

export type AwardKind = 'certificate' | 'badge' | 'other';

/** One entry of a user's awards: parsed, or refused with a reason (hostile or malformed data). */
export type AwardEntry =
  | { ok: true; kind: AwardKind; certificate: Certificate }
  | { ok: false; ref: string; code: string; reason: string };

/** What an awards listing asks the LMS for. */
export interface ListAwardsOptions {
  /**
   * Ask for expired awards too (Brightspace's `includeExpired`). Default true: the listing's own
   * default is not documented (not documented by D2L), and an expired certificate is still a
   * certificate.
   */
  includeExpired?: boolean;
}

export interface UserDirectory {
  /** The LMS host, part of every certificate's identity. */
  readonly host: string;
  /**
   * Resolve a reference to a user id (as the LMS gives it: a number on Brightspace, a string such
   * as `_45_1` on Learn); throws a typed not-found error for an unknown user.
   */
  resolveUser(by: UserRefKind, value: string): Promise<{ userId: LmsId; userName?: string }>;
  /** Every user id of the institution (for `--all-users`). */
  listAllUserIds(): AsyncIterable<LmsId>;
  /**
   * Every issued award of a user, following the LMS's paging. A user id submitted as a whole
   * number (`userId` `1001`) arrives as a number, whatever the LMS.
   */
  listAwards(userId: LmsId, options?: ListAwardsOptions): AsyncIterable<AwardEntry>;
  /** Whether the LMS answers HTTP at all (any status): the breaker's outage probe. */
  reachable(): Promise<boolean>;
}

export interface CertificateFetcher {
  /**
   * The bearer `/pdf` API route, its body streamed into `sink`; 'unsupported' when this tenant does
   * not offer it.
   */
  viaApi(certificate: Certificate, sink: PdfSink): Promise<PdfResponseFacts | 'unsupported'>;
  /** The session-only render URL through the fleet's logged-in web session, streamed into `sink`. */
  viaBrowser(certificate: Certificate, sink: PdfSink, log: (line: string) => void): Promise<PdfResponseFacts>;
}

/** An LMS behind the processors' ports. */
export interface LmsAdapter {
  directory: UserDirectory;
  fetcher: CertificateFetcher;
}
