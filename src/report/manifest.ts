/**
 * A batch's manifest: one row per certificate it found (and one per user reference that failed as
 * a whole), with what happened to it and where it lies. The same rows feed `status --certificates`,
 * `GET /api/batches/:id/certificates`, the `_batches/<id>.csv` file and the batch page.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  certificateSourceSchema,
  lmsIdSchema,
  resultStatusSchema,
  type CertificateIds,
  type CertificateResultRecord,
  type ResultStatus,
} from '../certificate/index.ts';
import { descriptionOf, recordedIds } from '../queue/result-record.ts';
import { certificatePaths } from '../storage/certificate-path.ts';
import { toCsv } from './csv.ts';

/** What happened to a row: still `queued`, or its outcome. */
export type ManifestStatus = ResultStatus;

/**
 * One row of a batch's manifest; its fields, in this order, are the CSV's columns. Absent facts
 * are null (not known for this row). A rename is a versioned change (see docs/api.md). Built at its
 * first use: the rows are made by `manifestRow`, the schema is their type and their documentation.
 */
export const manifestRowSchema = z.lazy(() =>
  z.object({
    kind: z
      .enum(['certificate', 'user'])
      .describe('A certificate, or a user reference that failed as a whole (not found, refused).'),
    userRef: z
      .string()
      .nullable()
      .describe('The user as the batch named them: `<by>:<value>` (`userName:jdoe`, `userId:1001`).'),
    userId: lmsIdSchema.nullable(),
    userName: z.string().nullable(),
    orgUnitId: lmsIdSchema.nullable(),
    orgUnitName: z.string().nullable(),
    issuedId: lmsIdSchema.nullable(),
    title: z.string().nullable(),
    issuedDate: z.string().nullable(),
    status: resultStatusSchema,
    code: z.string().nullable().describe("Why it failed: the error's stable code."),
    reason: z.string().nullable().describe('Why it failed, in words.'),
    path: z
      .string()
      .nullable()
      .describe('Where the PDF lies, relative to OUTPUT_DIR (`/` separated); set once stored.'),
    sha256: z.string().nullable(),
    bytes: z.number().nullable(),
    source: certificateSourceSchema.nullable(),
  }),
);
export type ManifestRow = z.infer<typeof manifestRowSchema>;

/** The manifest's columns, in CSV order: the row's fields, in order (test/report/manifest.test.ts). */
export const MANIFEST_COLUMNS = Object.freeze([
  'kind',
  'userRef',
  'userId',
  'userName',
  'orgUnitId',
  'orgUnitName',
  'issuedId',
  'title',
  'issuedDate',
  'status',
  'code',
  'reason',
  'path',
  'sha256',
  'bytes',
  'source',
] as const satisfies readonly (keyof ManifestRow)[]);

const USER_REF = /^(userId|userName|orgDefinedId)[ :](.*)$/s;

/** `userName jdoe` (as failures name users) or `userName:jdoe` → `userName:jdoe`. */
export function normaliseUserRef(ref: string | undefined): string | null {
  if (!ref) return null;
  const m = USER_REF.exec(ref);
  return m ? `${m[1]}:${m[2]}` : ref;
}

/** The row of one record of `<batch>:results`, under its field (a certKey, or `~u:`/`~r:`). */
export function manifestRow(field: string, r: CertificateResultRecord): ManifestRow {
  const d = descriptionOf(r);
  const isUser = r.kind === 'user' || field.startsWith('~u:');
  // A certificate's ids as the batch recorded them when it found it (or its key's, with no user).
  const ids = d || !field.startsWith('~') ? recordedIds(field, d) : null;
  const onDisk = r.status === 'stored' || r.status === 'already-stored';
  return {
    kind: isUser ? 'user' : 'certificate',
    userRef: normaliseUserRef(d?.userRef ?? r.u ?? (isUser ? r.ref : undefined)),
    userId: ids?.userId ?? null,
    userName: d?.userName ?? null,
    orgUnitId: ids?.orgUnitId ?? null,
    orgUnitName: d?.orgUnitName ?? null,
    issuedId: ids?.issuedId ?? null,
    title: d?.title ?? null,
    issuedDate: d?.issuedDate ?? null,
    status: r.status,
    code: r.code ?? null,
    reason: r.reason ?? null,
    path: onDisk && ids?.userId != null ? relativePath({ ...ids, userId: ids.userId }) : null,
    sha256: onDisk ? (r.sha256 ?? null) : null,
    bytes: onDisk ? (r.bytes ?? null) : null,
    source: onDisk ? (r.source ?? null) : null,
  };
}

/** A manifest row as CSV cells, in `MANIFEST_COLUMNS` order (null is an empty cell). */
export const manifestCells = (row: ManifestRow): string[] =>
  MANIFEST_COLUMNS.map((c) => (row[c] === null ? '' : String(row[c])));

/** The CSV header line and rows, with a trailing newline (for streaming in pieces). */
export const manifestCsvHeader = (): string => `${toCsv([MANIFEST_COLUMNS])}\n`;
export const manifestCsvRows = (rows: readonly ManifestRow[]): string =>
  rows.length === 0 ? '' : `${toCsv(rows.map(manifestCells))}\n`;

/** `<userId>/<orgUnitId>-<issuedId>.pdf`, as the store names it, relative to OUTPUT_DIR. */
function relativePath(ids: CertificateIds): string | null {
  try {
    const root = path.resolve('/');
    return path.relative(root, certificatePaths(root, ids).pdf).split(path.sep).join('/');
  } catch {
    return null;
  }
}
