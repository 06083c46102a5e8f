/**
 * Rate and ETA for a progress display: how many items per second over a sliding window, and how
 * long the rest will take at that pace. Pure arithmetic on samples; the clock is injected so the
 * figures are testable without waiting.
 */

interface Sample {
  /** ms, from the clock. */
  at: number;
  /** Items done at that moment (a running total). */
  done: number;
}

export interface RateMeterOptions {
  /** The rate is measured over about this long (ms). Default 10 s. */
  windowMs?: number;
  /** No rate until the samples span at least this long (ms): two samples 1 ms apart say nothing. Default 1 s. */
  minSpanMs?: number;
  /** The clock (ms). Default `Date.now`. */
  now?: () => number;
}

const RATE_METER_DEFAULTS: Required<RateMeterOptions> = {
  windowMs: 10_000,
  minSpanMs: 1_000,
  now: () => Date.now(),
};

/** Items per second, smoothed over the last `windowMs`. */
export class RateMeter {
  readonly #options: Required<RateMeterOptions>;
  #samples: Sample[] = [];

  constructor(options: RateMeterOptions = {}) {
    this.#options = { ...RATE_METER_DEFAULTS, ...options };
  }

  /** Note the running total now. */
  record(done: number): void {
    const at = this.#options.now();
    this.#samples.push({ at, done });
    // Keep the newest sample at or before the window's start as the anchor, so the rate covers
    // the whole window (not a fraction of it) once there is that much history.
    const start = at - this.#options.windowMs;
    while (this.#samples.length > 2 && this.#samples[1]!.at <= start) this.#samples.shift();
  }

  /** Items per second over the window; null while there is too little history to tell. */
  rate(): number | null {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last) return null;
    const span = last.at - first.at;
    if (span < this.#options.minSpanMs) return null;
    return Math.max(0, last.done - first.done) / (span / 1000);
  }
}

/**
 * Seconds until `remaining` items are done at `rate` items/s; null when that cannot be told
 * (remaining unknown, no rate yet, or nothing moving).
 */
export function etaSeconds(remaining: number | null, rate: number | null): number | null {
  if (remaining === null) return null;
  if (remaining <= 0) return 0;
  if (rate === null || !(rate > 0)) return null;
  return remaining / rate;
}

/** "—" (unknown), "42s", "5m 07s", "2h 05m"; at least 100 hours reads ">99h". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h > 99) return '>99h';
  return `${h}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Items per second, short: "—", "0.4", "12", "1234", "12.3k". */
export function formatRate(rate: number | null): string {
  if (rate === null || !Number.isFinite(rate) || rate < 0) return '—';
  if (rate < 10) return rate.toFixed(1);
  if (rate < 10_000) return String(Math.round(rate));
  return `${(rate / 1000).toFixed(1)}k`;
}
