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
import { hostname } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
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
  redis: Redis;
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
export async function followBatchEnds(options: FollowBatchEndsOptions): Promise<{ stop(): Promise<void> }> {
  const { redis, logger } = options;
  const key = batchEventsKey(options.prefix);
  const consumer = `${hostname()}:${process.pid}`;
  const blockMs = options.blockMs ?? 5_000;
  const claimAfterMs = options.claimAfterMs ?? 60_000;
  const ensureGroup = (from: string) =>
    redis.xgroup('CREATE', key, BATCH_ENDS_GROUP, from, 'MKSTREAM').catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
  // Only batches that end from now on: a new fleet is not handed the stream's history.
  await ensureGroup('$');
  // Blocking reads get their own connection, so they never hold up the worker's commands.
  const reader = redis.duplicate();
  let running = true;
  let lastSeen = '$';

  const handle = async (id: string, fields: string[] | null): Promise<void> => {
    const event = Object.fromEntries(pairs(fields ?? []));
    if (event.event === 'batch.done' && event.batchId) {
      await options
        .onEnd(event.batchId)
        .catch((err: unknown) =>
          logger.warn({ batchId: event.batchId, err }, 'an ended batch was not handled whole'),
        );
    }
    await redis.xack(key, BATCH_ENDS_GROUP, id);
  };

  const loop = (async () => {
    let lastClaim = 0;
    while (running) {
      try {
        if (Date.now() - lastClaim >= Math.min(claimAfterMs, 30_000)) {
          lastClaim = Date.now();
          const [, entries] = (await redis.xautoclaim(
            key,
            BATCH_ENDS_GROUP,
            consumer,
            claimAfterMs,
            '0-0',
            'COUNT',
            100,
          )) as [string, [string, string[] | null][]];
          for (const [id, fields] of entries) await handle(id, fields);
        }
        const reply = (await reader.xreadgroup(
          'GROUP',
          BATCH_ENDS_GROUP,
          consumer,
          'COUNT',
          10,
          'BLOCK',
          blockMs,
          'STREAMS',
          key,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            lastSeen = id;
            await handle(id, fields);
          }
        }
      } catch (err) {
        if (!running) break;
        if (/NOGROUP/.test((err as Error).message)) {
          // The stream or the group was deleted or evicted: recreate it where this worker left off.
          const streamExists = (await redis.exists(key).catch(() => 1)) === 1;
          await ensureGroup(streamExists ? lastSeen : '0').catch(() => undefined);
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        logger.warn({ reason: (err as Error).message }, 'reading the batch events failed; trying again');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();

  return {
    async stop() {
      running = false;
      reader.disconnect();
      await loop;
    },
  };
}

function* pairs(fields: string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < fields.length; i += 2) yield [fields[i]!, fields[i + 1]!];
}
