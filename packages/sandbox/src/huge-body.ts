import type { ServerResponse } from 'node:http';

export const HUGE_BODY_HEAD = '%PDF-1.7\n';
const CHUNK_BYTES = 64 * 1024;
/** One chunk of filler, shared by every huge body: nothing is buffered per response. */
const FILLER = Buffer.alloc(CHUNK_BYTES, 0x20);

/**
 * Stream `%PDF-1.7\n` and then `fillerBytes` filler bytes (0 = endless) as `application/pdf`
 * without a Content-Length, chunk by chunk: 64 KiB at a time, waiting for `drain` whenever the
 * socket is full, and stopping as soon as the client goes away or the sandbox closes (both close
 * the response). Resolves when the body has ended or been abandoned.
 */
export async function streamHugeBody(
  res: ServerResponse,
  filename: string,
  fillerBytes: number,
): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/pdf');
  res.setHeader('Content-Disposition', `inline; filename="${filename}"`);
  res.setHeader('Cache-Control', 'private, no-store');
  let gone = res.destroyed;
  const onClose = () => (gone = true);
  res.once('close', onClose);
  try {
    let full = !res.write(HUGE_BODY_HEAD);
    let left = fillerBytes === 0 ? Infinity : fillerBytes;
    while (!gone && left > 0) {
      if (full) await drainOrClose(res);
      if (gone) break;
      const n = Math.min(CHUNK_BYTES, left);
      left -= n;
      full = !res.write(n === CHUNK_BYTES ? FILLER : FILLER.subarray(0, n));
      // A socket that never fills up (an unusually fast reader) must not starve the event loop.
      if (!full) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!gone) res.end();
  } finally {
    res.off('close', onClose);
  }
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
