import type { RedisConnection } from '../util/redis-nodes.ts';

/** The signals that ask certharvest to stop gracefully, handled in one place. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      for (const s of STOP_SIGNALS) {
        process.once(s, () => {
          console.error(`\n${s} again: exiting without waiting`);
          process.exit(130);
        });
      }
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
  });
}

/**
 * An `AbortSignal` that aborts on the first SIGINT/SIGTERM, for a command that waits on work it
 * does not own (`--wait`): it stops waiting and says so. A second signal exits at once.
 * `dispose` removes every handler this installed (the process's defaults apply again).
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const again = (s: NodeJS.Signals) => {
    console.error(`\n${s} again: exiting without waiting`);
    process.exit(130);
  };
  const first = (s: NodeJS.Signals) => {
    for (const name of STOP_SIGNALS) {
      process.off(name, first);
      process.once(name, again);
    }
    controller.abort(s);
  };
  for (const name of STOP_SIGNALS) process.on(name, first);
  return {
    signal: controller.signal,
    dispose() {
      for (const name of STOP_SIGNALS) {
        process.off(name, first);
        process.off(name, again);
      }
    },
  };
}

/**
 * Run a graceful stop, then exit. Whatever it waits on (a Redis that does not answer, a socket
 * that does not close), the process exits within `graceMs`: 0 when the stop finished, 1 when
 * it had to be cut short.
 */
export async function stopWithin(graceMs: number, stop: () => Promise<void>): Promise<never> {
  const timer = setTimeout(() => {
    console.error(`shutdown did not finish within ${Math.round(graceMs / 1000)} s: exiting without waiting`);
    process.exit(1);
  }, graceMs);
  try {
    await stop();
  } catch (err) {
    console.error(`shutdown: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
  }
  // Nothing is left worth waiting for: a handle someone forgot (a reconnect timer) must not keep
  // the process alive after its work is done.
  process.exit(process.exitCode ?? 0);
}

/**
 * Close a Redis connection without waiting on a server that is not there. With
 * `maxRetriesPerRequest: null` a command sent while Redis is down waits in ioredis's offline
 * queue until it is back, and a QUIT queued behind it waits as long (ioredis answers QUIT at once
 * only when that queue is empty); once `disconnect()` stops the reconnecting, that queue is never
 * flushed and the connection never reaches "end". So a connection that is not ready is dropped
 * and nothing more is sent or awaited on it; a ready one gets `close` (default QUIT) for
 * `timeoutMs`, then is dropped.
 */
export async function closeRedis(
  redis: RedisConnection,
  options: { close?: () => Promise<unknown>; timeoutMs?: number } = {},
): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  const close = options.close ?? (() => redis.quit());
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeoutMs ?? 2_000);
    }),
  ]);
  clearTimeout(timer);
  if ((redis.status as string) !== 'end') redis.disconnect();
}
