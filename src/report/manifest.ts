/**
 * A batch's manifest: one row per certificate it found (and one per user reference that failed as
 * a whole), with what happened to it and where it lies. The same rows feed `status --certificates`,
 * `GET /api/batches/:id/certificates`, the `_batches/<id>.csv` file and the batch page.
 */
import path from 'node:path';
import type { CertificateSource, LmsId } from '../certificate/index.ts';
import type { CertificateResultRecord, ManifestDescription } from '../queue/batch-accounting.ts';
import { certificatePaths, decodeIdFromFileName } from '../storage/certificate-path.ts';
import { toCsv } from './csv.ts';

/** What happened to a row: still `queued`, or its outcome. */
export type ManifestStatus = 'queued' | 'stored' | 'already-stored' | 'failed' | 'cancelled';

/** One row of a batch's manifest. Absent facts are null (not known for this row). */
export interface ManifestRow {
  /** A certificate, or a user reference that failed as a whole (not found, refused). */
  kind: 'certificate' | 'user';
  /** The user as the batch named them: `<by>:<value>` (`userName:jdoe`, `userId:1001`). */
  userRef: string | null;
  userId: LmsId | null;
  userName: string | null;
  orgUnitId: LmsId | null;
  orgUnitName: string | null;
  issuedId: LmsId | null;
  title: string | null;
  issuedDate: string | null;
  status: ManifestStatus;
  /** Why it failed: the error's stable code and its message. */
  code: string | null;
  reason: string | null;
  /** Where the PDF lies, relative to OUTPUT_DIR (`/` separated); set once stored. */
  path: string | null;
  sha256: string | null;
  bytes: number | null;
  source: CertificateSource | null;
}

/** The manifest's columns, in CSV order. A rename is a versioned change (see docs/api.md). */
export const MANIFEST_COLUMNS = [
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
] as const satisfies readonly (keyof ManifestRow)[];

const USER_REF = /^(userId|userName|orgDefinedId)[ :](.*)$/s;

/** `userName jdoe` (as failures name users) or `userName:jdoe` → `userName:jdoe`. */
export function normaliseUserRef(ref: string | undefined): string | null {
  if (!ref) return null;
  const m = USER_REF.exec(ref);
  return m ? `${m[1]}:${m[2]}` : ref;
}

/** The row of one record of `<batch>:results`, under its field (a certKey, or `~u:`/`~r:`). */
export function manifestRow(field: string, r: CertificateResultRecord): ManifestRow {
  const d = parseDescription(r.d);
  const isUser = r.kind === 'user' || field.startsWith('~u:');
  const ids = d ?? (isUser || field.startsWith('~') ? null : idsFromKey(field, r.ref));
  const status: ManifestStatus = r.status;
  const onDisk = status === 'stored' || status === 'already-stored';
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
    status,
    code: r.code ?? null,
    reason: r.reason ?? null,
    path: onDisk && ids ? relativePath(ids) : null,
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

function parseDescription(text: string | undefined): ManifestDescription | null {
  if (!text) return null;
  try {
    const d = JSON.parse(text) as ManifestDescription;
    return d && typeof d === 'object' && d.userId !== undefined ? d : null;
  } catch {
    return null;
  }
}

/** A record without a description (written by an older version): its ids from key and ref. */
function idsFromKey(
  certKey: string,
  ref: string,
): Pick<ManifestDescription, 'userId' | 'orgUnitId' | 'issuedId'> | null {
  const [orgUnitId, issuedId] = certKey
    .split(':')
    .slice(-2)
    .map((n) => decodeIdFromFileName(n));
  const user = /\(user (.+)\)$/.exec(ref)?.[1];
  if (orgUnitId == null || issuedId == null || user === undefined) return null;
  return { userId: /^[1-9]\d{0,14}$/.test(user) ? Number(user) : user, orgUnitId, issuedId };
}

/** `<userId>/<orgUnitId>-<issuedId>.pdf`, as the store names it, relative to OUTPUT_DIR. */
function relativePath(ids: Pick<ManifestDescription, 'userId' | 'orgUnitId' | 'issuedId'>): string | null {
  try {
    const root = path.resolve('/');
    return path.relative(root, certificatePaths(root, ids).pdf).split(path.sep).join('/');
  } catch {
    return null;
  }
}
