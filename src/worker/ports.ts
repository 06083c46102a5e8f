import type { UserRefKind } from '../queue/index.ts';

/**
 * What the processors need from an LMS, and nothing more. Brightspace implements it today
 * (`src/worker/brightspace-adapter.ts`); Blackboard will implement the same surface.
 */

export interface IssuedAwardFacts {
  issuedId: number;
  orgUnitId: number;
  awardId: number;
  kind: 'certificate' | 'badge' | 'other';
  title: string;
  /** ISO 8601 UTC, or null when the LMS gave none. */
  issuedDate: string | null;
}

/** One entry of a user's awards: parsed, or refused with a reason (hostile or malformed data). */
export type AwardEntry =
  { ok: true; award: IssuedAwardFacts } | { ok: false; ref: string; code: string; reason: string };

export interface UserDirectory {
  /** The LMS host, part of every certificate's deduplication key. */
  readonly host: string;
  /** Resolve a reference to a user id; throws a typed not-found error for an unknown user. */
  resolveUser(by: UserRefKind, value: string): Promise<{ userId: number }>;
  /** Every user id of the institution (for `--all-users`). */
  listAllUserIds(): AsyncIterable<number>;
  /** Every issued award of a user, following the LMS's paging. */
  listAwards(userId: number): AsyncIterable<AwardEntry>;
}

export interface PdfBody {
  bytes: Uint8Array;
  contentType: string | undefined;
  contentLength: number | undefined;
}

export interface CertificateFetcher {
  /** The bearer `/pdf` API route; 'unsupported' when this tenant does not offer it. */
  viaApi(issuedId: number): Promise<PdfBody | 'unsupported'>;
  /** The session-only render URL through the shared logged-in browser session. */
  viaBrowser(orgUnitId: number, issuedId: number, log: (line: string) => void): Promise<PdfBody>;
}
