import type { RedisConnection } from '../util/redis-nodes.ts';
import { compareLmsIds, type CertificateResult, type CertificateResultRecord } from '../certificate/index.ts';
import { manifestRow, type ManifestRow } from '../report/manifest.ts';
import { COUNT_FIELDS, isDone, type BatchCounts, type BatchFailure } from './batch-counts.ts';
import { BATCH_TTL_SECONDS, batchKeys } from './batch-keys.ts';
import { batchState, type BatchState } from './batch-state.ts';
import { certificateResult, parseResultRecord } from './result-record.ts';

export interface BatchStatus extends BatchCounts {
  batchId: string;
  createdAt: string;
  by: string;
  /** Still enumerating the institution's users (`allUsers`). */
  enumerating: boolean;
  /** Nothing of it is left to run (every user and certificate settled, or cancelled). */
  done: boolean;
  /** What the batch's outcome is, from `batchState` (the one place it is decided). */
  state: BatchState;
  /** When `cancel` was asked for (ISO 8601). */
  cancelledAt?: string;
  /** The batch this one retries the failures of (`certharvest retry`). */
  retryOf?: string;
  /** The latest batch that retries this one's failures. */
  retriedBy?: string;
  /** Fetches every certificate again, even when stored (`submit --refresh`). */
  refresh?: boolean;
  /** When the batch was settled done (ISO 8601), as announced on the batch events stream. */
  finishedAt?: string;
  failures: BatchFailure[];
}

/** References refused per Redis transaction. */
const REJECT_CHUNK = 5000;

/**
 * A batch's record in Redis: created by `submitBatch`, read by `status`, `submit --wait` and the
 * board. Its counters are written only by `BatchAccounting`, from job outcomes.
 */
export class BatchTracker {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  #keys = (batchId: string) => batchKeys(this.prefix, batchId);

  /**
   * Create the batch record; false when the id is already taken. `client` is the API key's name
   * that submitted it (the batch API's `read:own` scope); absent for the CLI and schedules.
   */
  async create(
    batchId: string,
    init: { by: string; enumerating: boolean; client?: string; retryOf?: string; refresh?: boolean },
  ): Promise<boolean> {
    const { key, index } = this.#keys(batchId);
    const created = await this.redis.hsetnx(key, 'createdAt', new Date().toISOString());
    if (!created) return false;
    await this.redis
      .multi()
      .hset(key, {
        by: init.by,
        ...(init.client ? { client: init.client } : {}),
        ...(init.retryOf ? { retryOf: init.retryOf } : {}),
        ...(init.refresh ? { refresh: 1 } : {}),
        enumerating: init.enumerating ? 1 : 0,
        ...Object.fromEntries(COUNT_FIELDS.map((f) => [f, 0])),
      })
      .expire(key, BATCH_TTL_SECONDS)
      .zadd(index, Date.now(), batchId)
      .exec();
    return true;
  }

  /** The API client that submitted the batch: its name, '' when not through the API, null: no batch. */
  async submittedBy(batchId: string): Promise<string | null> {
    const [createdAt, client] = await this.redis.hmget(this.#keys(batchId).key, 'createdAt', 'client');
    return createdAt ? (client ?? '') : null;
  }

  async exists(batchId: string): Promise<boolean> {
    return (await this.redis.exists(this.#keys(batchId).key)) === 1;
  }

  /** Users refused at submission (malformed references): counted and failed at once. */
  async rejectUsers(
    batchId: string,
    rejected: readonly { ref: string; reason: string }[],
    by = 'userId',
  ): Promise<void> {
    const { key, failures, results, rows } = this.#keys(batchId);
    const at = new Date().toISOString();
    // In chunks: a batch may refuse 100,000 references, too many arguments for one command.
    for (let i = 0; i < rejected.length; i += REJECT_CHUNK) {
      const chunk = rejected.slice(i, i + REJECT_CHUNK);
      const fields = chunk.map((r) => `~u:${by} ${r.ref}`);
      await this.redis
        .multi()
        .hset(
          results,
          ...chunk.flatMap((r, k) => [
            fields[k]!,
            JSON.stringify({
              kind: 'user',
              status: 'failed',
              ref: r.ref,
              u: `${by}:${r.ref}`,
              code: 'USER_REF_MALFORMED',
              reason: r.reason,
            } satisfies CertificateResultRecord),
          ]),
        )
        .rpush(rows, ...fields)
        .expire(results, BATCH_TTL_SECONDS)
        .expire(rows, BATCH_TTL_SECONDS)
        .hincrby(key, 'usersTotal', chunk.length)
        .hincrby(key, 'usersFailed', chunk.length)
        .rpush(
          failures,
          ...chunk.map((r) =>
            JSON.stringify({ kind: 'user', ref: r.ref, code: 'USER_REF_MALFORMED', reason: r.reason, at }),
          ),
        )
        .expire(failures, BATCH_TTL_SECONDS)
        .exec();
    }
  }

  async status(batchId: string, maxFailures = 100): Promise<BatchStatus | null> {
    const { key, failures } = this.#keys(batchId);
    const [hash, list] = await Promise.all([
      this.redis.hgetall(key),
      // Never LRANGE 0..-1 for "none": that is the whole list.
      maxFailures > 0 ? this.redis.lrange(failures, 0, maxFailures - 1) : Promise.resolve([]),
    ]);
    if (!hash.createdAt) return null;
    const counts = Object.fromEntries(
      COUNT_FIELDS.map((f) => [f, Number(hash[f] ?? 0)]),
    ) as unknown as BatchCounts;
    const enumerating = hash.enumerating === '1';
    const done = isDone(counts, enumerating);
    return {
      batchId,
      createdAt: hash.createdAt,
      by: hash.by ?? 'userId',
      enumerating,
      ...counts,
      done,
      state: batchState({ ...counts, done, cancelledAt: hash.cancelledAt }),
      ...(hash.doneAt ? { finishedAt: hash.doneAt } : {}),
      ...(hash.cancelledAt ? { cancelledAt: hash.cancelledAt } : {}),
      ...(hash.retryOf ? { retryOf: hash.retryOf } : {}),
      ...(hash.retriedBy ? { retriedBy: hash.retriedBy } : {}),
      ...(hash.refresh === '1' ? { refresh: true } : {}),
      failures: list.map((f) => JSON.parse(f) as BatchFailure),
    };
  }

  /**
   * A page of the batch's manifest, in the order its rows arrived (a certificate when its batch
   * found it, a user when it failed), with how many rows it has in all; null for an unknown batch.
   * Pages are stable: rows are only ever added at the end.
   */
  async manifest(
    batchId: string,
    offset = 0,
    limit = 1000,
  ): Promise<{ total: number; rows: ManifestRow[] } | null> {
    const { results, rows } = this.#keys(batchId);
    const page = await this.#listPage(batchId, rows, offset, limit);
    if (!page) return null;
    const fields = page.items;
    const records = fields.length > 0 ? await this.redis.hmget(results, ...fields) : [];
    const out: ManifestRow[] = [];
    fields.forEach((field, i) => {
      const record = records[i] ? parseResultRecord(records[i]) : null;
      if (record) out.push(manifestRow(field, record));
    });
    return { total: page.total, rows: out };
  }

  /** Every row of the batch's manifest, page by page (`pageSize` rows per Redis read). */
  async *manifestPages(batchId: string, pageSize = 1000): AsyncGenerator<ManifestRow[]> {
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.manifest(batchId, offset, pageSize);
      if (!page || page.rows.length === 0) return;
      yield page.rows;
      if (offset + pageSize >= page.total) return;
    }
  }

  /**
   * What the batch recorded per certificate: its outcome and, once on disk, where (the worker's
   * path) with its sha256. Read in pages (HSCAN), so a batch of 100,000 certificates is fine.
   */
  async results(batchId: string): Promise<CertificateResult[]> {
    const key = this.#keys(batchId).results;
    const out: CertificateResult[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        // `~u:`/`~r:` rows are users and unusable awards: the manifest has them, not this list.
        if (flat[i]!.startsWith('~')) continue;
        const record = parseResultRecord(flat[i + 1]!);
        if (record) out.push(certificateResult(flat[i]!, record));
      }
    } while (cursor !== '0');
    return out.sort(
      (a, b) =>
        compareLmsIds(a.userId, b.userId) ||
        compareLmsIds(a.orgUnitId, b.orgUnitId) ||
        compareLmsIds(a.issuedId, b.issuedId),
    );
  }

  /** The most recent batches, newest first. */
  async recent(limit = 20): Promise<BatchStatus[]> {
    const ids = await this.redis.zrevrange(`${this.prefix}:batches`, 0, limit - 1);
    const all = await Promise.all(ids.map((id) => this.status(id, 5)));
    return all.filter((s): s is BatchStatus => s !== null);
  }

  /**
   * A page of a batch's failures, oldest first (the list only grows, so pages are stable), with
   * how many it has in all; null for an unknown batch. `limit` 0 reads the total alone.
   */
  async failures(
    batchId: string,
    offset = 0,
    limit = 1000,
  ): Promise<{ total: number; failures: BatchFailure[] } | null> {
    const page = await this.#listPage(batchId, this.#keys(batchId).failures, offset, limit);
    return page && { total: page.total, failures: page.items.map((f) => JSON.parse(f) as BatchFailure) };
  }

  /**
   * A page of one of the batch's lists (they only grow, so pages are stable) with its length;
   * null for an unknown batch. `limit` 0 reads the length alone.
   */
  async #listPage(
    batchId: string,
    list: string,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: string[] } | null> {
    const start = Math.max(0, Math.floor(offset));
    const count = Math.max(0, Math.floor(limit));
    const [created, total, items] = await Promise.all([
      this.redis.hexists(this.#keys(batchId).key, 'createdAt'),
      this.redis.llen(list),
      // Never LRANGE start..start-1: with start 0 that is -1, the whole list.
      count > 0 ? this.redis.lrange(list, start, start + count - 1) : Promise.resolve([]),
    ]);
    return created ? { total, items } : null;
  }
}
