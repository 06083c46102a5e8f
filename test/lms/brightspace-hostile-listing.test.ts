import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { createDiscoverProcessor } from '../../jobs/discover.ts';
import { ApiSupportMemo } from '../../src/failure/api-support.ts';
import { FleetBreaker, OutageClock } from '../../src/fleet/index.ts';
import type { CertificateFetcher } from '../../src/lms/index.ts';
import { createBrightspaceAdapter } from '../../src/lms/brightspace/index.ts';
import {
  BatchAccounting,
  BatchTracker,
  connectRedis,
  discoverSettlement,
  openQueues,
  type CertharvestQueues,
  type DiscoverJobData,
} from '../../src/queue/index.ts';
import { CertificateStore } from '../../src/storage/index.ts';
import type { FleetControl } from '../../src/failure/handle-job-error.ts';
import { tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';
import { sendJson, type StubServer } from './stub-http.ts';
import { FakeTokens, issued, silentLogger, startValence } from './valence-stub.ts';

// Issue 18, point 5: an awards listing (a stub Valence) with an award whose OrgUnitId is 0, read by
// the real adapter and the real discover processor (real Redis, queues, tracker and store). That
// award fails alone, with its reason; the user's other certificates are found, queued and stored.

const USER = 31;
const PDF = Buffer.from('%PDF-1.7\ntrailer\n<<>>\n%%EOF\n');

let server: StubServer;
let redis: Redis;
let queues: CertharvestQueues;
let prefix: string;
let out: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  server = await startValence({
    [`GET /d2l/api/bas/1.4/issued/users/${USER}/`]: (_q, res) =>
      sendJson(res, 200, {
        Next: null,
        Objects: [issued(901), issued(902, 2, { OrgUnitId: 0 }), issued(903, 2, { OrgUnitId: 6610 })],
      }),
  });
  redis = await connectRedis(testRedisUrl());
  prefix = uniquePrefix('hostile-listing');
  queues = openQueues(redis, prefix);
  out = await tempDir();
});
afterAll(async () => {
  await queues.close();
  await redis.quit();
  await server.close();
  await out.cleanup();
});

describe('an awards listing with OrgUnitId 0', () => {
  it("fails that award alone, with its reason; the user's other certificates are discovered and stored", async () => {
    const logger = silentLogger();
    const { directory } = createBrightspaceAdapter({
      lmsUrl: server.origin,
      tokens: new FakeTokens(),
      session: undefined,
      logger,
    });
    const store = new CertificateStore(out.dir, { lmsHost: directory.host });
    const fleet: FleetControl = {
      breaker: new FleetBreaker({ redis, prefix, queues: [queues.discover, queues.download], logger }),
      outage: new OutageClock(redis, prefix),
      outagePauseAfterMs: 60_000,
      logger,
    };
    // The PDFs come from a stub fetcher: this test is about the listing.
    const fetcher: CertificateFetcher = {
      async viaApi(_certificate, sink) {
        await sink.write(PDF);
        return { contentType: 'application/pdf' };
      },
      async viaBrowser() {
        throw new Error('not used');
      },
    };
    const discover = createDiscoverProcessor({
      directory,
      store,
      fetcher,
      strategy: 'api',
      apiSupport: new ApiSupportMemo(),
      inFlight: pLimit(4),
      accounting: new BatchAccounting(redis, prefix),
      discoverQueue: queues.discover,
      downloadQueue: queues.download,
      fleet,
      logger,
    });
    const tracker = new BatchTracker(redis, prefix);
    const accounting = new BatchAccounting(redis, prefix);
    await tracker.create('zero', { by: 'userId', enumerating: false });
    const data: DiscoverJobData = { kind: 'user', batchId: 'zero', by: 'userId', value: String(USER) };
    const job = await queues.discover.add('u', data, { jobId: `zero.u${USER}` });
    await accounting.registerDiscover('zero', [`zero.u${USER}`]);

    const result = await discover(job as Job<DiscoverJobData>, 'token');

    expect(result).toMatchObject({ userId: USER, certificates: 2, queued: 2, stored: 2, rejectedCount: 1 });
    expect(result.rejected).toEqual([
      expect.objectContaining({
        code: 'LMS_DATA_INVALID',
        reason: expect.stringMatching(/Objects\[1\]\.OrgUnitId: expected a positive integer id .*got 0/),
      }),
    ]);
    await accounting.settleDiscover(String(job.id), discoverSettlement(result));
    const status = await tracker.status('zero');
    expect(status).toMatchObject({
      usersDone: 1,
      usersFailed: 0,
      certsFound: 3,
      certsFailed: 1,
      certsStored: 2,
    });
    expect(status?.failures[0]).toMatchObject({ kind: 'certificate', code: 'LMS_DATA_INVALID' });

    // The good ones were stored by the discover job itself: no download job.
    expect(await queues.download.getJobs(['waiting'])).toEqual([]);
    expect(await store.existing({ userId: USER, orgUnitId: 6609, issuedId: 901 })).not.toBeNull();
    expect(await store.existing({ userId: USER, orgUnitId: 6610, issuedId: 903 })).not.toBeNull();
  });
});
