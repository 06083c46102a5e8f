import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import {
  BatchAccounting,
  BatchStillRunningError,
  BatchTracker,
  NothingToRetryError,
  cancelBatch,
  openQueues,
  retryBatch,
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
  ({ redis, prefix, close } = await withRedis('control'));
  queues = openQueues(redis, prefix);
  accounting = new BatchAccounting(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
});
afterAll(async () => {
  await queues.close();
  await close();
});

/** Certificate `n` of org unit 7, issued to `user`, as the batch `userRef` found it. */
const cert = (n: number, user = 1, userRef = `userId:${user}`): ExpectedCertificate => ({
  certKey: `school.example:7:${n}`,
  ref: `7-${n} (user ${user})`,
  alreadyStored: false,
  row: {
    userRef,
    userId: user,
    orgUnitId: 7,
    issuedId: n,
    title: `Certificate ${n}`,
    issuedDate: '2026-05-01T00:00:00.000Z',
  },
});

/** A batch whose users are open discover jobs, really queued (waiting: no worker runs here). */
async function batch(id: string, users: string[]): Promise<string[]> {
  await tracker.create(id, { by: 'userId', enumerating: false });
  const ids = users.map((u) => `${id}.${u}`);
  await accounting.registerDiscover(id, ids);
  await queues.discover.addBulk(
    ids.map((jobId, i) => ({
      name: users[i]!,
      data: { kind: 'user', batchId: id, by: 'userId', value: users[i]! },
      opts: { jobId },
    })),
  );
  return ids;
}

/** A discover job found `certs`: their downloads are opened and really queued. */
async function found(batchId: string, certs: ExpectedCertificate[]): Promise<Map<number, string>> {
  const toAdd = await accounting.expectCertificates(batchId, certs);
  await queues.download.addBulk(
    toAdd.map(({ certificate, jobId }) => ({
      name: certificate.ref,
      data: { ...certificate.row!, awardId: 1, batchId, certKey: certificate.certKey },
      opts: { jobId },
    })),
  );
  return new Map(toAdd.map(({ certificate, jobId }) => [Number(certificate.row!.issuedId), jobId]));
}

describe('cancel', () => {
  it('removes the batch\'s queued work, keeps a download another batch needs, and ends as "cancelled"', async () => {
    const [aUser1, aUser2] = await batch('cx-a', ['1', '2']);
    const aJobs = await found('cx-a', [cert(1, 2), cert(2, 2), cert(3, 2)]);
    await queues.discover.remove(aUser2!);
    await accounting.settleDiscover(aUser2!, { status: 'done' });

    // Batch B finds certificate 3 too: it joins A's download of it.
    const [bUser] = await batch('cx-b', ['2']);
    const bJobs = await found('cx-b', [cert(3, 2)]);
    expect(bJobs.get(3)).toBe(aJobs.get(3));
    await queues.discover.remove(bUser!);
    await accounting.settleDiscover(bUser!, { status: 'done' });

    const result = await cancelBatch('cx-a', { queues, redis, prefix });
    expect(result).toMatchObject({
      outcome: 'cancelled',
      usersRemoved: 1,
      downloadsRemoved: 2,
      downloadsLeftToOthers: 1,
      stillRunning: 0,
    });
    expect(result.status).toMatchObject({
      state: 'cancelled',
      done: true,
      usersTotal: 2,
      usersDone: 1,
      usersCancelled: 1,
      certsFound: 3,
      certsCancelled: 3,
      certsStored: 0,
    });
    expect(await queues.discover.getJob(aUser1!)).toBeUndefined();
    expect(await queues.download.getJob(aJobs.get(1)!)).toBeUndefined();
    expect(await queues.download.getJob(aJobs.get(2)!)).toBeUndefined();
    // The shared download stays queued for B, and B alone is credited when it settles.
    expect(await (await queues.download.getJob(aJobs.get(3)!))?.getState()).toBe('waiting');
    expect(await accounting.settleDownload(aJobs.get(3)!, { status: 'stored' })).toBe(1);
    expect(await tracker.status('cx-b')).toMatchObject({ state: 'done', certsStored: 1 });
    expect(await tracker.status('cx-a')).toMatchObject({
      state: 'cancelled',
      certsStored: 0,
      certsCancelled: 3,
    });

    const rows = (await tracker.manifest('cx-a'))!.rows;
    expect(rows.map((r) => [r.issuedId, r.status])).toEqual([
      [1, 'cancelled'],
      [2, 'cancelled'],
      [3, 'cancelled'],
    ]);
    // Cancelling again, or an ended batch, changes nothing.
    expect((await cancelBatch('cx-a', { queues, redis, prefix })).outcome).toBe('already-cancelled');
    expect((await cancelBatch('cx-b', { queues, redis, prefix })).outcome).toBe('already-ended');
    await expect(cancelBatch('cx-none', { queues, redis, prefix })).rejects.toMatchObject({
      code: 'BATCH_NOT_FOUND',
    });
  });

  it('lets a running job finish: what a running discovery finds afterwards is counted cancelled, never queued', async () => {
    const [user] = await batch('cx-run', ['5']);
    // The discover job is running (taken by a worker): it cannot be removed.
    await redis.set(`${prefix}:discover:${user}:lock`, 'a-worker-token', 'PX', 60_000);
    const result = await cancelBatch('cx-run', { queues, redis, prefix });
    expect(result).toMatchObject({ outcome: 'cancelled', usersRemoved: 0, stillRunning: 1 });
    expect(result.status.state).toBe('cancelling');

    expect(await found('cx-run', [cert(50, 5), cert(51, 5)])).toEqual(new Map());
    await redis.del(`${prefix}:discover:${user}:lock`);
    await accounting.settleDiscover(user!, { status: 'done' });
    expect(await tracker.status('cx-run')).toMatchObject({
      state: 'cancelled',
      certsFound: 2,
      certsCancelled: 2,
      usersDone: 1,
    });
    // A cancelled enumeration registers no more users.
    expect(await accounting.registerDiscover('cx-run', ['cx-run.9'])).toBe('cancelled');
  });
});

describe('retry', () => {
  it('re-queues the failed users and the users of failed certificates as a new batch linked to the old', async () => {
    await tracker.create('rt', { by: 'userName', enumerating: false });
    await tracker.rejectUsers('rt', [{ ref: 'bad name', reason: 'malformed' }], 'userName');
    await accounting.registerDiscover('rt', ['rt.jdoe', 'rt.asmith']);
    await accounting.settleDiscover(
      'rt.jdoe',
      { status: 'failed', code: 'LMS_USER_NOT_FOUND', reason: 'no such user' },
      'userName jdoe',
    );
    const jobs = await found('rt', [cert(70, 12, 'userName:asmith'), cert(71, 12, 'userName:asmith')]);
    await accounting.settleDiscover('rt.asmith', { status: 'done' }, 'userName asmith');
    await accounting.settleDownload(jobs.get(70)!, {
      status: 'stored',
      path: '/out/12/7-70.pdf',
      sha256: 'a'.repeat(64),
      bytes: 10,
    });
    await expect(retryBatch('rt', { queues, redis, prefix })).rejects.toBeInstanceOf(BatchStillRunningError);
    await accounting.settleDownload(jobs.get(71)!, {
      status: 'failed',
      code: 'PDF_INVALID',
      reason: 'cut short',
    });
    expect((await tracker.status('rt'))?.state).toBe('done-with-failures');

    const retry = await retryBatch('rt', { queues, redis, prefix });
    expect(retry).toMatchObject({ batchId: 'rt.retry-1', retryOf: 'rt', queued: 2, allUsers: false });
    expect(await tracker.status('rt.retry-1')).toMatchObject({
      retryOf: 'rt',
      usersTotal: 2,
      state: 'running',
    });
    expect((await tracker.status('rt'))?.retriedBy).toBe('rt.retry-1');
    const queued = await queues.discover.getJobs(['waiting']);
    const mine = queued.filter((j) => j.data.batchId === 'rt.retry-1').map((j) => j.data);
    expect(mine).toEqual(
      expect.arrayContaining([
        { kind: 'users', batchId: 'rt.retry-1', by: 'userName', values: ['jdoe'] },
        // Only the org unit of the failed certificate: the stored one is not fetched again.
        { kind: 'users', batchId: 'rt.retry-1', by: 'userId', values: ['12'], filters: { orgUnitIds: [7] } },
      ]),
    );
    expect(mine).toHaveLength(2);
    // The manifest names each row, the refused reference too.
    const rows = (await tracker.manifest('rt'))!.rows;
    expect(rows.map((r) => [r.kind, r.userRef, r.status, r.code])).toEqual([
      ['user', 'userName:bad name', 'failed', 'USER_REF_MALFORMED'],
      ['user', 'userName:jdoe', 'failed', 'LMS_USER_NOT_FOUND'],
      ['certificate', 'userName:asmith', 'stored', null],
      ['certificate', 'userName:asmith', 'failed', 'PDF_INVALID'],
    ]);
    expect(rows[2]).toMatchObject({
      path: '12/7-70.pdf',
      sha256: 'a'.repeat(64),
      bytes: 10,
      title: 'Certificate 70',
    });
  });

  it('refuses a batch with nothing to retry', async () => {
    await batch('rt-ok', []);
    await accounting.finishIfDone('rt-ok');
    await expect(retryBatch('rt-ok', { queues, redis, prefix })).rejects.toBeInstanceOf(NothingToRetryError);
  });
});
