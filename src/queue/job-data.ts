import { z } from 'zod';

/**
 * The shapes that cross the queue. Producers in other languages get them as JSON Schema
 * (`batchJsonSchema()`, `certharvest schema`); the worker parses every job's data with them.
 * Job data holds ids and titles only — never a secret.
 */

export const USER_REF_KINDS = ['userId', 'userName', 'orgDefinedId'] as const;
export type UserRefKind = (typeof USER_REF_KINDS)[number];

export const batchIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a batch id is 1-64 letters, digits, ".", "_" or "-"');

const filtersSchema = z
  .object({
    orgUnitIds: z.array(z.number().int().positive()).optional().describe('Keep only these org units.'),
    issuedAfter: z.iso.datetime().optional().describe('Keep certificates issued at or after this time.'),
    issuedBefore: z.iso.datetime().optional().describe('Keep certificates issued before this time.'),
  })
  .strict();

/** The batch a producer submits. */
export const batchSubmissionSchema = z
  .object({
    batchId: batchIdSchema.optional().describe('Your id for the batch; generated when absent.'),
    by: z
      .enum(USER_REF_KINDS)
      .default('userId')
      .describe('What the entries of `users` are: LMS user ids, user names or org-defined ids.'),
    users: z
      .array(z.union([z.string().max(256), z.number()]))
      .max(100_000, 'at most 100000 users per batch')
      .default([])
      .describe('The user references. Duplicates are submitted once.'),
    allUsers: z
      .boolean()
      .default(false)
      .describe('Enumerate every user of the institution instead of (or besides) `users`.'),
    filters: filtersSchema.optional(),
  })
  .strict()
  .refine((b) => b.allUsers || b.users.length > 0, {
    message: 'a batch needs at least one user (or allUsers: true)',
    path: ['users'],
  });

export type BatchSubmission = z.input<typeof batchSubmissionSchema>;
export type ParsedBatch = z.output<typeof batchSubmissionSchema>;
export type BatchFilters = z.infer<typeof filtersSchema>;

export const discoverJobSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('user'),
    batchId: batchIdSchema,
    by: z.enum(USER_REF_KINDS),
    value: z.string().min(1),
    filters: filtersSchema.optional(),
  }),
  z.object({
    kind: z.literal('all-users'),
    batchId: batchIdSchema,
    filters: filtersSchema.optional(),
  }),
]);
export type DiscoverJobData = z.infer<typeof discoverJobSchema>;

const intId = z.number().int().positive();

export const downloadJobSchema = z.object({
  batchId: batchIdSchema,
  /** `<lmsHost>:<orgUnitId>:<issuedId>`: the deduplication key. */
  certKey: z.string().min(1),
  userId: intId,
  orgUnitId: intId,
  issuedId: intId,
  awardId: intId,
  title: z.string().max(1000),
  issuedDate: z.string().nullable(),
  userRef: z.string().optional(),
});
export type DownloadJobData = z.infer<typeof downloadJobSchema>;

/** What a finished download job returns (shown in Bull Board). */
export interface DownloadResult {
  status: 'stored' | 'already-present';
  path: string;
  sha256: string;
  bytes: number;
  source: 'api' | 'browser' | 'disk';
  title: string;
}

/** What a finished discover job returns. */
export interface DiscoverResult {
  userId?: number;
  certificates: number;
  queued: number;
  alreadyPresent: number;
  badgesIgnored: number;
  filteredOut: number;
  invalidAwards: number;
  users?: number;
}

/** The JSON Schema of a batch submission, for producers in other languages. */
export function batchJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(batchSubmissionSchema, { io: 'input' }) as Record<string, unknown>;
}

export const certificateKey = (lmsHost: string, orgUnitId: number, issuedId: number): string =>
  `${lmsHost}:${orgUnitId}:${issuedId}`;
