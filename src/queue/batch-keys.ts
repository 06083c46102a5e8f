/** Batches (and their accounting keys) are kept this long after their last change. */
export const BATCH_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The key every batch-accounting script declares (KEYS[1]), though it builds the keys it touches
 * from ARGV (the prefix, batch ids, job ids): a Redis Cluster runs a script on the node of its
 * declared keys, and with a hash-tagged prefix every key of the fleet is in that key's slot.
 * Without one, the cluster would run the script on any node ("non local key").
 */
export const accountingSlotKey = (prefix: string): string => `${prefix}:acct:seq`;

/** Where a batch lives in Redis. */
export const batchKeys = (prefix: string, batchId: string) => {
  const key = `${prefix}:batch:${batchId}`;
  return {
    key,
    failures: `${key}:failures`,
    results: `${key}:results`,
    /** The manifest's row order: the results' fields, as they arrived. */
    rows: `${key}:rows`,
    index: `${prefix}:batches`,
  };
};

/** The suffix of the stream a finished batch is announced on (`<prefix>:batch-events`). */
export const BATCH_EVENTS_SUFFIX = 'batch-events';

/**
 * The fleet's batch events: one entry `event=batch.done batchId=… at=… certsStored=… …` per
 * finished batch, for producers in any language (`XREAD BLOCK 0 STREAMS <key> $`).
 */
export const batchEventsKey = (prefix: string): string => `${prefix}:${BATCH_EVENTS_SUFFIX}`;

/** Entries kept in the batch events stream (trimmed approximately). */
export const BATCH_EVENTS_MAX_LEN = 10_000;

/**
 * `c.<host>.<orgUnitId>-<issuedId>`: the safe stem of a certificate's download job ids. The ids
 * come from the key, already encoded as in file names (`a`-`z`, digits, `_`, `.`, `~XX`), so the
 * stem never holds the `:` BullMQ refuses in a job id.
 */
export function downloadJobIdBase(certKey: string): string {
  const [ou, issued] = certKey.split(':').slice(-2);
  const host = certKey.split(':').slice(0, -2).join(':');
  return `c.${host.replace(/[^A-Za-z0-9.-]/g, '_')}.${ou}-${issued}`;
}
