/**
 * The batch HTTP API, mounted at `/api` of the board:
 *
 *   POST /api/batches                   submit a batch (the body `certharvest schema` describes)
 *   GET  /api/batches/:id               its counts, state and the fleet's pause
 *   GET  /api/batches/:id/failures      its failures, JSON or `?format=csv`, `?offset=&limit=`
 *   GET  /api/batches/:id/certificates  its manifest, JSON pages or the whole as CSV
 *   POST /api/batches/:id/cancel        cancel it
 *   POST /api/batches/:id/retry         retry its failures as a new batch
 *
 * One module a concern, in `api/`: who may call (`auth.ts`, API keys and scopes), what a request
 * carries (`requests.ts`), the errors and what they mean for the client (`errors.ts`), and the
 * routes by group (`submit-route.ts`, `read-routes.ts`, `certificates-route.ts`,
 * `control-routes.ts`). Every answer is JSON (but the CSV), and every JSON about a batch carries
 * `schemaVersion`; every error is `{"error":{"code","message"}}`, plus `problems` when the input
 * was checked piece by piece. docs/api.md is the reference.
 */
import express from 'express';
import { BatchTracker } from '../queue/index.ts';
import { authenticate, noStore } from './api/auth.ts';
import { mountCertificates } from './api/certificates-route.ts';
import { mountCancel, mountRetry } from './api/control-routes.ts';
import { apiDisabled, finish, methodNotAllowed } from './api/errors.ts';
import type { ApiContext, BatchApiOptions } from './api/options.ts';
import { mountFailures, mountStatus } from './api/read-routes.ts';
import { mountSubmit } from './api/submit-route.ts';

export {
  API_BODY_LIMIT_BYTES,
  CERTIFICATES_PAGE,
  CERTIFICATES_PAGE_MAX,
  STATUS_FAILURES,
  type ApiKey,
  type BatchApiOptions,
} from './api/options.ts';
export { redactUrl } from './api/redact-url.ts';

/** The batch API as an express router, to be mounted at `/api` ahead of the board. */
export function batchApiRouter(options: BatchApiOptions): express.Router {
  const router = express.Router();
  const context: ApiContext = {
    options,
    tracker: new BatchTracker(options.redis, options.prefix),
    log: options.logger.child({ component: 'batch-api' }),
    control: { queues: options.queues, redis: options.redis, prefix: options.prefix },
  };
  router.use('/batches', authenticate(options, context.log));
  mountSubmit(router, context);
  mountStatus(router, context);
  mountFailures(router, context);
  mountCertificates(router, context);
  mountCancel(router, context);
  mountRetry(router, context);

  // Anything else under /batches: a JSON 404 (or 405 for a known path), not the board's.
  router.all('/batches', (req, _res) => {
    throw methodNotAllowed(req, 'POST');
  });
  router.all(['/batches/:id', '/batches/:id/failures', '/batches/:id/certificates'], (req, _res) => {
    throw methodNotAllowed(req, 'GET, HEAD');
  });
  router.all(['/batches/:id/cancel', '/batches/:id/retry'], (req, _res) => {
    throw methodNotAllowed(req, 'POST');
  });
  return finish(router, context.log);
}

/**
 * The API where API_KEYS is not set: every request under /api/batches answers 404 API_DISABLED
 * (not 503: nothing will change until the board restarts with keys; a client should not retry).
 */
export function disabledBatchApi(): express.Router {
  const router = express.Router();
  router.use('/batches', (_req, res) => {
    noStore(res);
    throw apiDisabled();
  });
  return finish(router);
}
