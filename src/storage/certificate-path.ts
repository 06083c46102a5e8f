import path from 'node:path';
import type { Certificate, CertificateIds, LmsId } from '../certificate/index.ts';
import { CertharvestError } from '../errors/index.ts';

const ID_EXPECTED =
  'expected a positive whole number, or a non-empty string of at most 200 characters without control characters';

/** An id from the LMS that cannot safely become part of a file name. Never retried. */
export class UnsafeIdError extends CertharvestError {
  readonly retryable = false;

  constructor(field: string, value: unknown, why = ID_EXPECTED) {
    super('ID_UNSAFE', `${field} cannot name a file: ${why}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
}

export interface CertificatePaths {
  dir: string;
  pdf: string;
  sidecar: string;
  /** `<orgUnitId>-<issuedId>` (each id encoded by `encodeIdForFileName`), the file name stem. */
  stem: string;
}

/** The longest id string `lmsIdSchema` accepts, in UTF-16 code units. */
export const MAX_ID_CHARS = 200;
/** The longest file name one id may become; a longer one is refused for that certificate. */
export const MAX_ID_NAME_BYTES = 200;
/** `<stem>.json` stays within the 255 bytes most filesystems allow for a name. */
const MAX_STEM_BYTES = 255 - '.json'.length;

const POSITIVE_INTEGER = /^[1-9][0-9]{0,15}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** With the `u` flag a paired surrogate is one code point: this finds only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;
const ENCODED = /^(?:[a-z0-9_.]|~[0-9A-F]{2})+$/;
/** Names Windows keeps for devices, whatever follows a dot (`con`, `nul.txt`, `com1`). */
const DEVICE_NAME = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|$)/;

const isPositiveInteger = (text: string): boolean =>
  POSITIVE_INTEGER.test(text) && Number.isSafeInteger(Number(text));

/** Bytes that stay as they are: `a`-`z`, `0`-`9`, `_` and `.`. */
const isRawByte = (b: number): boolean =>
  (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2e;

const escapeByte = (b: number): string => `~${b.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * An LMS id as a file (or folder) name, reversibly (`decodeIdFromFileName`):
 *
 * - A positive whole number — a number, or a digit string without a leading zero that is a safe
 *   integer — is written as it is: `6606`. Brightspace's names are the same as they always were,
 *   and `"6606"` names the same file as `6606` (they are one id).
 * - Any other string is written byte by byte (UTF-8): `a`-`z`, `0`-`9`, `_` and `.` stay as they
 *   are; every other byte becomes `~XX`, its value in two uppercase hex digits. So uppercase
 *   letters, `-` (which separates `<orgUnitId>-<issuedId>`), `/`, `\`, `%`, `~`, spaces and all
 *   non-ASCII characters are escaped: `_123_4` stays `_123_4`, `A-b` becomes `~41~2Db`, `é`
 *   becomes `~C3~A9`.
 * - The first byte is escaped too when the name would otherwise start with `.` (never `.`, `..`
 *   or a hidden file), be all digits (`007` → `~3007`: only whole numbers read as numbers), start
 *   with `_` and a letter (`_batches` → `~5Fbatches`: those names are kept for OUTPUT_DIR's own
 *   folders), or be a Windows device name (`con` → `~63on`); a final `.` is escaped (Windows drops
 *   it).
 *
 * Raw bytes are lowercase and escapes uppercase, so two ids never get names that differ only in
 * case: the names stay distinct on a case-insensitive filesystem. Refused with `UnsafeIdError`:
 * anything that is not a positive safe integer or a string of 1 to 200 characters without control
 * characters or lone surrogates, and any id whose name would exceed 200 bytes.
 */
export function encodeIdForFileName(id: LmsId, field = 'id'): string {
  if (typeof id === 'number') {
    if (Number.isSafeInteger(id) && id > 0) return String(id);
    throw new UnsafeIdError(field, id);
  }
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > MAX_ID_CHARS ||
    CONTROL.test(id) ||
    LONE_SURROGATE.test(id)
  ) {
    throw new UnsafeIdError(field, id);
  }
  if (isPositiveInteger(id)) return id;

  const bytes = Buffer.from(id, 'utf8');
  const last = bytes.length - 1;
  const first = bytes[0]!;
  const escapeFirst =
    first === 0x2e ||
    /^[0-9]+$/.test(id) ||
    (first === 0x5f && (bytes[1] ?? 0) >= 0x61 && (bytes[1] ?? 0) <= 0x7a) ||
    DEVICE_NAME.test(id);
  let name = '';
  for (let i = 0; i <= last; i++) {
    const b = bytes[i]!;
    const escape = !isRawByte(b) || (i === 0 && escapeFirst) || (i === last && b === 0x2e);
    name += escape ? escapeByte(b) : String.fromCharCode(b);
  }
  if (name.length > MAX_ID_NAME_BYTES) {
    throw new UnsafeIdError(
      field,
      id,
      `its file name would be ${name.length} bytes (at most ${MAX_ID_NAME_BYTES})`,
    );
  }
  return name;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The id a name made by `encodeIdForFileName` stands for (a number for a whole number), or null
 * when no id is written that way (`0`, `~312`, `A`, `..`, a foreign file).
 */
export function decodeIdFromFileName(name: string): LmsId | null {
  if (isPositiveInteger(name)) return Number(name);
  if (!ENCODED.test(name)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '~') {
      bytes.push(parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(name.charCodeAt(i));
  }
  let id: string;
  try {
    id = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
  // One name per id: a name the encoder would not write (an escape it leaves raw) is not one.
  try {
    return encodeIdForFileName(id) === name ? id : null;
  } catch {
    return null;
  }
}

/**
 * `<lmsHost>:<orgUnitId>:<issuedId>`: a certificate's identity across batches and users. The ids
 * are written as in file names (`encodeIdForFileName`): Brightspace's keys are the plain numbers,
 * and an id holding `:` cannot make two certificates share a key (encoded ids never hold `:`, so
 * the last two fields split off unambiguously, even when the host has a port). Throws
 * `UnsafeIdError` for an id that cannot name a file.
 */
export const certificateKey = (lmsHost: string, c: Pick<Certificate, 'orgUnitId' | 'issuedId'>): string =>
  `${lmsHost}:${encodeIdForFileName(c.orgUnitId, 'orgUnitId')}:${encodeIdForFileName(c.issuedId, 'issuedId')}`;

/**
 * `OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf` and its `.json` sidecar, each id encoded by
 * `encodeIdForFileName`, and the result checked to stay inside `outputDir`, so hostile LMS data
 * can never write elsewhere. An id that cannot name a file throws `UnsafeIdError`.
 */
export function certificatePaths(outputDir: string, ids: CertificateIds): CertificatePaths {
  const userId = encodeIdForFileName(ids.userId, 'userId');
  const stem = `${encodeIdForFileName(ids.orgUnitId, 'orgUnitId')}-${encodeIdForFileName(ids.issuedId, 'issuedId')}`;
  if (stem.length > MAX_STEM_BYTES) {
    throw new UnsafeIdError(
      'orgUnitId-issuedId',
      `${ids.orgUnitId}-${ids.issuedId}`,
      `the file name would be ${stem.length} bytes (at most ${MAX_STEM_BYTES})`,
    );
  }
  const root = path.resolve(outputDir);
  const dir = path.join(root, userId);
  const pdf = path.join(dir, `${stem}.pdf`);
  const rel = path.relative(root, pdf);
  if (rel.startsWith('..') || path.isAbsolute(rel) || path.dirname(rel) !== userId) {
    throw new UnsafeIdError('path', rel);
  }
  return { dir, pdf, sidecar: path.join(dir, `${stem}.json`), stem };
}
