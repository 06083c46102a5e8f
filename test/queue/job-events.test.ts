import { Queue, Worker } from 'bullmq';
import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertharvestError } from '../../src/errors/index.ts';
import { jobEvents, type JobEventMap } from '../../src/queue/index.ts';
import { sleepUntil, withRedis } from '../helpers/index.ts';

let redis: RedisConnection;
let prefix: string;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ redis, prefix, close } = await withRedis('events'));
});
afterAll(() => close());

describe('jobEvents', () => {
  it('tells an attempt that failed from a job that ended, once, with the error code', async () => {
    const connection = redis.duplicate(); // maxRetriesPerRequest: null, as BullMQ's workers need;
    const discoverQueue = new Queue('discover', { connection, prefix });
    const downloadQueue = new Queue('download', { connection, prefix });
    const tries = new Map<string, number>();
    const processor = async (job: { id?: string; name: string }) => {
      const n = (tries.get(job.id!) ?? 0) + 1;
      tries.set(job.id!, n);
      if (job.name === 'flaky' && n === 1) throw new CertharvestError('LMS_UNAVAILABLE', 'once');
      if (job.name === 'broken') throw new CertharvestError('PDF_INVALID', 'cut short');
      return job.name === 'user'
        ? { badgesIgnored: 1 }
        : { status: 'stored', path: '/x.pdf', sha256: 'a'.repeat(64), bytes: 3, source: 'api' };
    };
    const discover = new Worker('discover', processor, { connection, prefix });
    const download = new Worker('download', processor, { connection, prefix });
    const seen: { [K in keyof JobEventMap]: JobEventMap[K][] } = {
      'download:settled': [],
      'discover:settled': [],
      'job:attempt-failed': [],
      'job:completed': [],
    };
    const events = jobEvents({ discover, download });
    for (const name of Object.keys(seen) as (keyof JobEventMap)[]) {
      events.on(name, (e) => (seen[name] as unknown[]).push(e));
    }
    // A listener that throws does not keep the others from hearing the event.
    events.on('job:completed', () => {
      throw new Error('a bad listener');
    });
    const retry = { attempts: 2, backoff: { type: 'fixed', delay: 10 } };
    await downloadQueue.add('flaky', {}, { jobId: 'd-flaky', ...retry });
    await downloadQueue.add('broken', {}, { jobId: 'd-broken', ...retry });
    await discoverQueue.add('user', { by: 'userName', value: 'jdoe' }, { jobId: 'u-1' });
    await sleepUntil(
      () => seen['download:settled'].length === 2 && seen['discover:settled'].length === 1,
      20_000,
    );

    const settled = Object.fromEntries(seen['download:settled'].map((e) => [e.jobId, e.outcome]));
    expect(settled['d-flaky']).toEqual({
      status: 'stored',
      path: '/x.pdf',
      sha256: 'a'.repeat(64),
      bytes: 3,
      source: 'api',
    });
    expect(settled['d-broken']).toEqual({ status: 'failed', code: 'PDF_INVALID', reason: 'cut short' });
    expect(seen['discover:settled'][0]).toMatchObject({
      jobId: 'u-1',
      userRef: 'userName jdoe',
      outcome: { status: 'done', badges: 1 },
    });
    const attempts = seen['job:attempt-failed'].map((e) => [e.job.id, e.code, e.final]);
    expect(attempts).toEqual(
      expect.arrayContaining([
        ['d-flaky', 'LMS_UNAVAILABLE', false],
        ['d-broken', 'PDF_INVALID', false],
        ['d-broken', 'PDF_INVALID', true],
      ]),
    );
    expect(attempts).toHaveLength(3);
    expect(seen['job:completed'].map((e) => e.queue).sort()).toEqual(['discover', 'download']);

    await Promise.all([discover.close(), download.close()]);
    await Promise.all([discoverQueue.close(), downloadQueue.close()]);
    await connection.quit();
  });
});
