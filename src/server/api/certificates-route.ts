import type { Request, Response, Router } from 'express';
import { SCHEMA_VERSION } from '../../certificate/index.ts';
import type { BatchTracker } from '../../queue/index.ts';
import { manifestCsvHeader, manifestCsvRows } from '../../report/manifest.ts';
import { writeChunk } from '../write-chunk.ts';
import { clientOf, mayRead } from './auth.ts';
import { notFound } from './errors.ts';
import { batchPath } from './links.ts';
import { CERTIFICATES_CHUNK, CERTIFICATES_PAGE, type ApiContext } from './options.ts';
import { certificatesQuerySchema, parseBatchId, parseQuery } from './requests.ts';

interface Window {
  batchId: string;
  offset: number;
  limit: number | undefined;
}

/** One JSON page of the manifest, with a `Link` to the next. */
async function sendPage(res: Response, tracker: BatchTracker, { batchId, offset, limit }: Window) {
  const size = limit ?? CERTIFICATES_PAGE;
  const page = await tracker.manifest(batchId, offset, size);
  if (!page) throw notFound(batchId);
  const next = offset + size < page.total ? offset + size : null;
  res.set('X-Total-Count', String(page.total));
  if (next !== null)
    res.set('Link', `<${batchPath(batchId)}/certificates?offset=${next}&limit=${size}>; rel="next"`);
  res.json({ schemaVersion: SCHEMA_VERSION, batchId, total: page.total, offset, rows: page.rows, next });
}

/**
 * The CSV: every row from `offset` (the whole manifest by default), read a chunk at a time and
 * written as the client takes it. Rows are only ever added at the end: the window fixed by the
 * first read is read whole.
 */
async function streamCsv(res: Response, tracker: BatchTracker, { batchId, offset, limit }: Window) {
  const first = await tracker.manifest(
    batchId,
    offset,
    Math.min(limit ?? CERTIFICATES_CHUNK, CERTIFICATES_CHUNK),
  );
  if (!first) throw notFound(batchId);
  const end = limit === undefined ? first.total : Math.min(first.total, offset + limit);
  res.set('X-Total-Count', String(first.total));
  res.type('text/csv; charset=utf-8').attachment(`${batchId}-certificates.csv`).status(200);
  await writeChunk(res, manifestCsvHeader());
  let at = offset;
  let rows = first.rows;
  while (at < end && !res.destroyed) {
    const want = Math.min(CERTIFICATES_CHUNK, end - at);
    await writeChunk(res, manifestCsvRows(rows.slice(0, want)));
    at += want;
    if (at >= end) break;
    rows = (await tracker.manifest(batchId, at, Math.min(CERTIFICATES_CHUNK, end - at)))?.rows ?? [];
  }
  res.end();
}

/** `?format=` decides; without it, `Accept: text/csv` (preferred to JSON) asks for the CSV. */
const wantsCsv = (req: Request, format: 'json' | 'csv' | undefined): boolean =>
  (format ?? (req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json')) === 'csv';

/** `GET /api/batches/:id/certificates`: its manifest, JSON pages or the whole as CSV. */
export function mountCertificates(router: Router, { tracker }: ApiContext): void {
  router.get('/batches/:id/certificates', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    const { format, offset, limit } = parseQuery(certificatesQuerySchema, req);
    const csv = wantsCsv(req, format);
    await mayRead(tracker, clientOf(res), batchId);
    const window = { batchId, offset, limit };
    await (csv ? streamCsv(res, tracker, window) : sendPage(res, tracker, window));
  });
}
