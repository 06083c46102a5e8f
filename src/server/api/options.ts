import type { RedisConnection } from '../../util/redis-nodes.ts';
import type { Secret } from '../../config/secret.ts';
import type { ApiScope } from '../../config/shape.ts';
import type { PauseRecord } from '../../fleet/index.ts';
import type { Logger } from '../../log/index.ts';
import type { BatchFilters, BatchTracker, CertharvestQueues } from '../../queue/index.ts';
import type { LoginThrottle } from '../basic-auth.ts';

/** A client of the API: the name goes to the logs, the key nowhere. */
export interface ApiKey {
  name: string;
  key: Secret;
  /** Default `submit` + `read:own` (DEFAULT_API_SCOPES). */
  scopes?: readonly ApiScope[];
}

/** Who sent a request: the key's name and what it may do. */
export interface ApiClient {
  name: string;
  scopes: readonly ApiScope[];
}

export interface BatchApiOptions {
  /** API_KEYS (at least one; without any, mount `disabledBatchApi()`). */
  apiKeys: readonly ApiKey[];
  queues: CertharvestQueues;
  redis: RedisConnection;
  /** QUEUE_PREFIX. */
  prefix: string;
  logger: Logger;
  /** Failed keys count against the client's address (shared with the board's login). */
  throttle?: LoginThrottle;
  /** The fleet's pause, when it is paused (shown with a batch's status). */
  pause?: () => Promise<PauseRecord | null>;
  /**
   * The filters this site cannot apply, each with the reason (the configured LMS's
   * `unsupportedFilters`); a batch asking for one is refused whole. Default: every filter applies.
   */
  unsupportedFilters?: (filters: BatchFilters) => string[];
  /** The configured LMS's own rule for user ids (`site.userIdRule`), as `certharvest submit` applies it. */
  userIdRule?: { test: RegExp; expected: string } | undefined;
}

/** What every route of the API works with. */
export interface ApiContext {
  options: BatchApiOptions;
  tracker: BatchTracker;
  log: Logger;
  /** What cancelling and retrying take. */
  control: { queues: CertharvestQueues; redis: RedisConnection; prefix: string };
}

/** The largest request body: 100,000 user references of up to ~40 characters fit. */
export const API_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
/** Failures shown with a batch's status; all of them are at `/failures`. */
export const STATUS_FAILURES = 20;
/** Failures read from Redis at a time while a failures answer streams. */
export const FAILURES_CHUNK = 5_000;
/** Manifest rows in a JSON page when `limit` is not given, and the most a page may ask for. */
export const CERTIFICATES_PAGE = 1_000;
export const CERTIFICATES_PAGE_MAX = 10_000;
/** Manifest rows read from Redis at a time while the CSV streams. */
export const CERTIFICATES_CHUNK = 2_000;
/** The largest body of `POST /api/batches/:id/retry` (`{"batchId": …}`). */
export const RETRY_BODY_LIMIT_BYTES = 4 * 1024;
