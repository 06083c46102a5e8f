export { assertWholePdf, looksLikeHtml, InvalidPdfError, type PdfProblem } from './validate.ts';
export {
  BodyDigest,
  drainInto,
  EVIDENCE_BYTES,
  MemoryPdfSink,
  pdfEvidence,
  streamChunks,
  type DrainLimits,
  type PdfEvidence,
  type PdfResponseFacts,
  type PdfSink,
} from './receive.ts';
