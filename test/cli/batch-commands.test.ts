/**
 * The CLI surface of a batch record: `status` (state first, failed users counted, the manifest as
 * a table, CSV or JSON), `cancel`, `retry`, `submit` queuing nothing or reading a UTF-16 file, and
 * Ctrl-C during `submit --wait`. Batches are made and settled through the queue layer; no worker
 * runs. Most cases run `main()` in process; the real binary is spawned once for a streamed listing
 * (a real stdout pipe) and once for a signal crossing the process boundary.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BatchAccounting,
  BatchTracker,
  openQueues,
  submitBatch,
  type CertharvestQueues,
  type ExpectedCertificate,
} from '../../src/queue/index.ts';
import { MANIFEST_COLUMNS } from '../../src/report/manifest.ts';
import {
  runCli,
  sleepUntil,
  spawnCli,
  tempDir,
  testRedisUrl,
  withRedis,
  settleUser,
} from '../helpers/index.ts';
import { cliInProcess } from '../schedule/in-process-cli.ts';

let redis: RedisConnection;
let prefix: string;
let close: () => Promise<void>;
let queues: CertharvestQueues;
let accounting: BatchAccounting;
let tracker: BatchTracker;
let env: Record<string, string>;
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  ({ redis, prefix, close } = await withRedis('cli-batch'));
  queues = openQueues(redis, prefix);
  accounting = new BatchAccounting(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
  env = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' };
  dir = await tempDir('cli-batch');
});
afterAll(async () => {
  await queues?.close();
  await close?.();
  await dir?.cleanup();
});

const cli = (...args: string[]) => cliInProcess(args, env);

/** As `cli`, with what the command writes to stdout itself (streamed listings) appended. */
async function cliStreaming(...args: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    const run = await cli(...args);
    return { code: run.code, stdout: chunks.join('') + run.stdout };
  } finally {
    write.mockRestore();
  }
}
const discoverJob = (batchId: string, user: string) =>
  `${batchId}.userId.${Buffer.from(user).toString('base64url')}`;

/** A certificate of user 1001 in org unit 7, as discovery would describe it. */
const cert = (n: number): ExpectedCertificate => ({
  certKey: `school.example:7:${n}`,
  ref: `7-${n} (user 1001)`,
  alreadyStored: false,
  row: {
    userRef: 'userId:1001',
    userId: 1001,
    orgUnitId: 7,
    issuedId: n,
    title: `Course ${n}`,
    issuedDate: null,
  },
});

/**
 * A batch of users 1001 and 1002, settled without a worker: 1001's one certificate stored, 1002
 * not found. Its state is done-with-failures.
 */
async function batchWithFailedUser(batchId: string): Promise<void> {
  await submitBatch({ batchId, by: 'userId', users: ['1001', '1002'] }, { queues, redis, prefix });
  const [download] = await accounting.expectCertificates(batchId, [cert(1)], discoverJob(batchId, '1001'));
  await accounting.settleDownload(download!.jobId, {
    status: 'stored',
    path: '/out/1001/7-1.pdf',
    sha256: 'ab'.repeat(32),
    bytes: 1234,
    source: 'api',
  });
  await settleUser({ redis, prefix }, batchId, '1001', { status: 'done' });
  await settleUser({ redis, prefix }, batchId, '1002', {
    status: 'failed',
    code: 'LMS_USER_NOT_FOUND',
    reason: 'no user 1002',
  });
}

describe('status', () => {
  beforeAll(() => batchWithFailedUser('failed-user'));

  it('the overview line of a batch with a failed user starts with done-with-failures and counts the user', async () => {
    const run = await cli('status');
    expect(run.code).toBe(0);
    const line = run.stdout.split('\n').find((l) => l.includes('batch failed-user:'));
    expect(line).toMatch(/^done-with-failures {2}\S+ {2}batch failed-user: users 2\/2 \(failed 1\) · /);
  });

  it('status <id> shows the state and exits 1; --json carries schemaVersion; --csv a state column', async () => {
    const run = await cli('status', 'failed-user');
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')[0]).toBe('Batch failed-user: done-with-failures');
    expect(run.stdout).toContain('certharvest retry failed-user');

    const json = await cli('status', 'failed-user', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      schemaVersion: 1,
      batchId: 'failed-user',
      state: 'done-with-failures',
    });
    const overview = JSON.parse((await cli('status', '--json')).stdout) as Record<string, unknown>;
    expect(overview.schemaVersion).toBe(1);

    const csv = (await cli('status', 'failed-user', '--csv')).stdout.split('\n');
    expect(csv[0]!.split(',').at(-1)).toBe('state');
    expect(csv[1]!.split(',').at(-1)).toBe('done-with-failures');
  });

  it('--certificates --csv prints the header and a row per certificate and failed user', async () => {
    const run = await runCli(['status', 'failed-user', '--certificates', '--csv'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(MANIFEST_COLUMNS.join(','));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^certificate,userId:1001,1001,,7,,1,Course 1,,stored,,,1001\/7-1\.pdf,(ab){32},1234,api$/,
    );
    expect(lines[2]).toMatch(/^user,userId:1002,.*,failed,LMS_USER_NOT_FOUND,no user 1002,/);
  });

  it('--certificates reads page by page: 2,500 rows as CSV, as one JSON document, as a table of 80 columns', async () => {
    const certs = Array.from({ length: 2_500 }, (_, i) => cert(i + 10));
    await submitBatch({ batchId: 'big', by: 'userId', users: ['1001'] }, { queues, redis, prefix });
    await accounting.expectCertificates('big', certs, discoverJob('big', '1001'));

    const csv = await cliStreaming('status', 'big', '--certificates', '--csv');
    expect(csv.code).toBe(3); // still running
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2_501);
    expect(lines.at(-1)).toMatch(/^certificate,userId:1001,1001,,7,,2509,Course 2509,,queued,/);

    const json = await cliStreaming('status', 'big', '--certificates', '--json');
    const doc = JSON.parse(json.stdout) as {
      schemaVersion: number;
      batchId: string;
      total: number;
      rows: unknown[];
    };
    expect(doc).toMatchObject({ schemaVersion: 1, batchId: 'big', total: 2_500 });
    expect(doc.rows).toHaveLength(2_500);
    expect(json.code).toBe(3);

    const text = await cliStreaming('status', 'big', '--certificates');
    const rows = text.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^USER +STATUS +PATH/);
    expect(rows.at(-1)).toBe('2500 row(s): 2500 queued (every column: --csv or --json)');
    for (const row of rows) expect([...row].length).toBeLessThan(80);
  });

  it('--certificates needs a batch id', async () => {
    const run = await cli('status', '--certificates');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--certificates needs a batch id/);
  });
});

describe('cancel', () => {
  it('an unknown batch exits 2', async () => {
    const run = await cli('cancel', 'no-such-batch');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no batch "no-such-batch"/);
  });

  it('a running batch is cancelled (exit 0); one that had ended exits 1, saying so', async () => {
    await submitBatch({ batchId: 'to-cancel', by: 'userId', users: ['1', '2'] }, { queues, redis, prefix });
    const run = await cli('cancel', 'to-cancel');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^cancelled batch to-cancel\./);
    expect(run.stdout).toMatch(/users removed from the queue: +2/);
    expect(run.stdout).toMatch(/state: +cancelled/);
    expect((await cli('cancel', 'to-cancel')).code).toBe(0); // already cancelled

    await batchWithFailedUser('ended');
    const ended = await cli('cancel', 'ended');
    expect(ended.code).toBe(1);
    expect(ended.stdout).toMatch(/batch ended had already ended \(done-with-failures\): nothing to cancel/);
  });
});

describe('retry', () => {
  it('a running batch exits 2 with the reason', async () => {
    await submitBatch({ batchId: 'still-running', by: 'userId', users: ['1'] }, { queues, redis, prefix });
    const run = await cli('retry', 'still-running');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/batch "still-running" is still running/);
  });

  it("an ended batch's failures become a new batch linked to it; nothing to retry exits 0, saying so", async () => {
    await batchWithFailedUser('to-retry');
    const run = await cli('retry', 'to-retry');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^retrying batch to-retry as batch to-retry\.retry-1: 1 user\(s\) queued again/,
    );
    expect(await tracker.status('to-retry.retry-1')).toMatchObject({ retryOf: 'to-retry', state: 'running' });
    expect((await cli('status', 'to-retry')).stdout).toMatch(/retried by: +to-retry\.retry-1/);

    await submitBatch({ batchId: 'all-refused', by: 'userId', users: ['a b'] }, { queues, redis, prefix });
    const nothing = await cli('retry', 'all-refused');
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toMatch(
      /^nothing to retry: batch all-refused — its only failures are references refused/,
    );
  });
});

describe('submit', () => {
  it('a submit that queues nothing exits 1, saying why and the likely fix', async () => {
    const run = await cli('submit', '--users', 'John Smith,Jane Doe', '--batch-id', 'nothing-queued');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/submitted batch nothing-queued: 0 user\(s\) \(2 rejected\)/);
    expect(run.stderr).toMatch(
      /batch nothing-queued queued nothing: every reference was refused as a malformed userId/,
    );
    expect(run.stderr).toMatch(/likely fix: they hold spaces/);
    expect((await tracker.status('nothing-queued'))?.state).toBe('done-with-failures');
  });

  it('a user name given as a Brightspace user id is refused at once, suggesting --by userName', async () => {
    const brightspace = {
      ...env,
      LMS: 'brightspace',
      LMS_URL: 'https://school.example.edu',
      OAUTH_CLIENT_ID: 'id',
      OAUTH_CLIENT_SECRET: 'secret',
    };
    const run = await cliInProcess(
      ['submit', '--users', 'svc-certharvest', '--batch-id', 'name-as-id'],
      brightspace,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /rejected svc-certharvest: malformed userId .*a Brightspace user id: a whole number/,
    );
    expect(run.stderr).toMatch(/likely fix: .*--by userName/);
    // The same name with --by userName is queued.
    const named = await cliInProcess(
      ['submit', '--users', 'svc-certharvest', '--by', 'userName', '--batch-id', 'name-as-name'],
      brightspace,
    );
    expect(named.code).toBe(0);
    expect(named.stdout).toMatch(/submitted batch name-as-name: 1 user\(s\)/);
  });

  it('--file reads UTF-16LE with a BOM (Excel\'s "Unicode text") and refuses a workbook', async () => {
    const unicode = path.join(dir.dir, 'unicode.txt');
    await writeFile(
      unicode,
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from('userId\tname\r\n1001\tA\r\n1002\tB\r\n', 'utf16le'),
      ]),
    );
    const run = await cli('submit', '--file', unicode, '--batch-id', 'from-utf16');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/submitted batch from-utf16: 2 user\(s\)/);

    const xlsx = path.join(dir.dir, 'students.xlsx');
    await writeFile(xlsx, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(64)]));
    const refused = await cli('submit', '--file', xlsx);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--file ${xlsx}: not a text file`);
  });

  it('Ctrl-C during --wait says the batch goes on and how to follow or stop it, and exits 130', async () => {
    const run = spawnCli(['submit', '--users', '1001', '--wait', '--batch-id', 'interrupted'], env);
    // The warning comes once the interrupt is handled (no worker consumes this prefix).
    await sleepUntil(() => run.stderr().includes('no worker is consuming'), 30_000);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.stdout()).toMatch(/interrupted \(SIGINT\): stopped waiting; the batch goes on/);
    expect(run.stdout()).toContain('certharvest status interrupted');
    expect(run.stdout()).toContain('certharvest cancel interrupted');
    expect((await tracker.status('interrupted'))?.state).toBe('running');
  });
});
