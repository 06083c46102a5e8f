import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchTracker,
  batchJsonSchema,
  connectRedis,
  InvalidBatchError,
  BatchExistsError,
  openQueues,
  parseBatchSubmission,
  parseUserList,
  submitBatch,
  USERS_PER_DISCOVER_JOB,
  type BatchSubmission,
  type CertharvestQueues,
  type RedisConnection,
} from '../../src/queue/index.ts';
import { EVENTS_MAX_LEN } from '../../src/queue/queues.ts';
import { testRedisTarget, uniquePrefix } from '../helpers/index.ts';

let redis: RedisConnection;
let queues: CertharvestQueues;
let prefix: string;
let tracker: BatchTracker;

beforeAll(async () => {
  redis = await connectRedis(testRedisTarget());
  prefix = uniquePrefix('submit');
  queues = openQueues(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
});
afterAll(async () => {
  await queues.close();
  await redis.quit();
});

const deps = () => ({ queues, redis, prefix });

describe('the queues', () => {
  it('keep a short events stream: BullMQ trims it to EVENTS_MAX_LEN, not 10,000', async () => {
    await submitBatch({ batchId: 'b-events', users: [1] }, deps()); // the queue writes its meta on first use
    for (const queue of [queues.discover, queues.download]) {
      await queue.waitUntilReady();
      expect(await queue.getMeta()).toMatchObject({ maxLenEvents: EVENTS_MAX_LEN });
    }
  });
});

describe('submitBatch', () => {
  it('queues the distinct users in discover jobs of several users and records the batch', async () => {
    const result = await submitBatch({ batchId: 'b-one', users: [101, '102', '101', ' 103 '] }, deps());
    expect(result).toMatchObject({ batchId: 'b-one', queued: 3, duplicates: 1, rejected: [] });
    const jobs = (await queues.discover.getJobs(['waiting'])).filter((j) => j.data.batchId === 'b-one');
    expect(jobs.map((j) => [j.id, j.data])).toEqual([
      ['b-one.users.1', { kind: 'users', batchId: 'b-one', by: 'userId', values: ['101', '102', '103'] }],
    ]);
    expect(await tracker.status('b-one')).toMatchObject({ usersTotal: 3, usersDone: 0, done: false });
  });

  it(`puts ${USERS_PER_DISCOVER_JOB} users in a job, in the order given, the rest in the last`, async () => {
    const users = Array.from({ length: 2 * USERS_PER_DISCOVER_JOB + 3 }, (_, i) => 500 + i);
    await submitBatch({ batchId: 'b-many', users }, deps());
    const jobs = (await queues.discover.getJobs(['waiting'])).filter((j) => j.data.batchId === 'b-many');
    const values = jobs
      .sort((a, b) => a.id!.localeCompare(b.id!))
      .map((j) => (j.data.kind === 'users' ? j.data.values : []));
    expect(values.map((v) => v.length)).toEqual([USERS_PER_DISCOVER_JOB, USERS_PER_DISCOVER_JOB, 3]);
    expect(values.flat()).toEqual(users.map(String));
    expect(await tracker.status('b-many')).toMatchObject({ usersTotal: users.length });
  });

  it('fails a malformed id alone, naming it, and keeps the rest', async () => {
    const result = await submitBatch({ batchId: 'b-mixed', users: ['7', '../../etc', 'a b'] }, deps());
    expect(result.queued).toBe(1);
    expect(result.rejected.map((r) => r.ref)).toEqual(['../../etc', 'a b']);
    const status = await tracker.status('b-mixed');
    expect(status).toMatchObject({ usersTotal: 3, usersFailed: 2 });
    expect(status?.failures[0]).toMatchObject({ kind: 'user', ref: '../../etc', code: 'USER_REF_MALFORMED' });
    expect(status?.failures[0]?.reason).toMatch(/expected the LMS's user id/);
  });

  it('refuses a malformed batch as a whole, saying what is wrong', async () => {
    // What a JavaScript caller (no types) or a JSON body can send.
    const untyped = (batch: unknown) => batch as BatchSubmission;
    const err = await submitBatch(untyped({ users: 'not-a-list', by: 'email' }), deps()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidBatchError);
    const problems = (err as InvalidBatchError).problems.join('\n');
    expect(problems).toMatch(/^by: /m);
    expect(problems).toMatch(/^users: /m);
    await expect(submitBatch({ users: [] }, deps())).rejects.toThrow(/at least one user/);
    await expect(submitBatch(untyped({ users: [1], extra: true }), deps())).rejects.toThrow(/extra/);
    expect(() => parseBatchSubmission({ users: [1], by: 'email' })).toThrow(InvalidBatchError);
  });

  it('refuses to reuse a batch id', async () => {
    await submitBatch({ batchId: 'b-twice', users: [1] }, deps());
    await expect(submitBatch({ batchId: 'b-twice', users: [2] }, deps())).rejects.toBeInstanceOf(
      BatchExistsError,
    );
  });

  it('publishes a JSON Schema of the batch for other languages', () => {
    const schema = batchJsonSchema() as { properties: Record<string, unknown>; type: string };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['batchId', 'by', 'users', 'allUsers', 'filters']),
    );
  });
});

describe('BatchTracker', () => {
  it('lists recent batches newest first', async () => {
    const recent = await tracker.recent(50);
    expect(recent.map((b) => b.batchId)).toContain('b-one');
  });
});

describe('parseUserList', () => {
  it('reads one reference per line, skipping blanks and comments', () => {
    expect(parseUserList('101\n\n# a comment\n102\r\n', 'userId')).toEqual(['101', '102']);
  });

  it('reads the --by column of a CSV with a header', () => {
    const csv = 'name,userName,email\n"Doe, Jane",jdoe,j@x\nBob,bob,b@x\n';
    expect(parseUserList(csv, 'userName')).toEqual(['jdoe', 'bob']);
    expect(() => parseUserList(csv, 'orgDefinedId')).toThrow(/no "orgDefinedId" column/);
  });

  it('reads spreadsheet exports: a byte-order mark, ";" or tab delimiters, quoted line breaks', () => {
    const semicolons =
      '\uFEFFname;orgDefinedId;email\r\n"Doe; Jane";S1001;j@x\r\n"Multi\nLine";S1002;m@x\r\n';
    expect(parseUserList(semicolons, 'orgDefinedId')).toEqual(['S1001', 'S1002']);
    const tabs = 'userName\tname\njdoe\tJane\nbob\tBob\n';
    expect(parseUserList(tabs, 'userName')).toEqual(['jdoe', 'bob']);
    expect(parseUserList('\uFEFF101\n102\n', 'userId')).toEqual(['101', '102']);
  });

  it('a CSV it cannot read is a batch error naming the problem', () => {
    expect(() => parseUserList('userName,name\n"jdoe,Jane\n', 'userName')).toThrow(/not valid CSV/);
  });
});
