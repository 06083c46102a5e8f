import type { Router } from 'express';
import type { Logger } from '../../log/index.ts';
import {
  BatchNotFoundError,
  BatchStillRunningError,
  cancelBatch,
  NothingToRetryError,
  retryBatch,
  type CertharvestQueues,
} from '../../queue/index.ts';
import type { RedisConnection } from '../../util/redis-nodes.ts';
import { messagePage } from './layout.ts';
import type { Notice } from './notices.ts';
import { idOf, type Responder } from './respond.ts';
import { batchUrl } from './widgets.ts';

export interface ControlContext {
  r: Responder;
  log: Logger;
  readOnly: boolean;
  control: { queues: CertharvestQueues; redis: RedisConnection; prefix: string };
}

type Act = (batchId: string) => Promise<{ to: string; notice: Notice }>;

/** A POST route: refused on a read-only board, 404 for an unknown batch, else `act` and a 303. */
function control303({ r, readOnly }: ControlContext, what: string, act: Act) {
  return r.handle(what, async (req, res) => {
    if (readOnly) {
      return r.send(res, 403, {
        title: 'Read-only board',
        current: 'batch',
        body: messagePage(
          'Read-only board',
          'This board only shows (BOARD_READ_ONLY): cancel or retry a batch with certharvest cancel or certharvest retry.',
        ),
      });
    }
    const batchId = idOf(req);
    if (!batchId) return r.notFound(res);
    try {
      const { to, notice } = await act(batchId);
      res.redirect(303, `${batchUrl(to)}?notice=${notice}`);
    } catch (err) {
      if (err instanceof BatchNotFoundError) return r.notFound(res);
      throw err;
    }
  });
}

/** `POST /batches/:id/cancel` and `/retry`: act, then to the batch's (or the new batch's) page. */
export function mountControls(router: Router, ctx: ControlContext): void {
  const { log, control } = ctx;
  router.post(
    '/batches/:id/cancel',
    control303(ctx, 'cancelling the batch', async (batchId) => {
      const { status, outcome, ...counts } = await cancelBatch(batchId, control);
      log.info({ ...counts, outcome, state: status.state }, 'batch cancelled from the board');
      return { to: batchId, notice: outcome };
    }),
  );
  router.post(
    '/batches/:id/retry',
    control303(ctx, 'retrying the batch', async (batchId) => {
      try {
        const result = await retryBatch(batchId, control, {});
        log.info({ ...result }, 'batch retried from the board');
        return { to: result.batchId, notice: 'retried' };
      } catch (err) {
        if (err instanceof BatchStillRunningError) return { to: batchId, notice: 'still-running' };
        if (err instanceof NothingToRetryError) return { to: batchId, notice: 'nothing-to-retry' };
        throw err;
      }
    }),
  );
}
