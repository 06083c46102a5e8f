import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { BodyDigest, type PdfEvidence, type PdfSink } from '../pdf/index.ts';
import {
  CREATE_NEW_FILE,
  DEFAULT_FILE_MODE,
  tempFileName,
  umaskMasks,
  writeTempFile,
  type Folders,
} from './atomic-write.ts';

/**
 * Bytes held in memory before the body goes to a temp file: a typical certificate (tens to a few
 * hundred KiB) never touches the disk until it is committed, in one write; a big or endless one
 * costs at most this much memory per download.
 */
export const SPILL_BYTES = 1024 * 1024;

/**
 * A PDF arriving from the LMS, made by `CertificateStore.receive()`: the first MiB in memory, the
 * rest streamed to a temp file in `OUTPUT_DIR/.partial/`. `CertificateStore.commit()` publishes
 * it; `discard()` drops it (and is harmless after a commit).
 */
export class IncomingPdf implements PdfSink {
  /** The `.partial/` shard folder this body's temp files go in. */
  readonly dir: string;
  readonly #folders: Folders;
  readonly #mode: number;
  readonly #digest = new BodyDigest();
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #file: { path: string; handle: FileHandle } | undefined;
  /** Bytes in the temp file (writes are positioned: a reset truncates and starts at 0). */
  #fileBytes = 0;
  #done = false;
  #sha256: string | undefined;

  /** `mode`: the temp file's, which the published PDF keeps (OUTPUT_FILE_MODE). */
  constructor(partialDir: string, folders: Folders, mode = DEFAULT_FILE_MODE) {
    this.dir = partialDir;
    this.#folders = folders;
    this.#mode = mode;
  }

  get evidence(): PdfEvidence {
    return this.#digest;
  }

  get length(): number {
    return this.#digest.length;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#done) throw new Error('IncomingPdf: written after commit or discard');
    this.#digest.add(chunk);
    if (!this.#file && this.#bufferedBytes + chunk.byteLength <= SPILL_BYTES) {
      // The reader may reuse its buffer: keep a copy.
      this.#buffered.push(Uint8Array.prototype.slice.call(chunk));
      this.#bufferedBytes += chunk.byteLength;
      return;
    }
    const file = this.#file ?? (await this.#openFile());
    await this.#flushBuffer(file.handle);
    await this.#append(file.handle, chunk);
  }

  async reset(): Promise<void> {
    this.#digest.reset();
    this.#buffered = [];
    this.#bufferedBytes = 0;
    if (this.#file) await this.#file.handle.truncate(0);
    this.#fileBytes = 0;
  }

  /** The sha256 of the body, as hex. Ends the writing: nothing can be added after it. */
  sha256(): string {
    this.#done = true;
    this.#sha256 ??= this.#digest.sha256();
    return this.#sha256;
  }

  /**
   * The whole body in a fsynced temp file in `.partial/`. For the store's commit only: from here the
   * temp file belongs to the caller (renamed into place, or removed).
   */
  async settle(): Promise<string> {
    this.sha256();
    if (!this.#file) {
      const data = Buffer.concat(this.#buffered, this.#bufferedBytes);
      this.#buffered = [];
      return this.#folders.within(this.dir, () => writeTempFile(this.dir, data, { mode: this.#mode }));
    }
    const { handle, path: tempPath } = this.#file;
    this.#file = undefined;
    try {
      try {
        await this.#flushBuffer(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      await rm(tempPath, { force: true });
      throw err;
    }
    return tempPath;
  }

  /** Drop the body: close and remove the temp file if there is one. Safe to call more than once. */
  async discard(): Promise<void> {
    this.#done = true;
    this.#buffered = [];
    const file = this.#file;
    this.#file = undefined;
    if (!file) return;
    await file.handle.close().catch(() => {});
    await rm(file.path, { force: true });
  }

  async #openFile(): Promise<{ path: string; handle: FileHandle }> {
    const tempPath = path.join(this.dir, tempFileName());
    const handle = await this.#folders.within(this.dir, () => open(tempPath, CREATE_NEW_FILE, this.#mode));
    this.#file = { path: tempPath, handle };
    // open()'s mode is masked by the process umask: set it whole when it lost bits.
    if (umaskMasks(this.#mode)) await handle.chmod(this.#mode);
    return this.#file;
  }

  async #flushBuffer(handle: FileHandle): Promise<void> {
    if (this.#bufferedBytes === 0) return;
    const data = Buffer.concat(this.#buffered, this.#bufferedBytes);
    this.#buffered = [];
    this.#bufferedBytes = 0;
    await this.#append(handle, data);
  }

  async #append(handle: FileHandle, data: Uint8Array): Promise<void> {
    for (let done = 0; done < data.byteLength;) {
      const { bytesWritten } = await handle.write(data, done, data.byteLength - done, this.#fileBytes);
      done += bytesWritten;
      this.#fileBytes += bytesWritten;
    }
  }
}
