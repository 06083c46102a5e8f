import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.ts';
import { connectRedis, openQueues, submitBatch, type CertharvestQueues } from '../../src/queue/index.ts';
import { redactUrl } from '../../src/server/batch-api.ts';
import { startBoardServer, type BoardServer } from '../../src/server/index.ts';
import { captureLogger, sleepUntil, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

const key = () => randomBytes(32).toString('hex');
const KEYS = { sis: key(), etl: key(), submitter: key(), auditor: key() };
const PASSWORD = 'a board password of some length';

let redis: Redis;
let queues: CertharvestQueues;
const prefix = uniquePrefix('security');

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
  queues = openQueues(redis, prefix);
});
afterAll(async () => {
  await queues.close();
  await redis.quit();
});

/** A board on a free port with the four clients, its log captured; `close()` ends it. */
async function withBoard(loginThrottle?: { maxFailures: number; windowMs: number }) {
  const capture = captureLogger('debug');
  const board: BoardServer = await startBoardServer({
    queues: [queues.discover, queues.download],
    redis,
    user: 'ops',
    password: PASSWORD,
    host: '127.0.0.1',
    port: 0,
    logger: capture.logger,
    ...(loginThrottle ? { loginThrottle } : {}),
    batchApi: {
      apiKeys: [
        { name: 'sis', key: new Secret(KEYS.sis) }, // default scopes: submit + read:own
        { name: 'etl', key: new Secret(KEYS.etl), scopes: ['submit', 'read:own'] },
        { name: 'submitter', key: new Secret(KEYS.submitter), scopes: ['submit'] },
        { name: 'auditor', key: new Secret(KEYS.auditor), scopes: ['read:all'] },
      ],
      queues,
      prefix,
    },
  });
  return { board, capture };
}

const as = (k: string) => ({ authorization: `Bearer ${k}` });
const basic = (password: string) => ({
  authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`,
});

describe('batch API scopes', () => {
  let board: BoardServer;
  let capture: ReturnType<typeof captureLogger>;
  beforeAll(async () => ({ board, capture } = await withBoard()));
  afterAll(async () => board.close());

  const api = (path: string) => `${board.url}api/batches${path}`;
  const submit = (k: string, batchId: string) =>
    fetch(api(''), {
      method: 'POST',
      headers: { ...as(k), 'content-type': 'application/json' },
      body: JSON.stringify({ batchId, users: [101] }),
    });
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('a key reads the batches it submitted, not another client’s; read:all reads every one', async () => {
    const id = `own-${randomBytes(3).toString('hex')}`;
    expect((await submit(KEYS.sis, id)).status).toBe(201);

    expect((await fetch(api(`/${id}`), { headers: as(KEYS.sis) })).status).toBe(200);
    expect((await fetch(api(`/${id}/failures`), { headers: as(KEYS.sis) })).status).toBe(200);

    for (const path of [`/${id}`, `/${id}/failures`, `/${id}/failures?format=csv`]) {
      const other = await fetch(api(path), { headers: as(KEYS.etl) });
      expect(other.status).toBe(403);
      expect(await codeOf(other)).toBe('OUT_OF_SCOPE');
    }
    expect((await fetch(api(`/${id}`), { headers: as(KEYS.auditor) })).status).toBe(200);
    expect((await fetch(api(`/${id}/failures`), { headers: as(KEYS.auditor) })).status).toBe(200);
    // An unknown batch is still 404 for read:own.
    const none = await fetch(api('/no-such-batch'), { headers: as(KEYS.etl) });
    expect(none.status).toBe(404);
    expect(await codeOf(none)).toBe('BATCH_NOT_FOUND');
  });

  it('a batch submitted outside the API (CLI, schedule) is read with read:all only', async () => {
    const id = `cli-${randomBytes(3).toString('hex')}`;
    await submitBatch({ batchId: id, users: [7] }, { queues, redis, prefix });
    expect((await fetch(api(`/${id}`), { headers: as(KEYS.sis) })).status).toBe(403);
    expect((await fetch(api(`/${id}`), { headers: as(KEYS.auditor) })).status).toBe(200);
  });

  it('a request outside its scope gets 403 OUT_OF_SCOPE, and nothing is queued', async () => {
    const id = `scoped-${randomBytes(3).toString('hex')}`;
    const readOnly = await submit(KEYS.auditor, id);
    expect(readOnly.status).toBe(403);
    expect(await readOnly.json()).toMatchObject({
      error: { code: 'OUT_OF_SCOPE', message: expect.stringMatching(/"auditor" .*needs submit/) },
    });
    expect((await fetch(api(`/${id}`), { headers: as(KEYS.auditor) })).status).toBe(404);

    expect((await submit(KEYS.submitter, id)).status).toBe(201);
    const blind = await fetch(api(`/${id}`), { headers: as(KEYS.submitter) });
    expect(blind.status).toBe(403);
    expect(await codeOf(blind)).toBe('OUT_OF_SCOPE');
  });

  it('logs no key: an api_key (or token, signature...) in the query string is redacted', async () => {
    const id = `log-${randomBytes(3).toString('hex')}`;
    expect((await submit(KEYS.sis, id)).status).toBe(201);
    const res = await fetch(api(`/${id}?api_key=${KEYS.sis}&access_token=${KEYS.etl}&view=1`), {
      headers: as(KEYS.sis),
    });
    expect(res.status).toBe(200);
    const logs = capture.text();
    expect(logs).toContain(`"path":"/api/batches/${id}?api_key=[redacted]&access_token=[redacted]&view=1"`);
    for (const k of Object.values(KEYS)) expect(logs).not.toContain(k);
  });

  it('redactUrl keeps the path and harmless parameters', () => {
    expect(redactUrl('/a/b')).toBe('/a/b');
    expect(redactUrl('/a?format=csv&offset=5')).toBe('/a?format=csv&offset=5');
    expect(redactUrl('/a?API%5FKEY=s3cret&Password=x&sig=y&flag')).toBe(
      '/a?API%5FKEY=[redacted]&Password=[redacted]&sig=[redacted]&flag',
    );
  });
});

describe('failed logins', () => {
  it('300 wrong board passwords: throttled after 5 per address, one warn line with counts, no password', async () => {
    const { board, capture } = await withBoard({ maxFailures: 5, windowMs: 1_500 });
    try {
      const statuses: number[] = [];
      for (let round = 0; round < 6; round++) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            fetch(`${board.url}api/queues`, { headers: basic(`guess-${round}-${i}`) }),
          ),
        );
        for (const a of answers) {
          statuses.push(a.status);
          await a.arrayBuffer();
        }
      }
      expect(statuses.filter((s) => s === 401)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(295);
      // Throttled: even the right password waits for the window's end (the guesser cannot tell).
      const right = await fetch(`${board.url}api/queues`, { headers: basic(PASSWORD) });
      expect(right.status).toBe(429);
      expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // A browser's first visit, without credentials, is not a failed login.
      expect(capture.text()).not.toMatch(/failed logins/);

      const line = await sleepUntil(
        () => capture.lines.find((l) => String(l.msg).startsWith('failed logins from one address')),
        5_000,
      );
      expect(line).toMatchObject({ level: 40, ip: expect.any(String), failures: 5, byKind: { board: 5 } });
      expect(line.throttled).toBeGreaterThanOrEqual(296);
      expect(capture.lines.filter((l) => String(l.msg).startsWith('failed logins'))).toHaveLength(1);
      expect(capture.text()).not.toMatch(/guess-/);
      expect(capture.text()).not.toContain(PASSWORD);

      // The window over, the right password opens the board again.
      expect((await fetch(`${board.url}api/queues`, { headers: basic(PASSWORD) })).status).toBe(200);
    } finally {
      await board.close();
    }
  });

  it('wrong API keys count too: 429 TOO_MANY_FAILED_LOGINS, one line, no key', async () => {
    const { board, capture } = await withBoard({ maxFailures: 3, windowMs: 1_000 });
    try {
      const wrong = Array.from({ length: 20 }, () => key());
      const statuses: number[] = [];
      for (const k of wrong) {
        const res = await fetch(`${board.url}api/batches/x`, { headers: as(k) });
        statuses.push(res.status);
        if (res.status === 429)
          expect(await res.json()).toMatchObject({ error: { code: 'TOO_MANY_FAILED_LOGINS' } });
        else await res.arrayBuffer();
      }
      expect(statuses).toEqual([401, 401, 401, ...Array<number>(17).fill(429)]);
      const line = await sleepUntil(
        () => capture.lines.find((l) => String(l.msg).startsWith('failed logins from one address')),
        5_000,
      );
      expect(line).toMatchObject({ failures: 3, byKind: { api: 3 }, throttled: 17 });
      for (const k of wrong) expect(capture.text()).not.toContain(k);
      // Another window: a good key is served again.
      expect((await fetch(`${board.url}api/batches/x`, { headers: as(KEYS.auditor) })).status).toBe(404);
    } finally {
      await board.close();
    }
  });
});
