import { lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CertharvestError } from '../errors/index.ts';
import { Folders } from './atomic-write.ts';

/** The local folder PDFs arrive in before they are uploaded: private to this user. */
export const SPOOL_DIR_MODE = 0o700;
export const SPOOL_FILE_MODE = 0o600;

/** `<tmpdir>/certharvest-spool-<uid>`: one per user, so the start-up sweep finds dead workers' files. */
export const defaultSpoolDir = (): string =>
  path.join(tmpdir(), `certharvest-spool-${process.getuid?.() ?? 'user'}`);

/** The spool folder is not this user's own private folder: nothing is written in it. Never retried. */
export class SpoolUnsafeError extends CertharvestError {
  readonly retryable = false;
  readonly path: string;

  constructor(dir: string, why: string) {
    super(
      'SPOOL_UNSAFE',
      `refusing to spool certificates in ${dir}: ${why}. Remove it (it is made again, mode 0700) or choose another spool folder`,
    );
    this.path = dir;
  }
}

/**
 * The spool's folders: `Folders` (each level below the root checked), and the root itself checked
 * once to be a real folder of this user that nobody else may read, since the default one lies in
 * the shared temp folder where anyone may have made it first.
 */
export class SpoolFolders extends Folders {
  #checked = false;

  constructor(root: string) {
    super(root, SPOOL_DIR_MODE);
  }

  override async ensure(dir: string, durable = false): Promise<void> {
    if (!this.#checked) await this.#checkRoot(true);
    await super.ensure(dir, durable);
    if (!this.#checked) await this.#checkRoot(false);
    this.#checked = true;
  }

  override forget(): void {
    super.forget();
    this.#checked = false;
  }

  async #checkRoot(mayBeMissing: boolean): Promise<void> {
    let stats;
    try {
      stats = await lstat(this.root);
    } catch (err) {
      if (mayBeMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const uid = process.getuid?.();
    if (stats.isSymbolicLink()) throw new SpoolUnsafeError(this.root, 'it is a symbolic link');
    if (!stats.isDirectory()) throw new SpoolUnsafeError(this.root, 'it is not a folder');
    if (uid !== undefined && stats.uid !== uid) {
      throw new SpoolUnsafeError(this.root, `it belongs to user ${stats.uid}, not to this one (${uid})`);
    }
    if ((stats.mode & 0o077) !== 0) {
      throw new SpoolUnsafeError(this.root, `others may use it (mode 0${(stats.mode & 0o777).toString(8)})`);
    }
  }
}
