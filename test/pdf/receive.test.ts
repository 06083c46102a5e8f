import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  assertWholePdf,
  BodyDigest,
  drainInto,
  EVIDENCE_BYTES,
  InvalidPdfError,
  MemoryPdfSink,
  pdfEvidence,
  streamChunks,
} from '../../src/pdf/index.ts';

const streamOf = (chunks: Uint8Array[], thenFail?: Error) =>
  streamChunks(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else if (thenFail) controller.error(thenFail);
        else controller.close();
      },
    }),
  );

/** `bytes` cut into chunks of random sizes, some smaller and some larger than the evidence window. */
const chunked = (bytes: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(Math.random() * 3 * EVIDENCE_BYTES);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
};

describe('BodyDigest', () => {
  it('keeps the same length, head, tail and sha256 as the whole body, however it is chunked', () => {
    for (const size of [0, 1, 700, EVIDENCE_BYTES, EVIDENCE_BYTES + 1, 5000, 200_000]) {
      const body = randomBytes(size);
      const digest = new BodyDigest();
      for (const chunk of chunked(body)) digest.add(chunk);
      const whole = pdfEvidence(body);
      expect(digest.length, `size ${size}`).toBe(size);
      expect(Buffer.from(digest.head).equals(Buffer.from(whole.head)), `head of ${size}`).toBe(true);
      expect(Buffer.from(digest.tail).equals(Buffer.from(whole.tail)), `tail of ${size}`).toBe(true);
      expect(digest.sha256()).toBe(createHash('sha256').update(body).digest('hex'));
    }
  });

  it('starts over on reset', () => {
    const digest = new BodyDigest();
    digest.add(Buffer.from('<html>login</html>'));
    digest.reset();
    digest.add(Buffer.from('%PDF-1.7\n%%EOF\n'));
    expect(() => assertWholePdf(digest)).not.toThrow();
    expect(digest.length).toBe(15);
  });
});

describe('assertWholePdf on evidence', () => {
  it('decides from the evidence of a streamed body as from the bytes', () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(300_000), Buffer.from('\n%%EOF\n')]);
    const digest = new BodyDigest();
    for (const chunk of chunked(pdf)) digest.add(chunk);
    expect(() => assertWholePdf(digest, { contentLength: pdf.length })).not.toThrow();
    const cut = new BodyDigest();
    cut.add(pdf.subarray(0, pdf.length - 2000));
    expect(() => assertWholePdf(cut)).toThrow(InvalidPdfError);
    expect(() => assertWholePdf(digest, { contentLength: pdf.length + 1 })).toThrow(/length-mismatch/);
  });
});

describe('drainInto', () => {
  const limits = (maxBytes: number) => ({
    maxBytes,
    tooLarge: () => new Error('too large'),
    readFailed: (err: unknown) => new Error(`broke: ${(err as Error).message}`),
  });

  it('copies the sniffed chunks and the rest, in order', async () => {
    const sink = new MemoryPdfSink();
    await sink.write(Buffer.from('left over from an earlier answer'));
    await drainInto(streamOf([Buffer.from('c'), Buffer.from('d')]), sink, limits(10), [Buffer.from('ab')]);
    expect(sink.bytes().toString()).toBe('abcd');
  });

  it('cuts a body past the limit, even one that never ends, and cancels the stream', async () => {
    let pulled = 0;
    let cancelled = false;
    const endless = streamChunks(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(64 * 1024));
        },
        cancel() {
          cancelled = true;
        },
      }),
    );
    await expect(drainInto(endless, new MemoryPdfSink(), limits(1024 * 1024))).rejects.toThrow('too large');
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(20);
  });

  it('reports a body that breaks off with the error it was given', async () => {
    await expect(
      drainInto(
        streamOf([Buffer.from('%PDF-')], new Error('socket hang up')),
        new MemoryPdfSink(),
        limits(100),
      ),
    ).rejects.toThrow('broke: socket hang up');
  });
});
