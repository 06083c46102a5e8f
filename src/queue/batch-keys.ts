/** Batches (and their accounting keys) are kept this long after their last change. */
export const BATCH_TTL_SECONDS = 30 * 24 * 3600;

/** Where a batch lives in Redis. */
export const batchKeys = (prefix: string, batchId: string) => {
  const key = `${prefix}:batch:${batchId}`;
  return { key, failures: `${key}:failures`, index: `${prefix}:batches` };
};
