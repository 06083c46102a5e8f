import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type {
  Certificate,
  CertificateIds,
  CertificateOnDisk,
  CertificateSource,
  DownloadResult,
} from '../certificate/index.ts';
import {
  DEFAULT_DIR_MODE,
  DEFAULT_FILE_MODE,
  Folders,
  fsyncDir,
  PARTIAL_DIR,
  partialShard,
  READ_NO_FOLLOW,
  writeTempFile,
} from './atomic-write.ts';
import { certificatePaths, type CertificatePaths } from './certificate-path.ts';
import { errnoOf, toOutputError } from './errors.ts';
import { IncomingPdf } from './incoming-pdf.ts';
import { sweepPartials } from './partial-sweep.ts';
import { formatSidecar, readSidecar } from './sidecar.ts';
import { storedCertificate } from './stored-certificate.ts';

export interface CertificateStoreOptions {
  /** The LMS host the certificates come from; written into each sidecar, and checked on reading one. */
  lmsHost: string;
  /** The mode of PDFs and sidecars (`OUTPUT_FILE_MODE`), set whole whatever the umask. Default `0o640`. */
  fileMode?: number;
  /** The mode of the folders the store makes (`OUTPUT_DIR_MODE`), OUTPUT_DIR included. Default `0o750`. */
  dirMode?: number;
}

/** A permission mode the store can work with: at most 0o777, with the owner's bits in `owner`. */
function checkMode(name: string, mode: number | undefined, fallback: number, owner: number): number {
  if (mode === undefined) return fallback;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777 || (mode & owner) !== owner) {
    throw new TypeError(
      `CertificateStore: options.${name} must be a mode from 0o000 to 0o777 with the owner's bits 0o${owner.toString(8)} set, got ${JSON.stringify(mode)}`,
    );
  }
  return mode;
}

/** What a save did: the certificate's download result (src/certificate/result.ts). */
export type SaveOutcome = DownloadResult;

export interface CommitOptions {
  userRef?: string;
  /** The caller just found `existing()` null (the download path): skip reading it again. */
  knownAbsent?: boolean;
}

/** What `save()` and `commit()` take after the certificate and its bytes: where the bytes came from, options, the clock. */
type CommitArgs = [source: CertificateSource, extra?: CommitOptions, now?: Date];

/** How much `checkWritable()` writes: about a certificate's size, so "writable" means one fits. */
const PROBE_BYTES = 256 * 1024;

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Where certificates land: `OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf` with a `.json` sidecar
 * (a `StoredCertificate`). Files are written in `OUTPUT_DIR/.partial/` and renamed into place, the
 * PDF first and the sidecar second, so a sidecar always describes a whole PDF.
 *
 * Nothing is written or read through a symbolic link below OUTPUT_DIR: every folder level is
 * checked before a write, files are opened with O_NOFOLLOW, and a link where a PDF or sidecar goes
 * is refused. Such a link fails that certificate with `OutputSymlinkError`.
 */
export class CertificateStore {
  readonly outputDir: string;
  readonly lmsHost: string;
  readonly fileMode: number;
  readonly dirMode: number;
  readonly #partialDir: string;
  readonly #folders: Folders;

  constructor(outputDir: string, options: CertificateStoreOptions) {
    if (typeof outputDir !== 'string' || outputDir.trim() === '') {
      throw new TypeError(
        `CertificateStore: outputDir must be a folder path, got ${JSON.stringify(outputDir)}`,
      );
    }
    if (typeof options?.lmsHost !== 'string' || options.lmsHost.trim() === '') {
      throw new TypeError(
        `CertificateStore: options.lmsHost must be the LMS host name, got ${JSON.stringify(options?.lmsHost)}`,
      );
    }
    this.outputDir = path.resolve(outputDir);
    this.lmsHost = options.lmsHost;
    this.fileMode = checkMode('fileMode', options.fileMode, DEFAULT_FILE_MODE, 0o600);
    this.dirMode = checkMode('dirMode', options.dirMode, DEFAULT_DIR_MODE, 0o700);
    this.#partialDir = path.join(this.outputDir, PARTIAL_DIR);
    this.#folders = new Folders(this.outputDir, this.dirMode);
  }

  paths(ids: CertificateIds): CertificatePaths {
    return certificatePaths(this.outputDir, ids);
  }

  /**
   * Where the certificate lies when it is already stored whole for this LMS host, else null.
   * Cheap: the small sidecar is read and the PDF only stat'ed (its size must match the sidecar's).
   * Nothing is read through a symbolic link: one reads as "not stored", and the download that
   * follows fails on it with `OutputSymlinkError`.
   */
  async existing(ids: CertificateIds): Promise<CertificateOnDisk | null> {
    const paths = this.paths(ids);
    if (!(await this.#folders.isReal(paths.dir))) return null;
    const text = await this.#readIfThere(paths.sidecar);
    const facts = text === null ? null : readSidecar(text, ids, this.lmsHost);
    if (!facts) return null;
    const pdf = await this.#statIfThere(paths.pdf);
    if (!pdf?.isFile() || pdf.size !== facts.bytes) return null;
    return { path: paths.pdf, sha256: facts.sha256, bytes: facts.bytes };
  }

  /**
   * Somewhere for a download to stream into: memory for the first MiB, then a temp file in
   * `OUTPUT_DIR/.partial/`. Publish it with `commit()`; `discard()` it on every other path.
   */
  receive(ids: CertificateIds): IncomingPdf {
    return new IncomingPdf(
      path.join(this.#partialDir, partialShard(ids.userId)),
      this.#folders,
      this.fileMode,
    );
  }

  /**
   * Store a validated PDF with its sidecar. When the same bytes are already stored, nothing is
   * written. Throws `OutputUnavailableError` when OUTPUT_DIR is full or not writable, and
   * `OutputSymlinkError` when a symbolic link lies in the way.
   */
  async save(cert: Certificate, pdf: Uint8Array, ...how: CommitArgs): Promise<SaveOutcome> {
    const incoming = this.receive(cert);
    try {
      await incoming.write(pdf);
      return await this.commit(cert, incoming, ...how);
    } finally {
      await incoming.discard();
    }
  }

  /**
   * Publish a received PDF (already validated) with its sidecar: see `save()`. The caller still
   * discards `incoming` on its way out (a no-op once committed).
   */
  async commit(
    cert: Certificate,
    incoming: IncomingPdf,
    ...[source, extra = {}, now = new Date()]: CommitArgs
  ): Promise<SaveOutcome> {
    const paths = this.paths(cert);
    const sha256 = incoming.sha256();
    const bytes = incoming.length;
    const current = extra.knownAbsent ? null : await this.existing(cert);
    if (current?.sha256 === sha256) return { status: 'already-stored', ...current };

    const stored = storedCertificate(cert, {
      sha256,
      bytes,
      source,
      lmsHost: this.lmsHost,
      now,
      userRef: extra.userRef,
    });
    try {
      await this.#write(paths, incoming, formatSidecar(stored), current !== null);
    } catch (err) {
      throw toOutputError(err, this.outputDir, paths.pdf);
    }
    return { status: 'stored', source, path: paths.pdf, sha256, bytes };
  }

  /** Delete what writers that died mid-write left behind; returns how many files it removed. */
  async sweepPartials(): Promise<number> {
    try {
      return await sweepPartials(this.outputDir);
    } catch (err) {
      throw toOutputError(err, this.outputDir, this.#partialDir);
    }
  }

  /**
   * Make sure OUTPUT_DIR takes files: create it, then write, fsync and remove a probe file in
   * `.partial/`. Throws `OutputUnavailableError` when it cannot. Never trusts the folder cache, so
   * it also tells when a removed OUTPUT_DIR can be made again.
   */
  async checkWritable(): Promise<void> {
    let probe: string | undefined;
    try {
      this.#folders.forget();
      await this.#folders.ensure(this.#partialDir);
      probe = await writeTempFile(this.#partialDir, randomBytes(PROBE_BYTES), { mode: this.fileMode });
      await unlink(probe);
    } catch (err) {
      throw toOutputError(err, this.outputDir, probe ?? this.#partialDir);
    }
  }

  /**
   * The PDF's temp file is fsynced while the sidecar's is written; then the PDF is renamed into
   * place before the sidecar, and the folder is fsynced once for both renames. When `replacing`,
   * the old sidecar goes first: a crash between the renames must not leave it vouching for a new
   * PDF of the same size.
   */
  async #write(
    paths: CertificatePaths,
    incoming: IncomingPdf,
    sidecar: string,
    replacing: boolean,
  ): Promise<void> {
    const temps = await Promise.allSettled([
      incoming.settle(),
      // The sidecar needs no fsync: after a crash an empty or torn sidecar reads as "not stored"
      // and the certificate is downloaded again; the PDF it vouches for is fsynced.
      this.#folders.within(incoming.dir, () =>
        writeTempFile(incoming.dir, sidecar, { sync: false, mode: this.fileMode }),
      ),
    ]);
    const [pdfTemp, sidecarTemp] = temps.map((t) => (t.status === 'fulfilled' ? t.value : undefined));
    try {
      for (const t of temps) if (t.status === 'rejected') throw t.reason;
      await this.#folders.ensure(paths.dir, true);
      // A rename would replace a link, not follow it; but a link there was planted: refuse it.
      await this.#folders.refuseLink(paths.pdf);
      await this.#folders.refuseLink(paths.sidecar);
      if (replacing) await rm(paths.sidecar, { force: true });
      await this.#renameRetryingFolder(pdfTemp!, paths.pdf, paths.dir);
      await rename(sidecarTemp!, paths.sidecar);
    } catch (err) {
      await Promise.all([pdfTemp, sidecarTemp].map((t) => t && rm(t, { force: true })));
      throw err;
    }
    await fsyncDir(paths.dir);
  }

  /**
   * A folder this process made may have been removed behind its back: then the rename meets
   * ENOENT, and the folders are made again, once.
   */
  async #renameRetryingFolder(from: string, to: string, dir: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
      this.#folders.forget();
      await this.#folders.ensure(dir, true);
      await rename(from, to);
    }
  }

  async #readIfThere(file: string): Promise<string | null> {
    try {
      return await readFile(file, { encoding: 'utf8', flag: READ_NO_FOLLOW });
    } catch (err) {
      return this.#absent(err, file);
    }
  }

  async #statIfThere(file: string): Promise<Stats | null> {
    try {
      return await lstat(file);
    } catch (err) {
      return this.#absent(err, file);
    }
  }

  /**
   * Not there (or a folder or a symbolic link in its place: ELOOP) reads as "not stored";
   * unreadable OUTPUT_DIR throws.
   */
  #absent(err: unknown, file: string): null {
    const errno = errnoOf(err);
    if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'EISDIR' || errno === 'ELOOP') return null;
    throw toOutputError(err, this.outputDir, file);
  }
}
