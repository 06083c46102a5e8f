/**
 * The HTTP core tells its observer about every request it sends (retries and renewals included):
 * the route as a bounded kind, never an id, the outcome and the time.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/index.ts';
import { LmsHttpClient, type LmsRequestOutcome } from '../../src/lms/index.ts';
import { routeKind } from '../../src/lms/http-client.ts';

const logger = createLogger({ level: 'silent' });
const tokens = { getAccessToken: async () => 'token', invalidate: () => {} };

/** A client whose fetch answers the given statuses in turn (`network`: throws). */
function clientAnswering(answers: (number | 'network')[]) {
  const heard: { route: string; outcome: LmsRequestOutcome; seconds: number }[] = [];
  const fetch = (async () => {
    const next = answers.shift();
    if (next === 'network' || next === undefined) throw new TypeError('fetch failed');
    return new Response(next === 200 ? '{}' : '', {
      status: next,
      headers: next === 429 ? { 'retry-after': '0' } : {},
    });
  }) as typeof globalThis.fetch;
  const http = new LmsHttpClient({
    baseUrl: 'https://lms.example',
    tokens,
    logger,
    fetch,
    observe: (route, outcome, seconds) => heard.push({ route, outcome, seconds }),
  });
  return { http, heard };
}

describe('LmsHttpClient observer', () => {
  it('hears each request with its route kind and outcome, retries included', async () => {
    const { http, heard } = clientAnswering([429, 401, 503, 200]);
    const res = await http.get(new URL('https://lms.example/api/bas/1.0/issued/users/123456/'), 'GET awards');
    expect(res.status).toBe(200);
    expect(heard.map((h) => [h.route, h.outcome])).toEqual([
      ['awards', 'throttled'],
      ['awards', 'unauthorized'],
      ['awards', 'server-error'],
      ['awards', 'ok'],
    ]);
    for (const h of heard) expect(h.seconds).toBeGreaterThanOrEqual(0);
  });

  it('counts a request without an answer as network, and a 404 as client-error', async () => {
    const { http, heard } = clientAnswering(['network', 404]);
    const res = await http.get(new URL('https://lms.example/api/lp/1.0/users/42'), 'GET user');
    expect(res.status).toBe(404);
    expect(heard.map((h) => h.outcome)).toEqual(['network', 'client-error']);
    expect(heard.every((h) => h.route === 'users')).toBe(true);
  });

  it('an observer that throws never fails the request', async () => {
    const http = new LmsHttpClient({
      baseUrl: 'https://lms.example',
      tokens,
      logger,
      fetch: (async () => new Response('{}', { status: 200 })) as typeof fetch,
      observe: () => {
        throw new Error('metrics broke');
      },
    });
    expect((await http.get(new URL('https://lms.example/x'), 'GET x')).status).toBe(200);
  });
});

describe('routeKind', () => {
  it('maps paths to a bounded kind, never an id', () => {
    expect(routeKind('/api/bas/1.2/issued/certificates/77/pdf')).toBe('pdf');
    expect(routeKind('/api/bas/1.2/issued/users/77/')).toBe('awards');
    expect(routeKind('/learn/api/public/v1/users/_3_1/courses')).toBe('courses');
    expect(routeKind('/learn/api/public/v1/courses/_9_1')).toBe('courses');
    expect(routeKind('/learn/api/public/v1/users/userName:ann')).toBe('users');
    expect(routeKind('/api/lp/1.53/users/whoami')).toBe('users');
    expect(routeKind('/api/versions/')).toBe('versions');
    expect(routeKind('/some/thing/else/123')).toBe('other');
  });
});
