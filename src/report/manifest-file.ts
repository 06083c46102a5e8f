/**
 * The batch manifest file (BATCH_MANIFEST, on by default): when a batch ends, one worker writes
 * its manifest (src/report/manifest.ts) to `OUTPUT_DIR/_batches/<batchId>.csv`, beside the
 * certificates it lists, for whoever collects the PDFs from the folder.
 *
 * The file appears whole or not at all: it is written to a temp file in `_batches/` (same folder,
 * so the rename is atomic), fsynced, renamed into place and the folder fsynced. It has the mode of
 * the certificates (OUTPUT_FILE_MODE), `_batches/` that of the folders (OUTPUT_DIR_MODE); nothing
 * is written through a symbolic link below OUTPUT_DIR.
 *
 * Who writes it: every worker follows the batch events stream as one consumer group, so each
 * `batch.done` entry is handled by one worker, whatever ended the batch (a worker's settle, a
 * cancel from the board or the CLI, a submission refused whole). An entry a stopped or killed
 * worker read but never finished is claimed by another after `claimAfterMs`.
 */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { Logger } from '../log/index.ts';
import { batchEventsKey, batchIdSchema, type BatchTracker } from '../queue/index.ts';
import {
  CREATE_NEW_FILE,
  DEFAULT_DIR_MODE,
  DEFAULT_FILE_MODE,
  Folders,
  fsyncDir,
  tempFileName,
} from '../storage/atomic-write.ts';
import {
  consumerName,
  startStreamConsumer,
  streamFields,
  type StreamConsumer,
  type StreamFields,
} from '../util/stream-consumer.ts';
import { manifestCsvHeader, manifestCsvRows } from './manifest.ts';

/** The folder under OUTPUT_DIR that holds the manifest files (`_` + a letter: no user's folder). */
export const MANIFEST_DIR = '_batches';
/** Rows read from Redis at a time while the file is written. */
const PAGE_ROWS = 2_000;

/**
 * `_batches/<batchId>.csv`: where a batch's manifest file lies, relative to OUTPUT_DIR. A batch id
 * is 1-64 of `A-Z a-z 0-9 . _ -` and starts with a letter or digit, so it is a file name of its
 * own (never `.`, `..`, a hidden file or a path); anything else throws.
 */
export function manifestFileName(batchId: string): string {
  if (!batchIdSchema.safeParse(batchId).success) {
    throw new TypeError(`not a batch id: ${JSON.stringify(batchId).slice(0, 80)}`);
  }
  return `${MANIFEST_DIR}/${batchId}.csv`;
}

/**
 * Write the whole manifest of `batchId` to `<outputDir>/_batches/<batchId>.csv`, atomically,
 * replacing an earlier one. Returns the file's path, or null when there is no such batch.
 */
export async function writeBatchManifest(
  tracker: BatchTracker,
  batchId: string,
  outputDir: string,
  modes: { fileMode?: number; dirMode?: number } = {},
): Promise<string | null> {
  const name = manifestFileName(batchId);
  const first = await tracker.manifest(batchId, 0, PAGE_ROWS);
  if (!first) return null;
  const folders = new Folders(outputDir, modes.dirMode ?? DEFAULT_DIR_MODE);
  const dir = path.join(folders.root, MANIFEST_DIR);
  const target = path.join(folders.root, ...name.split('/'));
  const mode = modes.fileMode ?? DEFAULT_FILE_MODE;
  await folders.ensure(dir, true);
  // A dot name: nothing that lists `_batches/*.csv` takes a file being written for a manifest.
  const tmp = path.join(dir, `.${batchId}.${tempFileName()}`);
  const file = await open(tmp, CREATE_NEW_FILE, mode);
  try {
    try {
      // open()'s mode is masked by the umask: set it whole.
      await file.chmod(mode);
      await file.writeFile(manifestCsvHeader());
      // The batch has ended: its rows are all there. Page by page, never the whole in memory.
      let rows = first.rows;
      for (let at = 0; at < first.total;) {
        await file.writeFile(manifestCsvRows(rows));
        at += PAGE_ROWS;
        if (at < first.total) rows = (await tracker.manifest(batchId, at, PAGE_ROWS))?.rows ?? [];
      }
      await file.sync();
    } finally {
      await file.close();
    }
    // rename() replaces a link at `target` itself: it never writes where one points.
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
  return target;
}

/** The consumer group of the workers that handle ended batches (manifest file, metric). */
export const BATCH_ENDS_GROUP = 'batch-ends';

export interface FollowBatchEndsOptions {
  redis: RedisConnection;
  prefix: string;
  logger: Logger;
  /** Called once per ended batch, fleet-wide; what it throws is logged as a warning. */
  onEnd: (batchId: string) => Promise<void>;
  /** How long a read waits for new entries. Default 5 000 ms. */
  blockMs?: number;
  /** An entry read but not finished this long ago (its worker stopped) is taken over. Default 60 000 ms. */
  claimAfterMs?: number;
}

/**
 * Follow the batch events stream with the fleet's other workers (one consumer group): `onEnd`
 * hears of each batch that ends from now on, on one worker. Resolves once the group exists.
 */
export async function followBatchEnds(options: FollowBatchEndsOptions): Promise<StreamConsumer> {
  const { redis, logger } = options;
  const key = batchEventsKey(options.prefix);
  const claimAfterMs = options.claimAfterMs ?? 60_000;

  const handle = async (id: string, event: StreamFields): Promise<void> => {
    if (event.event === 'batch.done' && event.batchId) {
      await options
        .onEnd(event.batchId)
        .catch((err: unknown) =>
          logger.warn({ batchId: event.batchId, err }, 'an ended batch was not handled whole'),
        );
    }
    await redis.xack(key, BATCH_ENDS_GROUP, id);
  };

  /** Entries a stopped or killed worker read but never finished: taken over after `claimAfterMs`. */
  const claimAbandoned = async (): Promise<void> => {
    const [, entries] = (await redis.xautoclaim(
      key,
      BATCH_ENDS_GROUP,
      consumerName(),
      claimAfterMs,
      '0-0',
      'COUNT',
      100,
    )) as [string, [string, string[] | null][]];
    for (const [id, fields] of entries) await handle(id, streamFields(fields));
  };

  return startStreamConsumer({
    redis,
    key,
    group: BATCH_ENDS_GROUP,
    logger,
    name: 'batch ends',
    blockMs: options.blockMs ?? 5_000,
    onEntry: handle,
    periodic: { everyMs: Math.min(claimAfterMs, 30_000), run: claimAbandoned },
  });
}
