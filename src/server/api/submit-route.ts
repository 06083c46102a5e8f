import express, { type Router } from 'express';
import { SCHEMA_VERSION } from '../../certificate/index.ts';
import { InvalidBatchError, parseBatchSubmission, submitBatch } from '../../queue/index.ts';
import { clientOf } from './auth.ts';
import { outOfScope, submitError } from './errors.ts';
import { batchLinks } from './links.ts';
import { API_BODY_LIMIT_BYTES, type ApiContext } from './options.ts';
import { requireJson } from './requests.ts';

/** `POST /api/batches`: submit a batch (the body `certharvest schema` describes). */
export function mountSubmit(router: Router, { options, log }: ApiContext): void {
  // Only once the client is known is a body read (up to the limit, gzip included).
  router.post(
    '/batches',
    (req, res, next) => {
      const client = clientOf(res);
      if (!client.scopes.includes('submit')) throw outOfScope(client, 'submit');
      requireJson(req, 'send the batch as JSON with "Content-Type: application/json"');
      next();
    },
    express.json({ limit: API_BODY_LIMIT_BYTES, strict: true }),
    async (req, res) => {
      const client = res.locals.client as string;
      let result;
      try {
        const batch = parseBatchSubmission(req.body);
        const unsupported = batch.filters ? (options.unsupportedFilters?.(batch.filters) ?? []) : [];
        if (unsupported.length > 0) throw new InvalidBatchError(unsupported.map((p) => `filters: ${p}`));
        result = await submitBatch(batch, { ...options, client });
      } catch (err) {
        throw submitError(err, (req.body as { batchId?: string } | undefined)?.batchId ?? '');
      }
      const links = batchLinks(result.batchId);
      log.info(
        {
          client,
          batchId: result.batchId,
          queued: result.queued,
          rejected: result.rejected.length,
          duplicates: result.duplicates,
          allUsers: result.allUsers,
        },
        'batch submitted through the API',
      );
      res
        .status(201)
        .location(links.self)
        .json({ schemaVersion: SCHEMA_VERSION, ...result, links });
    },
  );
}
