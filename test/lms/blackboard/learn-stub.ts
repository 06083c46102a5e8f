/**
 * A small Learn REST + web stub for the unit tests of src/lms/blackboard (the contract is
 * .tmp/blackboard-spec.md): routes by `METHOD /path`, RestException 404 for the rest, and a quota
 * header set on every answer when asked.
 */
import type { ServerResponse } from 'node:http';
import { LearnClient, type LearnClientOptions } from '../../../src/lms/blackboard/index.ts';
import { captureLogger } from '../../helpers/index.ts';
import { sendJson, startStub, type SeenRequest, type StubServer } from '../stub-http.ts';

export type LearnRoute = (req: SeenRequest, url: URL, res: ServerResponse) => unknown;

export interface LearnStub extends StubServer {
  /** Headers added to every answer (e.g. X-Rate-Limit-*); change them between calls. */
  headers: Record<string, string>;
}

export async function startLearn(routes: Record<string, LearnRoute>): Promise<LearnStub> {
  const headers: Record<string, string> = {};
  const stub = await startStub(async (req, res) => {
    const url = new URL(req.url, 'http://stub');
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const route = routes[`${req.method} ${decodeURIComponent(url.pathname)}`] ?? routes[`${req.method} *`];
    if (route) {
      await route(req, url, res);
      return;
    }
    restError(res, 404, 'Not found', { developerMessage: `no route ${url.pathname}` });
  });
  return Object.assign(stub, { headers });
}

/** A Learn RestException answer. */
export function restError(
  res: ServerResponse,
  status: number,
  message: string,
  extra: { code?: string; developerMessage?: string; extraInfo?: string } = {},
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { status, message, ...extra }, headers);
}

/** A Learn user object. */
export const learnUser = (n: number | string, extra: Record<string, unknown> = {}) => ({
  id: typeof n === 'number' ? `_${n}_1` : n,
  uuid: `uuid-${n}`,
  externalId: `S${n}`,
  userName: `user${n}`,
  name: { given: 'Ada', family: `Lovelace${n}` },
  availability: { available: 'Yes' },
  ...extra,
});

/** A page of a Learn collection, paged by offset/limit like the sandbox. */
export function pageOf(
  items: unknown[],
  url: URL,
  pageSize: number,
): { results: unknown[]; paging?: unknown } {
  const offset = Number(url.searchParams.get('offset') ?? 0);
  const limit = Math.min(Number(url.searchParams.get('limit') ?? pageSize), pageSize);
  const results = items.slice(offset, offset + limit);
  if (offset + limit >= items.length) return { results };
  return { results, paging: { nextPage: `${url.pathname}?offset=${offset + limit}&limit=${limit}` } };
}

export class FakeTokens {
  #n = 1;
  invalidated: string[] = [];
  async getAccessToken(): Promise<string> {
    return `token-${this.#n}-secret`;
  }
  invalidate(token?: string): void {
    this.invalidated.push(token ?? '(none)');
    this.#n++;
  }
}

export function learnClient(
  server: StubServer,
  options: Partial<LearnClientOptions> = {},
): { client: LearnClient; tokens: FakeTokens; log: ReturnType<typeof captureLogger> } {
  const tokens = new FakeTokens();
  const log = captureLogger();
  return {
    client: new LearnClient({ baseUrl: server.origin, tokens, logger: log.logger, ...options }),
    tokens,
    log,
  };
}

export const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
