/**
 * `submit` of a big batch: the time `submitBatch` takes to validate and queue N user ids (one
 * discover job each, with the batch's accounting) on a private redis-server. Nothing is discovered
 * or downloaded; no worker runs.
 */
import { log, onCleanup } from './harness.ts';

/** What `submit` of a big batch cost. */
export interface SubmitResult {
  users: number;
  queued: number;
  seconds: number;
  cpuSeconds: number;
  /** Peak RSS of this process after the submission. */
  rssBytes: number;
  /** The target: 100,000 users in under 10 s. */
  targetSeconds: number;
}

export const SUBMIT_TARGET_SECONDS = 10;

export async function runSubmit(users: number): Promise<SubmitResult> {
  const [{ startRedisServer }, { connectRedis, openQueues, submitBatch }] = await Promise.all([
    import('../src/util/redis-server.ts'),
    import('../src/queue/index.ts'),
  ]);
  log(`submit: queueing a batch of ${users} user ids on a private redis-server`);
  const server = await startRedisServer();
  const stopRedis = onCleanup(() => server.stop());
  const redis = await connectRedis(server.url);
  const quit = onCleanup(async () => void (await redis.quit()));
  const queues = openQueues(redis, 'certharvest-bench-submit');
  const closeQueues = onCleanup(() => queues.close());
  const ids = Array.from({ length: users }, (_, i) => i + 1);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const submitted = await submitBatch(
    { by: 'userId', users: ids },
    { queues, redis, prefix: 'certharvest-bench-submit' },
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const result: SubmitResult = {
    users,
    queued: submitted.queued,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    rssBytes: process.memoryUsage().rss,
    targetSeconds: SUBMIT_TARGET_SECONDS,
  };
  await closeQueues();
  await quit();
  await stopRedis();
  return result;
}
