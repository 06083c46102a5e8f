import type { Router } from 'express';
import { isFinal, type BatchTracker } from '../../queue/index.ts';
import { manifestCsvHeader, manifestCsvRows } from '../../report/manifest.ts';
import { writeChunk } from '../write-chunk.ts';
import { batchPage } from './batch-page.ts';
import { listPage } from './list-page.ts';
import { isNotice } from './notices.ts';
import { FAILURES_SHOWN } from './options.ts';
import { idOf, type Responder } from './respond.ts';
import { batchUrl } from './widgets.ts';

export interface ReadContext {
  tracker: BatchTracker;
  r: Responder;
  readOnly: boolean;
  /** Batches on the list page. */
  limit: number;
}

/** `GET /batches`: the recent batches, newest first. */
export function mountList(router: Router, { tracker, r, limit }: ReadContext): void {
  router.get(
    '/batches',
    r.handle('reading the recent batches', async (_req, res) => {
      const batches = await tracker.recent(limit);
      r.send(res, 200, {
        title: 'Batches',
        current: 'list',
        body: listPage(batches, Date.now(), limit),
        ...(batches.some((b) => !isFinal(b.state)) ? { refresh: '/batches' } : {}),
      });
    }),
  );
}

/** `GET /batches/:id`: one batch, its figures, links, failures. */
export function mountBatch(router: Router, { tracker, r, readOnly }: ReadContext): void {
  router.get(
    '/batches/:id',
    r.handle('reading the batch', async (req, res) => {
      const batchId = idOf(req);
      if (!batchId) return r.notFound(res);
      const [status, failures] = await Promise.all([
        // 1, not 0: `status` reads failures 0..max-1, and 0..-1 is every one of them.
        tracker.status(batchId, 1),
        tracker.failures(batchId, 0, FAILURES_SHOWN),
      ]);
      if (!status || !failures) return r.notFound(res);
      const notice = isNotice(req.query.notice) ? req.query.notice : undefined;
      r.send(res, 200, {
        title: `Batch ${batchId}`,
        current: 'batch',
        body: batchPage({ status, failures, notice, readOnly, now: Date.now() }),
        // The reload drops the notice: it told of one action, once.
        ...(isFinal(status.state) ? {} : { refresh: batchUrl(batchId) }),
      });
    }),
  );
}

/** `GET /batches/:id/certificates.csv`: its manifest (one row per certificate, per failed user). */
export function mountManifestCsv(router: Router, { tracker, r }: ReadContext): void {
  router.get(
    '/batches/:id/certificates.csv',
    r.handle('writing the manifest', async (req, res) => {
      const batchId = idOf(req);
      if (!batchId || !(await tracker.exists(batchId))) return r.notFound(res);
      res
        .status(200)
        .set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
        .type('text/csv; charset=utf-8')
        .attachment(`${batchId}-certificates.csv`);
      await writeChunk(res, manifestCsvHeader());
      for await (const rows of tracker.manifestPages(batchId)) {
        if (res.destroyed) return;
        await writeChunk(res, manifestCsvRows(rows));
      }
      res.end();
    }),
  );
}
