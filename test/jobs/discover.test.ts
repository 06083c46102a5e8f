import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { createDiscoverProcessor } from '../../jobs/discover.ts';
import { ApiSupportMemo } from '../../src/failure/api-support.ts';
import { createLogger } from '../../src/log/index.ts';
import { FleetBreaker, OutageClock } from '../../src/fleet/index.ts';
import {
  LmsUnavailableError,
  UserNotFoundError,
  type AwardEntry,
  type CertificateFetcher,
  type ListAwardsOptions,
  type UserDirectory,
} from '../../src/lms/index.ts';
import type { PdfSink } from '../../src/pdf/index.ts';
import { ReauthRequiredError } from '../../src/auth/index.ts';
import { CertificateHttpError } from '../../src/browser/index.ts';
import {
  BatchAccounting,
  BatchTracker,
  connectRedis,
  discoverSettlement,
  openQueues,
  queueDiscovery,
  type CertharvestQueues,
  type DiscoverJobData,
} from '../../src/queue/index.ts';
import { CertificateStore } from '../../src/storage/index.ts';
import type { FleetControl } from '../../src/failure/handle-job-error.ts';
import { tempDir, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

// A unit test of the discover processor alone: the LMS is a hand-written directory that sends
// hostile data and a stub fetcher, everything else (Redis, queues, tracker, store) is real.
const hostileDirectory: UserDirectory = {
  host: 'school.example',
  async resolveUser(_by, value) {
    return { userId: Number(value) };
  },
  async *listAllUserIds() {},
  async reachable() {
    return true;
  },
  async *listAwards(): AsyncIterable<AwardEntry> {
    yield {
      ok: true,
      kind: 'certificate',
      certificate: { userId: 42, issuedId: 11, orgUnitId: 500, awardId: 1, title: 'Good', issuedDate: null },
    };
    yield {
      ok: true,
      kind: 'badge',
      certificate: { userId: 42, issuedId: 12, orgUnitId: 500, awardId: 2, title: 'Badge', issuedDate: null },
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

/** A PDF the store takes as whole. */
const PDF = Buffer.from('%PDF-1.7\ntrailer\n<<>>\n%%EOF\n');

/** A fetcher whose every answer is `answer` (a PDF body, or an error to throw); counts its calls. */
function stubFetcher(answer: Buffer | Error): CertificateFetcher & { calls: number } {
  const fetcher = {
    calls: 0,
    async viaApi(_certificate: unknown, sink: PdfSink) {
      fetcher.calls++;
      if (answer instanceof Error) throw answer;
      await sink.write(answer);
      return { contentType: 'application/pdf' };
    },
    async viaBrowser(): Promise<never> {
      throw new Error('not used');
    },
  };
  return fetcher;
}

/** The LMS does not answer: each certificate is handed to a download job of its own. */
const unreachable = () => stubFetcher(new LmsUnavailableError('the LMS did not answer'));

function processor(
  directory: UserDirectory = hostileDirectory,
  fetcher: CertificateFetcher = unreachable(),
  breaker = new FleetBreaker({
    redis,
    prefix,
    queues: [queues.discover, queues.download],
    logger: createLogger({ level: 'silent' }),
  }),
  listingSlots?: <T>(listing: () => Promise<T>) => Promise<T>,
) {
  const logger = createLogger({ level: 'silent' });
  const fleet: FleetControl = {
    breaker,
    outage: new OutageClock(redis, prefix),
    outagePauseAfterMs: 60_000,
    logger,
  };
  return createDiscoverProcessor({
    directory,
    store: new CertificateStore(out.dir, { lmsHost: 'school.example' }),
    fetcher,
    strategy: 'api',
    apiSupport: new ApiSupportMemo(),
    inFlight: pLimit(1),
    accounting: new BatchAccounting(redis, prefix),
    discoverQueue: queues.discover,
    downloadQueue: queues.download,
    fleet,
    logger,
    ...(listingSlots ? { listingSlots } : {}),
  });
}

describe('discover processor', () => {
  it('fails a hostile award alone and hands the good certificate to a download job when the LMS does not answer; badges are ignored', async () => {
    const tracker = new BatchTracker(redis, prefix);
    const accounting = new BatchAccounting(redis, prefix);
    await tracker.create('hostile', { by: 'userId', enumerating: false });
    const data: DiscoverJobData = { kind: 'user', batchId: 'hostile', by: 'userId', value: '42' };
    const job = await queues.discover.add('u', data, { jobId: 'hostile.u42' });
    await accounting.registerDiscover('hostile', ['hostile.u42']);
    const result = await processor()(job as Job<DiscoverJobData>, 'token');
    expect(result).toMatchObject({
      userId: 42,
      certificates: 1,
      queued: 1,
      badgesIgnored: 1,
      rejectedCount: 1,
    });
    // The processor wrote no batch counter; its outcome does, through the accounting.
    expect(await tracker.status('hostile')).toMatchObject({ usersDone: 0, certsFound: 1, certsFailed: 0 });
    await accounting.settleDiscover(String(job.id), discoverSettlement(result));

    const downloads = await queues.download.getJobs(['waiting']);
    expect(downloads.map((j) => j.data)).toEqual([
      expect.objectContaining({ userId: 42, orgUnitId: 500, issuedId: 11, certKey: 'school.example:500:11' }),
    ]);
    const status = await tracker.status('hostile');
    expect(status).toMatchObject({ usersDone: 1, certsFound: 2, certsFailed: 1, badgesIgnored: 1 });
    expect(status?.failures[0]).toMatchObject({ kind: 'certificate', code: 'LMS_DATA_INVALID' });
  });

  it('asks the listing for expired awards unless the batch filters them out', async () => {
    const asked: (ListAwardsOptions | undefined)[] = [];
    const recording: UserDirectory = {
      ...hostileDirectory,
      async *listAwards(_userId: number, options?: ListAwardsOptions): AsyncIterable<AwardEntry> {
        asked.push(options);
        yield* []; // a user with no awards: only the question matters here
      },
    };
    const run = async (batchId: string, filters?: DiscoverJobData['filters']) => {
      await new BatchTracker(redis, prefix).create(batchId, { by: 'userId', enumerating: false });
      const data: DiscoverJobData = {
        kind: 'user',
        batchId,
        by: 'userId',
        value: '7',
        ...(filters ? { filters } : {}),
      };
      const job = await queues.discover.add('u', data, { jobId: `${batchId}.u7` });
      await new BatchAccounting(redis, prefix).registerDiscover(batchId, [`${batchId}.u7`]);
      await processor(recording)(job as Job<DiscoverJobData>, 'token');
    };
    await run('expired-default');
    await run('expired-kept', { includeExpired: true });
    await run('expired-skipped', { includeExpired: false, orgUnitIds: [500] });
    expect(asked).toEqual([{ includeExpired: true }, { includeExpired: true }, { includeExpired: false }]);
  });

  it('carries string ids as the LMS gives them, filters on them, and fails an unnameable one alone', async () => {
    const learnCert = (orgUnitId: string, issuedId: string) => ({
      ok: true as const,
      kind: 'certificate' as const,
      certificate: { userId: '_45_1', orgUnitId, issuedId, awardId: '_9_1', title: 'T', issuedDate: null },
    });
    const learn: UserDirectory = {
      ...hostileDirectory,
      async resolveUser() {
        return { userId: '_45_1' };
      },
      async *listAwards(userId): AsyncIterable<AwardEntry> {
        expect(userId).toBe('_45_1');
        yield learnCert('_7_1', '_123_4');
        yield learnCert('_7_1', 'a:b/C');
        yield learnCert('_7_1', 'É'.repeat(60)); // 360 bytes once encoded: cannot name a file
        yield learnCert('_8_1', '_124_4'); // another org unit: filtered out
      },
    };
    const tracker = new BatchTracker(redis, prefix);
    const accounting = new BatchAccounting(redis, prefix);
    await tracker.create('learn', { by: 'userName', enumerating: false });
    const data: DiscoverJobData = {
      kind: 'user',
      batchId: 'learn',
      by: 'userName',
      value: 'jdoe',
      filters: { orgUnitIds: ['_7_1'] },
    };
    const job = await queues.discover.add('u', data, { jobId: 'learn.jdoe' });
    await accounting.registerDiscover('learn', ['learn.jdoe']);

    const result = await processor(learn)(job as Job<DiscoverJobData>, 'token');

    expect(result).toMatchObject({
      userId: '_45_1',
      certificates: 2,
      queued: 2,
      filteredOut: 1,
      rejectedCount: 1,
    });
    expect(result.rejected[0]).toMatchObject({
      code: 'ID_UNSAFE',
      reason: expect.stringMatching(/^issuedId/),
    });
    await accounting.settleDiscover(String(job.id), discoverSettlement(result));
    const downloads = (await queues.download.getJobs(['waiting'])).filter((j) => j.data.batchId === 'learn');
    expect(downloads.map((j) => j.data).sort((a, b) => a.certKey.localeCompare(b.certKey))).toEqual([
      expect.objectContaining({
        userId: '_45_1',
        orgUnitId: '_7_1',
        issuedId: '_123_4',
        certKey: 'school.example:_7_1:_123_4',
      }),
      expect.objectContaining({ issuedId: 'a:b/C', certKey: 'school.example:_7_1:a~3Ab~2F~43' }),
    ]);
    for (const d of downloads) {
      expect(d.id).not.toContain(':');
      await accounting.settleDownload(String(d.id), { status: 'failed', code: 'X', reason: 'test' });
    }
    const results = await tracker.results('learn');
    expect(results.map(({ userId, orgUnitId, issuedId }) => ({ userId, orgUnitId, issuedId }))).toEqual([
      { userId: '_45_1', orgUnitId: '_7_1', issuedId: '_123_4' },
      { userId: '_45_1', orgUnitId: '_7_1', issuedId: 'a:b/C' },
    ]);
    expect(await tracker.status('learn')).toMatchObject({ done: true, certsFound: 3, certsFailed: 3 });
  });

  it('gives up on malformed job data at once, naming the field, with the code as a field', async () => {
    const job = await queues.discover.add('bad', { kind: 'user', batchId: '../x', by: 'email' } as never);
    await expect(processor()(job as Job<DiscoverJobData>, 'token')).rejects.toMatchObject({
      name: 'JobGaveUpError',
      code: 'JOB_DATA_INVALID',
      message: expect.stringMatching(/batchId/),
    });
  });
});

describe('discover processor: the certificates it downloads itself', () => {
  /** A user with two good certificates, `first` and `first + 1` (each test its own: open downloads are shared). */
  const twoCertificates = (first: number): UserDirectory => ({
    ...hostileDirectory,
    async *listAwards(): AsyncIterable<AwardEntry> {
      for (const issuedId of [first, first + 1]) {
        yield {
          ok: true,
          kind: 'certificate',
          certificate: { userId: 7, issuedId, orgUnitId: 500, awardId: 1, title: 'A', issuedDate: null },
        };
      }
    },
  });
  let nextIssuedId = 71;

  /** One discover job of user 7 in a new batch, settled as its completed event would. */
  async function run(batchId: string, fetcher: CertificateFetcher, breaker?: FleetBreaker) {
    const tracker = new BatchTracker(redis, prefix);
    const accounting = new BatchAccounting(redis, prefix);
    await tracker.create(batchId, { by: 'userId', enumerating: false });
    const jobId = `${batchId}.u7`;
    const data: DiscoverJobData = { kind: 'user', batchId, by: 'userId', value: '7' };
    const job = await queues.discover.add('u', data, { jobId });
    await accounting.registerDiscover(batchId, [jobId]);
    const first = nextIssuedId;
    nextIssuedId += 10;
    const result = await processor(
      twoCertificates(first),
      fetcher,
      breaker,
    )(job as Job<DiscoverJobData>, 'token');
    await accounting.settleDiscover(jobId, discoverSettlement(result));
    const downloads = (await queues.download.getJobs(['waiting', 'paused'])).filter(
      (j) => j.data.batchId === batchId,
    );
    return {
      first,
      result,
      status: await tracker.status(batchId),
      results: await tracker.results(batchId),
      downloads,
    };
  }

  it('stores each certificate and settles them with the job: no download job, the batch done', async () => {
    const fetcher = stubFetcher(PDF);
    const { result, status, results, downloads } = await run('in-job', fetcher);
    expect(fetcher.calls).toBe(2);
    expect(result).toMatchObject({ certificates: 2, queued: 2, stored: 2, failed: 0, handedOff: 0 });
    expect(downloads).toEqual([]);
    expect(status).toMatchObject({ done: true, certsFound: 2, certsStored: 2, certsFailed: 0 });
    expect(results.map((r) => [r.issuedId, r.status, r.path])).toEqual([
      [71, 'stored', expect.stringMatching(/500-71\.pdf$/)],
      [72, 'stored', expect.stringMatching(/500-72\.pdf$/)],
    ]);
  });

  it('fails in the job a certificate that can never succeed (the LMS has none: 404), with its code', async () => {
    const gone = stubFetcher(new CertificateHttpError(404, 'https://school.example/award.pdf'));
    const { result, status, downloads } = await run('gone', gone);
    expect(result).toMatchObject({ stored: 0, failed: 2, handedOff: 0 });
    expect(downloads).toEqual([]);
    expect(status).toMatchObject({ done: true, certsFailed: 2 });
    expect(status?.failures.map((f) => f.code)).toEqual(['CERTIFICATE_NOT_FOUND', 'CERTIFICATE_NOT_FOUND']);
  });

  it('hands to a download job a certificate that may succeed later (a body that is not a whole PDF)', async () => {
    const { first, result, status, downloads } = await run(
      'cut',
      stubFetcher(Buffer.from('%PDF-1.7\ncut sho')),
    );
    expect(result).toMatchObject({ stored: 0, failed: 0, handedOff: 2 });
    expect(downloads.map((d) => d.data.issuedId).sort()).toEqual([first, first + 1]);
    expect(status).toMatchObject({ done: false, certsFailed: 0 });
  });

  it('pauses the fleet at a refused token, asks once, and hands every certificate to a download job', async () => {
    const breaker = new FleetBreaker({
      redis,
      prefix,
      queues: [queues.discover, queues.download],
      logger: createLogger({ level: 'silent' }),
    });
    const fetcher = stubFetcher(new ReauthRequiredError('invalid_grant', 'the refresh token was refused.'));
    try {
      const { first, result, status, downloads } = await run('refused', fetcher, breaker);
      // One request: the second certificate is handed off without one.
      expect(fetcher.calls).toBe(1);
      expect(result).toMatchObject({ stored: 0, failed: 0, handedOff: 2 });
      expect(await breaker.current()).toMatchObject({ reason: 'AUTH_REFRESH_REFUSED' });
      expect(downloads.map((d) => d.data.issuedId).sort()).toEqual([first, first + 1]);
      // Open until their download jobs settle them.
      expect(status).toMatchObject({ done: false, certsFound: 2, certsStored: 0, certsFailed: 0 });
    } finally {
      await breaker.resume('test');
    }
  });
});

describe('discover processor: a run after a worker died mid-job', () => {
  it('settles a certificate the dead run stored but did not settle, as already stored', async () => {
    const tracker = new BatchTracker(redis, prefix);
    const accounting = new BatchAccounting(redis, prefix);
    const store = new CertificateStore(out.dir, { lmsHost: 'school.example' });
    const certificate = {
      userId: 9,
      issuedId: 901,
      orgUnitId: 500,
      awardId: 1,
      title: 'A',
      issuedDate: null,
    };
    const directory: UserDirectory = {
      ...hostileDirectory,
      async *listAwards(): AsyncIterable<AwardEntry> {
        yield { ok: true, kind: 'certificate', certificate };
      },
    };
    await tracker.create('died', { by: 'userId', enumerating: false });
    const jobId = 'died.u9';
    const data: DiscoverJobData = { kind: 'user', batchId: 'died', by: 'userId', value: '9' };
    const job = await queues.discover.add('u', data, { jobId });
    await accounting.registerDiscover('died', [jobId]);
    // The first run: it opened the download, stored the PDF, and died before settling it.
    const [opened] = await accounting.expectCertificates(
      'died',
      [{ certKey: 'school.example:500:901', ref: '500-901 (user 9)', alreadyStored: false }],
      jobId,
    );
    expect(opened).toMatchObject({ owned: true });
    await store.save(certificate, PDF, 'api');

    // The second run (BullMQ's stalled checker gave the job to another worker).
    const fetcher = stubFetcher(PDF);
    const result = await processor(directory, fetcher)(job as Job<DiscoverJobData>, 'token');
    await accounting.settleDiscover(jobId, discoverSettlement(result));
    expect(fetcher.calls).toBe(0);
    expect(result).toMatchObject({ certificates: 1, alreadyStored: 1, stored: 0, failed: 0, handedOff: 0 });
    expect(await tracker.status('died')).toMatchObject({
      done: true,
      certsFound: 1,
      certsAlreadyStored: 1,
      certsFailed: 0,
    });
  });
});

describe('discover processor: a job of several users', () => {
  /**
   * Users 1xx: user 404 is unknown to the LMS, user 503 does not answer (it may later), user 401
   * has a refused token; everyone else has one certificate, numbered after the user.
   */
  const directory = (calls: number[]): UserDirectory => ({
    ...hostileDirectory,
    async *listAwards(userId): AsyncIterable<AwardEntry> {
      calls.push(Number(userId));
      if (userId === 404) throw new UserNotFoundError('userId', '404');
      if (userId === 503) throw new LmsUnavailableError('the LMS did not answer');
      if (userId === 401) throw new ReauthRequiredError('invalid_grant', 'the refresh token was refused.');
      const issuedId = 5000 + Number(userId);
      yield {
        ok: true,
        kind: 'certificate',
        certificate: { userId, issuedId, orgUnitId: 600, awardId: 1, title: 'U', issuedDate: null },
      };
    },
  });

  /** Submit `users` as a batch of users jobs and run its first job (settled by itself). */
  async function runUsersJob(batchId: string, users: number[], breaker?: FleetBreaker) {
    // One listing at a time, in order (the worker's DISCOVER_CONCURRENCY is 1 here).
    const tracker = new BatchTracker(redis, prefix);
    await tracker.create(batchId, { by: 'userId', enumerating: false });
    await queueDiscovery(
      batchId,
      users.map((u) => ({ by: 'userId' as const, value: String(u) })),
      {},
      { queues, redis, prefix },
    );
    const job = await queues.discover.getJob(`${batchId}.users.1`);
    const calls: number[] = [];
    const result = await processor(
      directory(calls),
      stubFetcher(PDF),
      breaker,
      pLimit(1),
    )(job as Job<DiscoverJobData>, 'token');
    const handoffs = (await queues.discover.getJobs(['waiting', 'paused'])).filter(
      (j) => j.data.batchId === batchId && j.data.kind === 'user',
    );
    return { calls, result, handoffs, tracker, status: await tracker.status(batchId) };
  }

  it('settles its users itself: each stored, an unknown user failed alone, naming it', async () => {
    const { result, status, handoffs } = await runUsersJob('several', [101, 102, 404, 103]);
    expect(result).toMatchObject({ users: 4, certificates: 3, stored: 3, usersHandedOff: 0 });
    expect(result.usersFailed).toEqual([
      expect.objectContaining({ ref: 'userId 404', code: 'LMS_USER_NOT_FOUND' }),
    ]);
    expect(handoffs).toEqual([]);
    expect(status).toMatchObject({ done: true, usersTotal: 4, usersDone: 3, usersFailed: 1, certsStored: 3 });
    expect(status?.failures).toEqual([expect.objectContaining({ kind: 'user', ref: 'userId 404' })]);
  });

  it('hands a user that may succeed later to a one-user job; the batch waits for it', async () => {
    const { result, status, handoffs } = await runUsersJob('later', [111, 503, 112]);
    expect(result).toMatchObject({ users: 3, stored: 2, usersHandedOff: 1 });
    expect(handoffs.map((j) => [j.id, j.data])).toEqual([
      ['later.userId.NTAz', { kind: 'user', batchId: 'later', by: 'userId', value: '503' }],
    ]);
    expect(status).toMatchObject({ done: false, usersTotal: 3, usersDone: 2, usersFailed: 0 });
    // The one-user job settles it (here: it failed for good), and the batch ends.
    const accounting = new BatchAccounting(redis, prefix);
    await accounting.settleDiscover(
      'later.userId.NTAz',
      { status: 'failed', code: 'X', reason: 'gave up' },
      'userId 503',
    );
    expect(await new BatchTracker(redis, prefix).status('later')).toMatchObject({
      done: true,
      usersDone: 2,
      usersFailed: 1,
    });
  });

  it('a refused token pauses the fleet once; the users not listed yet are handed off without a request', async () => {
    const breaker = new FleetBreaker({
      redis,
      prefix,
      queues: [queues.discover, queues.download],
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const { calls, result, status, handoffs } = await runUsersJob('token', [121, 401, 122, 123], breaker);
      expect(await breaker.current()).toMatchObject({ reason: 'AUTH_REFRESH_REFUSED' });
      expect(calls).toEqual([121, 401]);
      expect(result).toMatchObject({ users: 4, stored: 1, usersHandedOff: 3 });
      expect(handoffs.map((j) => j.data.kind === 'user' && j.data.value).sort()).toEqual([
        '122',
        '123',
        '401',
      ]);
      expect(status).toMatchObject({ done: false, usersTotal: 4, usersDone: 1, usersFailed: 0 });
    } finally {
      await breaker.resume('test');
    }
  });

  it('run again after it settled (its worker died before adding the hand-offs), it counts nothing twice', async () => {
    const { status, tracker } = await runUsersJob('again', [131, 503]);
    await queues.discover.remove('again.userId.NTAz'); // as if never added
    const job = await queues.discover.getJob('again.users.1');
    const result = await processor(directory([]), stubFetcher(PDF))(job as Job<DiscoverJobData>, 'token');
    expect(result).toMatchObject({ usersHandedOff: 1 });
    expect(await queues.discover.getJob('again.userId.NTAz')).toBeDefined();
    expect(await tracker.status('again')).toMatchObject({
      usersTotal: 2,
      usersDone: status!.usersDone,
      certsFound: status!.certsFound,
      certsStored: 1,
    });
  });
});
