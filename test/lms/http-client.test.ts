import { afterEach, describe, expect, it } from 'vitest';
import {
  LmsRequestError,
  LmsUnavailableError,
  RateBudget,
  RateLimitedError,
  parseRetryAfter,
  readRateHeaders,
} from '../../src/lms/index.ts';
import { sendJson, startStub, type StubServer } from './stub-http.ts';
import { client, startValence } from './valence-stub.ts';

const WHOAMI = 'GET /d2l/api/lp/1.53/users/whoami';
const me = { Identifier: '1', FirstName: 'S', LastName: 'U', UniqueName: 'svc' };

describe('RateBudget', () => {
  it('waits for the reset once fewer than the reserve of requests would remain, counting those in flight', async () => {
    let now = 0;
    const budget = new RateBudget({ reserveRequests: 2, now: () => now });
    expect(budget.waitMs()).toBe(0);
    budget.update({ remaining: 50, resetSec: 30, cost: 10 });
    expect(budget.waitMs()).toBe(0); // 50 - 10 = 40 >= 20
    // Rule: go while remaining - (in flight + this one) * cost >= reserve * cost (20).
    const releases = [await budget.acquire(), await budget.acquire(), await budget.acquire()]; // 40, 30, 20 left after each
    expect(budget.waitMs()).toBe(30_000); // a fourth would leave 10
    releases.forEach((release) => release());
    expect(budget.waitMs()).toBe(0);
    budget.update({ remaining: 25, resetSec: 12 });
    expect(budget.waitMs()).toBe(12_000);
    now += 12_000;
    expect(budget.waitMs()).toBe(0); // the bucket refilled
    expect(budget.snapshot().remaining).toBeUndefined();
  });

  it('never waits longer than maxWaitMs for a reset, then tries again', () => {
    let now = 0;
    const budget = new RateBudget({ maxWaitMs: 5_000, now: () => now });
    budget.update({ remaining: 0, resetSec: 3600 });
    expect(budget.waitMs()).toBe(5_000);
    now += 5_000;
    expect(budget.waitMs()).toBe(0);
  });

  it('pauses everyone after a 429 and falls back to a short wait when no reset is given', () => {
    let now = 0;
    const budget = new RateBudget({ fallbackWaitMs: 700, now: () => now });
    budget.pause(1500);
    expect(budget.waitMs()).toBe(1500);
    now += 1500;
    expect(budget.waitMs()).toBe(0);
    budget.update({ remaining: 5 });
    expect(budget.waitMs()).toBe(700);
    now += 700;
    expect(budget.waitMs()).toBe(0);
  });

  it('reads the headers and Retry-After in both forms', () => {
    const h = new Headers({
      'X-Rate-Limit-Remaining': '49990',
      'X-Rate-Limit-Reset': '42',
      'X-Request-Cost': '10',
    });
    expect(readRateHeaders(h)).toEqual({ remaining: 49990, resetSec: 42, cost: 10 });
    expect(readRateHeaders(new Headers({ 'X-Rate-Limit-Remaining': 'lots' }))).toEqual({});
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('LmsHttpClient behaviour (through BrightspaceClient)', () => {
  let server: StubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('slows down before the budget is spent: low remaining → the next calls wait for the reset', async () => {
    let calls = 0;
    server = await startValence({
      [WHOAMI]: (_q, res) => {
        calls++;
        // First answer: 25 credits left, reset in 1 s. Later answers: plenty.
        const remaining = calls === 1 ? '25' : '49000';
        sendJson(res, 200, me, {
          'X-Rate-Limit-Remaining': remaining,
          'X-Rate-Limit-Reset': '1',
          'X-Request-Cost': '10',
        });
      },
    });
    const { client: c } = client(server);
    await c.negotiateVersions();
    await c.whoami();
    const started = Date.now();
    await Promise.all([c.whoami(), c.whoami(), c.whoami()]);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(10_000);
    const quick = Date.now();
    await c.whoami();
    expect(Date.now() - quick).toBeLessThan(1500);
  });

  it('waits out a 429 (Retry-After) in place and holds other calls meanwhile', async () => {
    const arrivals: number[] = [];
    server = await startValence({
      [WHOAMI]: (_q, res) => {
        arrivals.push(Date.now());
        if (arrivals.length === 1) {
          res.writeHead(429, { 'Retry-After': '1' });
          return void res.end();
        }
        sendJson(res, 200, me);
      },
    });
    const { client: c } = client(server);
    await c.negotiateVersions();
    const started = Date.now();
    const first = c.whoami();
    await new Promise((r) => setTimeout(r, 100));
    const second = c.whoami();
    expect((await first).userId).toBe(1);
    expect((await second).userId).toBe(1);
    expect(arrivals).toHaveLength(3);
    expect(arrivals[1]! - started).toBeGreaterThanOrEqual(1000);
    expect(arrivals[2]! - started).toBeGreaterThanOrEqual(1000);
  });

  it('a 429 that outlasts the cap becomes RateLimitedError with the wait', async () => {
    server = await startValence({
      [WHOAMI]: (_q, res) => {
        res.writeHead(429, { 'Retry-After': '1' });
        res.end();
      },
    });
    const { client: c } = client(server, { maxRateLimitWaitMs: 1500 });
    const error = await c.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'LMS_RATE_LIMITED', retryable: true });
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect((error as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(1100);
    expect(server.seen.filter((r) => r.url.endsWith('whoami'))).toHaveLength(2);
  });

  it('401: invalidates the token and retries with a fresh one (twice at most); then it is an error', async () => {
    let refuse = 'token-1-secret';
    server = await startValence({
      [WHOAMI]: (req, res) => {
        if (req.headers.authorization === `Bearer ${refuse}` || refuse === '*') return sendJson(res, 401, {});
        sendJson(res, 200, me);
      },
    });
    const { client: c, tokens } = client(server);
    expect((await c.whoami()).userId).toBe(1);
    expect(tokens.invalidated).toEqual(['token-1-secret']);
    const auths = server.seen.filter((r) => r.url.endsWith('whoami')).map((r) => r.headers.authorization);
    expect(auths).toEqual(['Bearer token-1-secret', 'Bearer token-2-secret']);

    refuse = '*';
    const error = await c.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LmsRequestError);
    expect(error).toMatchObject({ code: 'LMS_UNAUTHORIZED', status: 401, retryable: false });
    // One renewal for the first call, two for the second (the first fresh token may be stale too).
    expect(tokens.invalidated).toHaveLength(3);
  });

  it('5xx, a dead host and a timeout are retryable LmsUnavailableErrors; 403 is not retryable', async () => {
    let mode: 'down' | 'hang' | 'forbidden' = 'down';
    server = await startValence({
      [WHOAMI]: (_q, res) => {
        if (mode === 'down') return sendJson(res, 503, {});
        if (mode === 'forbidden') return sendJson(res, 403, { Errors: [{ Message: 'Forbidden' }] });
        // hang: never answer
      },
    });
    const { client: c } = client(server, { timeoutMs: 200 });
    await c.negotiateVersions();
    await expect(c.whoami()).rejects.toMatchObject({ code: 'LMS_UNAVAILABLE', status: 503, retryable: true });
    mode = 'hang';
    const timedOut = await c.whoami().catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(LmsUnavailableError);
    expect((timedOut as Error).message).toMatch(/timed out/);
    mode = 'forbidden';
    await expect(c.whoami()).rejects.toMatchObject({
      code: 'LMS_REQUEST_REJECTED',
      status: 403,
      retryable: false,
    });
    await expect(c.whoami()).rejects.toThrow(/role or the app's scopes/);

    const dead = await startStub(() => undefined);
    await dead.close();
    const offline = client(dead, { versions: { lp: '1.53', bas: '1.4' } }).client;
    await expect(offline.whoami()).rejects.toMatchObject({ code: 'LMS_UNAVAILABLE', status: undefined });
  });

  it('does not follow redirects with the token', async () => {
    const elsewhere = await startStub((_q, res) => sendJson(res, 200, me));
    server = await startValence({
      [WHOAMI]: (_q, res) => {
        res.writeHead(302, { location: `${elsewhere.origin}/steal` });
        res.end();
      },
    });
    try {
      await expect(client(server).client.whoami()).rejects.toThrow(
        /answered 302 \(redirected to http:\/\/127\.0\.0\.1/,
      );
      expect(elsewhere.seen).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });

  it('logs requests without the token or the Authorization header', async () => {
    server = await startValence({ [WHOAMI]: (_q, res) => sendJson(res, 200, me) });
    const { client: c, logLines } = client(server);
    await c.whoami();
    const logs = logLines.join('');
    expect(logs).toContain('"route":"GET /d2l/api/lp/1.53/users/whoami"');
    expect(logs).not.toMatch(/token-\d-secret|Bearer|authorization/i);
  });
});
