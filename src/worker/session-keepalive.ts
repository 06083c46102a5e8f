import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
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
  redis: Redis;
  prefix: string;
  queues: readonly Queue[];
  idleMs: number;
  logger: Logger;
}): () => void {
  const everyMs = Math.max(10_000, Math.floor(options.idleMs / 3));
  const timer = setInterval(() => {
    void (async () => {
      const lock = `${options.prefix}:session:keepalive`;
      if ((await options.redis.set(lock, '1', 'PX', everyMs - 1_000, 'NX')) !== 'OK') return;
      let queued = 0;
      for (const q of options.queues) {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'paused', 'prioritized');
        queued += Object.values(c).reduce((a, b) => a + b, 0);
      }
      if (queued === 0) return;
      const ok = await options.session.extend();
      options.logger.debug({ ok }, 'extended the web session before the idle logout');
    })().catch((err: unknown) => options.logger.warn({ err }, 'could not extend the web session'));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
