import { link, lstat, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CertharvestError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import {
  DEFAULT_DIR_MODE,
  DEFAULT_FILE_MODE,
  Folders,
  fsyncDir,
  PARTIAL_DIR,
  READ_NO_FOLLOW,
  writeTempFile,
} from './atomic-write.ts';
import { errnoOf, toOutputError } from './errors.ts';

/**
 * The file in OUTPUT_DIR naming the LMS its certificates come from. A dot file, not a folder:
 * the partial sweep (and whatever looks for user folders or PDFs) passes it by.
 */
export const OUTPUT_MARKER_NAME = '.certharvest-output.json';

/** The marker's format; a marker of another version is refused rather than guessed at. */
export const OUTPUT_MARKER_SCHEMA_VERSION = 1;

const markerSchema = z.object({
  schemaVersion: z.literal(OUTPUT_MARKER_SCHEMA_VERSION),
  /** `host[:port]` of LMS_URL, as `new URL(LMS_URL).host` gives it. */
  lmsHost: z.string().min(1),
  queuePrefix: z.string().min(1),
  createdAt: z.string().min(1),
});

/** What `OUTPUT_DIR/.certharvest-output.json` holds: who used the folder first. */
export type OutputMarker = z.infer<typeof markerSchema>;

/** The LMS and deployment a process writes certificates for. */
export interface OutputOwner {
  /** `host[:port]` of LMS_URL (`config.lms.host`). */
  lmsHost: string;
  /** QUEUE_PREFIX. A different one on the same host is only warned about. */
  queuePrefix: string;
}

export interface ClaimOptions extends OutputOwner {
  /** The marker's mode (`OUTPUT_FILE_MODE`). Default `0o640`. */
  fileMode?: number;
  /** The mode of OUTPUT_DIR when the claim creates it (`OUTPUT_DIR_MODE`). Default `0o750`. */
  dirMode?: number;
}

/**
 * OUTPUT_DIR holds another LMS's certificates: nothing is written there. The operator either
 * pointed OUTPUT_DIR (or LMS_URL) at the wrong place, or really moved the folder to a new host.
 */
export class OutputDirOtherLmsError extends CertharvestError {
  readonly outputDir: string;
  readonly markerPath: string;
  /** The host the marker names. */
  readonly markerHost: string;
  /** The host this process is configured for (LMS_URL). */
  readonly configuredHost: string;
  /** What was found, in one sentence (the message is this and `fix`). */
  readonly found: string;
  /** What to do about it. */
  readonly fix: string;

  constructor(outputDir: string, markerPath: string, markerHost: string, configuredHost: string) {
    const found =
      `OUTPUT_DIR (${outputDir}) holds the certificates of ${markerHost} (its marker ${markerPath} says so), ` +
      `but this process is configured for ${configuredHost} (LMS_URL): one output folder holds one LMS.`;
    const fix = `point OUTPUT_DIR at another folder, or delete the marker if this folder really moved to ${configuredHost}`;
    super('OUTPUT_DIR_OTHER_LMS', `${found} Fix: ${fix}.`);
    this.outputDir = outputDir;
    this.markerPath = markerPath;
    this.markerHost = markerHost;
    this.configuredHost = configuredHost;
    this.found = found;
    this.fix = fix;
  }
}

/** The marker is there but is not one: not JSON, the wrong shape, or not a plain file. */
export class OutputMarkerInvalidError extends CertharvestError {
  readonly markerPath: string;
  /** What is wrong with it, e.g. `not valid JSON`. */
  readonly reason: string;
  readonly fix: string;

  constructor(markerPath: string, reason: string, options?: { cause?: unknown }) {
    const fix =
      `delete ${markerPath} if this folder holds only the certificates of the LMS now configured ` +
      '(the next worker writes a new marker), or point OUTPUT_DIR at another folder';
    super(
      'OUTPUT_MARKER_INVALID',
      `the OUTPUT_DIR marker ${markerPath} is not a certharvest output marker: ${reason}. ` +
        `It should hold {"schemaVersion": ${OUTPUT_MARKER_SCHEMA_VERSION}, "lmsHost": …, "queuePrefix": …, "createdAt": …}. Fix: ${fix}.`,
      options,
    );
    this.markerPath = markerPath;
    this.reason = reason;
    this.fix = fix;
  }
}

export const outputMarkerPath = (outputDir: string): string =>
  path.join(path.resolve(outputDir), OUTPUT_MARKER_NAME);

/**
 * The marker of `outputDir`, or null when it has none (or the folder does not exist yet). Throws
 * `OutputMarkerInvalidError` for a marker that is not one, `OutputUnavailableError` when the
 * folder cannot be read. Writes nothing.
 */
export async function readOutputMarker(outputDir: string): Promise<OutputMarker | null> {
  const file = outputMarkerPath(outputDir);
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', flag: READ_NO_FOLLOW });
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return null;
    if (errno === 'ELOOP') throw new OutputMarkerInvalidError(file, 'it is a symbolic link');
    if (errno === 'EISDIR') throw new OutputMarkerInvalidError(file, 'it is a folder');
    throw toOutputError(err, path.resolve(outputDir), file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OutputMarkerInvalidError(file, 'it is not valid JSON', { cause: err });
  }
  const parsed = markerSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'the whole file'}: ${i.message}`);
    throw new OutputMarkerInvalidError(file, problems.join('; '));
  }
  return parsed.data;
}

/**
 * Compare a folder's marker with the process about to write there. Throws `OutputDirOtherLmsError`
 * for another LMS host; returns a warning (one line) when only the queue prefix differs, else
 * undefined. Host names compare case-insensitively (a URL's host is already lower case).
 */
export function verifyOutputMarker(
  outputDir: string,
  marker: OutputMarker,
  owner: OutputOwner,
): string | undefined {
  const dir = path.resolve(outputDir);
  if (marker.lmsHost.toLowerCase() !== owner.lmsHost.toLowerCase()) {
    throw new OutputDirOtherLmsError(dir, outputMarkerPath(dir), marker.lmsHost, owner.lmsHost);
  }
  if (marker.queuePrefix !== owner.queuePrefix) {
    return (
      `OUTPUT_DIR (${dir}) was first used with QUEUE_PREFIX=${marker.queuePrefix}, this process uses ` +
      `QUEUE_PREFIX=${owner.queuePrefix}: same LMS (${marker.lmsHost}), so it writes there; check that two deployments sharing the folder is intended`
    );
  }
  return undefined;
}

/**
 * Claim OUTPUT_DIR for one LMS: on first use write its marker, afterwards check it. Returns the
 * marker as it is on disk. Throws `OutputDirOtherLmsError` when the folder belongs to another LMS
 * host, `OutputMarkerInvalidError` for a marker that is not one, and `OutputUnavailableError`
 * when the folder cannot be made or written. A different queue prefix is logged as a warning.
 *
 * Processes racing to claim a new folder agree: each writes a whole temp file in `.partial/` and
 * `link()`s it to the marker's name, which only one of them can create; all then read the winner's.
 */
export async function claimOutputDir(
  outputDir: string,
  options: ClaimOptions,
  logger?: Pick<Logger, 'warn'>,
): Promise<OutputMarker> {
  const dir = path.resolve(outputDir);
  const marker = (await readOutputMarker(dir)) ?? (await createMarker(dir, options));
  const warning = verifyOutputMarker(dir, marker, options);
  if (warning) {
    logger?.warn(
      { outputDir: dir, markerQueuePrefix: marker.queuePrefix, queuePrefix: options.queuePrefix },
      warning,
    );
  }
  return marker;
}

/** Publish a new marker unless one appeared meanwhile; returns whichever marker is there then. */
async function createMarker(dir: string, options: ClaimOptions): Promise<OutputMarker> {
  const file = outputMarkerPath(dir);
  const partialDir = path.join(dir, PARTIAL_DIR);
  const marker: OutputMarker = {
    schemaVersion: OUTPUT_MARKER_SCHEMA_VERSION,
    lmsHost: options.lmsHost,
    queuePrefix: options.queuePrefix,
    createdAt: new Date().toISOString(),
  };
  let tmp: string | undefined;
  try {
    await new Folders(dir, options.dirMode ?? DEFAULT_DIR_MODE).ensure(partialDir, true);
    tmp = await writeTempFile(partialDir, `${JSON.stringify(marker, null, 2)}\n`, {
      mode: options.fileMode ?? DEFAULT_FILE_MODE,
    });
    await publishIfAbsent(tmp, file);
    await fsyncDir(dir);
  } catch (err) {
    throw toOutputError(err, dir, file);
  } finally {
    if (tmp) await rm(tmp, { force: true });
  }
  const written = await readOutputMarker(dir);
  if (!written) throw new OutputMarkerInvalidError(file, 'it disappeared right after it was written');
  return written;
}

/** Errors of a filesystem without hard links (some FUSE, SMB and FAT mounts). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * `link()` fails with EEXIST when the name is taken, so exactly one racer publishes (the losers'
 * temp files are removed by the caller). Where hard links do not exist, rename if the name is
 * still free: the window between the look and the rename is tiny, and every racer re-reads after.
 */
async function publishIfAbsent(tmp: string, file: string): Promise<void> {
  try {
    await link(tmp, file);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'EEXIST') return;
    if (errno === undefined || !NO_LINKS.has(errno)) throw err;
    if (await exists(file)) return;
    await rename(tmp, file);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}
