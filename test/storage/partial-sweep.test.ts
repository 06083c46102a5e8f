import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateStore } from '../../src/storage/index.ts';
import { tempFileName } from '../../src/storage/atomic-write.ts';
import { tempDir } from '../helpers/index.ts';

const DEAD_PID = 2 ** 22 + 12345; // above Linux's largest pid_max
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function file(relative: string, mtime = new Date()): Promise<string> {
  const full = path.join(dir, relative);
  await mkdir(path.dirname(full), { recursive: true });
  await writeFile(full, 'partial');
  await utimes(full, mtime, mtime);
  return path.basename(full);
}

describe('CertificateStore.sweepPartials', () => {
  it('removes dead writers’ and old files, keeps a live young one', async () => {
    const live = await file(`.partial/${tempFileName(process.pid)}`);
    const dead = await file(`.partial/${tempFileName(DEAD_PID)}`);
    const oldLive = await file(`.partial/${tempFileName(process.pid)}`, minutesAgo(61));
    const otherHostYoung = await file(`.partial/${tempFileName(DEAD_PID, 'elsewhere')}`);
    const otherHostOld = await file(`.partial/${tempFileName(DEAD_PID, 'elsewhere')}`, minutesAgo(90));
    const strangerOld = await file('.partial/something-else', minutesAgo(120));

    const removed = await new CertificateStore(dir, { lmsHost: 'lms' }).sweepPartials();

    expect(removed).toBe(4);
    const left = await readdir(path.join(dir, '.partial'));
    expect(left.sort()).toEqual([live, otherHostYoung].sort());
    expect(left).not.toContain(dead);
    expect(left).not.toContain(oldLive);
    expect(left).not.toContain(otherHostOld);
    expect(left).not.toContain(strangerOld);
  });

  it('sweeps the shard folders of .partial/ by the same rules, and leaves the folders', async () => {
    const live = await file(`.partial/05/${tempFileName(process.pid)}`);
    await file(`.partial/05/${tempFileName(DEAD_PID)}`);
    await file(`.partial/1f/${tempFileName(process.pid)}`, minutesAgo(61));
    const notAShard = await file(`.partial/zz/${tempFileName(DEAD_PID)}`);

    expect(await new CertificateStore(dir, { lmsHost: 'lms' }).sweepPartials()).toBe(2);
    expect(await readdir(path.join(dir, '.partial', '05'))).toEqual([live]);
    expect(await readdir(path.join(dir, '.partial', '1f'))).toEqual([]);
    expect(await readdir(path.join(dir, '.partial', 'zz'))).toEqual([notAShard]); // not ours to judge
  });

  it("removes the old writer's hidden temp files beside the PDFs after ten minutes", async () => {
    await file('101/6606-42.pdf', minutesAgo(60));
    await file('101/.6606-42.pdf.0123456789ab.tmp', minutesAgo(11));
    await file('101/.6606-42.json.ba9876543210.tmp', minutesAgo(1));
    await file('202/.1-2.pdf.abcdefabcdef.tmp', minutesAgo(30));

    expect(await new CertificateStore(dir, { lmsHost: 'lms' }).sweepPartials()).toBe(2);
    expect((await readdir(path.join(dir, '101'))).sort()).toEqual([
      '.6606-42.json.ba9876543210.tmp',
      '6606-42.pdf',
    ]);
    expect(await readdir(path.join(dir, '202'))).toEqual([]);
  });

  it('finds nothing to do when OUTPUT_DIR does not exist yet', async () => {
    expect(await new CertificateStore(path.join(dir, 'not-yet'), { lmsHost: 'lms' }).sweepPartials()).toBe(0);
  });
});
