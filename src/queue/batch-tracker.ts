import type { Redis } from 'ioredis';
import {
  compareLmsIds,
  type CertificateSource,
  type CertificateStatus,
  type LmsId,
} from '../certificate/index.ts';
import { decodeIdFromFileName } from '../storage/certificate-path.ts';
import type { BatchFailure, CertificateResultRecord, ManifestDescription } from './batch-accounting.ts';
import { manifestRow, type ManifestRow } from '../report/manifest.ts';
import { BATCH_TTL_SECONDS, batchKeys } from './batch-keys.ts';
import { batchState, type BatchState } from './batch-state.ts';

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
  /** Users whose discovery was removed from the queue by `cancel`. */
  usersCancelled: number;
  /** Certificates left undownloaded because the batch was cancelled. */
  certsCancelled: number;
}

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

const COUNT_FIELDS: readonly (keyof BatchCounts)[] = [
  'usersTotal',
  'usersDone',
  'usersFailed',
  'certsFound',
  'certsStored',
  'certsAlreadyStored',
  'certsFailed',
  'badgesIgnored',
  'usersCancelled',
  'certsCancelled',
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
    const { key, results, rows } = this.#keys(batchId);
    const start = Math.max(0, Math.floor(offset));
    const count = Math.max(0, Math.floor(limit));
    const [created, total, fields] = await Promise.all([
      this.redis.hexists(key, 'createdAt'),
      this.redis.llen(rows),
      count > 0 ? this.redis.lrange(rows, start, start + count - 1) : Promise.resolve([]),
    ]);
    if (!created) return null;
    const records = fields.length > 0 ? await this.redis.hmget(results, ...fields) : [];
    const out: ManifestRow[] = [];
    fields.forEach((field, i) => {
      const raw = records[i];
      if (raw) out.push(manifestRow(field, JSON.parse(raw) as CertificateResultRecord));
    });
    return { total, rows: out };
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
        const record = JSON.parse(flat[i + 1]!) as CertificateResultRecord;
        out.push(certificateResult(flat[i]!, record));
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
    const { key, failures } = this.#keys(batchId);
    const start = Math.max(0, Math.floor(offset));
    const count = Math.max(0, Math.floor(limit));
    const [created, total, list] = await Promise.all([
      this.redis.hexists(key, 'createdAt'),
      this.redis.llen(failures),
      // Never LRANGE start..start-1: with start 0 that is -1, the whole list.
      count > 0 ? this.redis.lrange(failures, start, start + count - 1) : Promise.resolve([]),
    ]);
    if (!created) return null;
    return { total, failures: list.map((f) => JSON.parse(f) as BatchFailure) };
  }
}

/** One certificate of a batch, as `waitForBatch` returns it. */
export interface CertificateResult {
  /** `<lmsHost>:<orgUnitId>:<issuedId>`, the ids as in file names (see `certificateKey`). */
  certKey: string;
  /** The ids as the LMS gives them (0 when a record cannot be read back). */
  userId: LmsId;
  orgUnitId: LmsId;
  issuedId: LmsId;
  /** `queued` while the batch runs; `cancelled` when the batch was cancelled before it ran. */
  status: CertificateStatus | 'queued' | 'cancelled';
  /** Where the worker stored the PDF (`OUTPUT_DIR/<userId>/<orgUnitId>-<issuedId>.pdf`). */
  path?: string;
  sha256?: string;
  bytes?: number;
  source?: CertificateSource;
  /** Why it failed. */
  code?: string;
  reason?: string;
}

function certificateResult(certKey: string, r: CertificateResultRecord): CertificateResult {
  // The ids as the batch recorded them when it found the certificate (its manifest description);
  // a record without one (written by an older version) has the key's ids and no user id.
  const d = descriptionOf(r.d);
  const [orgUnitId = 0, issuedId = 0] = d
    ? [d.orgUnitId, d.issuedId]
    : certKey
        .split(':')
        .slice(-2)
        .map((name) => decodeIdFromFileName(name) ?? 0);
  return {
    certKey,
    userId: d?.userId ?? 0,
    orgUnitId,
    issuedId,
    status: r.status,
    ...(r.path !== undefined ? { path: r.path } : {}),
    ...(r.sha256 !== undefined ? { sha256: r.sha256 } : {}),
    ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
    ...(r.source !== undefined ? { source: r.source } : {}),
    ...(r.code !== undefined ? { code: r.code } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

/** The manifest description a result record carries (JSON text), or null. */
function descriptionOf(text: string | undefined): ManifestDescription | null {
  if (!text) return null;
  try {
    const d = JSON.parse(text) as Partial<ManifestDescription> | null;
    return d && d.userId !== undefined && d.orgUnitId !== undefined && d.issuedId !== undefined
      ? (d as ManifestDescription)
      : null;
  } catch {
    return null;
  }
}

export function isDone(c: BatchCounts, enumerating: boolean): boolean {
  return (
    !enumerating &&
    c.usersDone + c.usersFailed + c.usersCancelled >= c.usersTotal &&
    c.certsStored + c.certsAlreadyStored + c.certsFailed + c.certsCancelled >= c.certsFound
  );
}
