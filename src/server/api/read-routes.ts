import type { Response, Router } from 'express';
import { SCHEMA_VERSION } from '../../certificate/index.ts';
import type { BatchFailure } from '../../queue/index.ts';
import { FAILURE_COLUMNS, failureRow, toCsv } from '../../report/csv.ts';
import { writeChunk } from '../write-chunk.ts';
import { clientOf, mayRead } from './auth.ts';
import { notFound } from './errors.ts';
import { batchLinks, batchPath } from './links.ts';
import { FAILURES_CHUNK, STATUS_FAILURES, type ApiContext } from './options.ts';
import { failuresQuerySchema, parseBatchId, parseQuery } from './requests.ts';

/** `GET /api/batches/:id`: its counts, state and the fleet's pause. */
export function mountStatus(router: Router, { options, tracker }: ApiContext): void {
  router.get('/batches/:id', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    await mayRead(tracker, clientOf(res), batchId);
    const [status, page, pause] = await Promise.all([
      tracker.status(batchId, STATUS_FAILURES),
      tracker.failures(batchId, 0, 0),
      options.pause?.() ?? Promise.resolve(null),
    ]);
    if (!status) throw notFound(batchId);
    res.json({
      schemaVersion: SCHEMA_VERSION,
      ...status,
      failuresTotal: Math.max(page?.total ?? 0, status.failures.length),
      fleetPause: pause,
      links: batchLinks(batchId),
    });
  });
}

interface FailuresWindow {
  batchId: string;
  format: 'json' | 'csv';
  offset: number;
  limit: number | undefined;
  total: number;
  /** Where the window ends (exclusive), and the link to the page after it. */
  end: number;
  next: string | null;
}

/** The headers and the opening of a failures answer: CSV, or JSON up to the array's `[`. */
async function openFailures(res: Response, w: FailuresWindow): Promise<void> {
  res.set('X-Total-Count', String(w.total));
  if (w.next) res.set('Link', `<${w.next}>; rel="next"`);
  if (w.format === 'csv') {
    res.type('text/csv; charset=utf-8').attachment(`${w.batchId}-failures.csv`).status(200);
    await writeChunk(res, `${toCsv([FAILURE_COLUMNS])}\n`);
  } else {
    res.type('application/json; charset=utf-8').status(200);
    await writeChunk(
      res,
      `{"schemaVersion":${SCHEMA_VERSION},"batchId":${JSON.stringify(w.batchId)},"total":${w.total},"offset":${w.offset},"limit":${w.limit ?? null},"next":${JSON.stringify(w.next)},"failures":[`,
    );
  }
}

/** `GET /api/batches/:id/failures`: its failures, JSON or `?format=csv`, `?offset=&limit=`. */
export function mountFailures(router: Router, { tracker }: ApiContext): void {
  router.get('/batches/:id/failures', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    const { format, offset, limit } = parseQuery(failuresQuerySchema, req);
    await mayRead(tracker, clientOf(res), batchId);
    const first = await tracker.failures(batchId, offset, Math.min(limit ?? FAILURES_CHUNK, FAILURES_CHUNK));
    if (!first) throw notFound(batchId);
    // The list only grows: the window [offset, end) fixed now is read whole, chunk by chunk.
    const { total } = first;
    const end = limit === undefined ? total : Math.min(total, offset + limit);
    const next =
      end < total
        ? `${batchPath(batchId)}/failures?offset=${end}${limit === undefined ? '' : `&limit=${limit}`}${format === 'csv' ? '&format=csv' : ''}`
        : null;
    await openFailures(res, { batchId, format, offset, limit, total, end, next });
    // CSV: one line a failure. JSON: the array's items, a comma before all but the very first.
    const encode = (list: readonly BatchFailure[], leading: boolean): string =>
      format === 'csv'
        ? `${toCsv(list.map(failureRow))}\n`
        : list.map((f, i) => `${leading && i === 0 ? '' : ','}${JSON.stringify(f)}`).join('');
    let at = offset;
    let list = first.failures.slice(0, Math.max(0, end - at));
    let leading = true;
    while (list.length > 0 && !res.destroyed) {
      await writeChunk(res, encode(list, leading));
      leading = false;
      at += list.length;
      if (at >= end) break;
      const page = await tracker.failures(batchId, at, Math.min(FAILURES_CHUNK, end - at));
      list = page?.failures ?? [];
    }
    res.end(format === 'csv' ? '' : ']}');
  });
}
