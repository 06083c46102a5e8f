/** BullMQ key prefix: every certharvest key in Redis starts with it. */
export const DEFAULT_QUEUE_PREFIX = 'certharvest';

/** One job per user reference: resolve the user, page through awards, queue downloads. */
export const DISCOVER_QUEUE = 'discover';
/** One job per certificate: fetch, validate, store. */
export const DOWNLOAD_QUEUE = 'download';

/**
 * Fleet housekeeping on a schedule (the token keep-alive): one job per tick for the whole fleet.
 * Not paused by the breaker, so a paused fleet keeps its credentials alive.
 */
export const MAINTENANCE_QUEUE = 'maintenance';

/**
 * Recurring batches (`certharvest schedule`): one BullMQ job scheduler per schedule, one job per
 * firing for the whole fleet, which submits that firing's batch. Not paused by the breaker.
 */
export const SCHEDULES_QUEUE = 'schedules';

export const QUEUE_NAMES = [DISCOVER_QUEUE, DOWNLOAD_QUEUE] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
