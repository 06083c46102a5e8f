/**
 * A batch's record of each certificate (`<batch>:results`): how a settlement is written into it,
 * and how a record is read back — with the schema of src/certificate/result.ts, never a cast.
 * The ids come from the manifest description the batch stored when it found the certificate, or
 * from the record's key; never from its display label.
 */
import {
  certificateResultRecordSchema,
  manifestDescriptionSchema,
  type CertificateResult,
  type CertificateResultRecord,
  type CertificateSettlement,
  type LmsId,
  type ManifestDescription,
} from '../certificate/index.ts';
import { decodeIdFromFileName } from '../storage/certificate-path.ts';

/** The result facts a settle stores for each batch, as JSON (the Lua script adds the ref). */
export function settlementJson(settlement: CertificateSettlement): string {
  return JSON.stringify(
    settlement.status === 'failed' ? { ...settlement, reason: settlement.reason.slice(0, 500) } : settlement,
  );
}

/** A record of `<batch>:results`, or null when it is not one (nothing of ours writes such). */
export function parseResultRecord(json: string): CertificateResultRecord | null {
  const read = certificateResultRecordSchema.safeParse(parseJson(json));
  return read.success ? read.data : null;
}

/** The manifest description a record carries (JSON text), or null when it has none. */
export function descriptionOf(record: CertificateResultRecord): ManifestDescription | null {
  if (!record.d) return null;
  const read = manifestDescriptionSchema.safeParse(parseJson(record.d));
  return read.success ? read.data : null;
}

/** The ids of a certificate's record: as described when it was found, else its key's (no user). */
export function recordedIds(
  certKey: string,
  description: ManifestDescription | null,
): { userId: LmsId | null; orgUnitId: LmsId; issuedId: LmsId } | null {
  if (description) {
    const { userId, orgUnitId, issuedId } = description;
    return { userId, orgUnitId, issuedId };
  }
  const [orgUnitId, issuedId] = certKey
    .split(':')
    .slice(-2)
    .map((name) => decodeIdFromFileName(name));
  return orgUnitId == null || issuedId == null ? null : { userId: null, orgUnitId, issuedId };
}

/** One certificate of a batch, from its record (its key `certKey`), as `waitForBatch` returns it. */
export function certificateResult(certKey: string, record: CertificateResultRecord): CertificateResult {
  const { ref: _ref, kind: _kind, d: _d, u: _u, ...facts } = record;
  const ids = recordedIds(certKey, descriptionOf(record));
  return {
    certKey,
    userId: ids?.userId ?? 0,
    orgUnitId: ids?.orgUnitId ?? 0,
    issuedId: ids?.issuedId ?? 0,
    ...facts,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
