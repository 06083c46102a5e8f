/**
 * The `maintenance` queue's processor: the token keep-alive. A BullMQ job scheduler (one per
 * fleet) puts a job there every TOKEN_KEEPALIVE; whichever worker takes it rotates the refresh
 * token and, when asked, extends the web session (docs/auth.md, "The keep-alive").
 */
import { Queue, Worker } from 'bullmq';
import type { RedisConnection } from '../src/util/redis-nodes.ts';
import type { TokenProvider } from '../src/auth/index.ts';
import type { FleetBreaker } from '../src/fleet/index.ts';
import type { Logger } from '../src/log/index.ts';
import { closeWorker } from '../src/queue/close-worker.ts';
import { MAINTENANCE_QUEUE } from '../src/queue/names.ts';
import { decide } from '../src/failure/failure-policy.ts';
import { KEEPALIVE_SCHEDULER_ID, keepAliveHealthKey } from '../src/worker/token-keepalive.ts';

export interface TokenKeepAliveOptions {
  redis: RedisConnection;
  prefix: string;
  /** Undefined: TOKEN_KEEPALIVE=off (the fleet's scheduler is removed). */
  everyMs: number | undefined;
  tokens: TokenProvider;
  /** Extend the web session too (TOKEN_KEEPALIVE_SESSION). */
  session?: { extend(): Promise<boolean> };
  /** Pauses for a decision: the fleet, or only this worker for a fault that is its own. */
  breaker: Pick<FleetBreaker, 'trip'>;
  logger: Logger;
}

/**
 * Keep the fleet's credentials alive while nothing else uses them: a BullMQ job scheduler (one
 * per fleet, whatever the number of workers) runs a job every `everyMs`; whichever worker takes
 * it rotates the refresh token (tenants expire unused ones) and, when asked, extends the web
 * session. A refusal is handled like any other: the failure policy decides, e.g. a fleet pause
 * naming the fix — found while idle, not when the next batch arrives.
 */
export async function startTokenKeepAlive(
  options: TokenKeepAliveOptions,
): Promise<{ stop(): Promise<void> }> {
  const { redis, prefix, everyMs, logger } = options;
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix });
  if (everyMs === undefined) {
    await queue.removeJobScheduler(KEEPALIVE_SCHEDULER_ID);
    await queue.close();
    return { stop: async () => {} };
  }
  await queue.upsertJobScheduler(
    KEEPALIVE_SCHEDULER_ID,
    { every: everyMs },
    {
      name: KEEPALIVE_SCHEDULER_ID,
      opts: { attempts: 1, removeOnComplete: { count: 20 }, removeOnFail: { count: 50 } },
    },
  );
  const worker = new Worker(MAINTENANCE_QUEUE, async () => runKeepAlive(options), {
    connection: redis,
    prefix,
    concurrency: 1,
  });
  worker.on('error', (err) => logger.warn({ err }, 'keep-alive worker error'));
  await worker.waitUntilReady();
  return {
    async stop() {
      await closeWorker(worker);
      await queue.close();
    },
  };
}

/** One keep-alive run; records its health, and lets the failure policy decide about a refusal. */
export async function runKeepAlive(
  options: Pick<TokenKeepAliveOptions, 'redis' | 'prefix' | 'tokens' | 'session' | 'breaker' | 'logger'>,
): Promise<{ rotated: boolean; sessionExtended?: boolean }> {
  const { redis, prefix, tokens, session, breaker, logger } = options;
  const key = keepAliveHealthKey(prefix);
  const at = Date.now();
  try {
    await tokens.rotate();
    const sessionExtended = session ? await session.extend() : undefined;
    await redis.multi().hset(key, { lastAt: at, lastOk: '1', lastError: '' }).hincrby(key, 'runs', 1).exec();
    logger.info(
      { mode: tokens.mode, ...(sessionExtended === undefined ? {} : { sessionExtended }) },
      tokens.mode === 'refresh-token' ? 'keep-alive: refresh token rotated' : 'keep-alive: token checked',
    );
    return {
      rotated: tokens.mode === 'refresh-token',
      ...(sessionExtended === undefined ? {} : { sessionExtended }),
    };
  } catch (err) {
    const decision = decide(err);
    await redis.hset(key, { lastAt: at, lastOk: '0', lastError: decision.message.slice(0, 500) });
    logger.warn({ code: decision.code, reason: decision.message }, 'keep-alive failed');
    if (decision.action === 'pause') await breaker.trip(decision);
    throw err;
  }
}
