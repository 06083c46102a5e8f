import { z } from 'zod';
import { certificateSchema, failureFactsSchema, lmsIdSchema, type LmsId } from '../certificate/index.ts';

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
    orgUnitIds: z
      .array(lmsIdSchema)
      .optional()
      .describe('Keep only these org units (ids as the LMS gives them, such as 6606 or "_7_1").'),
    issuedAfter: z.iso.datetime().optional().describe('Keep certificates issued at or after this time.'),
    issuedBefore: z.iso.datetime().optional().describe('Keep certificates issued before this time.'),
    includeExpired: z
      .boolean()
      .optional()
      .describe('Harvest expired certificates too (the default, true); false leaves them out.'),
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
    refresh: z
      .boolean()
      .default(false)
      .describe(
        'Fetch every certificate again, even when stored; each replaces the stored file only when the new one is a whole PDF.',
      ),
  })
  .strict()
  .refine((b) => b.allUsers || b.users.length > 0, {
    message: 'a batch needs at least one user (or allUsers: true)',
    path: ['users'],
  });

export type BatchSubmission = z.input<typeof batchSubmissionSchema>;
export type ParsedBatch = z.output<typeof batchSubmissionSchema>;
export type BatchFilters = z.infer<typeof filtersSchema>;

/**
 * Users listed by one discover job (`kind: 'users'`): BullMQ's own cost of a job (~34 Redis
 * commands) and the accounting's per call are paid once for them all (docs/architecture.md).
 */
export const USERS_PER_DISCOVER_JOB = 8;
/** The most a users job may carry (a producer's own jobs included). */
export const MAX_USERS_PER_JOB = 64;

/**
 * A discover job: one user (`user`: a raw producer's, or a user handed off to be tried again),
 * several (`users`: what a batch queues), or the whole institution (`all-users`). Built at its
 * first parse (as the download job's and the certificate's schemas are).
 */
export const discoverJobSchema = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('user'),
      batchId: batchIdSchema,
      by: z.enum(USER_REF_KINDS),
      value: z.string().min(1),
      filters: filtersSchema.optional(),
      refresh: z.boolean().optional(),
    }),
    z.object({
      kind: z.literal('users'),
      batchId: batchIdSchema,
      by: z.enum(USER_REF_KINDS),
      values: z.array(z.string().min(1)).min(1).max(MAX_USERS_PER_JOB),
      filters: filtersSchema.optional(),
      refresh: z.boolean().optional(),
    }),
    z.object({
      kind: z.literal('all-users'),
      batchId: batchIdSchema,
      filters: filtersSchema.optional(),
      refresh: z.boolean().optional(),
    }),
  ]),
);
export type DiscoverJobData = z.infer<typeof discoverJobSchema>;

/** One certificate to download: the certificate itself, plus the batch that first asked for it. */
export const downloadJobSchema = z.lazy(() =>
  certificateSchema.unwrap().extend({
    batchId: batchIdSchema.describe('The batch that queued it (others may wait for it too).'),
    certKey: z
      .string()
      .min(1)
      .max(1000)
      .describe('`<lmsHost>:<orgUnitId>:<issuedId>` (ids as in file names): its identity.'),
    userRef: z.string().max(300).optional().describe('How the batch named the user.'),
    refresh: z
      .boolean()
      .optional()
      .describe('Fetch it again even when stored; replace the stored file only with a whole PDF.'),
  }),
);
export type DownloadJobData = z.infer<typeof downloadJobSchema>;

/** What a finished download job returns: one of the certificate's results (src/certificate/result.ts). */
export type { DownloadResult } from '../certificate/index.ts';

/** An award the LMS sent that cannot become a download (hostile or malformed data). */
export const rejectedAwardSchema = z.lazy(() => failureFactsSchema.unwrap().extend({ ref: z.string() }));
export type RejectedAward = z.infer<typeof rejectedAwardSchema>;

/** What a finished discover job returns (shown in Bull Board; settles its batch). */
export interface DiscoverResult {
  userId?: LmsId;
  /** Users found by an all-users enumeration; the users of a users job. */
  users?: number;
  /** A users job's users that failed for good (an unknown user), with why. */
  usersFailed?: RejectedAward[];
  /** A users job's users handed to one-user jobs, to be tried again. */
  usersHandedOff?: number;
  certificates: number;
  /** Downloads this job opened (the rest were already stored, or another batch's were in flight). */
  queued: number;
  /** Of those: stored by this job, failed for good, handed to download jobs of their own. */
  stored?: number;
  failed?: number;
  /** The first MAX_REJECTED_LISTED certificates that failed for good here, with why. */
  failures?: RejectedAward[];
  handedOff?: number;
  alreadyStored: number;
  badgesIgnored: number;
  filteredOut: number;
  /** At most `MAX_REJECTED_LISTED` of them; `rejectedCount` has them all. */
  rejected: RejectedAward[];
  rejectedCount: number;
}

/** How many unusable awards of one user are listed one by one. */
export const MAX_REJECTED_LISTED = 50;

/** The JSON Schema of a batch submission, for producers in other languages. */
export function batchJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(batchSubmissionSchema, { io: 'input' }) as Record<string, unknown>;
}
