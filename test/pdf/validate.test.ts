import { PDFDocument } from 'pdf-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertWholePdf, InvalidPdfError, looksLikeHtml } from '../../src/pdf/index.ts';

let pdf: Uint8Array;

beforeAll(async () => {
  const doc = await PDFDocument.create();
  doc.addPage().drawText('Certificate of completion');
  pdf = await doc.save();
});

const problemOf = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidPdfError);
    return (err as InvalidPdfError).problem;
  }
  return 'accepted';
};

describe('assertWholePdf', () => {
  it('accepts a whole PDF with matching type and length', () => {
    expect(
      problemOf(() => assertWholePdf(pdf, { contentType: 'application/pdf', contentLength: pdf.length })),
    ).toBe('accepted');
  });

  it('rejects a truncated body, even when its prefix is a real PDF', () => {
    expect(problemOf(() => assertWholePdf(pdf.subarray(0, pdf.length - 200)))).toBe('no-eof-trailer');
  });

  it('rejects a body shorter than Content-Length', () => {
    expect(
      problemOf(() => assertWholePdf(pdf.subarray(0, pdf.length - 1), { contentLength: pdf.length })),
    ).toBe('length-mismatch');
  });

  it('takes Content-Type as a hint only: a whole PDF as octet-stream or untyped is a PDF', () => {
    for (const contentType of ['application/octet-stream', 'binary/octet-stream', undefined]) {
      expect(problemOf(() => assertWholePdf(pdf, { contentType }))).toBe('accepted');
    }
  });

  it('rejects HTML served as 200 (the login page)', () => {
    const html = Buffer.from(
      '<!DOCTYPE html><html><body><form action="/d2l/lp/auth/login/login.d2l"></form>',
    );
    expect(problemOf(() => assertWholePdf(html, { contentType: 'text/html; charset=utf-8' }))).toBe(
      'no-pdf-header',
    );
    expect(problemOf(() => assertWholePdf(html))).toBe('no-pdf-header');
    expect(looksLikeHtml(html)).toBe(true);
    expect(looksLikeHtml(pdf)).toBe(false);
  });

  it('rejects an empty body', () => {
    expect(problemOf(() => assertWholePdf(new Uint8Array()))).toBe('empty');
  });

  it('accepts an encrypted PDF without trying to decrypt it', () => {
    // The shape of an owner-password-encrypted PDF: an /Encrypt dictionary in the trailer.
    const encrypted = Buffer.from(
      '%PDF-1.6\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Filter /Standard /V 4 /R 4 /O <00> /U <00> /P -1068 >>\nendobj\n' +
        'trailer\n<< /Root 2 0 R /Encrypt 1 0 R >>\nstartxref\n9\n%%EOF\n',
      'latin1',
    );
    expect(problemOf(() => assertWholePdf(encrypted, { contentType: 'application/pdf' }))).toBe('accepted');
  });
});
