import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchNotFoundError,
  BatchStillRunningError,
  connectCertharvest,
  NothingToRetryError,
  type CertharvestClient,
  type ManifestRow,
} from '../../src/index.ts';
import {
  BatchAccounting,
  openQueues,
  type CertharvestQueues,
  type ExpectedCertificate,
} from '../../src/queue/index.ts';
import { testRedisIsCluster, testRedisUrl, uniquePrefix, withRedis, settleUser } from '../helpers/index.ts';

const prefix = uniquePrefix('client');
let client: CertharvestClient;
let accounting: BatchAccounting;
let queues: CertharvestQueues;
let close: () => Promise<void>;
let redis: RedisConnection;

beforeAll(async () => {
  client = await connectCertharvest({ redisUrl: testRedisUrl(), cluster: testRedisIsCluster(), prefix });
  const r = await withRedis();
  redis = r.redis;
  accounting = new BatchAccounting(r.redis, prefix);
  queues = openQueues(r.redis, prefix);
  close = async () => {
    await queues.close();
    await r.close();
  };
});
afterAll(async () => {
  await client.close();
  await close();
});

/** Certificate `n` of org unit 7, of `user`; `refUser` is who its display label names. */
const cert = (n: number, user: number | string, refUser = user): ExpectedCertificate => ({
  certKey: `school.example:7:${n}`,
  ref: `7-${n} (user ${refUser})`,
  alreadyStored: false,
  row: {
    userRef: `userId:${user}`,
    userId: user,
    orgUnitId: 7,
    issuedId: n,
    title: `C ${n}`,
    issuedDate: null,
  },
});

const collect = async (rows: AsyncIterable<ManifestRow>): Promise<ManifestRow[]> => {
  const out: ManifestRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
};

describe('connectCertharvest: the batch after submission', () => {
  it('submits with refresh, reads the manifest row by row, cancels, and waits for a cancelled batch', async () => {
    const { batchId } = await client.submit({ batchId: 'lib-1', users: [1, 2, 'x y'], refresh: true });
    expect(await client.status(batchId)).toMatchObject({ refresh: true, state: 'running' });
    // What a discovery does: the downloads opened for the batch, and queued.
    const toAdd = await accounting.expectCertificates(batchId, [cert(1, 1), cert(2, 1), cert(3, 1)]);
    await queues.download.addBulk(
      toAdd.map(({ certificate, jobId: id }) => ({
        name: certificate.ref,
        data: { ...certificate.row!, awardId: 1, batchId, certKey: certificate.certKey },
        opts: { jobId: id },
      })),
    );
    await settleUser({ redis, prefix }, batchId, 1, { status: 'done' });

    const rows = await collect(client.certificates(batchId, { pageSize: 2 }));
    expect(rows.map((r) => [r.kind, r.issuedId, r.status])).toEqual([
      ['user', null, 'failed'],
      ['certificate', 1, 'queued'],
      ['certificate', 2, 'queued'],
      ['certificate', 3, 'queued'],
    ]);

    const cancelled = await client.cancel(batchId);
    expect(cancelled).toMatchObject({ outcome: 'cancelled', usersRemoved: 1, downloadsRemoved: 3 });
    expect(cancelled.status.state).toBe('cancelled');
    const outcome = await client.waitForBatch(batchId, { pollMs: 50 });
    expect(outcome).toMatchObject({ state: 'cancelled', succeeded: false });
    expect(outcome.certificates.map((c) => c.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect((await client.cancel(batchId)).outcome).toBe('already-cancelled');
  });

  it('retries the failures of an ended batch as a linked one; typed errors otherwise', async () => {
    const { batchId } = await client.submit({ batchId: 'lib-2', users: [5] });
    await expect(client.retry(batchId)).rejects.toBeInstanceOf(BatchStillRunningError);
    await settleUser({ redis, prefix }, batchId, 5, {
      status: 'failed',
      code: 'LMS_USER_NOT_FOUND',
      reason: 'no such user',
    });
    expect(await client.retry(batchId, { batchId: 'lib-2-again' })).toEqual({
      batchId: 'lib-2-again',
      retryOf: 'lib-2',
      queued: 1,
      allUsers: false,
    });
    expect(await client.status('lib-2-again')).toMatchObject({ retryOf: 'lib-2' });
    await expect(client.retry(batchId, { batchId: '../up' })).rejects.toMatchObject({
      code: 'BATCH_INVALID',
    });

    await client.submit({ batchId: 'lib-3', users: ['x y'] });
    await expect(client.retry('lib-3')).rejects.toBeInstanceOf(NothingToRetryError);
    for (const attempt of [
      client.retry('lib-none'),
      client.cancel('lib-none'),
      collect(client.certificates('lib-none')),
    ]) {
      await expect(attempt).rejects.toBeInstanceOf(BatchNotFoundError);
    }
    await expect(client.cancel('lib-none')).rejects.toMatchObject({
      code: 'BATCH_NOT_FOUND',
      retryable: false,
    });
  });

  it("waitForBatch takes each certificate's ids from the manifest, not from its display label", async () => {
    const { batchId } = await client.submit({ batchId: 'lib-4', users: [8] });
    // A Learn-like user id, and a label that names someone else: the recorded ids win.
    const jobs = await accounting.expectCertificates(batchId, [
      cert(40, '_8_1', 'not (this one)'),
      cert(41, 8),
    ]);
    await settleUser({ redis, prefix }, batchId, 8, { status: 'done' });
    for (const { jobId: id } of jobs) {
      await accounting.settleDownload(id, {
        status: 'stored',
        path: `/out/${id}.pdf`,
        sha256: 'b'.repeat(64),
        bytes: 3,
        source: 'api',
      });
    }
    const outcome = await client.waitForBatch(batchId, { pollMs: 50 });
    expect(outcome).toMatchObject({ state: 'done', succeeded: true });
    expect(outcome.certificates.map((c) => [c.userId, c.orgUnitId, c.issuedId, c.status])).toEqual([
      [8, 7, 41, 'stored'],
      ['_8_1', 7, 40, 'stored'],
    ]);
    expect(outcome.certificates[0]).toMatchObject({ certKey: 'school.example:7:41', sha256: 'b'.repeat(64) });
  });
});
