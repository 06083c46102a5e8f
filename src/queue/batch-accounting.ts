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
 *
 * Beside it: the scripts (`accounting-scripts.ts`, `lua/*.lua`), the reconciler (`reconcile.ts`),
 * what a job's end says (`job-outcomes.ts`) and the record a settle writes for each certificate
 * (`result-record.ts`, in the certificate's result schema of src/certificate/result.ts).
 */
import type { Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { CertificateOnDisk, CertificateSettlement, ManifestDescription } from '../certificate/index.ts';
import type { LuaScript } from '../util/lua-script.ts';
import {
  DETACH_DOWNLOADS,
  EXPECT_CERTIFICATES,
  FINISH_IF_DONE,
  MARK_CANCELLED,
  REGISTER_DISCOVER,
  REGISTER_USERS,
  SETTLE_DISCOVER,
  SETTLE_DOWNLOAD,
  SETTLE_USERS,
} from './accounting-scripts.ts';
import { accountingSlotKey, BATCH_TTL_SECONDS, downloadJobIdBase } from './batch-keys.ts';
import type { RejectedAward, UserRefKind } from './job-data.ts';
import type { DiscoverSettlement } from './job-outcomes.ts';
import { Reconciler, type JobKind } from './reconcile.ts';
import { settlementJson } from './result-record.ts';

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

/** A users job to add: its id and its users (as the batch names them). */
export interface UsersJob {
  jobId: string;
  values: string[];
}

/** How one user of a users job ended in that job. */
export type UserOutcome =
  | {
      status: 'done';
      value: string;
      badges: number;
      rejected: readonly RejectedAward[];
      rejectedCount: number;
    }
  | { status: 'failed'; value: string; code: string; reason: string }
  /** To be tried again by a one-user job of its own (`jobId`). */
  | { status: 'handoff'; value: string; jobId: string };

/** The entries of a batch's failure list (defined beside the batch's counters). */
export type { BatchFailure } from './batch-counts.ts';

/** Called with the batches a settle has just finished (each batch once, fleet-wide). */
export type BatchDoneListener = (batchIds: readonly string[]) => void;

export class BatchAccounting {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #onBatchDone: BatchDoneListener | undefined;
  readonly #reconciler: Reconciler;

  /** `onBatchDone` hears of each batch this process's settles finish (the webhook's trigger). */
  constructor(redis: RedisConnection, prefix: string, options: { onBatchDone?: BatchDoneListener } = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#onBatchDone = options.onBatchDone;
    this.#reconciler = new Reconciler(redis, prefix, this);
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
    return script.run(
      this.#redis,
      [accountingSlotKey(this.#prefix)],
      [this.#prefix, BATCH_TTL_SECONDS, ...args],
    );
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
   * Open users jobs for `batchId`, `groupSize` users each, for the users new to the batch (before
   * adding the jobs). Returns the jobs to add: the new ones, and open ones that hold users listed
   * again (adding a job that exists is a no-op); 'cancelled' when the batch is: add none.
   */
  async registerUsers(
    batchId: string,
    by: UserRefKind,
    values: readonly string[],
    options: { groupSize: number; jobIdBase: string; opener?: string },
  ): Promise<UsersJob[] | 'cancelled'> {
    const jobs: UsersJob[] = [];
    const chunk = options.groupSize * 500;
    for (let i = 0; i < values.length; i += chunk) {
      const reply = await this.#run(REGISTER_USERS, [
        batchId,
        Date.now(),
        options.opener ?? '',
        by,
        options.groupSize,
        options.jobIdBase,
        ...values.slice(i, i + chunk),
      ]);
      if (!Array.isArray(reply)) return 'cancelled';
      const flat = reply as string[];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        jobs.push({ jobId: flat[j]!, values: (JSON.parse(flat[j + 1]!) as unknown[]).map(String) });
      }
    }
    return jobs;
  }

  /**
   * A users job settles its users, in one script: done, failed, or handed to a one-user job
   * (opened here: add it after). All of them at once (the job closes), or some (it closes with its
   * last). Returns whether this call settled them (false: the job was closed before) and the
   * hand-offs to add, those of an earlier run included.
   */
  async settleUsers(
    jobId: string,
    batchId: string,
    by: UserRefKind,
    outcomes: readonly UserOutcome[],
  ): Promise<{ settled: boolean; handoffs: { value: string; jobId: string }[] }> {
    const args: (string | number)[] = [jobId, batchId, by, new Date().toISOString(), Date.now()];
    for (const o of outcomes) {
      if (o.status === 'done') {
        const listed = o.rejected.map((r) => [r.ref, r.code, r.reason]);
        args.push(
          'done',
          o.value,
          o.badges,
          o.rejectedCount,
          listed.length > 0 ? JSON.stringify(listed) : '',
        );
      } else if (o.status === 'failed') args.push('failed', o.value, o.code, o.reason, '');
      else args.push('handoff', o.value, o.jobId, '', '');
    }
    const [n, finished, ...flat] = (await this.#run(SETTLE_USERS, args)) as [number, string, ...string[]];
    if (finished) this.#onBatchDone?.([finished]);
    const handoffs: { value: string; jobId: string }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) handoffs.push({ value: flat[i]!, jobId: flat[i + 1]! });
    return { settled: Number(n) === 1, handoffs };
  }

  /**
   * A discover job found these certificates for `batchId`: count each once for the batch and
   * return the downloads it waits for, as (certificate, job id, owned) triples. Owned: the opener
   * opened it (now, or in an earlier run) and downloads it, under this id; not owned: another
   * job's download, which settles it for this batch too.
   */
  async expectCertificates<C extends ExpectedCertificate>(
    batchId: string,
    certificates: readonly C[],
    /** The discover job that found them: while it may still add them, the reconciler waits. */
    opener = '',
  ): Promise<{ certificate: C; jobId: string; owned: boolean }[]> {
    if (certificates.length === 0) return [];
    const args: string[] = [];
    for (const c of certificates) {
      args.push(
        c.certKey,
        downloadJobIdBase(c.certKey),
        c.ref,
        c.alreadyStored ? '1' : '0',
        c.alreadyStored ? settlementJson({ status: 'already-stored', ...c.onDisk }) : '',
        c.row ? JSON.stringify(c.row) : '',
      );
    }
    const flat = (await this.#run(EXPECT_CERTIFICATES, [batchId, Date.now(), opener, ...args])) as string[];
    const out: { certificate: C; jobId: string; owned: boolean }[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const certificate = certificates[Number(flat[i])];
      const jobId = flat[i + 1];
      if (certificate && jobId) out.push({ certificate, jobId, owned: flat[i + 2] === '1' });
    }
    return out;
  }

  /** Settle a download job. Returns the number of batches credited, or -1 when it was not open. */
  settleDownload(jobId: string, outcome: CertificateSettlement): Promise<number> {
    return this.settleDownloads([{ jobId, outcome }]);
  }

  /**
   * Settle download jobs in one script: the certificates a discover job downloaded itself. Returns
   * the number of batch credits, or -1 when none of them was open.
   */
  async settleDownloads(
    settlements: readonly { jobId: string; outcome: CertificateSettlement }[],
  ): Promise<number> {
    if (settlements.length === 0) return 0;
    const args: string[] = [new Date().toISOString()];
    for (const { jobId, outcome } of settlements) {
      const [code, reason] = outcome.status === 'failed' ? [outcome.code, outcome.reason] : ['', ''];
      args.push(jobId, outcome.status, code, reason, settlementJson(outcome));
    }
    return this.#finished(await this.#run(SETTLE_DOWNLOAD, args));
  }

  /**
   * Settle a discover job (a user, several, or the enumeration of all users) that ended as a
   * whole. Returns how many users it ended (a users job: those it still held), -1 when it was not
   * open.
   */
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
   * Settle open jobs that ended (or vanished) without being settled, from BullMQ's own record
   * (see `Reconciler`). Returns how many it settled.
   */
  reconcile(
    queues: { discover: Queue; download: Queue },
    options: { minAgeMs: number; limit?: number },
  ): Promise<number> {
    return this.#reconciler.run(queues, options);
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

  /** Settle a removed job by id (it has no BullMQ record any more). */
  async settleRemoved(kind: JobKind, jobId: string): Promise<number> {
    const failure = { code: 'JOB_REMOVED', reason: 'the job was removed from the queue before it finished' };
    return kind === 'download'
      ? this.settleDownload(jobId, { status: 'failed', ...failure })
      : this.settleDiscover(jobId, { status: 'failed', ...failure });
  }
}
