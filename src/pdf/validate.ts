import { CertharvestError } from '../errors/index.ts';

export type PdfProblem = 'no-pdf-header' | 'no-eof-trailer' | 'length-mismatch' | 'empty';

/** A body that is not a whole PDF. Retryable: a truncated transfer usually succeeds next time. */
export class InvalidPdfError extends CertharvestError {
  readonly problem: PdfProblem;
  readonly retryable = true;

  constructor(problem: PdfProblem, detail: string) {
    super('PDF_INVALID', `not a whole PDF (${problem}): ${detail}`);
    this.problem = problem;
  }
}

export interface PdfResponseFacts {
  /** The Content-Type header, when the bytes came over HTTP. */
  contentType?: string | undefined;
  /** The Content-Length header, when given. */
  contentLength?: number | undefined;
}

const HEADER = Buffer.from('%PDF-');
const EOF_MARK = Buffer.from('%%EOF');
/** PDF writers may put whitespace or a little junk after the last %%EOF; 1 KiB is generous. */
const TRAILER_WINDOW = 1024;

/**
 * Check that `bytes` is a whole PDF without parsing it: the header, an `%%EOF` trailer near the
 * end, and the advertised length. `Content-Type` is only a hint (servers send
 * `application/octet-stream` or nothing for PDFs): the bytes decide, and an HTML page never has them. A full parse is avoided on purpose: Brightspace serves
 * owner-password-encrypted PDFs, which strict parsers reject but which are perfectly whole.
 */
export function assertWholePdf(bytes: Uint8Array, facts: PdfResponseFacts = {}): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw new InvalidPdfError('empty', 'the body is empty');
  if (facts.contentLength !== undefined && facts.contentLength !== buf.length) {
    throw new InvalidPdfError(
      'length-mismatch',
      `got ${buf.length} bytes, Content-Length said ${facts.contentLength}`,
    );
  }
  // Some servers send a byte-order mark or blank line first; the header must be within 1 KiB.
  const headerAt = buf.subarray(0, 1024).indexOf(HEADER);
  if (headerAt < 0) throw new InvalidPdfError('no-pdf-header', 'the body does not start with %PDF-');
  const tail = buf.subarray(Math.max(0, buf.length - TRAILER_WINDOW));
  if (tail.lastIndexOf(EOF_MARK) < 0) {
    throw new InvalidPdfError('no-eof-trailer', `no %%EOF in the last ${TRAILER_WINDOW} bytes (truncated?)`);
  }
}

/** True when the bytes look like an HTML page (a login page served instead of the PDF). */
export function looksLikeHtml(bytes: Uint8Array, contentType?: string): boolean {
  if (contentType && /^text\/html\b/i.test(contentType.trim())) return true;
  const head = Buffer.from(bytes.subarray(0, 512)).toString('latin1').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}
