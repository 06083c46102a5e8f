/**
 * How the batch pages answer: a page with its headers (`send`), the 404 page, and `handle`, which
 * logs a route's failure and answers it with an error page (or cuts an answer already started).
 */
import type { Request, Response } from 'express';
import { CertharvestError } from '../../errors/index.ts';
import type { Logger } from '../../log/index.ts';
import { batchIdSchema } from '../../queue/index.ts';
import { chrome, messagePage, page, type PageParts } from './layout.ts';
import type { BatchPagesOptions } from './options.ts';

export interface Responder {
  send(res: Response, status: number, p: PageParts): void;
  notFound(res: Response, what?: 'batch' | 'page'): void;
  /** A handler whose failure is logged and answered with an error page (or cuts a started answer). */
  handle(
    what: string,
    fn: (req: Request, res: Response) => Promise<void>,
  ): (req: Request, res: Response) => Promise<void>;
}

/** The batch id in the path, when it is one (anything else cannot name a batch). */
export const idOf = (req: Request): string | null => {
  const parsed = batchIdSchema.safeParse(req.params.id);
  return parsed.success ? parsed.data : null;
};

export function responder(options: Pick<BatchPagesOptions, 'env' | 'readOnly'>, log: Logger): Responder {
  const c = chrome(options);
  const send = (res: Response, status: number, p: PageParts) => {
    res
      .status(status)
      .set({
        'Content-Security-Policy': c.csp,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        // Same-origin requests keep their Referer (and a POST its Origin) for `sameOriginWrites`.
        'Referrer-Policy': 'same-origin',
      })
      .type('html')
      .send(page(c, p));
  };
  const notFound = (res: Response, what: 'batch' | 'page' = 'batch') =>
    send(res, 404, {
      title: `No such ${what}`,
      current: 'batch',
      body: messagePage(
        `No such ${what}`,
        what === 'batch'
          ? 'There is no batch with this id (batches are kept 30 days).'
          : 'The batch pages are /batches and /batches/<batch id>.',
      ),
    });
  const handle: Responder['handle'] = (what, fn) => async (req, res) => {
    try {
      await fn(req, res);
    } catch (err) {
      log.error({ err, batchId: req.params.id, path: req.path }, `batch pages: ${what} failed`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Our own errors say what is wrong in words for the reader; anything else, the log has.
      const ours = err instanceof CertharvestError;
      send(res, ours ? 409 : 500, {
        title: 'Error',
        current: 'batch',
        body: messagePage(
          'Something went wrong',
          `${what} failed: ${ours ? err.message : 'the board’s log has the cause'}`,
        ),
      });
    }
  };
  return { send, notFound, handle };
}
