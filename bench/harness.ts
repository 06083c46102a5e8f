/**
 * What every benchmark mode shares: the result it returns, the download-phase clock, logging, and
 * the cleanup list that stops whatever a mode started (also on Ctrl-C).
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { SandboxStats } from '@certharvest/sandbox';
import type { DownloadJobTimes, RedisCommandFigures } from './diagnostics.ts';
import {
  helperDescendants,
  threadCpu,
  threadCpuSince,
  type CpuSeconds,
  type ResourceSampler,
  type ResourceUsage,
  type ThreadCpu,
} from './resources.ts';

// ---------------------------------------------------------------------------------------------
// Results

/**
 * The download phase: from the first download request (the download queue resumed, or the loop
 * started) until the last certificate is done. Logins and discovery come before it.
 */
export interface DownloadPhase {
  seconds: number;
  /** Verified certificates / seconds. */
  perSecond: number;
  /** CPU (user + system) of the measuring process during the phase, ms per certificate. */
  cpuMsPerCertificate: number;
  /** CPU seconds during the phase, of the measuring process and of each kind of helper. */
  cpuSeconds: CpuSeconds;
  /** The measuring process's CPU by thread (absent in results of older versions). */
  threads?: ThreadCpu;
}

/**
 * A whole batch, end to end: from the submission (certharvest) or the start of the logins (the
 * discovering loop) until the last certificate, discovery included.
 */
export interface WholeBatch {
  seconds: number;
  /** CPU seconds over the same window, of the measuring process and of each kind of helper. */
  cpuSeconds: CpuSeconds;
  threads?: ThreadCpu;
  /** CPU (user + system) of the measuring process over the window, ms per verified certificate. */
  cpuMsPerCertificate: number;
  /** certharvest: Redis commands over the window (the bench's own polls taken out); else null. */
  redisCommands: RedisCommandFigures | null;
}

/** The RSS step: the worker's peak RSS up to the moment a number of certificates were stored. */
export interface RssCheckpoint {
  /** The checkpoint: this many certificates stored. */
  certificates: number;
  /** Certificates stored when the bench saw the checkpoint passed (polled every 100 ms). */
  stored: number;
  /** Seconds after the submission. */
  seconds: number;
  /** Peak RSS of the worker process from its start until then (sampled every 25 ms), bytes. */
  peakRss: number;
  /** RSS and V8 heap figures at that moment, bytes. */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /**
   * V8 heap used and RSS right after a full GC forced at the last checkpoint (the RSS child runs
   * with `--expose-gc`), taken after the figures above: what is retained, not garbage. Null at the
   * other checkpoints (a forced GC there would change the heap's course) and without gc.
   */
  heapAfterGc: number | null;
  rssAfterGc: number | null;
}

export interface RssFigures {
  latencyMs: number;
  checkpoints: RssCheckpoint[];
  /** (peak RSS at the last checkpoint − at the first) / at the first. */
  growth: number | null;
  /**
   * When the run's peak RSS was reached (seconds after the submission; its start counts, so a
   * peak before it shows as a negative time), with the batch as last polled before then.
   */
  peak: {
    bytes: number;
    seconds: number;
    usersDone: number;
    usersTotal: number;
    certsFound: number;
    certsStored: number;
  } | null;
}

export interface RunResult {
  mode: string;
  /** Which round of the run (1 when the bench ran one round). */
  round?: number;
  /** The concurrency the run used (DOWNLOAD_CONCURRENCY, the loops' concurrency). */
  concurrency?: number;
  /** Certificates in the batch. */
  expected: number;
  /** Their total size. */
  pdfBytes: number;
  /** Certificates stored (or fetched) with exactly the sandbox's bytes. */
  verified: number;
  ok: boolean;
  problems: string[];
  /** End to end: from the submission (certharvest) or the start of the login, to the last certificate. */
  seconds: number;
  perSecond: number;
  /** null when the run has no separate download phase (certharvest with `--pipelined`, the e2e modes). */
  download: DownloadPhase | null;
  /** The whole batch, discovery included (certharvest modes and fetch-e2e). */
  wholeBatch?: WholeBatch | null;
  /** The RSS step's checkpoints (the certharvest RSS run only). */
  rss?: RssFigures;
  /** Lines the report prints under the run (how a mode measured what it measured). */
  notes?: string[];
  /** Seconds the web login took (Chromium launch and form, or one POST): never inside `download`. */
  loginSeconds: number | null;
  resources: ResourceUsage;
  /** Whether Chromium figures apply (the plain fetch loop has no browser). */
  browser: boolean;
  /**
   * Each certificate's HTTP request during the download phase: created → last byte (undici's
   * diagnostics channel); playwright mode: `context.request.get` called → body hashed.
   */
  requestTimes: DurationStats | null;
  /** Successful web logins the sandbox saw. */
  logins: number;
  sandbox: {
    valenceRequests: number;
    renderPdf: number;
    renderLoginPage: number;
    tokenGrants: number;
    /** Requests per route. */
    routes: Record<string, number>;
  };
  /** certharvest only. */
  phases?: {
    workerStartSeconds: number;
    users: number;
    discoverConcurrency: number;
    /** The download-phase run: logins and listings answered at once (false with `--pipelined`). */
    paused: boolean;
    outputDir: string;
    /** The filesystem OUTPUT_DIR is on (each stored certificate waits for its fsyncs). */
    outputFilesystem: string;
    /** The download jobs' own timings; null with `--pipelined`. */
    jobs: DownloadJobTimes | null;
    /** Redis commands run during the download phase (`INFO commandstats`); null with `--pipelined`. */
    redisCommands: RedisCommandFigures | null;
    /** Whether the batch was submitted as the whole institution (`allUsers`) rather than user ids. */
    allUsers: boolean;
  };
}

/** The fields every mode derives the same way: sizes, the verdict and the end-to-end rate. */
export function outcomeOf(
  expected: readonly { bytes: number }[],
  verified: number,
  problems: string[],
  started: number,
  ended: number,
): Pick<RunResult, 'expected' | 'pdfBytes' | 'verified' | 'ok' | 'problems' | 'seconds' | 'perSecond'> {
  const seconds = (ended - started) / 1000;
  return {
    expected: expected.length,
    pdfBytes: expected.reduce((sum, c) => sum + c.bytes, 0),
    verified,
    ok: problems.length === 0 && verified === expected.length,
    problems,
    seconds,
    perSecond: verified / seconds,
  };
}

export function sandboxFigures(stats: SandboxStats): RunResult['sandbox'] {
  const g = stats.tokenGrants;
  return {
    valenceRequests: stats.valenceRequests,
    renderPdf: stats.renderPdf,
    renderLoginPage: stats.renderLoginPage,
    tokenGrants: g.refresh_token + g.authorization_code + g.client_credentials,
    routes: stats.routes,
  };
}

/** What the download-phase clock read: wall seconds and CPU seconds. */
export interface PhaseClock {
  seconds: number;
  cpuSeconds: CpuSeconds;
  /** The measuring process's CPU by thread (main / the others), user and system. */
  threads: ThreadCpu;
}

/**
 * Start the download-phase clock: wall time and CPU (this process from `process.cpuUsage()`,
 * helpers from /proc). The returned function reads it at the end of the phase.
 */
export function startDownloadPhase(sampler: ResourceSampler): () => PhaseClock {
  const cpuAtStart = sampler.cpuSeconds();
  const threadsAtStart = threadCpu();
  const startedAt = performance.now();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const cpuNow = sampler.cpuSeconds();
    const threads = threadCpuSince(threadsAtStart);
    return {
      seconds,
      threads,
      cpuSeconds: {
        node: cpuNow.node - cpuAtStart.node,
        chromium: cpuNow.chromium - cpuAtStart.chromium,
        sandbox: cpuNow.sandbox - cpuAtStart.sandbox,
        redis: cpuNow.redis - cpuAtStart.redis,
      },
    };
  };
}

/** The whole batch's figures from its clock, per verified certificate. */
export function wholeBatch(
  clock: PhaseClock,
  verified: number,
  redisCommands: RedisCommandFigures | null,
): WholeBatch {
  return {
    ...clock,
    cpuMsPerCertificate: verified > 0 ? (clock.cpuSeconds.node * 1000) / verified : 0,
    redisCommands,
  };
}

/** The same clock, for any window (the whole batch). */
export const startClock = startDownloadPhase;

/** The phase's rates, per verified certificate. */
export function downloadPhase(clock: PhaseClock, verified: number): DownloadPhase {
  return {
    ...clock,
    perSecond: verified / clock.seconds,
    cpuMsPerCertificate: verified > 0 ? (clock.cpuSeconds.node * 1000) / verified : 0,
  };
}

/** Mean, median and 90th percentile of some durations, ms. */
export interface DurationStats {
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
}

export function durationStats(durations: readonly number[]): DurationStats {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
  return {
    meanMs: sorted.reduce((sum, d) => sum + d, 0) / Math.max(1, sorted.length),
    p50Ms: at(0.5),
    p90Ms: at(0.9),
  };
}

export const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The render URL of one certificate: what the worker downloads, and what the loops fetch. */
export const renderUrl = (lmsUrl: string, cert: { orgUnitId: number; issuedId: number }) =>
  `${lmsUrl}/d2l/awards/v1/${cert.orgUnitId}/certificate/render/${cert.issuedId}`;

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is stopped, in reverse order, also on Ctrl-C.

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;

/** Run every pending cleanup, newest first, one at a time; a second caller waits for the same run. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      await fn().catch((err: unknown) => log(`cleanup step failed: ${(err as Error).message}`));
    }
  })().finally(() => (cleaning = undefined));
  return cleaning;
}

/** Register a cleanup step; the returned function runs it now (once) and unregisters it. */
export function onCleanup(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  cleanups.push(once);
  return async () => {
    const i = cleanups.indexOf(once);
    if (i >= 0) cleanups.splice(i, 1);
    await once();
  };
}

/**
 * Last resort when the process exits before the cleanups ran: Playwright's own SIGINT handler
 * (Chromium is launched with Playwright's default `handleSIGINT: true`) closes the browser and
 * calls `process.exit(130)` at once. Remove the temp folders, stop our helpers.
 */
export const tempDirs = new Set<string>();

/** Set by the parent for its mode processes: leave OUTPUT_DIR for the parent to remove at the end. */
export const KEEP_OUTPUT_ENV = 'CERTHARVEST_BENCH_KEEP_OUTPUT';
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  for (const pid of helperDescendants()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
});
