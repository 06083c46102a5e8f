import { Agent, request, type Dispatcher } from 'undici';

/** Response headers read like `Headers` (a repeated header joined with `, `). */
export interface HeaderReader {
  get(name: string): string | null;
  /** Every `Set-Cookie` line, in order. */
  getSetCookie(): string[];
}

/** One HTTP answer whose body has not been read yet: read it (see body.ts) or `discard()` it. */
export interface HttpAnswer {
  readonly status: number;
  /** 2xx. */
  readonly ok: boolean;
  /** The URL that answered (redirects are never followed by the transport). */
  readonly url: URL;
  readonly headers: HeaderReader;
  /** The body's chunks, once; `return()` stops it. */
  readonly body: AsyncIterator<Uint8Array>;
  /** Drop the rest of the body (the connection is not reused when it was still sending). */
  discard(): Promise<void>;
}

export interface HttpRequest {
  /** Default GET. */
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Covers the whole exchange, body included; `timedOut()` tells it when it fires. */
  signal: AbortSignal;
  /** Time until the response headers arrive. Default: only the signal's limit. */
  headersTimeoutMs?: number;
}

/**
 * Sends one request and never follows a redirect: everything certharvest sends to an LMS or a
 * receiver goes through one of these. Throws the transport's own error when nothing answered.
 */
export type HttpTransport = (url: URL, init: HttpRequest) => Promise<HttpAnswer>;

/**
 * One keep-alive pool per process for every request to the LMS (API calls, downloads, pages).
 * undici's `request` rather than `fetch`: the same client without the WHATWG layers, about half
 * the CPU per request (0.2–0.4 ms against 0.45–0.6 ms for a 3 KB body), and certificates are
 * the hot path.
 */
const pool = new Agent({ connections: 64, keepAliveTimeout: 30_000 });

/** The transport on undici's `request` (through `dispatcher`, default the process's pool). */
export function undiciTransport(dispatcher: Dispatcher = pool): HttpTransport {
  return async (url, init) => {
    const response = await request(url, {
      method: init.method ?? 'GET',
      ...(init.headers ? { headers: init.headers } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: init.signal,
      ...(init.headersTimeoutMs !== undefined ? { headersTimeout: init.headersTimeoutMs } : {}),
      dispatcher,
    });
    const headers = response.headers;
    const value = (name: string) => headers[name.toLowerCase()];
    return {
      status: response.statusCode,
      ok: response.statusCode >= 200 && response.statusCode < 300,
      url,
      headers: {
        get(name) {
          const v = value(name);
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        },
        getSetCookie() {
          const v = value('set-cookie');
          return v === undefined ? [] : Array.isArray(v) ? v : [v];
        },
      },
      body: response.body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
      discard: async () => {
        // undici's body reports a destroy before its end as an 'error' event: nobody wants it.
        response.body.on('error', () => undefined);
        response.body.destroy();
      },
    };
  };
}

/** A fetch-compatible function as a transport (tests script an LMS this way). */
export function fetchTransport(doFetch: typeof fetch): HttpTransport {
  return async (url, init) => {
    const response = await doFetch(url, {
      method: init.method ?? 'GET',
      ...(init.headers ? { headers: init.headers } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
      redirect: 'manual',
      signal: init.signal,
    });
    const reader = response.body?.getReader();
    return {
      status: response.status,
      ok: response.ok,
      url,
      headers: response.headers,
      body: reader
        ? {
            next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
            async return() {
              await reader.cancel().catch(() => undefined);
              return { done: true, value: undefined };
            },
          }
        : { next: async () => ({ done: true, value: undefined }) },
      discard: async () => {
        await reader?.cancel().catch(() => undefined);
      },
    };
  };
}

/** The transport a caller asked for: a given fetch (tests), a dispatcher, or the process's pool. */
export function chooseTransport(options: { fetch?: typeof fetch; dispatcher?: Dispatcher }): HttpTransport {
  return options.fetch ? fetchTransport(options.fetch) : undiciTransport(options.dispatcher);
}
