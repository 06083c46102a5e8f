import type { ServerResponse } from 'node:http';
import type { KnobBox, PdfContentType, RenderThrottleStatus, TruncateStyle } from './knobs.ts';
import { SeededRandom } from './random.ts';
import type { SandboxStats } from './stats.ts';

export type InjectedStatus = 500 | 502 | 503;
const INJECTED: readonly InjectedStatus[] = [500, 502, 503];

/**
 * Rolls the dice for the fault knobs. Seeded, so a sequential test sees the same faults on every
 * run; with concurrent requests the order (and so who gets hit) varies, the rates do not.
 */
export class FaultInjector {
  readonly #knobs: KnobBox;
  readonly #stats: SandboxStats;
  readonly #rng: SeededRandom;
  /** Render requests seen per IssuedId since `renderThrottleFirst` was last set. */
  readonly #renderCounts = new Map<number, number>();

  constructor(knobs: KnobBox, stats: SandboxStats, seed: number) {
    this.#knobs = knobs;
    this.#stats = stats;
    this.#rng = new SeededRandom(seed ^ 0x5eed_fa17);
    // "The first N" means the first N from now on, so a test can arm it on a shared sandbox.
    knobs.onChange((patch) => {
      if (patch.renderThrottleFirst !== undefined) this.#renderCounts.clear();
    });
  }

  /** A 5xx status to answer with instead of the real response, or undefined. */
  serverError(): InjectedStatus | undefined {
    const rate = this.#knobs.current.errorRate;
    if (rate <= 0 || this.#rng.next() >= rate) return undefined;
    this.#stats.injected5xx++;
    return this.#rng.pick(INJECTED);
  }

  /** Whether to answer this Valence request 429 regardless of the budget. */
  throttle(): boolean {
    const rate = this.#knobs.current.throttleRate;
    return rate > 0 && this.#rng.next() < rate;
  }

  /**
   * Whether to refuse this render request, which would otherwise get the certificate's PDF: the
   * status and Retry-After to answer with, or undefined to serve it.
   */
  renderThrottle(issuedId: number): { status: RenderThrottleStatus; retryAfterSeconds: number } | undefined {
    const { renderThrottleFirst, renderThrottleRate, renderThrottleStatus, retryAfterSeconds } =
      this.#knobs.current;
    const seen = (this.#renderCounts.get(issuedId) ?? 0) + 1;
    this.#renderCounts.set(issuedId, seen);
    const hit =
      seen <= renderThrottleFirst || (renderThrottleRate > 0 && this.#rng.next() < renderThrottleRate);
    if (!hit) return undefined;
    this.#stats.renderThrottled++;
    return { status: renderThrottleStatus, retryAfterSeconds };
  }

  /** How to cut this PDF response short, or undefined to send it whole. */
  truncation(): TruncateStyle | undefined {
    const { truncateRate, truncateStyle } = this.#knobs.current;
    if (truncateRate <= 0 || this.#rng.next() >= truncateRate) return undefined;
    this.#stats.truncated++;
    return truncateStyle;
  }
}

/**
 * Send a PDF, whole or cut to half its length (see `SandboxKnobs.truncateStyle` for the two ways).
 * Written on the raw response so the framing (Content-Length or not) and the Content-Type (or
 * none: Node adds none by itself) are exactly what we choose.
 */
export function sendPdf(
  res: ServerResponse,
  pdf: Uint8Array,
  filename: string,
  cut?: TruncateStyle,
  contentType: PdfContentType = 'application/pdf',
): void {
  res.statusCode = 200;
  if (contentType !== 'none') res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Disposition', `inline; filename="${filename}"`);
  res.setHeader('Cache-Control', 'private, no-store');
  if (cut === undefined) {
    res.setHeader('Content-Length', pdf.length);
    res.end(pdf);
    return;
  }
  const part = pdf.subarray(0, Math.floor(pdf.length / 2));
  if (cut === 'content-length') {
    res.setHeader('Content-Length', pdf.length);
    // Drop the connection once the first half has reached the socket, as a reset would.
    res.write(part, () => res.destroy());
    return;
  }
  // No Content-Length and no chunked framing: the body is "everything until the connection
  // closes" (HTTP/1.1 §6.3 rule 7), so the short body ends cleanly.
  res.removeHeader('Content-Length');
  res.removeHeader('Transfer-Encoding');
  res.setHeader('Connection', 'close');
  res.end(part);
}
