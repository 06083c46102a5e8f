/**
 * The accounting's safety net: open jobs that ended without their event reaching a settle (a
 * worker killed between finishing and settling, a job removed from the board) are settled from
 * BullMQ's own record. Jobs still waiting or running are looked at again later, each time twice as
 * late, so a long backlog costs a few looks per job, not one every monitor round.
 */
import type { Job, Queue } from 'bullmq';
import type { RedisConnection } from '../util/redis-nodes.ts';
import type { CertificateSettlement } from '../certificate/index.ts';
import { parseOpenJob } from './accounting-scripts.ts';
import {
  discoverSettlement,
  downloadSettlement,
  failureOfEndedJob,
  userRefOf,
  type DiscoverSettlement,
} from './job-outcomes.ts';

export type JobKind = 'discover' | 'download';
export type AccountedQueues = { discover: Queue; download: Queue };

/** How the reconciler closes a job: the accounting's settles. */
export interface JobSettler {
  settleDownload(jobId: string, outcome: CertificateSettlement): Promise<number>;
  settleDiscover(jobId: string, outcome: DiscoverSettlement, userRef?: string): Promise<number>;
  settleRemoved(kind: JobKind, jobId: string): Promise<number>;
}

/** The longest a running job waits between two looks of the reconciler. */
const MAX_LOOK_BACKOFF_MS = 10 * 60_000;
/** A job opened without an opener job, yet absent from BullMQ this long, was never added or removed. */
const ORPHAN_AFTER_MS = 10 * 60_000;
/** BullMQ states of a job that may still run (and so may still add the jobs it opened). */
const MAY_STILL_RUN = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused'];

export class Reconciler {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly settler: JobSettler,
  ) {}

  /**
   * Settle open jobs that ended (or vanished) without being settled. Looks at most `limit` jobs per
   * queue not looked at for `minAgeMs`. Returns how many it settled.
   */
  async run(queues: AccountedQueues, options: { minAgeMs: number; limit?: number }): Promise<number> {
    let settled = 0;
    for (const kind of ['discover', 'download'] as const) {
      const now = Date.now();
      const flat = await this.redis.zrangebyscore(
        this.#openKey(kind),
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

  #openKey = (kind: JobKind) => `${this.prefix}:acct:open:${kind}`;

  /** Look at one open job; settle it when BullMQ says it ended (or it is gone for good). */
  async #look(kind: JobKind, id: string, queues: AccountedQueues, sinceLastLookMs: number) {
    const job = await queues[kind].getJob(id);
    const state = job ? await job.getState() : 'missing';
    if ((state === 'completed' || state === 'failed') && job) {
      return (await this.#settleEnded(kind, id, job, state === 'failed')) >= 0;
    }
    if ((state === 'missing' || state === 'unknown') && (await this.#goneForGood(kind, id, queues))) {
      return (await this.settler.settleRemoved(kind, id)) >= 0;
    }
    // Still queued or running: look again later.
    const later = Math.min(MAX_LOOK_BACKOFF_MS, Math.max(0, sinceLastLookMs));
    await this.redis.zadd(this.#openKey(kind), 'XX', Date.now() + later, id);
    return false;
  }

  /**
   * A job the accounting opened but BullMQ does not have: removed, or not added yet? Not yet while
   * the job that opens it (a discover or enumeration job) may still add it, or, without such a
   * job, for ORPHAN_AFTER_MS after it was opened (a submit in progress).
   */
  async #goneForGood(kind: JobKind, id: string, queues: AccountedQueues) {
    const raw = await this.redis.hget(`${this.prefix}:acct:${kind}`, id);
    if (!raw) return false; // settled meanwhile
    const info = parseOpenJob(raw);
    if (!info) return true; // not an entry of ours: nothing will ever settle it otherwise
    if (info.o) {
      const opener = await queues.discover.getJob(info.o);
      return !MAY_STILL_RUN.includes(opener ? await opener.getState() : 'missing');
    }
    return Date.now() - (info.t ?? 0) > ORPHAN_AFTER_MS;
  }

  /** Settle a job that ended, from its BullMQ record. */
  #settleEnded(kind: JobKind, id: string, job: Job, failed: boolean): Promise<number> {
    const failure = failed ? { status: 'failed' as const, ...failureOfEndedJob(job) } : null;
    return kind === 'download'
      ? this.settler.settleDownload(id, failure ?? downloadSettlement(job.returnvalue))
      : this.settler.settleDiscover(id, failure ?? discoverSettlement(job.returnvalue), userRefOf(job));
  }
}
