import { readFirstChunks } from './body.ts';
import { exchange } from './exchange.ts';
import { chooseTransport, type HeaderReader } from './transport.ts';

export interface PostOnceOptions {
  headers: Record<string, string>;
  body: string;
  /** The whole exchange, the answer's body included. Default 10 000 ms. */
  timeoutMs?: number;
  /** The most of the answer's body kept; the rest is never read. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Default: the process's undici pool. */
  fetch?: typeof fetch;
}

export interface PostAnswer {
  status: number;
  headers: HeaderReader;
  /** The answer's body as text, cut at `maxResponseBytes`. */
  text: string;
}

/**
 * One POST (a webhook's delivery): a redirect is an answer, never followed; the answer's body is
 * read up to a limit; one time limit covers it all.
 * @throws HttpExchangeError when nothing answered in time (the message quotes no URL).
 */
export async function postOnce(url: string | URL, options: PostOnceOptions): Promise<PostAnswer> {
  const target = new URL(url);
  const answer = await exchange(chooseTransport(options), target, {
    method: 'POST',
    headers: options.headers,
    body: options.body,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const max = options.maxResponseBytes ?? 64 * 1024;
  // The status is the answer; a body that breaks off (or runs on) changes nothing.
  const chunks = await readFirstChunks(answer, max, (cause) => cause as Error).catch(() => []);
  await answer.discard();
  const text = Buffer.concat(chunks).subarray(0, max).toString('utf8');
  return { status: answer.status, headers: answer.headers, text };
}
