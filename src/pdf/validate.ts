import { CertharvestError } from '../errors/index.ts';
import { EVIDENCE_BYTES, pdfEvidence, type PdfEvidence, type PdfResponseFacts } from './receive.ts';

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

const HEADER = Buffer.from('%PDF-');
const EOF_MARK = Buffer.from('%%EOF');
/** PDF writers may put whitespace or a little junk after the last %%EOF; 1 KiB is generous. */
const TRAILER_WINDOW = EVIDENCE_BYTES;

/**
 * Check that a body is a whole PDF without parsing it: the header, an `%%EOF` trailer near the
 * end, and the advertised length. `Content-Type` is only a hint (servers send
 * `application/octet-stream` or nothing for PDFs): the bytes decide, and an HTML page never has
 * them. A full parse is avoided on purpose: Brightspace serves owner-password-encrypted PDFs, which
 * strict parsers reject but which are perfectly whole. Takes the bytes, or the evidence a sink kept
 * of a body streamed to disk.
 */
export function assertWholePdf(body: Uint8Array | PdfEvidence, facts: PdfResponseFacts = {}): void {
  const { length, head, tail } = body instanceof Uint8Array ? pdfEvidence(body) : body;
  if (length === 0) throw new InvalidPdfError('empty', 'the body is empty');
  if (facts.contentLength !== undefined && facts.contentLength !== length) {
    throw new InvalidPdfError(
      'length-mismatch',
      `got ${length} bytes, Content-Length said ${facts.contentLength}`,
    );
  }
  // Some servers send a byte-order mark or blank line first; the header must be within 1 KiB.
  if (Buffer.from(head).subarray(0, EVIDENCE_BYTES).indexOf(HEADER) < 0) {
    throw new InvalidPdfError('no-pdf-header', 'the body does not start with %PDF-');
  }
  if (Buffer.from(tail).subarray(-TRAILER_WINDOW).lastIndexOf(EOF_MARK) < 0) {
    throw new InvalidPdfError('no-eof-trailer', `no %%EOF in the last ${TRAILER_WINDOW} bytes (truncated?)`);
  }
}

/** True when the bytes look like an HTML page (a login page served instead of the PDF). */
export function looksLikeHtml(bytes: Uint8Array, contentType?: string): boolean {
  if (contentType && /^text\/html\b/i.test(contentType.trim())) return true;
  const head = Buffer.from(bytes.subarray(0, 512)).toString('latin1').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}
