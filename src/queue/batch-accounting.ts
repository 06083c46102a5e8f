/**
 * Batch accounting: the one module that writes batch counters. Every count is keyed by BullMQ job
 * id and settled from the job's outcome, never from inside a processor's `catch`, so whatever ends
 * a job — success, a final failure, the stalled checker, data that does not parse, removal —
 * settles its batches exactly once:
 *
 *   register (submit, enumeration)   a discover job is open for its batch: `usersTotal` + 1
 *   expectCertificates (discovery)   each batch-certificate pair is counted once (`certsFound`);
 *                                    the batch joins the download job in flight for that
 *                                    certificate, or a new job id is opened for it
 *   settle (job events, reconcile)   an open job is closed once and credits every batch that
 *                                    waits for it; a second settle of the same job does nothing
 *   reconcile (periodic)             open jobs that ended without an event (a worker killed
 *                                    between finishing and settling, a job removed) are settled
 *                                    from BullMQ's own record
 *
 * Each step is one Lua script, so two batches that find the same certificate at the same moment
 * can never miss each other's download: a batch either joins the open job before it settles (and
 * is credited by it) or finds none and opens a new one (which finds the PDF already stored).
 */
import { LuaScript } from '../util/lua-script.ts';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  SCHEMA_VERSION,
  type CertificateOnDisk,
  type CertificateSource,
  type CertificateStatus,
  type LmsId,
} from '../certificate/index.ts';
import { BATCH_EVENTS_MAX_LEN, BATCH_EVENTS_SUFFIX, BATCH_TTL_SECONDS } from './batch-keys.ts';

/** A certificate a discover job found for a batch. */
export interface ExpectedCertificate {
  certKey: string;
  /** `<orgUnitId>-<issuedId> (user <userId>)`, for failure lines. */
  ref: string;
  /** Already on disk for this LMS: counted as already stored, nothing queued. */
  alreadyStored: boolean;
  /** Where, when it is already on disk (recorded as the batch's result for it). */
  onDisk?: CertificateOnDisk | undefined;
  /** What the batch's manifest says of it besides its outcome (the certificate, how it was asked for). */
  row?: ManifestDescription | undefined;
}

/**
 * What a batch's manifest shows of a certificate besides its outcome: recorded when the batch
 * finds it, as JSON text (ids keep their type: a number stays a number, whatever its size).
 */
export interface ManifestDescription {
  /** The reference as the batch submitted it, `<by>:<value>` (`userName:jdoe`). */
  userRef?: string | undefined;
  userId: LmsId;
  userName?: string | undefined;
  orgUnitId: LmsId;
  orgUnitName?: string | undefined;
  issuedId: LmsId;
  title: string;
  issuedDate: string | null;
}

/** A failure as it is recorded in a batch. */
export interface FailureFacts {
  code: string;
  reason: string;
}

/** One entry of a batch's failure list, as the accounting writes it (`<batch>:failures`). */
export interface BatchFailure {
  kind: 'user' | 'certificate';
  /** The user reference or `<orgUnitId>-<issuedId> (user <userId>)`. */
  ref: string;
  code: string;
  reason: string;
  at: string;
}

/** A settled job's outcome, as the accounting needs it. */
export type DownloadSettlement =
  | { status: Exclude<CertificateStatus, 'failed'>; onDisk?: StoredFacts | undefined }
  | ({ status: 'failed' } & FailureFacts)
  /** Removed from the queue by `cancel` before it ran. */
  | { status: 'cancelled' };

/** Where a downloaded certificate lies, as its job returned it. */
export type StoredFacts = CertificateOnDisk & { source?: CertificateSource };

/**
 * What a batch records per certificate (`<batch>:results`, keyed by certKey): the outcome, and
 * where the file lies (the worker's path) with its sha256 — what `waitForBatch` returns.
 */
export interface CertificateResultRecord {
  /** `queued` until its job settles; `cancelled` when its batch was cancelled first. */
  status: CertificateStatus | 'queued' | 'cancelled';
  ref: string;
  /** A user row (a reference that failed as a whole), else a certificate. */
  kind?: 'user' | 'certificate';
  /** The `ManifestDescription`, as JSON text. */
  d?: string;
  /** For a user row or an unusable award: the user reference as `<by> <value>`. */
  u?: string;
  path?: string;
  sha256?: string;
  bytes?: number;
  source?: CertificateSource;
  code?: string;
  reason?: string;
}

/** Called with the batches a settle has just finished (each batch once, fleet-wide). */
export type BatchDoneListener = (batchIds: readonly string[]) => void;
export type DiscoverSettlement =
  /** Removed from the queue by `cancel` before it ran. */
  | { status: 'cancelled' }
  | {
      status: 'done';
      badges?: number;
      /** Some of the unusable awards, listed; `rejectedCount` counts them all. */
      rejected?: readonly ({ ref: string } & FailureFacts)[];
      rejectedCount?: number;
    }
  | ({ status: 'failed' } & FailureFacts);

/** A script of `src/queue/lua/`, with the shared helpers and the constants it names. */
const accountingScript = (name: string): LuaScript =>
  LuaScript.fromFile(new URL(`./lua/${name}.lua`, import.meta.url), {
    constants: { BATCH_EVENTS_SUFFIX, BATCH_EVENTS_MAX_LEN, SCHEMA_VERSION },
  });

/**
 * ARGV: prefix, ttl, batchId, now, kind ('user' | 'enumeration'), opener, jobId... → how many were
 * new; -1 when the batch is cancelled (nothing registered: add none of them).
 */
const REGISTER_DISCOVER = accountingScript('register-discover');

/**
 * ARGV: prefix, ttl, batchId, now, opener (the discover job), then groups of 6: certKey, jobIdBase,
 * ref, alreadyStored, the result record when already stored, the manifest description (JSON text).
 * Returns pairs (index of the certificate, download job id) of the jobs to add (new ones, and open
 * ones this batch joined: adding an existing id is a no-op in BullMQ, and re-adding covers a crash
 * between this script and the add). A cancelled batch counts what it finds as cancelled, adds none.
 */
const EXPECT_CERTIFICATES = accountingScript('expect-certificates');

/**
 * ARGV: prefix, ttl, jobId, status, code, reason, at, result record → {batches credited (-1: not
 * open), batches this finished...}.
 */
const SETTLE_DOWNLOAD = accountingScript('settle-download');

/**
 * ARGV: prefix, ttl, jobId, status, code, reason, at, userRef, badges, rejectedCount, then groups
 * of 3 (ref, code, reason) listing some of the awards the LMS sent that cannot become downloads
 * → {1 settled (-1 not open), the batch when this finished it}.
 */
const SETTLE_DISCOVER = accountingScript('settle-discover');

/** ARGV: prefix, ttl, batchId, at → {0, the batch when it is done now} (a batch with no job left). */
const FINISH_IF_DONE = accountingScript('finish-if-done');

/**
 * ARGV: prefix, ttl, batchId, at → 1 marked cancelled now, 0 already cancelled, -1 no such batch,
 * -2 already done (nothing to cancel).
 */
const MARK_CANCELLED = accountingScript('mark-cancelled');

/**
 * ARGV: prefix, ttl, batchId, jobId... (open download jobs) → the jobs that wait for this batch
 * alone, to remove from the queue (no other batch can join them any more). A job other batches
 * wait for too stays: this batch leaves it, and counts its certificate as cancelled.
 */
const DETACH_DOWNLOADS = accountingScript('detach-downloads');

/** The longest a running job waits between two looks of the reconciler. */
const MAX_LOOK_BACKOFF_MS = 10 * 60_000;

export class BatchAccounting {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #onBatchDone: BatchDoneListener | undefined;

  /** `onBatchDone` hears of each batch this process's settles finish (the webhook's trigger). */
  constructor(redis: Redis, prefix: string, options: { onBatchDone?: BatchDoneListener } = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#onBatchDone = options.onBatchDone;
  }

  /** `{n, finished batch ids...}` from a settle script: tell the listener, return n. */
  #finished(reply: unknown): number {
    const [n, ...finished] = (Array.isArray(reply) ? reply : [reply]) as unknown[];
    const ids = finished.filter((b): b is string => typeof b === 'string');
    if (ids.length > 0) this.#onBatchDone?.(ids);
    return Number(n);
  }

  /**
   * Mark `batchId` done when nothing is left of it (a batch whose every entry was refused at
   * submission has no job to settle it). True when this call finished it.
   */
  async finishIfDone(batchId: string): Promise<boolean> {
    const reply = await this.#run(FINISH_IF_DONE, [batchId, new Date().toISOString()]);
    return Array.isArray(reply) && reply.length > 1 && (this.#finished(reply), true);
  }

  #run(script: LuaScript, args: readonly (string | number)[]): Promise<unknown> {
    return script.run(this.#redis, [], [this.#prefix, BATCH_TTL_SECONDS, ...args]);
  }

  /**
   * Open discover jobs for `batchId` (before adding them). Returns how many users were new, or
   * 'cancelled' when the batch is cancelled: then add none of them.
   */
  async registerDiscover(
    batchId: string,
    jobIds: readonly string[],
    kind: 'user' | 'enumeration' = 'user',
    /** The job that opens them (an enumeration job), if any: the reconciler waits for it. */
    opener = '',
  ): Promise<number | 'cancelled'> {
    let added = 0;
    for (let i = 0; i < jobIds.length; i += 5000) {
      const chunk = jobIds.slice(i, i + 5000);
      const n = Number(await this.#run(REGISTER_DISCOVER, [batchId, Date.now(), kind, opener, ...chunk]));
      if (n < 0) return 'cancelled';
      added += n;
    }
    return added;
  }

  /**
   * A discover job found these certificates for `batchId`: count each once for the batch and
   * return the download jobs to add, as (certificate, job id) pairs. Add them after this resolves,
   * always with these ids.
   */
  async expectCertificates<C extends ExpectedCertificate>(
    batchId: string,
    certificates: readonly C[],
    /** The discover job that found them: while it may still add them, the reconciler waits. */
    opener = '',
  ): Promise<{ certificate: C; jobId: string }[]> {
    if (certificates.length === 0) return [];
    const args: string[] = [];
    for (const c of certificates) {
      args.push(
        c.certKey,
        downloadJobIdBase(c.certKey),
        c.ref,
        c.alreadyStored ? '1' : '0',
        c.alreadyStored ? resultJson({ status: 'already-stored', onDisk: c.onDisk }) : '',
        c.row ? JSON.stringify(c.row) : '',
      );
    }
    const flat = (await this.#run(EXPECT_CERTIFICATES, [batchId, Date.now(), opener, ...args])) as string[];
    const out: { certificate: C; jobId: string }[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const certificate = certificates[Number(flat[i])];
      const jobId = flat[i + 1];
      if (certificate && jobId) out.push({ certificate, jobId });
    }
    return out;
  }

  /** Settle a download job. Returns the number of batches credited, or -1 when it was not open. */
  async settleDownload(jobId: string, outcome: DownloadSettlement): Promise<number> {
    const [code, reason] = outcome.status === 'failed' ? [outcome.code, outcome.reason] : ['', ''];
    return this.#finished(
      await this.#run(SETTLE_DOWNLOAD, [
        jobId,
        outcome.status,
        code,
        reason,
        new Date().toISOString(),
        resultJson(outcome),
      ]),
    );
  }

  /** Settle a discover job (a user, or the enumeration of all users). -1 when it was not open. */
  async settleDiscover(jobId: string, outcome: DiscoverSettlement, userRef?: string): Promise<number> {
    const at = new Date().toISOString();
    const args: string[] =
      outcome.status === 'failed'
        ? [jobId, 'failed', outcome.code, outcome.reason, at, userRef ?? jobId, '0', '0']
        : outcome.status === 'cancelled'
          ? [jobId, 'cancelled', '', '', at, userRef ?? jobId, '0', '0']
          : [
              jobId,
              'done',
              '',
              '',
              at,
              userRef ?? jobId,
              String(outcome.badges ?? 0),
              String(outcome.rejectedCount ?? outcome.rejected?.length ?? 0),
            ];
    if (outcome.status === 'done') for (const r of outcome.rejected ?? []) args.push(r.ref, r.code, r.reason);
    return this.#finished(await this.#run(SETTLE_DISCOVER, args));
  }

  /**
   * Settle open jobs that ended (or vanished) without being settled, from BullMQ's own record.
   * Looks at most `limit` jobs per queue not looked at for `minAgeMs`; jobs still running are
   * looked at again later. Returns how many it settled.
   */
  async reconcile(
    queues: { discover: Queue; download: Queue },
    options: { minAgeMs: number; limit?: number },
  ): Promise<number> {
    let settled = 0;
    for (const kind of ['discover', 'download'] as const) {
      const openKey = `${this.#prefix}:acct:open:${kind}`;
      const now = Date.now();
      const flat = await this.#redis.zrangebyscore(
        openKey,
        '-inf',
        now - options.minAgeMs,
        'WITHSCORES',
        'LIMIT',
        0,
        options.limit ?? 1000,
      );
      const due: { id: string; score: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) due.push({ id: flat[i]!, score: Number(flat[i + 1]) });
      for (let i = 0; i < due.length; i += 50) {
        const looks = await Promise.all(
          due.slice(i, i + 50).map(({ id, score }) => this.#look(kind, id, queues, now - score)),
        );
        settled += looks.filter(Boolean).length;
      }
    }
    return settled;
  }

  /** Look at one open job; settle it when BullMQ says it ended (or it is gone for good). */
  async #look(
    kind: 'discover' | 'download',
    id: string,
    queues: { discover: Queue; download: Queue },
    sinceLastLookMs: number,
  ) {
    const job = await queues[kind].getJob(id);
    const state = job ? await job.getState() : 'missing';
    if (state === 'completed' && job) return (await this.#settleFinished(kind, id, job, undefined)) >= 0;
    if (state === 'failed' && job) return (await this.#settleFinished(kind, id, job, jobEnded(job))) >= 0;
    if ((state === 'missing' || state === 'unknown') && (await this.#goneForGood(kind, id, queues))) {
      return (await this.settleRemoved(kind, id)) >= 0;
    }
    // Still queued or running: look again later, each time twice as late (up to 10 minutes), so a
    // long backlog costs a few looks per job, not one every monitor round.
    const later = Math.min(MAX_LOOK_BACKOFF_MS, Math.max(0, sinceLastLookMs));
    await this.#redis.zadd(`${this.#prefix}:acct:open:${kind}`, 'XX', Date.now() + later, id);
    return false;
  }

  /**
   * A job the accounting opened but BullMQ does not have: removed, or not added yet? Not yet while
   * the job that opens it (a discover or enumeration job) may still add it, or, without such a
   * job, for ORPHAN_AFTER_MS after it was opened (a submit in progress).
   */
  async #goneForGood(
    kind: 'discover' | 'download',
    id: string,
    queues: { discover: Queue; download: Queue },
  ) {
    const raw = await this.#redis.hget(`${this.#prefix}:acct:${kind}`, id);
    if (!raw) return false; // settled meanwhile
    const info = JSON.parse(raw) as { o?: string; t?: number };
    if (info.o) {
      const opener = await queues.discover.getJob(info.o);
      const openerState = opener ? await opener.getState() : 'missing';
      return !['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused'].includes(
        openerState,
      );
    }
    return Date.now() - (info.t ?? 0) > ORPHAN_AFTER_MS;
  }

  /** Settle a finished job from its BullMQ record (completed: `failure` undefined). */
  async #settleFinished(
    kind: 'discover' | 'download',
    id: string,
    job: Job | undefined,
    failure: FailureFacts | undefined,
  ): Promise<number> {
    if (kind === 'download') {
      return this.settleDownload(
        id,
        failure ? { status: 'failed', ...failure } : downloadSettlement(job?.returnvalue),
      );
    }
    return this.settleDiscover(
      id,
      failure ? { status: 'failed', ...failure } : discoverSettlement(job?.returnvalue),
      job ? userRefOf(job) : `job ${id}`,
    );
  }

  /**
   * Mark a batch cancelled: from now on it queues nothing more. 'marked', 'already' (cancelled
   * before), 'unknown' (no such batch) or 'done' (it ended before: nothing to cancel).
   */
  async markCancelled(batchId: string): Promise<'marked' | 'already' | 'unknown' | 'done'> {
    const n = Number(await this.#run(MARK_CANCELLED, [batchId, new Date().toISOString()]));
    return n === 1 ? 'marked' : n === 0 ? 'already' : n === -1 ? 'unknown' : 'done';
  }

  /**
   * A cancelled batch leaves these open download jobs: those other batches wait for too keep
   * running (this batch counts their certificates as cancelled); returned are the jobs that wait
   * for it alone, to remove from the queue and settle as cancelled.
   */
  async detachDownloads(batchId: string, jobIds: readonly string[]): Promise<string[]> {
    const alone: string[] = [];
    for (let i = 0; i < jobIds.length; i += 1000) {
      const chunk = jobIds.slice(i, i + 1000);
      alone.push(...((await this.#run(DETACH_DOWNLOADS, [batchId, ...chunk])) as string[]));
    }
    return alone;
  }

  /** The open download jobs `batchId` may wait for (read from the accounting, in pages). */
  async openDownloadsOf(batchId: string): Promise<string[]> {
    const key = `${this.#prefix}:acct:download`;
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const info = JSON.parse(flat[i + 1]!) as { b?: string; j?: number };
        if (info.b === batchId || info.j || info.b === undefined) out.push(flat[i]!);
      }
    } while (cursor !== '0');
    return [...new Set(out)];
  }

  /** The open discover jobs of `batchId` (users still to discover, and an enumeration). */
  async openDiscoversOf(batchId: string): Promise<string[]> {
    const ids = await this.#redis.smembers(`${this.#prefix}:batch:${batchId}:jobs`);
    const open: string[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const infos = await this.#redis.hmget(`${this.#prefix}:acct:discover`, ...chunk);
      chunk.forEach((id, k) => infos[k] && open.push(id));
    }
    return open;
  }

  /** Settle a removed job by id (it has no BullMQ record any more). */
  async settleRemoved(kind: 'discover' | 'download', jobId: string): Promise<number> {
    const failure = { code: 'JOB_REMOVED', reason: 'the job was removed from the queue before it finished' };
    return kind === 'download'
      ? this.settleDownload(jobId, { status: 'failed', ...failure })
      : this.settleDiscover(jobId, { status: 'failed', ...failure });
  }
}

/** A job opened without an opener job, yet absent from BullMQ this long, was never added or removed. */
const ORPHAN_AFTER_MS = 10 * 60_000;

/** The facts of a job that BullMQ failed without its event reaching us. */
function jobEnded(job: Job): FailureFacts {
  return {
    code: job.stalledCounter > 0 ? 'JOB_STALLED' : 'JOB_FAILED',
    reason: job.failedReason || 'failed',
  };
}

/** What a download job's return value says for its batches (leniently: it may be read back from Redis). */
export function downloadSettlement(result: unknown): DownloadSettlement {
  const r = result as {
    status?: unknown;
    path?: unknown;
    sha256?: unknown;
    bytes?: unknown;
    source?: unknown;
  } | null;
  const status = r?.status === 'already-stored' ? 'already-stored' : 'stored';
  const onDisk: StoredFacts | undefined =
    typeof r?.path === 'string' && typeof r.sha256 === 'string' && typeof r.bytes === 'number'
      ? {
          path: r.path,
          sha256: r.sha256,
          bytes: r.bytes,
          ...(r.source === 'api' || r.source === 'browser' ? { source: r.source as CertificateSource } : {}),
        }
      : undefined;
  return { status, onDisk };
}

/** The result record a settle stores for each batch (the Lua script adds the certificate's ref). */
function resultJson(outcome: DownloadSettlement): string {
  const record: Omit<CertificateResultRecord, 'ref'> =
    outcome.status === 'failed'
      ? { status: 'failed', code: outcome.code, reason: outcome.reason.slice(0, 500) }
      : outcome.status === 'cancelled'
        ? { status: 'cancelled' }
        : { status: outcome.status, ...outcome.onDisk };
  return JSON.stringify(record);
}

/** What a discover job's return value says for its batch (leniently: it is read back from Redis). */
export function discoverSettlement(result: unknown): DiscoverSettlement {
  const r = result as { badgesIgnored?: unknown; rejected?: unknown; rejectedCount?: unknown } | null;
  const rejected = Array.isArray(r?.rejected)
    ? (r.rejected as unknown[]).flatMap((x) => {
        const e = x as { ref?: unknown; code?: unknown; reason?: unknown } | null;
        return typeof e?.ref === 'string' && typeof e.code === 'string' && typeof e.reason === 'string'
          ? [{ ref: e.ref, code: e.code, reason: e.reason }]
          : [];
      })
    : [];
  return {
    status: 'done',
    badges: typeof r?.badgesIgnored === 'number' ? r.badgesIgnored : 0,
    rejected,
    rejectedCount: typeof r?.rejectedCount === 'number' ? r.rejectedCount : rejected.length,
  };
}

/** `userName:jdoe` from a discover job's data, leniently (the data may be what failed). */
export function userRefOf(job: Pick<Job, 'data' | 'id'>): string {
  const d = job.data as { by?: unknown; value?: unknown } | null;
  return typeof d?.by === 'string' && (typeof d.value === 'string' || typeof d.value === 'number')
    ? `${d.by} ${String(d.value).slice(0, 100)}`
    : `job ${job.id ?? '?'}`;
}

/**
 * `c.<host>.<orgUnitId>-<issuedId>`: the safe stem of a certificate's download job ids. The ids
 * come from the key, already encoded as in file names (`a`-`z`, digits, `_`, `.`, `~XX`), so the
 * stem never holds the `:` BullMQ refuses in a job id.
 */
export function downloadJobIdBase(certKey: string): string {
  const [ou, issued] = certKey.split(':').slice(-2);
  const host = certKey.split(':').slice(0, -2).join(':');
  return `c.${host.replace(/[^A-Za-z0-9.-]/g, '_')}.${ou}-${issued}`;
}
