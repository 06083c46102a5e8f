import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LmsId } from '../certificate/index.ts';

/** The folder under OUTPUT_DIR that holds files being written; same filesystem, so rename is atomic. */
export const PARTIAL_DIR = '.partial';

/**
 * `.partial/` is split into this many folders, by user id: 16 downloads in flight then create their
 * temp files in different folders instead of queueing for one folder's lock (measured on ext4:
 * about 25% less CPU per stored certificate at 16 in flight; docs/benchmarks.md).
 */
export const PARTIAL_SHARDS = 32;

/**
 * The `.partial/` subfolder a user's temp files are written in: `00` … `1f`. A whole number by its
 * value (as it always was), a string id by a hash of it (FNV-1a).
 */
export const partialShard = (userId: LmsId): string =>
  ((typeof userId === 'number' ? userId : fnv1a(userId)) % PARTIAL_SHARDS).toString(16).padStart(2, '0');

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Names of the shard folders (and nothing else) in `.partial/`. */
export const SHARD_NAME = /^[0-9a-f]{2}$/;

/** This host's name as it appears in temp file names: only characters safe in a file name. */
export const thisHost = (): string => hostname().replace(/[^A-Za-z0-9._]/g, '_') || 'host';

/**
 * `<hostname>-<pid>-<random>.tmp`: the owner is in the name so a start-up sweep can tell a dead
 * writer's leftovers from a live one's, and the random part means a stale file never blocks a write.
 * The hostname never holds `-` (see `thisHost`), so the name splits back unambiguously.
 */
export const tempFileName = (pid = process.pid, host = thisHost()): string =>
  `${host}-${pid}-${randomBytes(8).toString('hex')}.tmp`;

const TEMP_NAME = /^([A-Za-z0-9._]+)-([1-9][0-9]{0,9})-[0-9a-f]+\.tmp$/;

/** The owner named by a temp file name, or null for a name this module did not make. */
export function tempFileOwner(name: string): { host: string; pid: number } | null {
  const match = TEMP_NAME.exec(name);
  return match ? { host: match[1]!, pid: Number(match[2]) } : null;
}

// The callback API on raw descriptors, promisified: about half the CPU of `FileHandle` per file
// (measured: 50–70 µs against 120–140 µs for open, write, fsync and close), and a download writes
// two files and syncs a folder for every certificate.
const openFd = promisify(fs.open);
const writeFd = promisify(fs.write);
const fsyncFd = promisify(fs.fsync);
const closeFd = promisify(fs.close);

/**
 * Write `data` to a new temp file in `partialDir` and fsync it, so that a rename publishes the
 * whole content. Returns the temp file's path; on any failure the file is removed.
 */
export async function writeTempFile(
  partialDir: string,
  data: Uint8Array | string,
  options: { sync?: boolean } = {},
): Promise<string> {
  const tmp = path.join(partialDir, tempFileName());
  const fd = await openFd(tmp, 'wx', 0o644);
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let done = 0; done < bytes.byteLength;) {
        done += (await writeFd(fd, bytes, done, bytes.byteLength - done, done)).bytesWritten;
      }
      if (options.sync !== false) await fsyncFd(fd);
    } finally {
      // close() can report a deferred write error (NFS), so it is awaited on the success path too.
      await closeFd(fd);
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return tmp;
}

/** Make a rename or a new folder entry durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await closeFd(fd);
  }
}

/**
 * Folders known to exist, so each is made (mkdir) once per process rather than once per file.
 * Bounded: past `limit` entries it starts over, which costs one extra mkdir per folder.
 */
export class Folders {
  readonly #made = new Set<string>();

  constructor(readonly limit = 10_000) {}

  /**
   * Make `dir` (and its parents) unless made before. With `durable`, a folder that had to be
   * created is fsynced into its parent, so a crash cannot lose the new folder with its files.
   */
  async ensure(dir: string, durable = false): Promise<void> {
    if (this.#made.has(dir)) return;
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined && durable) {
      // Every folder that gained an entry: from the new folder's parent down to `dir`'s parent.
      const top = path.dirname(created);
      for (let d = dir; d !== top && d !== path.dirname(d);) {
        d = path.dirname(d);
        await fsyncDir(d);
      }
    }
    if (this.#made.size >= this.limit) this.#made.clear();
    this.#made.add(dir);
  }

  /**
   * Make `dir` (once), then `create` something in it. If the folder was removed behind this
   * process's back (ENOENT), make it again and try once more.
   */
  async within<T>(dir: string, create: () => Promise<T>): Promise<T> {
    await this.ensure(dir);
    try {
      return await create();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.forget();
      await this.ensure(dir);
      return create();
    }
  }

  /** Forget every folder: one was removed behind this process's back. */
  forget(): void {
    this.#made.clear();
  }
}
