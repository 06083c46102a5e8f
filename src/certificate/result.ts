/**
 * What happened to one certificate, as one schema. Each place that holds a result knows a few
 * more or fewer fields, so each shape below is a `pick`, `partial` or `extend` of the same parts:
 *
 *   DownloadResult          the download job's return value (stored now, or already stored)
 *   CertificateOutcome      the one union of outcomes: a download result, or failed
 *   CertificateSettlement   what settles a certificate in its batches: an outcome, or cancelled;
 *                           a completed job's return value is read back with `completedDownloadSchema`
 *   CertificateResultRecord a batch's record of one entry (`<batch>:results` in Redis), written
 *                           by the accounting scripts, read by `BatchTracker` and the manifest
 *   CertificateResult       one certificate of a finished batch, as `waitForBatch` returns it
 *
 * A manifest row (src/report/manifest.ts) is made from a record; its status is a `ResultStatus`.
 *
 * Ids are stored (the manifest description, `d`), never parsed back from a display label.
 *
 * The schemas are built at their first parse (`z.lazy`), not when the module loads: a command
 * that never reads a result (`--help`, `submit`) does not pay for them (docs/benchmarks.md).
 */
import { z } from 'zod';
import { once } from '../util/once.ts';
import { certificateSchema, certificateSourceSchema, lmsIdSchema } from './certificate.ts';

/** Where a certificate lies on disk, and why something failed. */
const factSchemas = once(() => ({
  certificateOnDisk: z.object({
    path: z
      .string()
      .describe('Where the worker stored the PDF (`OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf`).'),
    sha256: z.string().describe('The SHA-256 of the PDF, in hex.'),
    bytes: z.number().int().nonnegative().describe('The size of the PDF.'),
  }),
  failureFacts: z.object({
    code: z.string().describe("The error's stable code (`PDF_INVALID`, `LMS_USER_NOT_FOUND`…)."),
    reason: z.string().describe('What went wrong, in words.'),
  }),
}));

/** Where a certificate lies on disk, with what bytes. */
export const certificateOnDiskSchema = z.lazy(() => factSchemas().certificateOnDisk);
export type CertificateOnDisk = z.infer<typeof certificateOnDiskSchema>;

/** Why something failed: a stable code and the message. */
export const failureFactsSchema = z.lazy(() => factSchemas().failureFacts);
export type FailureFacts = z.infer<typeof failureFactsSchema>;

const FILE_FACTS = { path: true, sha256: true, bytes: true } as const;

/** Each outcome of one certificate, alone, and as it is read back from a completed job. */
const outcomeSchemas = once(() => {
  const { certificateOnDisk, failureFacts } = factSchemas();
  const stored = certificateOnDisk.extend({
    status: z.literal('stored'),
    source: certificateSourceSchema,
  });
  const alreadyStored = certificateOnDisk.extend({ status: z.literal('already-stored') });
  return {
    stored,
    alreadyStored,
    failed: failureFacts.extend({ status: z.literal('failed') }),
    /** Removed from the queue by `cancel` before it ran. */
    cancelled: z.object({ status: z.literal('cancelled') }),
    /**
     * A completed download job's return value, as it is read back: a `DownloadResult` whose file
     * facts may be missing (a worker of another version completed it). It still says the PDF is
     * stored.
     */
    storedReadBack: stored.partial({ ...FILE_FACTS, source: true }),
    alreadyStoredReadBack: alreadyStored.partial(FILE_FACTS),
  };
});

/** What a finished download job returns (shown in Bull Board; settles its batches). */
export const downloadResultSchema = z.lazy(() => {
  const o = outcomeSchemas();
  return z.discriminatedUnion('status', [o.stored, o.alreadyStored]);
});
export type DownloadResult = z.infer<typeof downloadResultSchema>;

/** The one union of what happened to one certificate. */
export const certificateOutcomeSchema = z.lazy(() => {
  const o = outcomeSchemas();
  return z.discriminatedUnion('status', [o.stored, o.alreadyStored, o.failed]);
});
export type CertificateOutcome = z.infer<typeof certificateOutcomeSchema>;
export type CertificateStatus = CertificateOutcome['status'];

/** A completed download job's return value, as it is read back (see `storedReadBack`). */
export const completedDownloadSchema = z.lazy(() => {
  const o = outcomeSchemas();
  return z.discriminatedUnion('status', [o.storedReadBack, o.alreadyStoredReadBack]);
});

/** What settles a certificate in every batch that waits for it. */
export const certificateSettlementSchema = z.lazy(() => {
  const o = outcomeSchemas();
  return z.discriminatedUnion('status', [o.storedReadBack, o.alreadyStoredReadBack, o.failed, o.cancelled]);
});
export type CertificateSettlement = z.infer<typeof certificateSettlementSchema>;

/** What a batch says of a certificate: `queued` until its job settles, then how it settled. */
export const RESULT_STATUSES = ['queued', 'stored', 'already-stored', 'failed', 'cancelled'] as const;
export const resultStatusSchema = z.enum(RESULT_STATUSES);
export type ResultStatus = z.infer<typeof resultStatusSchema>;

/** Every settlement's fields in one flat object: the facts a batch holds of a certificate. */
const resultFactsSchema = once(() => {
  const { certificateOnDisk, failureFacts } = factSchemas();
  return z.object({
    status: resultStatusSchema,
    ...certificateOnDisk.partial().shape,
    source: certificateSourceSchema.optional(),
    ...failureFacts.partial().shape,
  });
});

/**
 * What a batch's manifest shows of a certificate besides its outcome: recorded when the batch
 * finds it, so its ids are stored, not parsed back from a label (a number stays a number). Its text
 * was checked when the certificate was discovered; it is read back as text.
 */
export const manifestDescriptionSchema = z.lazy(() =>
  certificateSchema
    .unwrap()
    .pick({ userId: true, orgUnitId: true, issuedId: true })
    .extend({
      userRef: z.string().optional().describe('The reference as the batch submitted it, `<by>:<value>`.'),
      userName: z.string().optional(),
      orgUnitName: z.string().optional(),
      title: z.string(),
      issuedDate: z.string().nullable(),
    }),
);
export type ManifestDescription = z.infer<typeof manifestDescriptionSchema>;

/**
 * A batch's record of one manifest row (`<batch>:results`, keyed by certKey, or `~u:`/`~r:` for a
 * user or an unusable award): the result facts, and what the batch knew before they came.
 */
export const certificateResultRecordSchema = z.lazy(() =>
  resultFactsSchema().extend({
    /** `<orgUnitId>-<issuedId> (user <userId>)`, or the user reference: for failure lines only. */
    ref: z.string(),
    /** A user row (a reference that failed as a whole), else a certificate. */
    kind: z.enum(['user', 'certificate']).optional(),
    /** The `ManifestDescription`, as JSON text. */
    d: z.string().optional(),
    /** For a user row or an unusable award: the user reference as `<by> <value>`. */
    u: z.string().optional(),
  }),
);
export type CertificateResultRecord = z.infer<typeof certificateResultRecordSchema>;

/** One certificate of a batch, as `waitForBatch` returns it. */
export const certificateResultSchema = z.lazy(() => {
  /** An id as the batch recorded it: 0 when the record does not say (written by an older version). */
  const recordedId = lmsIdSchema.or(z.literal(0));
  return resultFactsSchema().extend({
    certKey: z
      .string()
      .describe('`<lmsHost>:<orgUnitId>:<issuedId>`, the ids as in file names (see `certificateKey`).'),
    userId: recordedId,
    orgUnitId: recordedId,
    issuedId: recordedId,
  });
});
export type CertificateResult = z.infer<typeof certificateResultSchema>;
