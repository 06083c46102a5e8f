import type { RedisConnection } from '../../util/redis-nodes.ts';
import type { Logger } from '../../log/index.ts';
import type { CertharvestQueues } from '../../queue/index.ts';

export interface BatchPagesOptions {
  queues: CertharvestQueues;
  redis: RedisConnection;
  /** QUEUE_PREFIX. */
  prefix: string;
  logger: Logger;
  /** No Cancel or Retry buttons; their POST routes answer 403. */
  readOnly: boolean;
  /** BOARD_ENV_LABEL and its colour, shown in the pages' top bar as in Bull Board's header. */
  env?: { label: string; color: string };
  /** Batches on the list page. Default 50. */
  listLimit?: number;
}

/** Failures listed on a batch's page; the manifest CSV has every one. */
export const FAILURES_SHOWN = 200;
/** Seconds between reloads of a page that shows a running batch. */
export const REFRESH_SECONDS = 5;
