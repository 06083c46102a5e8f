import path from 'node:path';
import type { CertificateIds } from '../certificate/index.ts';
import { CertharvestError } from '../errors/index.ts';

/** An id from the LMS that cannot safely become part of a file name. Never retried. */
export class UnsafeIdError extends CertharvestError {
  readonly retryable = false;

  constructor(field: string, value: unknown) {
    super(
      'ID_UNSAFE',
      `${field} must be a positive whole number, got ${JSON.stringify(value)?.slice(0, 80)}`,
    );
  }
}

export interface CertificatePaths {
  dir: string;
  pdf: string;
  sidecar: string;
  /** `<orgUnitId>-<issuedId>`, the file name stem. */
  stem: string;
}

const INTEGER_ID = /^[1-9][0-9]{0,17}$/;

/**
 * Accept only plain positive integers (as numbers or digit strings); anything else throws. The
 * types already say "number", but ids come from LMS JSON and job data, so the path is checked again.
 */
export function safeId(field: string, value: unknown): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !INTEGER_ID.test(text)) throw new UnsafeIdError(field, value);
  return text;
}

/**
 * `OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf` and its `.json` sidecar. Ids are checked to be
 * integers before they touch a path, and the result is checked to stay inside `outputDir`, so
 * hostile LMS data can never write elsewhere.
 */
export function certificatePaths(outputDir: string, ids: CertificateIds): CertificatePaths {
  const userId = safeId('userId', ids.userId);
  const stem = `${safeId('orgUnitId', ids.orgUnitId)}-${safeId('issuedId', ids.issuedId)}`;
  const root = path.resolve(outputDir);
  const dir = path.join(root, userId);
  const pdf = path.join(dir, `${stem}.pdf`);
  const rel = path.relative(root, pdf);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UnsafeIdError('path', rel);
  return { dir, pdf, sidecar: path.join(dir, `${stem}.json`), stem };
}
