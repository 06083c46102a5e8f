import type { RedisConnection } from '../util/redis-nodes.ts';
import type { CertificateResult } from '../certificate/index.ts';
import { CertharvestError } from '../errors/index.ts';
import { BatchNotFoundError as QueueBatchNotFoundError } from '../queue/batch-control.ts';
import type { BatchFailure } from '../queue/batch-counts.ts';
import { isSuccess, type BatchState } from '../queue/batch-state.ts';
import { BatchTracker, type BatchStatus } from '../queue/batch-tracker.ts';
import type { ManifestRow } from '../report/manifest.ts';

/** The longest failure list `waitForBatch` reads back (a batch keeps every failure). */
const MAX_FAILURES = 1_000_000;
/** Manifest rows read from Redis at a time. */
const MANIFEST_PAGE = 1_000;

export interface WaitForBatchOptions {
  /** Called with the batch's counters on every look (about every `pollMs`), the last one done. */
  onProgress?: (status: BatchStatus) => void;
  /** How often to look. Default 1000 ms. */
  pollMs?: number;
  /** Give up (a `BatchWaitTimeoutError`) after this long. Default: never. */
  timeoutMs?: number;
  /** Stop waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** A finished batch: its counters, each certificate's outcome and every failure. */
export interface BatchOutcome {
  status: BatchStatus;
  /**
   * How it ended, as the queue decides it (`status.state`): `done`, `done-with-failures` or
   * `cancelled`.
   */
  state: BatchState;
  /**
   * One entry per certificate the batch found: stored, already stored or failed, with its file
   * (the certificate's result schema, src/certificate/result.ts).
   */
  certificates: CertificateResult[];
  /** Every failure, users and certificates, with a stable code and the reason. */
  failures: BatchFailure[];
  /** True when every user was found and every certificate is on disk (`state` is `done`). */
  succeeded: boolean;
}

/** No such batch (never made, or older than 30 days). The queue's error, never retryable. */
export class BatchNotFoundError extends QueueBatchNotFoundError {
  readonly retryable = false;
}

export class BatchWaitTimeoutError extends CertharvestError {
  readonly retryable = true;
  readonly status: BatchStatus;

  constructor(status: BatchStatus, timeoutMs: number) {
    super('BATCH_WAIT_TIMEOUT', `batch "${status.batchId}" is still running after ${timeoutMs} ms`);
    this.status = status;
  }
}

/**
 * Every row of a batch's manifest, in the order the rows arrived (a certificate when the batch
 * found it, a user when it failed), read a page at a time. Throws `BatchNotFoundError` for an
 * unknown batch. A running batch's rows are read as far as they go when each page is read.
 */
export async function* batchManifest(
  batchId: string,
  deps: { redis: RedisConnection; prefix: string },
  options: { pageSize?: number } = {},
): AsyncGenerator<ManifestRow, void, undefined> {
  const tracker = new BatchTracker(deps.redis, deps.prefix);
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? MANIFEST_PAGE));
  for (let offset = 0; ; offset += pageSize) {
    const page = await tracker.manifest(batchId, offset, pageSize);
    if (!page) throw new BatchNotFoundError(batchId);
    yield* page.rows;
    if (offset + pageSize >= page.total) return;
  }
}

/**
 * Wait until a batch is done, then return what it did for each certificate (status, path,
 * sha256) and its failures. Needs only Redis: the worker records each outcome in the batch.
 *
 *   const outcome = await waitForBatch(batchId, { redis, prefix }, { onProgress: (s) => … });
 *   for (const c of outcome.certificates) if (c.status !== 'failed') console.log(c.path, c.sha256);
 */
export async function waitForBatch(
  batchId: string,
  deps: { redis: RedisConnection; prefix: string },
  options: WaitForBatchOptions = {},
): Promise<BatchOutcome> {
  const tracker = new BatchTracker(deps.redis, deps.prefix);
  const pollMs = options.pollMs ?? 1_000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const status = await tracker.status(batchId, 1);
    if (!status) throw new BatchNotFoundError(batchId);
    options.onProgress?.(status);
    if (status.done) {
      const [full, certificates] = await Promise.all([
        tracker.status(batchId, MAX_FAILURES),
        tracker.results(batchId),
      ]);
      const final = full ?? status;
      return {
        status: final,
        state: final.state,
        certificates,
        failures: final.failures,
        succeeded: isSuccess(final.state),
      };
    }
    if (Date.now() >= deadline) throw new BatchWaitTimeoutError(status, options.timeoutMs ?? 0);
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
