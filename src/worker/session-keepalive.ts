import type { Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import { RedisLock, runExclusive } from '../auth/redis-lock.ts';
import type { WebSession } from '../browser/index.ts';
import type { Logger } from '../log/index.ts';

/**
 * While work is queued, extend the fleet's web session before the tenant's idle logout
 * (LMS_SESSION_IDLE_MINUTES): every third of it, one worker of the fleet (a short Redis lock)
 * posts `/d2l/lp/auth/session/extend`. Downloads keep it alive too; this covers the quiet spells
 * (a paused fleet, a long discovery) so work does not resume on a dead session.
 */
export function startSessionKeepAlive(options: {
  session: WebSession;
  redis: RedisConnection;
  prefix: string;
  queues: readonly Queue[];
  idleMs: number;
  logger: Logger;
}): () => void {
  const everyMs = Math.max(10_000, Math.floor(options.idleMs / 3));
  // One worker a round: the lock is kept (never released) so it lasts the round.
  const lock = new RedisLock(options.redis, `${options.prefix}:session:keepalive`, {
    ttlMs: everyMs - 1_000,
  });
  const extendIfQueued = async (): Promise<void> => {
    let queued = 0;
    for (const q of options.queues) {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'paused', 'prioritized');
      queued += Object.values(c).reduce((a, b) => a + b, 0);
    }
    if (queued === 0) return;
    const ok = await options.session.extend();
    options.logger.debug({ ok }, 'extended the web session before the idle logout');
  };
  const timer = setInterval(() => {
    runExclusive(lock, { waitMs: 0, onBusy: () => undefined }, async (held) => {
      held.keep();
      await extendIfQueued();
    }).catch((err: unknown) => options.logger.warn({ err }, 'could not extend the web session'));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
