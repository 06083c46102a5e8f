import { CertharvestError } from '../errors/index.ts';
import type { HttpAnswer, HttpRequest, HttpTransport } from './transport.ts';

/** Nothing answered: the connection failed, or the time ran out. The caller names it in its terms. */
export class HttpExchangeError extends CertharvestError {
  readonly retryable = true;
  /** What went wrong, short: `timed out`, `connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)`. */
  readonly detail: string;
  readonly url: URL;

  constructor(url: URL, detail: string, options?: { cause?: unknown }) {
    // The URL stays out of the message: a path may carry a secret (a webhook's token).
    super('HTTP_EXCHANGE_FAILED', `the request got no answer: ${detail}`, options);
    this.url = url;
    this.detail = detail;
  }
}

export interface ExchangeOptions extends Omit<HttpRequest, 'signal'> {
  /** The whole exchange, body included. */
  timeoutMs: number;
}

/** An answer together with the signal that bounds reading its body. */
export interface TimedAnswer extends HttpAnswer {
  /** Aborted when the exchange's time is up (a body read after that fails). */
  readonly signal: AbortSignal;
}

/**
 * One request through `transport` under one time limit, never following a redirect.
 * @throws HttpExchangeError when nothing answered in time.
 */
export async function exchange(
  transport: HttpTransport,
  url: URL,
  options: ExchangeOptions,
): Promise<TimedAnswer> {
  const { timeoutMs, ...request } = options;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const answer = await transport(url, { ...request, signal });
    return Object.assign(answer, { signal });
  } catch (cause) {
    throw new HttpExchangeError(url, describeHttpError(cause, signal), { cause });
  }
}

/** A failed request or body read in a few words: `timed out`, or the message and its code. */
export function describeHttpError(cause: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) return 'timed out';
  if (cause instanceof HttpExchangeError) return cause.detail;
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError') return 'timed out';
    const inner = (cause as { cause?: unknown }).cause;
    const own = (cause as { code?: unknown }).code;
    const code =
      inner && typeof inner === 'object' && 'code' in inner
        ? String(inner.code)
        : typeof own === 'string'
          ? own
          : undefined;
    return code && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
