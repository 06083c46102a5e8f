import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../src/util/redis-server.ts';
import { sleepUntil, spawnCli, tempDir, uniquePrefix, type CliChild } from '../helpers/index.ts';

const children: CliChild[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const f of cleanups.splice(0)) await f();
});

describe('certharvest worker shutdown', () => {
  it('exits on the first SIGTERM within its grace while Redis is down', async () => {
    const { dir, cleanup } = await tempDir('certharvest-worker-stop');
    cleanups.push(cleanup);
    const sandbox = spawnCli(['sandbox', '--port', '0', '--users', '2'], {}, dir);
    children.push(sandbox);
    await sleepUntil(() => /LMS_PASSWORD=.+\n/.test(sandbox.stdout()), 30_000);
    const lmsEnv = Object.fromEntries(
      sandbox
        .stdout()
        .split('\n')
        .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    const redis: RedisServerHandle = await startRedisServer();
    cleanups.push(() => redis.stop());
    const worker = spawnCli(
      ['worker', '--grace', '2'],
      {
        ...lmsEnv,
        REDIS_URL: redis.url,
        QUEUE_PREFIX: uniquePrefix('worker-stop'),
        SECRETS_KEY: randomBytes(32).toString('base64'),
        OUTPUT_DIR: './out',
        DOWNLOAD_STRATEGY: 'api',
        LOG_LEVEL: 'info',
      },
      dir,
    );
    children.push(worker);
    await sleepUntil(
      () => worker.stdout().includes('worker started') || worker.child.exitCode !== null,
      60_000,
    );
    expect(worker.child.exitCode, worker.stderr() + worker.stdout()).toBeNull();

    await redis.stop();
    await new Promise((r) => setTimeout(r, 2_500)); // its timers come round while Redis is away

    const sent = Date.now();
    worker.child.kill('SIGTERM');
    const code = await Promise.race([
      worker.exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    const took = Date.now() - sent;
    expect(code, worker.stderr()).not.toBe('still running');
    // The grace (2 s) for active jobs, 5 s more for closing: never longer.
    expect(took).toBeLessThan(7_500);
  }, 120_000);
});
