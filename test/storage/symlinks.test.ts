import { lstat, mkdir, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Certificate } from '../../src/certificate/index.ts';
import { CertificateStore, OutputSymlinkError, SPILL_BYTES } from '../../src/storage/index.ts';
import { partialShard, tempFileName } from '../../src/storage/atomic-write.ts';
import { sweepPartials } from '../../src/storage/partial-sweep.ts';
import { decide } from '../../src/failure/failure-policy.ts';
import { partialFiles, tempDir } from '../helpers/index.ts';

// A planted symbolic link below OUTPUT_DIR, at each level the store writes: the certificate fails
// with OutputSymlinkError, and nothing lands (or is removed) where the link points.

const cert: Certificate = {
  userId: 101,
  orgUnitId: 6606,
  issuedId: 42,
  awardId: 7,
  title: 'Safety Training',
  issuedDate: '2026-05-13T20:01:00.827Z',
};
const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
const bigPdf = Buffer.concat([pdf, Buffer.alloc(SPILL_BYTES + 1024, 0x20)]);
const lmsHost = 'school.example';

let root: string;
let out: string;
let elsewhere: string;
let cleanup: () => Promise<void>;
let store: CertificateStore;
beforeEach(async () => {
  ({ dir: root, cleanup } = await tempDir());
  out = path.join(root, 'out');
  elsewhere = path.join(root, 'elsewhere');
  await mkdir(out);
  await mkdir(elsewhere);
  store = new CertificateStore(out, { lmsHost });
});
afterEach(() => cleanup());

const userDir = () => path.join(out, '101');
const pdfPath = () => path.join(out, '101', '6606-42.pdf');
const sidecarPath = () => path.join(out, '101', '6606-42.json');
const shardDir = () => path.join(out, '.partial', partialShard(cert.userId));

/** Save `body` streamed (as a download does): a big one goes through a temp file before the commit. */
async function download(body: Buffer): Promise<unknown> {
  const incoming = store.receive(cert);
  try {
    await incoming.write(body);
    return await store.commit(cert, incoming, 'browser');
  } finally {
    await incoming.discard();
  }
}

async function expectRefused(attempt: Promise<unknown>, link: string): Promise<void> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutputSymlinkError);
  expect(error).toMatchObject({ code: 'OUTPUT_SYMLINK', retryable: false, path: link, outputDir: out });
  expect((error as Error).message).toContain(link);
  // That certificate alone gives up: no fleet pause, no retry.
  expect(decide(error)).toMatchObject({ action: 'give-up', code: 'OUTPUT_SYMLINK' });
  expect(await readdir(elsewhere)).toEqual([]);
}

describe('a symbolic link planted under OUTPUT_DIR', () => {
  it.each([
    ['small', pdf],
    ['streamed', bigPdf],
  ])('a user folder that is a link: refused, nothing written through it (%s body)', async (_kind, body) => {
    await symlink(elsewhere, userDir());
    await expectRefused(download(body), userDir());
    expect(await partialFiles(out)).toEqual([]);
  });

  it('a PDF name that is a link: refused, its target untouched', async () => {
    const target = path.join(root, 'victim.pdf');
    await writeFile(target, 'precious');
    await mkdir(userDir());
    await symlink(target, pdfPath());
    await expectRefused(store.save(cert, pdf, 'api'), pdfPath());
    expect(await readFile(target, 'utf8')).toBe('precious');
    expect((await lstat(pdfPath())).isSymbolicLink()).toBe(true);
    expect(await partialFiles(out)).toEqual([]);
  });

  it('a sidecar name that is a link: refused, neither read nor written through; no PDF published', async () => {
    const target = path.join(elsewhere, 'victim.json');
    await mkdir(userDir());
    await symlink(target, sidecarPath());
    expect(await store.existing(cert)).toBeNull();
    await expectRefused(store.save(cert, pdf, 'api'), sidecarPath());
    await expect(lstat(pdfPath())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    ['small', pdf],
    ['streamed', bigPdf],
  ])('.partial/ as a link: refused, no temp file lands where it points (%s body)', async (_kind, body) => {
    await symlink(elsewhere, path.join(out, '.partial'));
    await expectRefused(download(body), path.join(out, '.partial'));
    await expect(lstat(userDir())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a shard folder of .partial/ as a link: refused', async () => {
    await mkdir(path.join(out, '.partial'));
    await symlink(elsewhere, shardDir());
    await expectRefused(store.save(cert, pdf, 'api'), shardDir());
  });

  it('a user folder that becomes a link after a first save: the next write checks again', async () => {
    await store.save(cert, pdf, 'api');
    const moved = path.join(root, 'moved');
    await rename(userDir(), moved);
    await symlink(elsewhere, userDir());
    // Not "already stored" through the link, and no write through it.
    expect(await store.existing(cert)).toBeNull();
    await expectRefused(store.save(cert, Buffer.from('%PDF-1.7\nnew\n%%EOF\n'), 'api'), userDir());
  });

  it('existing() never reads a sidecar or stats a PDF through links', async () => {
    await store.save(cert, pdf, 'api');
    const realDir = path.join(elsewhere, 'real');
    await mkdir(realDir);
    // A complete, valid copy elsewhere, reached through a linked user folder: not "stored".
    const other = new CertificateStore(realDir, { lmsHost });
    await other.save({ ...cert, userId: 202 }, pdf, 'api');
    await symlink(path.join(realDir, '202'), path.join(out, '202'));
    expect(await store.existing({ ...cert, userId: 202 })).toBeNull();
    expect(await store.existing(cert)).not.toBeNull();
  });

  it('checkWritable() refuses a .partial/ that is a link', async () => {
    await symlink(elsewhere, path.join(out, '.partial'));
    const error = await store.checkWritable().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputSymlinkError);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('the start-up sweep does not delete through a linked .partial/ or user folder', async () => {
    const stale = tempFileName(2 ** 31 - 2); // a dead writer's name on this host
    await writeFile(path.join(elsewhere, stale), 'not ours');
    await writeFile(path.join(elsewhere, '.6606-42.pdf.abc123.tmp'), 'not ours either');
    await symlink(elsewhere, path.join(out, '.partial'));
    await symlink(elsewhere, path.join(out, '303'));
    expect(await sweepPartials(out, Date.now() + 24 * 3_600_000)).toBe(0);
    expect((await readdir(elsewhere)).sort()).toEqual(['.6606-42.pdf.abc123.tmp', stale].sort());
  });

  it('OUTPUT_DIR itself may be a link an operator made', async () => {
    const linked = path.join(root, 'linked-out');
    await symlink(out, linked);
    const viaLink = new CertificateStore(linked, { lmsHost });
    expect(await viaLink.save(cert, pdf, 'api')).toMatchObject({ status: 'stored' });
    expect(await readFile(pdfPath())).toEqual(pdf);
  });
});
