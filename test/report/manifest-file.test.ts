import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RedisConnection } from '../../src/util/redis-nodes.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchAccounting,
  BatchTracker,
  cancelBatch,
  openQueues,
  submitBatch,
  type CertharvestQueues,
  type ExpectedCertificate,
} from '../../src/queue/index.ts';
import { followBatchEnds, manifestFileName, writeBatchManifest } from '../../src/report/manifest-file.ts';
import { MANIFEST_COLUMNS } from '../../src/report/manifest.ts';
import { sleepUntil, tempDir, withRedis } from '../helpers/index.ts';

let redis: RedisConnection;
let prefix: string;
let closeRedis: () => Promise<void>;
let queues: CertharvestQueues;
let accounting: BatchAccounting;
let tracker: BatchTracker;
let out: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ redis, prefix, close: closeRedis } = await withRedis('manifest'));
  queues = openQueues(redis, prefix);
  accounting = new BatchAccounting(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
});
afterAll(async () => {
  await queues.close();
  await closeRedis();
});
beforeEach(async () => {
  ({ dir: out, cleanup } = await tempDir('manifest-out'));
});
afterEach(() => cleanup());

const cert = (n: number, user = 1): ExpectedCertificate => ({
  certKey: `school.example:7:${n}`,
  ref: `7-${n} (user ${user})`,
  alreadyStored: false,
  row: {
    userRef: `userId:${user}`,
    userId: user,
    orgUnitId: 7,
    issuedId: n,
    title: n === 2 ? '=HYPERLINK("x"), "quoted"' : `Certificate ${n}`,
    issuedDate: '2026-05-01T00:00:00.000Z',
  },
});

/** A finished batch: a refused reference, one stored certificate, one failed, in that order. */
async function endedBatch(id: string): Promise<void> {
  await tracker.create(id, { by: 'userId', enumerating: false });
  await tracker.rejectUsers(id, [{ ref: 'x y', reason: 'malformed' }]);
  await accounting.registerDiscover(id, [`${id}.1`]);
  const jobs = await accounting.expectCertificates(id, [cert(1), cert(2)]);
  await accounting.settleDiscover(`${id}.1`, { status: 'done' }, 'userId 1');
  await accounting.settleDownload(jobs[0]!.jobId, {
    status: 'stored',
    path: '/out/1/7-1.pdf',
    sha256: 'a'.repeat(64),
    bytes: 10,
    source: 'api',
  });
  await accounting.settleDownload(jobs[1]!.jobId, { status: 'failed', code: 'PDF_INVALID', reason: 'cut' });
}

describe('writeBatchManifest', () => {
  it('writes OUTPUT_DIR/_batches/<id>.csv whole, with the mode of the certificates, leaving no temp file', async () => {
    await endedBatch('mf-1');
    const file = await writeBatchManifest(tracker, 'mf-1', out, { fileMode: 0o600, dirMode: 0o700 });
    expect(file).toBe(path.join(out, '_batches', 'mf-1.csv'));
    const lines = (await readFile(file!, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(MANIFEST_COLUMNS.join(','));
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^user,userId:x y,,,,,,,,failed,USER_REF_MALFORMED,malformed,/);
    expect(lines[2]).toBe(
      `certificate,userId:1,1,,7,,1,Certificate 1,2026-05-01T00:00:00.000Z,stored,,,1/7-1.pdf,${'a'.repeat(64)},10,api`,
    );
    // Quoted as CSV, and a formula neutralised for spreadsheets.
    expect(lines[3]).toContain(`"'=HYPERLINK(""x""), ""quoted"""`);
    expect((await stat(file!)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(out, '_batches'))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.join(out, '_batches'))).toEqual(['mf-1.csv']);
    expect(manifestFileName('mf-1')).toBe('_batches/mf-1.csv');
  });

  it('replaces an earlier file by rename, reads a big manifest page by page, and knows no unknown batch', async () => {
    await tracker.create('mf-big', { by: 'userId', enumerating: false });
    const refs = Array.from({ length: 4_500 }, (_, i) => `bad ${i}`);
    await tracker.rejectUsers(
      'mf-big',
      refs.map((ref) => ({ ref, reason: 'malformed' })),
    );
    await mkdir(path.join(out, '_batches'));
    await writeFile(path.join(out, '_batches', 'mf-big.csv'), 'old\n');
    const before = (await stat(path.join(out, '_batches', 'mf-big.csv'))).ino;
    await writeBatchManifest(tracker, 'mf-big', out);
    const file = path.join(out, '_batches', 'mf-big.csv');
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(4_501);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(refs.map((r) => `userId:${r}`));
    // A new file took the name (atomic), rather than the old one being rewritten in place.
    expect((await stat(file)).ino).not.toBe(before);
    expect((await stat(file)).mode & 0o777).toBe(0o640);

    expect(await writeBatchManifest(tracker, 'mf-none', out)).toBeNull();
    expect(await readdir(path.join(out, '_batches'))).toEqual(['mf-big.csv']);
  });

  it('never writes through a symbolic link at _batches, nor takes a name that is not a batch id', async () => {
    await endedBatch('mf-link');
    const elsewhere = await tempDir('elsewhere');
    try {
      await symlink(elsewhere.dir, path.join(out, '_batches'));
      await expect(writeBatchManifest(tracker, 'mf-link', out)).rejects.toMatchObject({
        code: 'OUTPUT_SYMLINK',
      });
      expect(await readdir(elsewhere.dir)).toEqual([]);
    } finally {
      await elsewhere.cleanup();
    }
    for (const bad of ['../x', '.hidden', 'a/b', '', 'x'.repeat(65)]) {
      expect(() => manifestFileName(bad)).toThrow(TypeError);
      await expect(writeBatchManifest(tracker, bad, out)).rejects.toThrow(TypeError);
    }
    expect((await lstat(path.join(out, '_batches'))).isSymbolicLink()).toBe(true);
  });
});

describe('followBatchEnds', () => {
  it('hands each ended batch to one worker of the group, whatever ended it (a submission, a cancel)', async () => {
    const heard: [string, string][] = [];
    const follow = (who: string) =>
      followBatchEnds({
        redis,
        prefix,
        logger: createLogger({ level: 'silent' }),
        blockMs: 100,
        onEnd: async (batchId) => {
          heard.push([who, batchId]);
          await writeBatchManifest(tracker, batchId, out);
        },
      });
    const [a, b] = await Promise.all([follow('a'), follow('b')]);
    try {
      // Every entry refused: ended at submission, no worker's settle involved.
      const refused = await submitBatch(
        { batchId: 'mf-refused', users: ['not an id'] },
        { queues, redis, prefix },
      );
      // Queued, then cancelled before any worker took it: ended by the cancel.
      await submitBatch({ batchId: 'mf-cancelled', users: [1, 2] }, { queues, redis, prefix });
      expect((await cancelBatch('mf-cancelled', { queues, redis, prefix })).status.state).toBe('cancelled');

      await sleepUntil(() => heard.length >= 2, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(heard.map(([, id]) => id).sort()).toEqual(['mf-cancelled', refused.batchId]);
      const cancelled = await sleepUntil(() =>
        readFile(path.join(out, '_batches', 'mf-cancelled.csv'), 'utf8').catch(() => undefined),
      );
      expect(cancelled.trimEnd().split('\n')).toHaveLength(1); // the header: nothing was found
      expect(await readFile(path.join(out, '_batches', 'mf-refused.csv'), 'utf8')).toMatch(
        /\nuser,userId:not an id,.*USER_REF_MALFORMED/,
      );
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
