import type { HttpAnswer } from './transport.ts';

export interface BodyLimits {
  maxBytes: number;
  /** The error for a body over the limit; `size` is the declared length or `more than <max>`. */
  tooLarge: (size: string) => Error;
  /** The error for a body that broke off (or ran out of time). */
  readFailed: (cause: unknown) => Error;
}

/**
 * The first `count` bytes or a little more (whole chunks), leaving the rest unread: enough to tell
 * a PDF from a page without reading a login page whole.
 */
export async function readFirstChunks(
  answer: HttpAnswer,
  count: number,
  readFailed: (cause: unknown) => Error,
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  while (received < count) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await answer.body.next();
    } catch (cause) {
      throw readFailed(cause);
    }
    if (next.done) break;
    chunks.push(next.value);
    received += next.value.byteLength;
  }
  return chunks;
}

/**
 * The whole body, refused past `maxBytes` (a declared length over it is refused before reading;
 * an endless body is cut there and never held whole).
 */
export async function readBounded(answer: HttpAnswer, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(answer.headers.get('content-length') ?? NaN);
  if (declared > limits.maxBytes) {
    await answer.discard();
    throw limits.tooLarge(String(declared));
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await answer.body.next();
    } catch (cause) {
      throw limits.readFailed(cause);
    }
    if (next.done) break;
    size += next.value.byteLength;
    if (size > limits.maxBytes) {
      await answer.discard();
      throw limits.tooLarge(`more than ${limits.maxBytes}`);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}
