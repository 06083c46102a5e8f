import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { lstat, mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LmsId } from '../certificate/index.ts';
import { errnoOf, OutputSymlinkError } from './errors.ts';

/** The mode of the PDFs and sidecars the store writes (`OUTPUT_FILE_MODE`). */
export const DEFAULT_FILE_MODE = 0o640;
/** The mode of the folders the store makes (`OUTPUT_DIR_MODE`). */
export const DEFAULT_DIR_MODE = 0o750;

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = fs.constants;
/** A new file, never through a symbolic link (O_EXCL alone refuses one too; O_NOFOLLOW says so). */
export const CREATE_NEW_FILE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
/** Read a file, but not through a symbolic link at its name (ELOOP instead). */
export const READ_NO_FOLLOW = O_RDONLY | O_NOFOLLOW;
const OPEN_REAL_DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

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
/**
 * Whether open()'s `mode` loses bits to the process umask, so that it must be set whole after
 * (fchmod): not with the usual umask 022 and modes 0o640/0o600, one call saved per file. Read at
 * each use: the umask can change while the process runs.
 */
export const umaskMasks = (mode: number): boolean => (process.umask() & mode) !== 0;
const writeFd = promisify(fs.write);
const fsyncFd = promisify(fs.fsync);
const fchmodFd = promisify(fs.fchmod);
const closeFd = promisify(fs.close);

/**
 * Write `data` to a new temp file in `partialDir` with `mode` (default `DEFAULT_FILE_MODE`) and
 * fsync it, so that a rename publishes the whole content, mode included. Returns the temp file's
 * path; on any failure the file is removed.
 */
export async function writeTempFile(
  partialDir: string,
  data: Uint8Array | string,
  options: { sync?: boolean; mode?: number } = {},
): Promise<string> {
  const tmp = path.join(partialDir, tempFileName());
  const mode = options.mode ?? DEFAULT_FILE_MODE;
  const fd = await openFd(tmp, CREATE_NEW_FILE, mode);
  try {
    try {
      // open()'s mode is masked by the process umask: set it whole when it lost bits.
      if (umaskMasks(mode)) await fchmodFd(fd, mode);
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
  return groupSync.sync(dir);
}

/**
 * Folder fsyncs, shared: a call while one of the same folder runs waits for the next one, which
 * starts after that and covers every rename made before it was asked for; the calls waiting
 * meanwhile share it (a user's certificates stored at the same moment sync their folder once).
 */
class GroupSync {
  readonly #running = new Map<string, Promise<void>>();
  readonly #next = new Map<string, Promise<void>>();

  sync(dir: string): Promise<void> {
    const next = this.#next.get(dir);
    if (next) return next;
    const running = this.#running.get(dir);
    const start = (): Promise<void> => {
      this.#next.delete(dir);
      const done = syncDirNow(dir).finally(() => {
        if (this.#running.get(dir) === done) this.#running.delete(dir);
      });
      this.#running.set(dir, done);
      return done;
    };
    if (!running) return start();
    const queued = running.catch(() => {}).then(start);
    this.#next.set(dir, queued);
    return queued;
  }
}

const groupSync = new GroupSync();

async function syncDirNow(dir: string): Promise<void> {
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
 * The folders under OUTPUT_DIR (`root`) the store writes in, made with `dirMode` and checked level
 * by level on every use: a level that is a symbolic link throws `OutputSymlinkError`, so nothing is
 * written through a link planted below `root` (`root` itself may be a link an operator made).
 */
export class Folders {
  readonly root: string;
  readonly dirMode: number;
  /** `root` exists (made or found): it is not asked again until `forget()`. */
  #rootMade = false;
  /**
   * Checks of a folder level in flight: a check asked for while one runs shares its answer (it is
   * as fresh), so downloads storing at the same moment look at `.partial/` once, not once each.
   */
  readonly #checking = new Map<string, Promise<boolean>>();

  constructor(root: string, dirMode = DEFAULT_DIR_MODE) {
    this.root = path.resolve(root);
    this.dirMode = dirMode;
  }

  /**
   * Make `dir` (`root` or a folder under it) and its parents, each level below `root` checked to be
   * a real folder. With `durable`, a folder that had to be created is fsynced into its parent, so a
   * crash cannot lose the new folder with its files.
   */
  async ensure(dir: string, durable = false): Promise<void> {
    const names = this.#levelsBelowRoot(dir);
    for (let again = true; ; again = false) {
      await this.#ensureRoot(durable);
      try {
        let parent = this.root;
        for (const name of names) {
          const level = path.join(parent, name);
          if ((await this.#realDirShared(level)) && durable) await fsyncDir(parent);
          parent = level;
        }
        return;
      } catch (err) {
        // OUTPUT_DIR itself was removed behind this process's back: make it again, once.
        if (!again || errnoOf(err) !== 'ENOENT') throw err;
        this.forget();
      }
    }
  }

  /**
   * Make `dir` (checked), then `create` something in it. If the folder was removed behind this
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

  /** Throw `OutputSymlinkError` when `file` (a name under `root`) is a symbolic link. */
  async refuseLink(file: string): Promise<void> {
    try {
      if ((await lstat(file)).isSymbolicLink()) throw new OutputSymlinkError(this.root, file);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  }

  /** Whether `dir` and every level between `root` and it are real folders (false: missing or a link). */
  async isReal(dir: string): Promise<boolean> {
    let level = this.root;
    for (const name of this.#levelsBelowRoot(dir)) {
      level = path.join(level, name);
      try {
        if (!(await lstat(level)).isDirectory()) return false;
      } catch (err) {
        const errno = errnoOf(err);
        if (errno === 'ENOENT' || errno === 'ENOTDIR') return false;
        throw err;
      }
    }
    return true;
  }

  /** Ask for `root` again: it may have been removed behind this process's back. */
  forget(): void {
    this.#rootMade = false;
  }

  #levelsBelowRoot(dir: string): string[] {
    const rel = path.relative(this.root, path.resolve(dir));
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new Error(`Folders: ${dir} is not under ${this.root}`);
    }
    return rel === '' ? [] : rel.split(path.sep);
  }

  async #ensureRoot(durable: boolean): Promise<void> {
    if (this.#rootMade) return;
    const created = await mkdir(this.root, { recursive: true, mode: this.dirMode });
    if (created !== undefined) {
      // Every folder made, from the first one down to root: its mode set whole (the umask masks
      // mkdir's), and with `durable` each fsynced into its parent.
      const top = path.dirname(created);
      const made: string[] = [];
      for (let d = this.root; d !== top && d !== path.dirname(d); d = path.dirname(d)) made.push(d);
      for (const d of made.reverse()) {
        await this.#chmodRealDir(d);
        if (durable) await fsyncDir(path.dirname(d));
      }
    }
    this.#rootMade = true;
  }

  /** `#realDir`, shared with a check of the same level in flight. */
  #realDirShared(dir: string): Promise<boolean> {
    const inFlight = this.#checking.get(dir);
    if (inFlight) return inFlight;
    const check = this.#realDir(dir).finally(() => this.#checking.delete(dir));
    this.#checking.set(dir, check);
    return check;
  }

  /** `dir` is a real folder (true: this call made it); a symbolic link throws `OutputSymlinkError`. */
  async #realDir(dir: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      let stats: fs.Stats;
      try {
        stats = await lstat(dir);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
        try {
          await mkdir(dir, { mode: this.dirMode });
        } catch (mkdirErr) {
          // Another download made it in between: look at what is there now.
          if (errnoOf(mkdirErr) === 'EEXIST' && attempt === 0) continue;
          throw mkdirErr;
        }
        await this.#chmodRealDir(dir);
        return true;
      }
      if (stats.isSymbolicLink()) throw new OutputSymlinkError(this.root, dir);
      if (stats.isDirectory()) return false;
      throw Object.assign(new Error(`ENOTDIR: not a directory, ${dir}`), { code: 'ENOTDIR', path: dir });
    }
  }

  /** chmod through a descriptor opened without following a link: never the mode of a link's target. */
  async #chmodRealDir(dir: string): Promise<void> {
    let fd: number;
    try {
      fd = await openFd(dir, OPEN_REAL_DIR);
    } catch (err) {
      if (errnoOf(err) === 'ELOOP') throw new OutputSymlinkError(this.root, dir);
      throw err;
    }
    try {
      await fchmodFd(fd, this.dirMode);
    } finally {
      await closeFd(fd);
    }
  }
}
