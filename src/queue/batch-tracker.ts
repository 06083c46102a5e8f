import type { Redis } from 'ioredis';

/** Counters of one batch, as shown by `certharvest status` and `submit --wait`. */
export interface BatchCounts {
  usersTotal: number;
  usersDone: number;
  usersFailed: number;
  certsFound: number;
  certsStored: number;
  /** Already on disk with the same bytes: nothing downloaded. */
  certsSkipped: number;
  certsFailed: number;
  badgesIgnored: number;
}

export interface BatchFailure {
  kind: 'user' | 'certificate';
  /** The user reference or `<orgUnitId>-<issuedId>`. */
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
  'certsSkipped',
  'certsFailed',
  'badgesIgnored',
];

/** Batches are kept this long after their last change. */
const BATCH_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Batch progress in Redis, updated atomically by the processors. A certificate found by several
 * batches while its download is in flight is downloaded once: each batch adds itself to the
 * certificate's waiting set, and the download's outcome is credited to every batch in that set.
 */
export class BatchTracker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #key = (batchId: string) => `${this.prefix}:batch:${batchId}`;
  #failuresKey = (batchId: string) => `${this.prefix}:batch:${batchId}:failures`;
  #waitingKey = (certKey: string) => `${this.prefix}:cert-waiting:${certKey}`;
  #indexKey = () => `${this.prefix}:batches`;

  /** Create the batch record; false when the id is already taken. */
  async create(
    batchId: string,
    init: { by: string; usersTotal: number; enumerating: boolean },
  ): Promise<boolean> {
    const key = this.#key(batchId);
    const created = await this.redis.hsetnx(key, 'createdAt', new Date().toISOString());
    if (!created) return false;
    await this.redis
      .multi()
      .hset(key, {
        by: init.by,
        usersTotal: init.usersTotal,
        enumerating: init.enumerating ? 1 : 0,
        ...Object.fromEntries(COUNT_FIELDS.filter((f) => f !== 'usersTotal').map((f) => [f, 0])),
      })
      .expire(key, BATCH_TTL_SECONDS)
      .zadd(this.#indexKey(), Date.now(), batchId)
      .exec();
    return true;
  }

  async exists(batchId: string): Promise<boolean> {
    return (await this.redis.exists(this.#key(batchId))) === 1;
  }

  /** More users found while enumerating the institution. */
  async addUsers(batchId: string, count: number): Promise<void> {
    await this.redis.hincrby(this.#key(batchId), 'usersTotal', count);
  }

  async enumerationDone(batchId: string): Promise<void> {
    await this.redis.hset(this.#key(batchId), 'enumerating', 0);
  }

  /** A user's awards were listed: its certificates are counted and the user is done. */
  async userDiscovered(
    batchId: string,
    found: { certificates: number; alreadyPresent: number; badges: number },
  ): Promise<void> {
    const key = this.#key(batchId);
    await this.redis
      .multi()
      .hincrby(key, 'certsFound', found.certificates)
      .hincrby(key, 'certsSkipped', found.alreadyPresent)
      .hincrby(key, 'badgesIgnored', found.badges)
      .hincrby(key, 'usersDone', 1)
      .expire(key, BATCH_TTL_SECONDS)
      .exec();
  }

  async userFailed(batchId: string, ref: string, code: string, reason: string): Promise<void> {
    await this.#fail(batchId, 'usersFailed', {
      kind: 'user',
      ref,
      code,
      reason,
      at: new Date().toISOString(),
    });
  }

  /** An award that cannot become a download (hostile or malformed data): counted as a failed certificate. */
  async certificateRejected(batchId: string, ref: string, code: string, reason: string): Promise<void> {
    const key = this.#key(batchId);
    await this.redis.hincrby(key, 'certsFound', 1);
    await this.#fail(batchId, 'certsFailed', {
      kind: 'certificate',
      ref,
      code,
      reason,
      at: new Date().toISOString(),
    });
  }

  /** Register the batch as waiting for a certificate's download (call before queueing it). */
  async awaitCertificate(batchId: string, certKey: string): Promise<void> {
    await this.redis
      .multi()
      .sadd(this.#waitingKey(certKey), batchId)
      .expire(this.#waitingKey(certKey), BATCH_TTL_SECONDS)
      .exec();
  }

  /** A download ended: credit every batch waiting for it. Returns the batches credited. */
  async certificateFinished(
    certKey: string,
    outcome:
      | { status: 'stored' | 'already-present' }
      | { status: 'failed'; ref: string; code: string; reason: string },
  ): Promise<string[]> {
    const waitingKey = this.#waitingKey(certKey);
    const result = await this.redis.multi().smembers(waitingKey).del(waitingKey).exec();
    const batches = (result?.[0]?.[1] as string[] | undefined) ?? [];
    for (const batchId of batches) {
      if (outcome.status === 'failed') {
        await this.#fail(batchId, 'certsFailed', {
          kind: 'certificate',
          ref: outcome.ref,
          code: outcome.code,
          reason: outcome.reason,
          at: new Date().toISOString(),
        });
      } else {
        await this.redis.hincrby(
          this.#key(batchId),
          outcome.status === 'stored' ? 'certsStored' : 'certsSkipped',
          1,
        );
      }
    }
    return batches;
  }

  async status(batchId: string, maxFailures = 100): Promise<BatchStatus | null> {
    const [hash, failures] = await Promise.all([
      this.redis.hgetall(this.#key(batchId)),
      this.redis.lrange(this.#failuresKey(batchId), 0, maxFailures - 1),
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
      failures: failures.map((f) => JSON.parse(f) as BatchFailure),
    };
  }

  /** The most recent batches, newest first. */
  async recent(limit = 20): Promise<BatchStatus[]> {
    const ids = await this.redis.zrevrange(this.#indexKey(), 0, limit - 1);
    const all = await Promise.all(ids.map((id) => this.status(id, 5)));
    return all.filter((s): s is BatchStatus => s !== null);
  }

  async #fail(batchId: string, counter: 'usersFailed' | 'certsFailed', failure: BatchFailure): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.#key(batchId), counter, 1)
      .rpush(this.#failuresKey(batchId), JSON.stringify(failure))
      .expire(this.#failuresKey(batchId), BATCH_TTL_SECONDS)
      .exec();
  }
}

export function isDone(c: BatchCounts, enumerating: boolean): boolean {
  return (
    !enumerating &&
    c.usersDone + c.usersFailed >= c.usersTotal &&
    c.certsStored + c.certsSkipped + c.certsFailed >= c.certsFound
  );
}
