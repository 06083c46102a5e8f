/**
 * The HTTP core (src/http) against a tiny local server: the one redirect policy, bounded bodies,
 * the in-place retry and the webhook's POST; and the one lock primitive (src/auth/redis-lock.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLock, runExclusive } from '../../src/auth/redis-lock.ts';
import {
  chooseTransport,
  exchange,
  followSameHost,
  HttpExchangeError,
  InPlaceRetry,
  postOnce,
  readBounded,
} from '../../src/http/index.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/index.ts';

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  return { server, seen };
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

const other = serve((_req, res) => res.writeHead(200).end('elsewhere'));
const lms = serve((req, res) => {
  const path = req.url ?? '';
  if (path === '/hop') res.writeHead(302, { location: '/page' }).end();
  else if (path === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end('<html>page</html>');
  else if (path === '/away') res.writeHead(302, { location: `${urlOf(other.server)}/steal` }).end();
  else if (path === '/loop') res.writeHead(302, { location: '/loop' }).end();
  else if (path === '/declared') res.writeHead(200, { 'content-length': '99999999' }).write('x');
  else if (path === '/endless') {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  } else if (path === '/hook') {
    req.resume();
    req.on('end', () => res.writeHead(301, { location: `${urlOf(other.server)}/x` }).end('x'.repeat(10_000)));
  } else if (path.startsWith('/slow')) setTimeout(() => res.writeHead(200).end(), 2_000);
  else res.writeHead(404).end();
});

beforeAll(async () => {
  for (const s of [lms.server, other.server]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  for (const s of [lms.server, other.server]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const transport = chooseTransport({});
const send = (url: URL) => exchange(transport, url, { timeoutMs: 5_000 });
const at = (path: string) => new URL(`${urlOf(lms.server)}${path}`);

describe('followSameHost', () => {
  it('follows a redirect on the same host and returns the page', async () => {
    const end = await followSameHost(at('/hop'), send, { maxRedirects: 3 });
    expect(end.kind).toBe('answer');
    expect(end.answer.url.pathname).toBe('/page');
    await end.answer.discard();
  });

  it('answers a redirect to another host without sending it anything', async () => {
    const end = await followSameHost(at('/away'), send, { maxRedirects: 3 });
    expect(end).toMatchObject({ kind: 'off-host' });
    await end.answer.discard();
    expect(other.seen).toEqual([]);
  });

  it('stops after maxRedirects, and at a stopAt URL without following it', async () => {
    const loop = await followSameHost(at('/loop'), send, { maxRedirects: 2 });
    expect(loop.kind).toBe('too-many');
    await loop.answer.discard();
    const stopped = await followSameHost(at('/hop'), send, {
      maxRedirects: 3,
      stopAt: (to) => to.pathname === '/page',
    });
    expect(stopped.kind).toBe('answer');
    expect(stopped.answer.status).toBe(302);
    await stopped.answer.discard();
  });
});

describe('readBounded', () => {
  const limits = {
    maxBytes: 1024 * 1024,
    tooLarge: (size: string) => new RangeError(`too large: ${size}`),
    readFailed: (cause: unknown) => cause as Error,
  };

  it('refuses a declared length over the limit before reading, and cuts an endless body', async () => {
    await expect(readBounded(await send(at('/declared')), limits)).rejects.toThrow('too large: 99999999');
    await expect(readBounded(await send(at('/endless')), limits)).rejects.toThrow(
      `too large: more than ${1024 * 1024}`,
    );
  });

  it('names a timeout as such', async () => {
    const err = await exchange(transport, at('/slow'), { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpExchangeError);
    expect((err as HttpExchangeError).detail).toBe('timed out');
  });
});

describe('InPlaceRetry', () => {
  it('waits out the given number of failures, then throws the next one', async () => {
    const waits: number[] = [];
    const retry = new InPlaceRetry(2, (_e, ms) => waits.push(ms));
    await retry.after(new Error('one'));
    await retry.after(new Error('two'));
    await expect(retry.after(new Error('three'))).rejects.toThrow('three');
    expect(waits).toHaveLength(2);
    expect(waits[1]!).toBeGreaterThan(waits[0]!);
  });
});

describe('postOnce', () => {
  it('answers a redirect as a status, never follows it, and keeps a bounded body', async () => {
    const answer = await postOnce(at('/hook'), { headers: {}, body: '{}', maxResponseBytes: 100 });
    expect(answer.status).toBe(301);
    expect(answer.text.length).toBeLessThanOrEqual(100);
    expect(other.seen).toEqual([]);
  });

  it('throws an HttpExchangeError that quotes no URL when nothing answers in time', async () => {
    const err = await postOnce(at('/slow?token=secret'), { headers: {}, body: '', timeoutMs: 100 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpExchangeError);
    expect((err as Error).message).not.toContain('secret');
  });
});

describe('runExclusive', () => {
  const redis = new Redis(testRedisUrl());
  afterAll(() => redis.quit());

  it('waits for the holder, runs, and releases', async () => {
    const key = `${uniquePrefix('lock')}:lock`;
    const lock = new RedisLock(redis, key);
    const holder = (await lock.tryAcquire())!;
    setTimeout(() => void lock.release(holder), 100);
    const got = await runExclusive(
      lock,
      { waitMs: 2_000, pollMs: 20, onBusy: () => 'busy' },
      async () => 'ran',
    );
    expect(got).toBe('ran');
    expect(await redis.exists(key)).toBe(0);
  });

  it('skips or throws when busy, stops waiting when ready says so, and keeps the lock when asked', async () => {
    const key = `${uniquePrefix('lock')}:lock`;
    const lock = new RedisLock(redis, key, { ttlMs: 5_000 });
    const kept = await runExclusive(lock, { waitMs: 0, onBusy: () => 'busy' }, async (held) => {
      held.keep();
      return held.token;
    });
    expect(await redis.get(key)).toBe(kept);
    expect(await runExclusive(lock, { waitMs: 0, onBusy: () => 'busy' }, async () => 'ran')).toBe('busy');
    await expect(
      runExclusive(
        lock,
        {
          waitMs: 50,
          pollMs: 10,
          onBusy: () => {
            throw new Error('still busy');
          },
        },
        async () => 'ran',
      ),
    ).rejects.toThrow('still busy');
    const early = await runExclusive(
      lock,
      { waitMs: 10_000, ready: async () => 'done by another', onBusy: () => 'busy' },
      async () => 'ran',
    );
    expect(early).toBe('done by another');
  });
});
