/**
 * A fault stays where it happens: one worker with a wrong SECRETS_KEY, or an OUTPUT_DIR it cannot
 * write, goes out of service alone — its /readyz says why — while the fleet is never paused and
 * the batch completes on the healthy worker. With every live worker at fault, the fleet pauses.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerHandle } from '../../jobs/worker.ts';
import { loadConfig } from '../../src/config/index.ts';
import { workersOutOfService, type PauseRecord } from '../../src/fleet/index.ts';
import { connectRedis } from '../../src/queue/index.ts';
import { getFreePort } from '../../src/util/free-port.ts';
import { captureLogger, runCli, sleepUntil, tempDir } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from './harness.ts';

const TUNING = { ...TEST_TUNING, localCheckEveryMs: 300 };
let p: Pipeline | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await p?.close();
  p = undefined;
});

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL('/readyz', url));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A second worker on the same queues, with `env` laid over the pipeline's. */
async function secondWorker(
  pipe: Pipeline,
  env: Record<string, string>,
): Promise<WorkerHandle & { stopNow: () => Promise<void> }> {
  const config = loadConfig({
    env: { ...pipe.env, METRICS_PORT: String(await getFreePort()), ...env },
    envFile: false,
    needs: ['lms', 'secrets-key'],
  });
  const redis = await connectRedis(config);
  const { logger } = captureLogger('warn');
  const worker = await startWorker({ config, logger, redis, tuning: TUNING });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await worker.stop(2_000);
      await redis.quit();
    })());
  cleanups.push(stop);
  return Object.assign(worker, { stopNow: stop });
}

/** Watch the fleet's pause record until stopped; every record seen is returned. */
function watchPauses(pipe: Pipeline): () => Promise<PauseRecord[]> {
  const seen: PauseRecord[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const pause = await pipe.breaker.current();
      if (pause) seen.push(pause);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    on = false;
    await loop;
    return seen;
  };
}

describe('a fault stays where it happens', () => {
  for (const [name, reason, badEnv] of [
    [
      'a worker with a wrong SECRETS_KEY',
      'SECRETS_KEY_MISMATCH',
      async () => ({ SECRETS_KEY: randomBytes(32).toString('base64') }),
    ],
    [
      'a worker whose OUTPUT_DIR cannot be written',
      'OUTPUT_UNAVAILABLE',
      async () => {
        const dir = await tempDir('certharvest-ro');
        cleanups.push(dir.cleanup);
        const file = path.join(dir.dir, 'not-a-folder');
        await writeFile(file, 'a file where the output folder should be');
        return { OUTPUT_DIR: file };
      },
    ],
  ] as const) {
    it(`${name}: out of service alone (/readyz 503 naming ${reason}), the batch completes on the healthy one, the fleet never paused`, async () => {
      p = await startPipeline({ tuning: TUNING, env: { METRICS_PORT: String(await getFreePort()) } });
      const users = studentsWithCertificates(p.sandbox, 12);
      // The healthy worker seals the fleet's token store and session first.
      const warm = await p.submit({ users: users.slice(0, 1) });
      await p.waitDone(warm.batchId);

      const bad = await secondWorker(p, await badEnv());
      const stopWatching = watchPauses(p);
      const { batchId } = await p.submit({ users: users.slice(1) });
      await sleepUntil(() => bad.localFaults.current(), 30_000);
      const status = await p.waitDone(batchId, 60_000);
      const pauses = await stopWatching();

      expect(status).toMatchObject({ usersFailed: 0, certsFailed: 0 });
      expect(status.certsStored + status.certsAlreadyStored).toBe(status.certsFound);
      expect(pauses).toEqual([]);
      expect(bad.localFaults.current()).toMatchObject({ reason, by: bad.localFaults.id });

      const badReady = await readyz(bad.healthUrl!);
      expect(badReady.status).toBe(503);
      expect(JSON.stringify(badReady.body.reasons)).toContain(`this worker is out of service (${reason})`);
      const goodReady = await readyz(p.worker.healthUrl!);
      expect(goodReady.status).toBe(200);

      // `status` and the other workers see who is out, and why.
      const { out, live } = await workersOutOfService(p.redis, p.config.queuePrefix);
      expect(live).toHaveLength(2);
      expect(out).toEqual([expect.objectContaining({ reason, by: bad.localFaults.id })]);
      const run = await runCli(['status'], { ...p.env, LOG_LEVEL: 'warn' });
      expect(run.stdout).toContain('1 of 2 live worker(s) OUT OF SERVICE');
      expect(run.stdout).toContain(`${bad.localFaults.id} since`);
      expect(run.stdout).toContain(`(${reason})`);
      expect(run.stdout).not.toContain('PAUSED');
    }, 120_000);
  }

  it('with every live worker at fault, the fleet pauses, naming each report; fixed, the fleet resumes', async () => {
    p = await startPipeline({ tuning: TUNING, worker: false });
    const users = studentsWithCertificates(p.sandbox, 3);
    // Seal the store with the pipeline's key through one worker, then run only a worker with another key.
    const good = await secondWorker(p, {});
    const warm = await p.submit({ users: users.slice(0, 1) });
    await p.waitDone(warm.batchId);
    await good.stopNow();
    const bad = await secondWorker(p, { SECRETS_KEY: randomBytes(32).toString('base64') });
    await p.submit({ users: users.slice(1) });
    const pause = await sleepUntil(() => p!.breaker.current(), 30_000);
    expect(pause).toMatchObject({ reason: 'SECRETS_KEY_MISMATCH' });
    expect(pause.message).toMatch(/^every live worker \(1\) reports it: /);
    expect(pause.message).toContain(bad.localFaults.id);
    // A worker with the right key joins: its probe sees the store open, and the fleet resumes.
    await secondWorker(p, {});
    await sleepUntil(async () => (await p!.breaker.current()) === null, 30_000);
  }, 120_000);
});
