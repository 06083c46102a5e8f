export {
  assertWholePdf,
  looksLikeHtml,
  InvalidPdfError,
  type PdfProblem,
  type PdfResponseFacts,
} from './validate.ts';
