import type { Redis } from 'ioredis';
import { BATCH_TTL_SECONDS, batchKeys } from './batch-keys.ts';

/** Counters of one batch, as shown by `certharvest status` and `submit --wait`. */
export interface BatchCounts {
  usersTotal: number;
  usersDone: number;
  usersFailed: number;
  certsFound: number;
  certsStored: number;
  /** Already on disk for this LMS with whole bytes: nothing downloaded. */
  certsAlreadyStored: number;
  certsFailed: number;
  badgesIgnored: number;
}

export interface BatchFailure {
  kind: 'user' | 'certificate';
  /** The user reference or `<orgUnitId>-<issuedId> (user <userId>)`. */
  ref: string;
  code: string;
  reason: string;
  at: string;
}

export interface BatchStatus extends BatchCounts {
  batchId: string;
  createdAt: string;
  by: string;
  /** Still enumerating the institution's users (`allUsers`). */
  enumerating: boolean;
  done: boolean;
  failures: BatchFailure[];
}

const COUNT_FIELDS: readonly (keyof BatchCounts)[] = [
  'usersTotal',
  'usersDone',
  'usersFailed',
  'certsFound',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
  'badgesIgnored',
];

/**
 * A batch's record in Redis: created by `submitBatch`, read by `status`, `submit --wait` and the
 * board. Its counters are written only by `BatchAccounting`, from job outcomes.
 */
export class BatchTracker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #keys = (batchId: string) => batchKeys(this.prefix, batchId);

  /** Create the batch record; false when the id is already taken. */
  async create(batchId: string, init: { by: string; enumerating: boolean }): Promise<boolean> {
    const { key, index } = this.#keys(batchId);
    const created = await this.redis.hsetnx(key, 'createdAt', new Date().toISOString());
    if (!created) return false;
    await this.redis
      .multi()
      .hset(key, {
        by: init.by,
        enumerating: init.enumerating ? 1 : 0,
        ...Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])),
      })
      .expire(key, BATCH_TTL_SECONDS)
      .zadd(index, Date.now(), batchId)
      .exec();
    return true;
  }

  async exists(batchId: string): Promise<boolean> {
    return (await this.redis.exists(this.#keys(batchId).key)) === 1;
  }

  /** Users refused at submission (malformed references): counted and failed at once. */
  async rejectUsers(batchId: string, rejected: readonly { ref: string; reason: string }[]): Promise<void> {
    if (rejected.length === 0) return;
    const { key, failures } = this.#keys(batchId);
    const at = new Date().toISOString();
    await this.redis
      .multi()
      .hincrby(key, 'usersTotal', rejected.length)
      .hincrby(key, 'usersFailed', rejected.length)
      .rpush(
        failures,
        ...rejected.map((r) =>
          JSON.stringify({ kind: 'user', ref: r.ref, code: 'USER_REF_MALFORMED', reason: r.reason, at }),
        ),
      )
      .expire(failures, BATCH_TTL_SECONDS)
      .exec();
  }

  async status(batchId: string, maxFailures = 100): Promise<BatchStatus | null> {
    const { key, failures } = this.#keys(batchId);
    const [hash, list] = await Promise.all([
      this.redis.hgetall(key),
      this.redis.lrange(failures, 0, maxFailures - 1),
    ]);
    if (!hash.createdAt) return null;
    const counts = Object.fromEntries(
      COUNT_FIELDS.map((f) => [f, Number(hash[f] ?? 0)]),
    ) as unknown as BatchCounts;
    const enumerating = hash.enumerating === '1';
    return {
      batchId,
      createdAt: hash.createdAt,
      by: hash.by ?? 'userId',
      enumerating,
      ...counts,
      done: isDone(counts, enumerating),
      failures: list.map((f) => JSON.parse(f) as BatchFailure),
    };
  }

  /** The most recent batches, newest first. */
  async recent(limit = 20): Promise<BatchStatus[]> {
    const ids = await this.redis.zrevrange(`${this.prefix}:batches`, 0, limit - 1);
    const all = await Promise.all(ids.map((id) => this.status(id, 5)));
    return all.filter((s): s is BatchStatus => s !== null);
  }
}

export function isDone(c: BatchCounts, enumerating: boolean): boolean {
  return (
    !enumerating &&
    c.usersDone + c.usersFailed >= c.usersTotal &&
    c.certsStored + c.certsAlreadyStored + c.certsFailed >= c.certsFound
  );
}
