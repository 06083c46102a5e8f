import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import {
  BatchAccounting,
  BatchTracker,
  openQueues,
  type CertharvestQueues,
  type ExpectedCertificate,
} from '../../src/queue/index.ts';
import { withRedis } from '../helpers/index.ts';

let redis: RedisConnection;
let prefix: string;
let close: () => Promise<void>;
let queues: CertharvestQueues;
let accounting: BatchAccounting;
let tracker: BatchTracker;

beforeAll(async () => {
  ({ redis, prefix, close } = await withRedis('acct'));
  queues = openQueues(redis, prefix);
  accounting = new BatchAccounting(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
});
afterAll(async () => {
  await queues.close();
  await close();
});

const cert = (n: number, alreadyStored = false): ExpectedCertificate => ({
  certKey: `school.example:7:${n}`,
  ref: `7-${n} (user 1)`,
  alreadyStored,
});

/** A batch with one open discover job per user name given. */
async function batch(id: string, users: string[]): Promise<void> {
  await tracker.create(id, { by: 'userId', enumerating: false });
  await accounting.registerDiscover(
    id,
    users.map((u) => `${id}.${u}`),
  );
}

describe('BatchAccounting', () => {
  it('settles a batch from job outcomes, each job exactly once', async () => {
    await batch('one', ['u1']);
    const [job] = await accounting.expectCertificates('one', [cert(1)]);
    expect(job?.jobId).toMatch(/^c\.school\.example\.7-1\.\d+$/);
    expect(await accounting.settleDiscover('one.u1', { status: 'done', badges: 2 })).toBe(1);
    expect((await tracker.status('one'))?.done).toBe(false);

    expect(await accounting.settleDownload(job!.jobId, { status: 'stored' })).toBe(1);
    // The completed event and the reconciler may both see the job: the second settle is a no-op.
    expect(await accounting.settleDownload(job!.jobId, { status: 'stored' })).toBe(-1);
    expect(await accounting.settleDiscover('one.u1', { status: 'done' })).toBe(-1);
    expect(await tracker.status('one')).toMatchObject({
      usersTotal: 1,
      usersDone: 1,
      certsFound: 1,
      certsStored: 1,
      badgesIgnored: 2,
      done: true,
    });
  });

  it('credits every overlapping batch, whichever order their scripts run in', async () => {
    await batch('ov-a', ['u']);
    await batch('ov-b', ['u']);
    const [a] = await accounting.expectCertificates('ov-a', [cert(2)]);
    const [b] = await accounting.expectCertificates('ov-b', [cert(2)]);
    expect(b?.jobId).toBe(a?.jobId); // b joined the download in flight
    expect(await accounting.settleDownload(a!.jobId, { status: 'stored' })).toBe(2);

    // A third batch after the download settled opens a new job (it will find the PDF stored).
    await batch('ov-c', ['u']);
    const [c] = await accounting.expectCertificates('ov-c', [cert(2)]);
    expect(c?.jobId).not.toBe(a?.jobId);
    expect(await accounting.settleDownload(c!.jobId, { status: 'already-stored' })).toBe(1);
    for (const id of ['ov-a', 'ov-b', 'ov-c']) await accounting.settleDiscover(`${id}.u`, { status: 'done' });
    expect(await tracker.status('ov-a')).toMatchObject({ certsStored: 1, done: true });
    expect(await tracker.status('ov-b')).toMatchObject({ certsStored: 1, done: true });
    expect(await tracker.status('ov-c')).toMatchObject({ certsAlreadyStored: 1, done: true });
  });

  it('never misses a download when two batches race on the same certificate', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    for (const id of ids) await batch(id, ['u']);
    // All at once, with settles of whatever job is open interleaved.
    const opened = await Promise.all(ids.map((id) => accounting.expectCertificates(id, [cert(3)])));
    const jobIds = [...new Set(opened.flat().map((x) => x.jobId))];
    await Promise.all(jobIds.map((j) => accounting.settleDownload(j, { status: 'stored' })));
    for (const id of ids) {
      await accounting.settleDiscover(`${id}.u`, { status: 'done' });
      expect(await tracker.status(id)).toMatchObject({ certsFound: 1, certsStored: 1, done: true });
    }
  });

  it('counts a certificate once per batch when a discover job is retried', async () => {
    await batch('retry', ['u']);
    const first = await accounting.expectCertificates('retry', [cert(4), cert(5, true)]);
    const again = await accounting.expectCertificates('retry', [cert(4), cert(5, true)]);
    expect(again.map((x) => x.jobId)).toEqual(first.map((x) => x.jobId)); // re-added, same id
    await accounting.settleDownload(first[0]!.jobId, { status: 'stored' });
    await accounting.settleDiscover('retry.u', { status: 'done' });
    expect(await tracker.status('retry')).toMatchObject({
      certsFound: 2,
      certsStored: 1,
      certsAlreadyStored: 1,
      done: true,
    });
  });

  it('records failures with their code, and unusable awards the LMS sent', async () => {
    await batch('fails', ['u1', 'u2']);
    const [job] = await accounting.expectCertificates('fails', [cert(6)]);
    await accounting.settleDownload(job!.jobId, {
      status: 'failed',
      code: 'CERTIFICATE_HTTP',
      reason: 'HTTP 403',
    });
    await accounting.settleDiscover(
      'fails.u1',
      {
        status: 'done',
        rejected: [{ ref: '"x"-"y"', code: 'LMS_DATA_INVALID', reason: 'bad id' }],
        rejectedCount: 3,
      },
      'userId 1',
    );
    await accounting.settleDiscover(
      'fails.u2',
      { status: 'failed', code: 'JOB_DATA_INVALID', reason: 'value: bad' },
      'userId x',
    );
    const s = await tracker.status('fails');
    expect(s).toMatchObject({ usersDone: 1, usersFailed: 1, certsFound: 4, certsFailed: 4, done: true });
    expect(s?.failures.map((f) => f.code)).toEqual([
      'CERTIFICATE_HTTP',
      'LMS_DATA_INVALID',
      'LMS_DATA_INVALID',
      'JOB_DATA_INVALID',
    ]);
    expect(s?.failures[3]).toMatchObject({ kind: 'user', ref: 'userId x' });
  });

  it('reconciles jobs that ended without an event: completed, failed and removed', async () => {
    await batch('recon', ['u']);
    // Opened by a discover job that has ended (it is not in BullMQ): a missing download is removed.
    const opened = await accounting.expectCertificates('recon', [cert(7), cert(8), cert(9)], 'recon.u');
    const [done, failed, removed] = opened.map((o) => o.jobId);
    // Give BullMQ records in each end state without running a worker.
    for (const id of [done!, failed!]) await queues.download.add('d', {} as never, { jobId: id });
    const doneJob = await queues.download.getJob(done!);
    await redis.hset(
      `${prefix}:download:${done!}`,
      'returnvalue',
      JSON.stringify({ status: 'already-stored' }),
    );
    await redis.lrem(`${prefix}:download:wait`, 0, done!);
    await redis.zadd(`${prefix}:download:completed`, Date.now(), done!);
    await redis.hset(`${prefix}:download:${failed!}`, 'failedReason', 'boom');
    await redis.lrem(`${prefix}:download:wait`, 0, failed!);
    await redis.zadd(`${prefix}:download:failed`, Date.now(), failed!);
    expect(doneJob).toBeDefined();
    await accounting.settleDiscover('recon.u', { status: 'done' });

    expect(await accounting.reconcile(queues, { minAgeMs: 0 })).toBe(3);
    const s = await tracker.status('recon');
    expect(s).toMatchObject({ certsAlreadyStored: 1, certsFailed: 2, done: true });
    expect(s?.failures.map((f) => f.code).sort()).toEqual(['JOB_FAILED', 'JOB_REMOVED']);
    expect(removed).toBeDefined();
    // Nothing left open: a second pass settles nothing.
    expect(await accounting.reconcile(queues, { minAgeMs: 0 })).toBe(0);
  });

  it('waits for a download that its discover job may still add, and for a young orphan', async () => {
    await batch('pending', ['u']);
    await queues.discover.add('u', {} as never, { jobId: 'pending.u' }); // the opener, still waiting
    const [notYetAdded] = await accounting.expectCertificates('pending', [cert(11)], 'pending.u');
    const [orphan] = await accounting.expectCertificates('pending', [cert(12)]);
    expect(notYetAdded && orphan).toBeTruthy();
    expect(await accounting.reconcile(queues, { minAgeMs: 0 })).toBe(0);
    expect((await tracker.status('pending'))?.certsFailed).toBe(0);
  });

  it('leaves running jobs open for a later look', async () => {
    await batch('running', ['u']);
    const [open] = await accounting.expectCertificates('running', [cert(10)]);
    await queues.download.add('d', {} as never, { jobId: open!.jobId }); // waiting
    await accounting.settleDiscover('running.u', { status: 'done' });
    expect(await accounting.reconcile(queues, { minAgeMs: 0 })).toBe(0);
    expect((await tracker.status('running'))?.done).toBe(false);
  });
});
