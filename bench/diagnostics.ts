/**
 * Where a download phase went: the HTTP requests' own times (from undici's diagnostics channel,
 * the same instrument in the worker and in the plain loop), BullMQ's timestamps of the download
 * jobs, the filesystem OUTPUT_DIR sits on (its fsync latency is part of every stored
 * certificate), and an optional V8 CPU profile.
 */
import diagnostics from 'node:diagnostics_channel';
import { statfs } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Queue } from 'bullmq';
import { durationStats, type DurationStats } from './harness.ts';

export interface DownloadJobTimes {
  /** Completed download jobs. */
  jobs: number;
  /** Attempts they took in all (= jobs when none was retried). */
  attempts: number;
  /** ms from the resume of the download queue to the first job's start. */
  firstStartMs: number;
  /** ms from the last job's end until the bench saw the batch done. */
  doneSeenAfterLastMs: number;
  /** Each job from its start to its end (`processedOn` → `finishedOn`). */
  each: DurationStats;
  /** Mean jobs running at once between the first start and the last end (at most the concurrency). */
  meanRunning: number;
}

/**
 * Time every HTTP request of this process for a certificate's render URL, from its creation to
 * its last byte (undici's `undici:request:create` and `undici:request:trailers`, which Node's
 * `fetch` publishes). `stop()` ends the watch.
 */
export function watchRenderRequests(): { stop(): DurationStats | null } {
  const started = new WeakMap<object, number>();
  const durations: number[] = [];
  const onCreate = (message: unknown) => {
    const { request } = message as { request: { path?: string } };
    if (request.path?.includes('/certificate/render/')) started.set(request, performance.now());
  };
  const onTrailers = (message: unknown) => {
    const { request } = message as { request: object };
    const at = started.get(request);
    if (at !== undefined) durations.push(performance.now() - at);
  };
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:request:trailers', onTrailers);
  return {
    stop() {
      diagnostics.unsubscribe('undici:request:create', onCreate);
      diagnostics.unsubscribe('undici:request:trailers', onTrailers);
      return durations.length > 0 ? durationStats(durations) : null;
    },
  };
}

/** Read the completed download jobs' timestamps (taken by the worker, in this process). */
export async function downloadJobTimes(
  queue: Queue,
  resumedAt: number,
  doneSeenAt: number,
): Promise<DownloadJobTimes | null> {
  const jobs = (await queue.getJobs(['completed'], 0, -1)).filter(
    (j) => j.processedOn !== undefined && j.finishedOn !== undefined,
  );
  if (jobs.length === 0) return null;
  const firstStart = Math.min(...jobs.map((j) => j.processedOn!));
  const lastEnd = Math.max(...jobs.map((j) => j.finishedOn!));
  const durations = jobs.map((j) => j.finishedOn! - j.processedOn!);
  const each = durationStats(durations);
  return {
    jobs: jobs.length,
    attempts: jobs.reduce((sum, j) => sum + j.attemptsMade, 0),
    firstStartMs: firstStart - resumedAt,
    doneSeenAfterLastMs: doneSeenAt - lastEnd,
    each,
    meanRunning: (each.meanMs * jobs.length) / Math.max(1, lastEnd - firstStart),
  };
}

/** statfs(2) magic numbers of the filesystems a bench is likely to meet. */
const FILESYSTEMS: Record<number, string> = {
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
};

export async function filesystemType(dir: string): Promise<string> {
  try {
    const { type } = await statfs(dir);
    return FILESYSTEMS[type] ?? `type 0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

/** Start V8's sampling profiler in this process; the returned function stops it and gives the profile. */
export async function startCpuProfile(): Promise<() => Promise<object>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

/** Calls per Redis command (`INFO commandstats`): Lua scripts count as `evalsha`, their inner calls apart. */
export type CommandCounts = Map<string, number>;

export async function redisCommandCounts(redis: {
  info(section: string): Promise<string>;
}): Promise<CommandCounts> {
  const counts: CommandCounts = new Map();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

export interface RedisCommandFigures {
  /** Every command the server ran during the window (Lua's inner calls included), per certificate. */
  perCertificate: number;
  /** The same, per command, largest first (`evalsha` counts the scripts, their inner calls apart). */
  top: { command: string; perCertificate: number }[];
  /** The bench's own commands taken out of the figures (its batch polls and INFO calls), per certificate. */
  benchPerCertificate: number;
}

/**
 * The commands run between two `redisCommandCounts`, per certificate, largest first, without the
 * bench's own: the INFO call of the first snapshot and whatever `own` lists (its batch polls).
 */
export function commandsPerCertificate(
  before: CommandCounts,
  after: CommandCounts,
  certificates: number,
  own: CommandCounts = new Map(),
): RedisCommandFigures {
  const diff: { command: string; perCertificate: number }[] = [];
  let total = 0;
  let bench = 0;
  for (const [command, calls] of after) {
    const mine = (own.get(command) ?? 0) + (command === 'info' ? 1 : 0);
    const raw = calls - (before.get(command) ?? 0);
    const delta = raw - Math.min(raw, mine);
    bench += Math.min(raw, mine);
    if (delta <= 0) continue;
    total += delta;
    diff.push({ command, perCertificate: delta / certificates });
  }
  diff.sort((a, b) => b.perCertificate - a.perCertificate);
  return {
    perCertificate: total / certificates,
    top: diff.slice(0, 30),
    benchPerCertificate: bench / certificates,
  };
}

/** The commands of `n` reads of `BatchTracker.status` (an HGETALL and an LRANGE each). */
export function statusReadCommands(n: number): CommandCounts {
  return new Map([
    ['hgetall', n],
    ['lrange', n],
  ]);
}
