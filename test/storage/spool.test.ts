import { chmod, lstat, mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpoolFolders, SpoolUnsafeError } from '../../src/storage/spool.ts';
import { IncomingPdf } from '../../src/storage/index.ts';
import { tempDir } from '../helpers/index.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => void ({ dir, cleanup } = await tempDir('spool-test')));
afterEach(() => cleanup());

/** A body past the in-memory part, so it goes to a temp file in the spool. */
const spill = async (root: string) => {
  const incoming = new IncomingPdf(path.join(root, '.partial', '05'), new SpoolFolders(root), 0o600);
  try {
    await incoming.write(Buffer.alloc(2 * 1024 * 1024, 1));
    return await incoming.settle();
  } finally {
    await incoming.discard();
  }
};

describe('SpoolFolders', () => {
  it('makes the spool private (0700) and keeps the body there', async () => {
    const root = path.join(dir, 'spool');
    const file = await spill(root);
    expect(path.dirname(file)).toBe(path.join(root, '.partial', '05'));
    expect((await lstat(root)).mode & 0o777).toBe(0o700);
    expect((await lstat(file)).mode & 0o777).toBe(0o600);
  });

  const refused = async (root: string, why: string) => {
    const error = await spill(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpoolUnsafeError);
    expect(error).toMatchObject({ code: 'SPOOL_UNSAFE', retryable: false, path: root });
    expect((error as Error).message).toContain(why);
  };

  it('refuses a spool folder that is a symbolic link, and writes nothing where it points', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, path.join(dir, 'spool'));
    await refused(path.join(dir, 'spool'), 'it is a symbolic link');
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('refuses a spool folder others may use, and writes nothing in it', async () => {
    const root = path.join(dir, 'spool');
    await mkdir(root);
    await chmod(root, 0o755);
    await refused(root, 'others may use it (mode 0755)');
    expect(await readdir(root)).toEqual([]);
  });
});
