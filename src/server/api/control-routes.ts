import express, { type Router } from 'express';
import { SCHEMA_VERSION } from '../../certificate/index.ts';
import { BatchNotFoundError, cancelBatch, retryBatch } from '../../queue/index.ts';
import { clientOf, mayControl } from './auth.ts';
import { ApiError, notFound, retryError } from './errors.ts';
import { batchLinks, batchPath } from './links.ts';
import { RETRY_BODY_LIMIT_BYTES, type ApiContext } from './options.ts';
import { hasBody, parseBatchId, parseRetryBody, requireJson } from './requests.ts';

/** `POST /api/batches/:id/cancel`: cancel it. */
export function mountCancel(router: Router, { tracker, log, control }: ApiContext): void {
  router.post('/batches/:id/cancel', async (req, res) => {
    const batchId = parseBatchId(req.params.id);
    const client = clientOf(res);
    await mayControl(tracker, client, batchId);
    let result;
    try {
      result = await cancelBatch(batchId, control);
    } catch (err) {
      if (err instanceof BatchNotFoundError) throw notFound(batchId);
      throw err;
    }
    const { status, ...counts } = result;
    if (result.outcome === 'already-ended') {
      throw new ApiError(
        409,
        'BATCH_ENDED',
        `batch "${batchId}" had already ended (${status.state}${status.finishedAt ? ` at ${status.finishedAt}` : ''}): there is nothing to cancel`,
      );
    }
    log.info({ client: client.name, ...counts, state: status.state }, 'batch cancelled through the API');
    res.json({
      schemaVersion: SCHEMA_VERSION,
      ...counts,
      state: status.state,
      cancelledAt: status.cancelledAt ?? null,
      links: batchLinks(batchId),
    });
  });
}

/** `POST /api/batches/:id/retry`: retry its failures as a new batch. */
export function mountRetry(router: Router, { tracker, log, control }: ApiContext): void {
  // The body is optional: none, or `{"batchId": "<the new batch's id>"}` as JSON.
  router.post(
    '/batches/:id/retry',
    (req, _res, next) => {
      if (hasBody(req)) {
        requireJson(
          req,
          'send no body, or {"batchId": "<new id>"} as JSON with "Content-Type: application/json"',
        );
      }
      next();
    },
    express.json({ limit: RETRY_BODY_LIMIT_BYTES, strict: true }),
    async (req, res) => {
      const batchId = parseBatchId(req.params.id);
      const client = clientOf(res);
      const body = parseRetryBody(req.body);
      await mayControl(tracker, client, batchId);
      let result;
      try {
        result = await retryBatch(
          batchId,
          { ...control, client: client.name },
          body.batchId ? { batchId: body.batchId } : {},
        );
      } catch (err) {
        throw retryError(err, batchId);
      }
      log.info({ client: client.name, ...result }, 'batch retried through the API');
      const links = { ...batchLinks(result.batchId), retryOf: batchPath(batchId) };
      res
        .status(201)
        .location(links.self)
        .json({ schemaVersion: SCHEMA_VERSION, ...result, links });
    },
  );
}
