/**
 * One certificate, one type, from discovery to disk: the LMS adapter yields `Certificate`s, the
 * download job carries one, the store writes it into the sidecar. What happened to it is one
 * schema too, in `result.ts`.
 */
import { z } from 'zod';

/**
 * An id as the LMS gives it: Brightspace's are whole numbers (`6606`), Blackboard Learn's are
 * strings (`_123_1`, UUIDs). Ids travel unchanged from discovery to the sidecar; only file names
 * and keys encode them (`encodeIdForFileName`, `certificateKey` in src/storage/).
 */
export type LmsId = number | string;

// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;
/** With the `u` flag a paired surrogate is one code point: this finds only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A positive safe integer, or a non-empty string of at most 200 characters without control characters. */
export const lmsIdSchema = z
  .union([
    z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    z
      .string()
      .min(1)
      .max(200)
      .regex(NO_CONTROL_CHARACTERS, 'an id has no control characters')
      .refine((id) => !LONE_SURROGATE.test(id), 'an id is valid Unicode (no lone surrogate)'),
  ])
  .describe(
    'An id as the LMS gives it: a positive whole number (`6606`), or a string of 1-200 characters ' +
      'without control characters (`_123_1`, a UUID).',
  );

/** Whether two ids name the same thing: `6606` and `"6606"` do, `"007"` and `7` do not. */
export const sameLmsId = (a: LmsId, b: LmsId): boolean => String(a) === String(b);

/** Numbers first (in numeric order), then strings (in code unit order): a stable listing order. */
export function compareLmsIds(a: LmsId, b: LmsId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Built at its first parse, as the schemas of result.ts are. */
export const certificateSchema = z.lazy(() =>
  z.object({
    userId: lmsIdSchema.describe('The LMS user the certificate was issued to.'),
    orgUnitId: lmsIdSchema.describe('The org unit (course) that issued it.'),
    issuedId: lmsIdSchema.describe('The id of this issuance.'),
    awardId: lmsIdSchema.describe('The award (certificate template) issued.'),
    title: z.string().max(1000).describe('The award title.'),
    orgUnitName: z
      .string()
      .max(1000)
      .optional()
      .describe("The org unit's (course's) name, where the LMS's listing gives it."),
    issuedDate: z.iso.datetime().nullable().describe('When it was issued (ISO 8601, UTC), or null.'),
  }),
);
export type Certificate = z.infer<typeof certificateSchema>;

/** The ids that place a certificate on disk. */
export type CertificateIds = Pick<Certificate, 'userId' | 'orgUnitId' | 'issuedId'>;

/** How the PDF was fetched: the bearer `/pdf` API route, or the render URL with the web session. */
export const certificateSourceSchema = z
  .enum(['api', 'browser'])
  .describe('How the PDF was fetched: `api` (the bearer PDF route) or `browser` (the web session).');
export type CertificateSource = z.infer<typeof certificateSourceSchema>;

/**
 * The version of the JSON certharvest gives out (`status --json`, the batch API, the webhook, the
 * sidecars): a field renamed or removed raises it, and CHANGELOG.md says what changed.
 */
export const SCHEMA_VERSION = 1;

/** The sidecar JSON beside each PDF. */
export interface StoredCertificate extends Certificate {
  /** `SCHEMA_VERSION` of the certharvest that wrote it. */
  schemaVersion: number;
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

/** `<orgUnitId>-<issuedId> (user <userId>)`: how a certificate is named in failures and logs. */
export const certificateRef = (c: CertificateIds): string =>
  `${c.orgUnitId}-${c.issuedId} (user ${c.userId})`;
