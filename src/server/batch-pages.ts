/**
 * The board's batch pages, server-rendered HTML beside Bull Board (behind the same login):
 *
 *   GET  /batches                          the recent batches, newest first
 *   GET  /batches/:id                      one batch: its figures, links, failures
 *   GET  /batches/:id/certificates.csv     its manifest (one row per certificate, per failed user)
 *   POST /batches/:id/cancel               cancel it, then back to its page (303)
 *   POST /batches/:id/retry                retry its failures, then to the new batch's page (303)
 *
 * The POSTs are refused (403) on a read-only board, whose pages show no buttons; a POST from
 * another site is refused before it gets here (`sameOriginWrites`). Every value is escaped as it
 * is put in a page (`html`, pages/html.ts): failure reasons are the LMS's text. No script at all;
 * a page whose batch still runs reloads itself every few seconds.
 *
 * In `pages/`: the templates (`list-page.ts`, `batch-page.ts`, `widgets.ts`, `layout.ts`,
 * `styles.ts`), the figures they show (`figures.ts`), how a page is answered (`respond.ts`) and
 * the routes (`read-routes.ts`, `control-routes.ts`).
 */
import express from 'express';
import { BatchTracker } from '../queue/index.ts';
import { mountControls } from './pages/control-routes.ts';
import type { BatchPagesOptions } from './pages/options.ts';
import { mountBatch, mountList, mountManifestCsv } from './pages/read-routes.ts';
import { responder } from './pages/respond.ts';

export { batchPage, type BatchPageInput } from './pages/batch-page.ts';
export { formatDuration, progressOf } from './pages/figures.ts';
export { escapeHtml, html, SafeHtml } from './pages/html.ts';
export { listPage } from './pages/list-page.ts';
export type { Notice } from './pages/notices.ts';
export { FAILURES_SHOWN, REFRESH_SECONDS, type BatchPagesOptions } from './pages/options.ts';

/** The batch pages' routes; mount them behind the board's login and `sameOriginWrites`. */
export function batchPagesRouter(options: BatchPagesOptions): express.Router {
  const log = options.logger.child({ component: 'batch-pages' });
  const r = responder(options, log);
  const tracker = new BatchTracker(options.redis, options.prefix);
  const control = { queues: options.queues, redis: options.redis, prefix: options.prefix };
  const router = express.Router();
  const reads = { tracker, r, readOnly: options.readOnly, limit: options.listLimit ?? 50 };
  mountList(router, reads);
  mountBatch(router, reads);
  mountManifestCsv(router, reads);
  mountControls(router, { r, log, readOnly: options.readOnly, control });
  // Any other path under /batches is no page of the board's either.
  router.use('/batches', (_req, res) => r.notFound(res, 'page'));
  return router;
}
