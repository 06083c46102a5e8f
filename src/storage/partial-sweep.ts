import { lstat, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { PARTIAL_DIR, SHARD_NAME, tempFileOwner, thisHost } from './atomic-write.ts';
import { errnoOf } from './errors.ts';

/** A temp file this old is abandoned whoever wrote it: no certificate takes an hour to write. */
export const PARTIAL_MAX_AGE_MS = 60 * 60_000;
/** The old writer's `.<name>.<hex>.tmp` beside the PDFs; it may still run while a new worker starts. */
export const LEGACY_TEMP_MAX_AGE_MS = 10 * 60_000;

const LEGACY_TEMP = /^\..+\.[0-9a-f]+\.tmp$/;
/** Only the old writer left these, and it knew only whole-number user ids. */
const USER_DIR = /^[1-9][0-9]*$/;

/**
 * Remove leftovers of writers that died mid-write: files in `OUTPUT_DIR/.partial/` (and its shard
 * folders) of a dead
 * process on this host or older than an hour, and the old writer's hidden temp files in the user
 * folders older than ten minutes. Returns how many files it removed; an absent OUTPUT_DIR has none.
 */
export async function sweepPartials(outputDir: string, now = Date.now()): Promise<number> {
  const host = thisHost();
  let removed = 0;

  const partialDir = path.join(outputDir, PARTIAL_DIR);
  const sweepFolder = async (dir: string, names: string[]): Promise<void> => {
    for (const name of names) {
      const file = path.join(dir, name);
      const mtimeMs = await fileMtime(file);
      if (mtimeMs === null) continue;
      const owner = tempFileOwner(name);
      const orphan = owner !== null && owner.host === host && !isAlive(owner.pid);
      if (orphan || mtimeMs < now - PARTIAL_MAX_AGE_MS) removed += await remove(file);
    }
  };
  // `.partial/` itself (the writability probe, older versions) and its shard folders.
  const top = await listOrEmpty(partialDir);
  await sweepFolder(partialDir, top);
  for (const shard of top.filter((name) => SHARD_NAME.test(name))) {
    await sweepFolder(path.join(partialDir, shard), await listOrEmpty(path.join(partialDir, shard)));
  }

  // A full scan of the user folders: start-up only, a few folders at a time.
  const limit = pLimit(16);
  // OUTPUT_DIR itself may be a link an operator made; the levels below it are not followed.
  const userDirs = (await listOrEmpty(outputDir, true)).filter((name) => USER_DIR.test(name));
  const counts = await Promise.all(
    userDirs.map((user) =>
      limit(async () => {
        let n = 0;
        const dir = path.join(outputDir, user);
        for (const name of await listOrEmpty(dir)) {
          const file = path.join(dir, name);
          if (!LEGACY_TEMP.test(name)) continue;
          const mtimeMs = await fileMtime(file);
          if (mtimeMs !== null && mtimeMs < now - LEGACY_TEMP_MAX_AGE_MS) n += await remove(file);
        }
        return n;
      }),
    ),
  );
  return counts.reduce((sum, n) => sum + n, removed);
}

/** `process.kill(pid, 0)` probes without signalling: ESRCH means no such process. */
function isAlive(pid: number): boolean {
  if (pid > 2 ** 31 - 1) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return errnoOf(err) !== 'ESRCH';
  }
}

/**
 * The names in `dir`; none when it is missing, not a folder, or a symbolic link (a planted link
 * must not send the sweep deleting files elsewhere).
 */
async function listOrEmpty(dir: string, followLink = false): Promise<string[]> {
  try {
    if (!followLink && (await lstat(dir)).isSymbolicLink()) return [];
    return await readdir(dir);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return [];
    throw err;
  }
}

/** When a regular file (or symlink) last changed; null for folders and files already gone. */
async function fileMtime(file: string): Promise<number | null> {
  try {
    const stats = await lstat(file);
    return stats.isFile() || stats.isSymbolicLink() ? stats.mtimeMs : null;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
}

/** 1 when this call removed `file`, 0 when another sweep got there first. */
async function remove(file: string): Promise<number> {
  try {
    await unlink(file);
    return 1;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return 0;
    throw err;
  }
}
