import type { Response } from 'express';

/**
 * Write a piece of a streamed answer, waiting while the client reads slower than Redis answers
 * (until it drains, or the connection closes).
 */
export function writeChunk(res: Response, chunk: string): Promise<void> {
  if (chunk === '' || res.write(chunk)) return Promise.resolve();
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
