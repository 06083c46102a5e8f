import type { Redis } from 'ioredis';
import {
  certificateRef,
  compareLmsIds,
  type CertificateSource,
  type CertificateStatus,
  type LmsId,
} from '../certificate/index.ts';
import { decodeIdFromFileName } from '../storage/certificate-path.ts';
import type { CertificateResultRecord } from './batch-accounting.ts';
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
  /** When the batch was settled done (ISO 8601), as announced on the batch events stream. */
  finishedAt?: string;
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

  /**
   * Create the batch record; false when the id is already taken. `client` is the API key's name
   * that submitted it (the batch API's `read:own` scope); absent for the CLI and schedules.
   */
  async create(
    batchId: string,
    init: { by: string; enumerating: boolean; client?: string },
  ): Promise<boolean> {
    const { key, index } = this.#keys(batchId);
    const created = await this.redis.hsetnx(key, 'createdAt', new Date().toISOString());
    if (!created) return false;
    await this.redis
      .multi()
      .hset(key, {
        by: init.by,
        ...(init.client ? { client: init.client } : {}),
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
      ...(hash.doneAt ? { finishedAt: hash.doneAt } : {}),
      failures: list.map((f) => JSON.parse(f) as BatchFailure),
    };
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
  status: CertificateStatus;
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
  const [orgUnitId = 0, issuedId = 0] = certKey
    .split(':')
    .slice(-2)
    .map((name) => decodeIdFromFileName(name) ?? 0);
  return {
    certKey,
    userId: userIdOf(r.ref, orgUnitId, issuedId),
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

/**
 * The user id in a certificate's ref, `<orgUnitId>-<issuedId> (user <userId>)`: the ids before it
 * are known (from the key), so any characters in them cannot be mistaken for the user's. A whole
 * number comes back as a number, as the LMS gave it.
 */
function userIdOf(ref: string, orgUnitId: LmsId, issuedId: LmsId): LmsId {
  const head = certificateRef({ orgUnitId, issuedId, userId: '' }).slice(0, -1);
  if (!ref.startsWith(head) || !ref.endsWith(')')) return 0;
  const text = ref.slice(head.length, -1);
  return /^[1-9]\d{0,15}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text || 0;
}

export function isDone(c: BatchCounts, enumerating: boolean): boolean {
  return (
    !enumerating &&
    c.usersDone + c.usersFailed >= c.usersTotal &&
    c.certsStored + c.certsAlreadyStored + c.certsFailed >= c.certsFound
  );
}
