/**
 * One consumer of a Redis stream's consumer group, the way every worker of the fleet follows the
 * batch events stream (the manifest file's writer, the batch webhook): each entry goes to one
 * consumer of the group.
 *
 * The group is created before `startStreamConsumer` resolves, from `$`: a new group is not handed
 * the stream's history. New entries are read on a connection of the consumer's own (blocking reads
 * never hold up the worker's commands) and handed to `onEntry` one at a time; acknowledging an
 * entry is `onEntry`'s to decide. `periodic.run` runs every `periodic.everyMs`, ahead of a read:
 * the place to take over what a stopped consumer left pending. A lost stream or group (NOGROUP:
 * deleted, evicted) is recreated where this consumer left off, or from the start when the stream
 * itself is gone (a recreated stream holds only new entries).
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisConnection } from './redis-nodes.ts';
import type { Logger } from '../log/index.ts';

/** A stream entry's fields, by name. */
export type StreamFields = Record<string, string>;

export interface StreamConsumerOptions {
  redis: RedisConnection;
  /** The stream. */
  key: string;
  /** The consumer group (one per purpose: every worker joins it). */
  group: string;
  logger: Logger;
  /** Who speaks in the log lines, e.g. "batch webhook". */
  name: string;
  /** How long a read waits for new entries. */
  blockMs: number;
  /** One new entry; what it throws is logged and the loop reads on after a pause. */
  onEntry: (id: string, fields: StreamFields) => Promise<void>;
  /** Work done every `everyMs` ahead of a read (claiming or retrying pending entries). */
  periodic?: { everyMs: number; run: () => Promise<void> };
  /** How a failed read is told in the log. Default: the error's message. */
  reason?: (err: Error) => string;
}

export interface StreamConsumer {
  /**
   * End the loop at once, Redis up or down: an entry in flight is not waited for (unacknowledged,
   * it stays pending and is taken over later).
   */
  stop(): Promise<void>;
}

/** This process's name in a consumer group: `<host>:<pid>`. */
export const consumerName = (): string => `${hostname()}:${process.pid}`;

/** A stream entry's flat `[name, value, name, value, …]` as an object (null: a deleted entry). */
export function streamFields(fields: readonly string[] | null): StreamFields {
  const out: StreamFields = {};
  if (!fields) return out;
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
  return out;
}

/** A stream entry's time, epoch ms (an id is `<ms>-<seq>`). */
export const entryTime = (id: string): number => Number(id.split('-')[0]);

type ReadReply = [string, [string, string[]][]][] | null;

/** Wait `ms`, or less when `signal` aborts (a stop does not wait out a pause). */
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

/** Join the group (created from `$` when new) and start reading. Resolves once the group exists. */
export async function startStreamConsumer(options: StreamConsumerOptions): Promise<StreamConsumer> {
  const { redis, key, group, logger, name } = options;
  const consumer = consumerName();
  const ensureGroup = (from: string) =>
    redis.xgroup('CREATE', key, group, from, 'MKSTREAM').catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
  await ensureGroup('$');
  const reader = redis.duplicate();
  let running = true;
  const stopped = new AbortController();
  const whenStopped = new Promise<void>((resolve) =>
    stopped.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  /**
   * A step of the loop, given up at a stop: a command that waits for Redis to come back (the
   * connection's offline queue) must not hold the worker's shutdown. What was read and not yet
   * acknowledged stays pending, for another consumer.
   */
  const orStop = (step: Promise<void>): Promise<void> => {
    step.catch(() => undefined);
    return Promise.race([step, whenStopped]);
  };
  // The last entry read: a group recreated after NOGROUP starts there, so nothing after it is lost.
  let lastSeen = '$';

  const readOnce = async (): Promise<void> => {
    const reply = (await reader.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      10,
      'BLOCK',
      options.blockMs,
      'STREAMS',
      key,
      '>',
    )) as ReadReply;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        lastSeen = id;
        await options.onEntry(id, streamFields(fields));
      }
    }
  };

  const recreateGroup = async (): Promise<void> => {
    logger.warn({ from: lastSeen }, `${name}: the events stream or its group was lost; recreated`);
    const streamExists = (await redis.exists(key).catch(() => 1)) === 1;
    await ensureGroup(streamExists ? lastSeen : '0').catch((err: unknown) =>
      logger.warn({ err }, `${name}: recreating the group failed; trying again`),
    );
  };

  const loop = (async () => {
    let lastPeriodic = 0;
    while (running) {
      try {
        if (options.periodic && Date.now() - lastPeriodic >= options.periodic.everyMs) {
          lastPeriodic = Date.now();
          await orStop(options.periodic.run());
        }
        await orStop(readOnce());
      } catch (err) {
        if (!running) break;
        if (/NOGROUP/.test((err as Error).message)) {
          await orStop(recreateGroup());
          await pause(100, stopped.signal);
          continue;
        }
        const reason = options.reason?.(err as Error) ?? (err as Error).message;
        logger.warn({ reason }, `${name}: reading the events failed; trying again`);
        await pause(1_000, stopped.signal);
      }
    }
  })();

  return {
    async stop() {
      running = false;
      stopped.abort();
      reader.disconnect();
      await loop;
    },
  };
}
