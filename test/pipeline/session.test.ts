/**
 * One web session for the whole fleet: Chromium logs in once (in one process), the cookies are
 * sealed in Redis, and every worker downloads with them over plain HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker, type WorkerHandle } from '../../jobs/worker.ts';
import { captureLogger } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, TEST_TUNING, type Pipeline } from './harness.ts';

let p: Pipeline | undefined;
const workers: WorkerHandle[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop(2_000).catch(() => {});
  await p?.close();
  p = undefined;
});

describe('the fleet web session', () => {
  it('three workers and no expiry: exactly one login, and one Chromium', async () => {
    p = await startPipeline({ worker: false, knobs: { latencyMs: 20 } });
    for (let i = 0; i < 3; i++) {
      const { logger } = captureLogger('warn');
      workers.push(await startWorker({ config: p.config, logger, redis: p.redis, tuning: TEST_TUNING }));
    }
    const users = studentsWithCertificates(p.sandbox, 20);
    const { batchId } = await p.submit({ users });
    const status = await p.waitDone(batchId);
    expect(status).toMatchObject({ certsFailed: 0, usersFailed: 0 });
    expect(p.sandbox.stats.webLogins).toBe(1);
    const launches = workers.map((w) => w.session?.stats.launches ?? 0);
    expect(launches.reduce((a, b) => a + b, 0)).toBe(1); // the other two never started Chromium
    const downloads = workers.map((w) => w.session?.stats.downloads ?? 0);
    expect(downloads.filter((d) => d > 0).length).toBeGreaterThanOrEqual(2); // all download with it
  });
});
