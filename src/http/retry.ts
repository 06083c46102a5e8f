/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or garbled. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait after a 429: the answer's `Retry-After`, else 1 s doubling with each attempt,
 * capped at `capMs`, plus a little jitter so the callers that waited for the same reset do not
 * return in one burst.
 */
export function throttledWaitMs(
  headers: { get(name: string): string | null },
  attempt: number,
  capMs: number,
): number {
  const given = parseRetryAfter(headers.get('retry-after'));
  const base = Math.min(given ?? 1000 * 2 ** Math.min(attempt, 6), capMs);
  return Math.round(base + Math.random() * Math.min(1000, base * 0.1));
}

/**
 * Brief retries in place of an idempotent request after a passing failure (a 5xx, a dropped
 * connection), before it costs the whole job an attempt: 250 ms, then 750 ms, … with jitter.
 */
export class InPlaceRetry {
  readonly #retries: number;
  readonly #onWait: ((error: Error, delayMs: number) => void) | undefined;
  #failures = 0;

  /** @param retries how many failures are waited out before the next one is thrown. */
  constructor(retries: number, onWait?: (error: Error, delayMs: number) => void) {
    this.#retries = retries;
    this.#onWait = onWait;
  }

  /** Wait before the next try, or throw `error` when the retries are spent. */
  async after(error: Error): Promise<void> {
    if (this.#failures >= this.#retries) throw error;
    const delay = 250 * 3 ** this.#failures * (0.75 + Math.random() / 2);
    this.#failures++;
    this.#onWait?.(error, Math.round(delay));
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
