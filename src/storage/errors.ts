import { CertharvestError } from '../errors/index.ts';

/** The disk is full, or over the quota: no write will succeed until space is freed. */
const FULL = new Set(['ENOSPC', 'EDQUOT']);
/**
 * Permissions, a read-only mount, or a file or folder where the other belongs. ENOENT counts
 * because the store only meets it while creating files in folders it has just made.
 */
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOENT']);

/**
 * OUTPUT_DIR cannot take certificates: every write would fail alike, so this is never retried;
 * the fleet pauses until someone frees space or fixes permissions.
 */
export class OutputUnavailableError extends CertharvestError {
  readonly retryable = false;
  /** The failing call's errno name, e.g. `ENOSPC`. */
  readonly errno: string;
  readonly outputDir: string;
  /** The file or folder the failing call was given. */
  readonly path: string;

  constructor(errno: string, outputDir: string, path: string, options?: { cause?: unknown }) {
    const full = FULL.has(errno);
    super(
      full ? 'OUTPUT_FULL' : 'OUTPUT_UNWRITABLE',
      full
        ? `OUTPUT_DIR (${outputDir}) is full: writing ${path} failed with ${errno}. ` +
            'Free space (or raise the quota) on that filesystem, then run `certharvest resume`.'
        : `OUTPUT_DIR (${outputDir}) is not writable: writing ${path} failed with ${errno}. ` +
            'Fix its permissions (or mount) so the worker user can create folders and files in it, then run `certharvest resume`.',
      options,
    );
    this.errno = errno;
    this.outputDir = outputDir;
    this.path = path;
  }
}

/**
 * A symbolic link planted under OUTPUT_DIR where the store writes or reads: a user folder,
 * `.partial/` or one of its shard folders, or a PDF or sidecar name. Nothing is written through
 * it; the certificate fails with this error and is not retried (the link stays until someone
 * removes it), and the fleet carries on: the other certificates do not meet it.
 */
export class OutputSymlinkError extends CertharvestError {
  readonly retryable = false;
  readonly outputDir: string;
  /** The link found, under `outputDir`. */
  readonly path: string;

  constructor(outputDir: string, path: string) {
    super(
      'OUTPUT_SYMLINK',
      `refusing to write through ${path}: it is a symbolic link inside OUTPUT_DIR (${outputDir}), and certharvest ` +
        'never writes outside OUTPUT_DIR. Find out who made it, remove it, then submit the certificate again.',
    );
    this.outputDir = outputDir;
    this.path = path;
  }
}

/**
 * The error to throw for `err`, met while writing `path` under `outputDir`: an
 * `OutputUnavailableError` when its errno says the output as a whole is unusable, else `err` itself.
 */
export function toOutputError(err: unknown, outputDir: string, path: string): unknown {
  const errno = errnoOf(err);
  if (errno === undefined || !(FULL.has(errno) || UNWRITABLE.has(errno))) return err;
  const failing = (err as NodeJS.ErrnoException).path ?? path;
  return new OutputUnavailableError(errno, outputDir, failing, { cause: err });
}

/** The errno name of a Node.js system error (`ENOENT`), or undefined for anything else. */
export function errnoOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || err instanceof CertharvestError) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}
