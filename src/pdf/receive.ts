import { createHash, type Hash } from 'node:crypto';

/**
 * Where a downloaded body goes while it arrives: the store's temporary file in production
 * (`CertificateStore.receive()`), memory in tests and probes (`MemoryPdfSink`). A sink keeps what
 * deciding "whole PDF" needs (length, first and last bytes) and the sha256, so nobody has to read
 * the body back.
 */
export interface PdfSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Forget what was written: a new body starts (an earlier answer was not the PDF after all). */
  reset(): Promise<void>;
  /** What has arrived so far. */
  readonly evidence: PdfEvidence;
}

/** What `assertWholePdf` looks at: the length, the first and the last bytes of a body. */
export interface PdfEvidence {
  readonly length: number;
  readonly head: Uint8Array;
  readonly tail: Uint8Array;
}

/** The Content-Type and Content-Length a PDF came with: hints and a length to check. */
export interface PdfResponseFacts {
  /** The Content-Type header, when the bytes came over HTTP. */
  contentType?: string | undefined;
  /** The Content-Length header, when given. */
  contentLength?: number | undefined;
}

/** How many bytes of either end of a body are kept as evidence (the checks look at 1 KiB). */
export const EVIDENCE_BYTES = 1024;

/** Evidence of bytes held whole in memory. */
export function pdfEvidence(bytes: Uint8Array): PdfEvidence {
  return {
    length: bytes.byteLength,
    head: bytes.subarray(0, EVIDENCE_BYTES),
    tail: bytes.subarray(Math.max(0, bytes.byteLength - EVIDENCE_BYTES)),
  };
}

/**
 * Length, head, tail and sha256 of a body, kept as it streams past: memory stays at 2 KiB however
 * long the body.
 */
export class BodyDigest implements PdfEvidence {
  #length = 0;
  #head = Buffer.alloc(0);
  #tail = Buffer.alloc(0);
  #hash: Hash = createHash('sha256');

  get length(): number {
    return this.#length;
  }

  get head(): Uint8Array {
    return this.#head;
  }

  get tail(): Uint8Array {
    return this.#tail;
  }

  add(chunk: Uint8Array): void {
    this.#length += chunk.byteLength;
    this.#hash.update(chunk);
    if (this.#head.length < EVIDENCE_BYTES) {
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, EVIDENCE_BYTES - this.#head.length)]);
    }
    const keep = Math.min(chunk.byteLength, EVIDENCE_BYTES);
    const last = chunk.subarray(chunk.byteLength - keep);
    this.#tail =
      keep === EVIDENCE_BYTES
        ? Buffer.from(last)
        : Buffer.concat([this.#tail.subarray(Math.max(0, this.#tail.length + keep - EVIDENCE_BYTES)), last]);
  }

  /** The sha256 of everything added, as hex. Call once, at the end. */
  sha256(): string {
    return this.#hash.digest('hex');
  }

  reset(): void {
    this.#length = 0;
    this.#head = Buffer.alloc(0);
    this.#tail = Buffer.alloc(0);
    this.#hash = createHash('sha256');
  }
}

/** A sink that keeps the body in memory: for tests, probes and small one-off reads. */
export class MemoryPdfSink implements PdfSink {
  #chunks: Uint8Array[] = [];
  #length = 0;

  async write(chunk: Uint8Array): Promise<void> {
    this.#chunks.push(chunk);
    this.#length += chunk.byteLength;
  }

  async reset(): Promise<void> {
    this.#chunks = [];
    this.#length = 0;
  }

  get evidence(): PdfEvidence {
    return pdfEvidence(this.bytes());
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

export interface DrainLimits {
  /** Largest body accepted: past it the body is cut and `tooLarge()` thrown. */
  maxBytes: number;
  tooLarge: () => Error;
  /** The error for a body that broke off (network, timeout). */
  readFailed: (err: unknown) => Error;
}

/**
 * Copy a response body into `sink`, chunk by chunk, awaiting each write (so a slow disk slows the
 * download instead of filling memory), and cut it once it passes `maxBytes` (the body's iterator
 * is closed, which cancels the transfer). `first` holds chunks already taken from `body` (to sniff
 * what the answer is).
 */
export async function drainInto(
  body: AsyncIterator<Uint8Array>,
  sink: PdfSink,
  limits: DrainLimits,
  first: readonly Uint8Array[] = [],
): Promise<void> {
  await sink.reset();
  let received = 0;
  const take = async (chunk: Uint8Array): Promise<void> => {
    received += chunk.byteLength;
    if (received > limits.maxBytes) {
      await Promise.resolve(body.return?.()).catch(() => {});
      throw limits.tooLarge();
    }
    await sink.write(chunk);
  };
  for (const chunk of first) await take(chunk);
  for (;;) {
    let result: IteratorResult<Uint8Array>;
    try {
      result = await body.next();
    } catch (err) {
      throw limits.readFailed(err);
    }
    if (result.done) return;
    await take(result.value);
  }
}

/** A web `ReadableStream` as the iterator `drainInto` reads; closing it cancels the stream. */
export function streamChunks(stream: ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  const reader = stream.getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    async return() {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}
