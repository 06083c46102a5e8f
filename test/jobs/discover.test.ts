import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscoverProcessor } from '../../jobs/discover.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchTracker,
  connectRedis,
  openQueues,
  type CertharvestQueues,
  type DiscoverJobData,
} from '../../src/queue/index.ts';
import { CertificateStore } from '../../src/storage/index.ts';
import type { AwardEntry, UserDirectory } from '../../src/worker/ports.ts';
import { tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

// A unit test of the discover processor alone: the LMS is a hand-written directory that sends
// hostile data, everything else (Redis, queues, tracker, store) is real.
const hostileDirectory: UserDirectory = {
  host: 'school.example',
  async resolveUser(_by, value) {
    return { userId: Number(value) };
  },
  async *listAllUserIds() {},
  async *listAwards(): AsyncIterable<AwardEntry> {
    yield {
      ok: true,
      award: {
        issuedId: 11,
        orgUnitId: 500,
        awardId: 1,
        kind: 'certificate',
        title: 'Good',
        issuedDate: null,
      },
    };
    yield {
      ok: true,
      award: { issuedId: 12, orgUnitId: 500, awardId: 2, kind: 'badge', title: 'Badge', issuedDate: null },
    };
    yield {
      ok: false,
      ref: '"../../etc"-"passwd"',
      code: 'LMS_DATA_INVALID',
      reason: 'OrgUnitId: expected an integer id',
    };
  },
};

let redis: Redis;
let queues: CertharvestQueues;
let prefix: string;
let out: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
  prefix = uniquePrefix('discover');
  queues = openQueues(redis, prefix);
  out = await tempDir();
});
afterAll(async () => {
  await queues.close();
  await redis.quit();
  await out.cleanup();
});

describe('discover processor', () => {
  it('fails a hostile award alone and queues the good certificate; badges are ignored', async () => {
    const tracker = new BatchTracker(redis, prefix);
    await tracker.create('hostile', { by: 'userId', usersTotal: 1, enumerating: false });
    const processor = createDiscoverProcessor({
      directory: hostileDirectory,
      store: new CertificateStore(out.dir),
      tracker,
      discoverQueue: queues.discover,
      downloadQueue: queues.download,
      logger: createLogger({ level: 'silent' }),
    });
    const data: DiscoverJobData = { kind: 'user', batchId: 'hostile', by: 'userId', value: '42' };
    const job = await queues.discover.add('u', data);
    const result = await processor(job as Job<DiscoverJobData>, 'token');
    expect(result).toMatchObject({
      userId: 42,
      certificates: 1,
      queued: 1,
      badgesIgnored: 1,
      invalidAwards: 1,
    });

    const downloads = await queues.download.getJobs(['waiting']);
    expect(downloads.map((j) => j.data)).toEqual([
      expect.objectContaining({ userId: 42, orgUnitId: 500, issuedId: 11, certKey: 'school.example:500:11' }),
    ]);
    const status = await tracker.status('hostile');
    expect(status).toMatchObject({ usersDone: 1, certsFound: 2, certsFailed: 1, badgesIgnored: 1 });
    expect(status?.failures[0]).toMatchObject({ kind: 'certificate', code: 'LMS_DATA_INVALID' });
  });

  it('rejects malformed job data at once, naming the field', async () => {
    const processor = createDiscoverProcessor({
      directory: hostileDirectory,
      store: new CertificateStore(out.dir),
      tracker: new BatchTracker(redis, prefix),
      discoverQueue: queues.discover,
      downloadQueue: queues.download,
      logger: createLogger({ level: 'silent' }),
    });
    const job = await queues.discover.add('bad', { kind: 'user', batchId: '../x', by: 'email' } as never);
    await expect(processor(job as Job<DiscoverJobData>, 'token')).rejects.toThrow(
      /JOB_DATA_INVALID.*batchId/,
    );
  });
});
