import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/certificate/index.ts';
import { Secret } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import {
  BatchAccounting,
  BatchTracker,
  connectRedis,
  openQueues,
  type CertharvestQueues,
  type ExpectedCertificate,
} from '../../src/queue/index.ts';
import { MANIFEST_COLUMNS } from '../../src/report/manifest.ts';
import { startBoardServer, type BoardServer } from '../../src/server/index.ts';
import { discoverJobOf, settleUser, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

/** sis and etl: the default `submit+read:own`; audit: `submit+read:all`; reader: `read:all` alone. */
const KEYS = {
  sis: randomBytes(32).toString('hex'),
  etl: randomBytes(32).toString('hex'),
  audit: randomBytes(32).toString('hex'),
  reader: randomBytes(32).toString('hex'),
};
type Client = keyof typeof KEYS;

let redis: Redis;
let queues: CertharvestQueues;
let accounting: BatchAccounting;
let tracker: BatchTracker;
let board: BoardServer;
let api: string;
const prefix = uniquePrefix('api-m');

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
  queues = openQueues(redis, prefix);
  accounting = new BatchAccounting(redis, prefix);
  tracker = new BatchTracker(redis, prefix);
  board = await startBoardServer({
    queues: [queues.discover, queues.download],
    redis,
    user: 'ops',
    password: 'correct horse battery',
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    batchApi: {
      apiKeys: [
        { name: 'sis', key: new Secret(KEYS.sis) },
        { name: 'etl', key: new Secret(KEYS.etl) },
        { name: 'audit', key: new Secret(KEYS.audit), scopes: ['submit', 'read:all'] },
        { name: 'reader', key: new Secret(KEYS.reader), scopes: ['read:all'] },
      ],
      queues,
      prefix,
    },
  });
  api = `${board.url}api/batches`;
});
afterAll(async () => {
  await board.close();
  await queues.close();
  await redis.quit();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form JSON answers, checked by assertions
type Json = any;

async function call(
  path: string,
  init: { method?: string; as?: Client; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => Json }> {
  const res = await fetch(`${api}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${KEYS[init.as ?? 'sis']}`, ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

const submit = (batch: unknown, as: Client = 'sis') =>
  call('', {
    method: 'POST',
    as,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(batch),
  });
const post = (path: string, as: Client = 'sis', body?: unknown) =>
  call(path, {
    method: 'POST',
    as,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });

/** The discover job id `submitBatch` gives user `value` (by userId). */
const cert = (n: number, user: number): ExpectedCertificate => ({
  certKey: `school.example:7:${n}`,
  ref: `7-${n} (user ${user})`,
  alreadyStored: false,
  row: {
    userRef: `userId:${user}`,
    userId: user,
    orgUnitId: 7,
    issuedId: n,
    title: `Certificate ${n}`,
    issuedDate: null,
  },
});

describe('GET /api/batches/:id/certificates', () => {
  it('pages the manifest as JSON: stable pages in arrival order, next offset, schemaVersion', async () => {
    expect((await submit({ batchId: 'm-page', users: [1, 'x y'] })).status).toBe(201);
    await accounting.expectCertificates(
      'm-page',
      Array.from({ length: 5 }, (_, i) => cert(i + 1, 1)),
    );
    const first = await call('/m-page/certificates?limit=2');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-total-count')).toBe('6');
    expect(first.headers.get('link')).toBe('</api/batches/m-page/certificates?offset=2&limit=2>; rel="next"');
    const body = first.json();
    expect(body).toEqual({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'm-page',
      total: 6,
      offset: 0,
      rows: [
        expect.objectContaining({
          kind: 'user',
          userRef: 'userId:x y',
          status: 'failed',
          code: 'USER_REF_MALFORMED',
        }),
        expect.objectContaining({
          kind: 'certificate',
          userId: 1,
          orgUnitId: 7,
          issuedId: 1,
          status: 'queued',
        }),
      ],
      next: 2,
    });
    expect(Object.keys(body.rows[1]).sort()).toEqual([...MANIFEST_COLUMNS].sort());

    // Rows found meanwhile come at the end: the pages already read do not shift.
    await accounting.expectCertificates('m-page', [cert(6, 1)]);
    const all: Json[] = [...body.rows];
    for (let next: number | null = body.next; next !== null;) {
      const page = (await call(`/m-page/certificates?offset=${next}&limit=2`)).json();
      all.push(...page.rows);
      next = page.next;
    }
    expect(all.map((r) => r.issuedId)).toEqual([null, 1, 2, 3, 4, 5, 6]);
    expect((await call('/m-page/certificates')).json()).toMatchObject({ total: 7, offset: 0, next: null });
    expect((await call('/m-page/certificates?offset=100')).json()).toMatchObject({ rows: [], next: null });
  });

  it('streams the whole manifest as CSV (?format=csv or Accept: text/csv): 100,000 rows in pieces', async () => {
    // 100,000 refused references of sis's batch, recorded 10,000 at a time.
    await tracker.create('m-100k', { by: 'userId', enumerating: false, client: 'sis' });
    for (let i = 0; i < 100_000; i += 10_000) {
      const refs = Array.from({ length: 10_000 }, (_, k) => ({ ref: `S ${i + k}`, reason: 'malformed' }));
      await tracker.rejectUsers('m-100k', refs);
    }
    const res = await fetch(`${api}/m-100k/certificates?format=csv`, {
      headers: { authorization: `Bearer ${KEYS.sis}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="?m-100k-certificates.csv"?$/,
    );
    expect(res.headers.get('x-total-count')).toBe('100000');
    const decoder = new TextDecoder();
    let text = '';
    let pieces = 0;
    const reader = res.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      pieces++;
      text += decoder.decode(read.value, { stream: true });
    }
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(MANIFEST_COLUMNS.join(','));
    expect(lines).toHaveLength(100_001);
    expect(lines[1]).toMatch(/^user,userId:S 0,/);
    expect(lines[100_000]).toMatch(/^user,userId:S 99999,/);
    expect(pieces).toBeGreaterThan(10); // written as it was read, not as one string

    const accept = await call('/m-page/certificates', { headers: { accept: 'text/csv' } });
    expect(accept.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(accept.text.trimEnd().split('\n')).toHaveLength(8);
    const window = await call('/m-page/certificates?format=csv&offset=1&limit=2');
    expect(
      window.text
        .trimEnd()
        .split('\n')
        .map((l) => l.split(',')[6]),
    ).toEqual(['issuedId', '1', '2']);
  });

  it('404 for an unknown batch, 400 for a bad query, 403 for another client without read:all', async () => {
    for (const path of ['/m-none/certificates', '/m-none/certificates?format=csv']) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(res.json().error.code).toBe('BATCH_NOT_FOUND');
    }
    for (const query of ['limit=0', 'limit=10001', 'format=xml', 'offset=-1', 'page=2']) {
      const res = await call(`/m-page/certificates?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json().error.code).toBe('INVALID_QUERY');
    }
    expect((await call('/m-page/certificates?limit=10000')).status).toBe(200);
    const other = await call('/m-page/certificates', { as: 'etl' });
    expect(other.status).toBe(403);
    expect(other.json().error.code).toBe('OUT_OF_SCOPE');
    expect((await call('/m-page/certificates', { as: 'reader' })).status).toBe(200);
    expect((await call('/m-page/certificates', { method: 'DELETE' })).headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('POST /api/batches/:id/cancel', () => {
  it('cancels a batch of its own client: 200 with the outcome and the state; again: already-cancelled', async () => {
    expect((await submit({ batchId: 'm-cancel', users: [11, 12] })).status).toBe(201);
    const res = await post('/m-cancel/cancel');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'm-cancel',
      outcome: 'cancelled',
      usersRemoved: 2,
      downloadsRemoved: 0,
      downloadsLeftToOthers: 0,
      stillRunning: 0,
      state: 'cancelled',
      cancelledAt: expect.stringMatching(/^\d{4}-/),
      links: {
        self: '/api/batches/m-cancel',
        failures: '/api/batches/m-cancel/failures',
        certificates: '/api/batches/m-cancel/certificates',
      },
    });
    expect(
      await queues.discover.getJob((await discoverJobOf({ redis, prefix }, 'm-cancel', 11))!),
    ).toBeUndefined();
    expect((await call('/m-cancel')).json()).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      state: 'cancelled',
      done: true,
      usersCancelled: 2,
      cancelledAt: expect.any(String),
    });
    expect((await post('/m-cancel/cancel')).json()).toMatchObject({
      outcome: 'already-cancelled',
      state: 'cancelled',
    });
  });

  it('409 for a batch that had ended, 404 for none, 403 for another client or without submit', async () => {
    expect((await submit({ batchId: 'm-ended', users: ['x y'] })).status).toBe(201);
    const ended = await post('/m-ended/cancel');
    expect(ended.status).toBe(409);
    expect(ended.json().error).toEqual({
      code: 'BATCH_ENDED',
      message: expect.stringMatching(
        /had already ended \(done-with-failures at .*\): there is nothing to cancel/,
      ),
    });
    expect((await post('/m-gone/cancel')).json().error.code).toBe('BATCH_NOT_FOUND');

    expect((await submit({ batchId: 'm-theirs', users: [21] })).status).toBe(201);
    const other = await post('/m-theirs/cancel', 'etl');
    expect(other.status).toBe(403);
    expect(other.json().error.message).toMatch(/read:all/);
    const reader = await post('/m-theirs/cancel', 'reader');
    expect(reader.status).toBe(403);
    expect(reader.json().error.message).toMatch(/needs submit/);
    // submit + read:all acts on any batch.
    expect((await post('/m-theirs/cancel', 'audit')).json()).toMatchObject({ outcome: 'cancelled' });
    const get = await call('/m-theirs/cancel');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('POST /api/batches/:id/retry', () => {
  /** A batch of `sis` whose one user failed (as a worker's discovery would record it). */
  async function failedBatch(id: string): Promise<void> {
    expect((await submit({ batchId: id, users: [31] })).status).toBe(201);
    await settleUser({ redis, prefix }, id, '31', {
      status: 'failed',
      code: 'LMS_USER_NOT_FOUND',
      reason: 'no such user',
    });
  }

  it('201 with the new batch linked to the old, owned by the client that retried it', async () => {
    await failedBatch('m-retry');
    const res = await post('/m-retry/retry');
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/batches/m-retry.retry-1');
    expect(res.json()).toEqual({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'm-retry.retry-1',
      retryOf: 'm-retry',
      queued: 1,
      allUsers: false,
      links: {
        self: '/api/batches/m-retry.retry-1',
        failures: '/api/batches/m-retry.retry-1/failures',
        certificates: '/api/batches/m-retry.retry-1/certificates',
        retryOf: '/api/batches/m-retry',
      },
    });
    expect((await call('/m-retry.retry-1')).json()).toMatchObject({ retryOf: 'm-retry', state: 'running' });
    expect((await call('/m-retry')).json()).toMatchObject({ retriedBy: 'm-retry.retry-1' });

    // The new id asked for; then that id is taken.
    const named = await post('/m-retry/retry', 'sis', { batchId: 'm-retry-again' });
    expect(named.status).toBe(201);
    expect(named.json()).toMatchObject({ batchId: 'm-retry-again', retryOf: 'm-retry' });
    const taken = await post('/m-retry/retry', 'sis', { batchId: 'm-retry-again' });
    expect(taken.status).toBe(409);
    expect(taken.json().error.code).toBe('BATCH_EXISTS');

    // Another client with submit + read:all retries it: the new batch is that client's.
    const audit = await post('/m-retry/retry', 'audit');
    expect(audit.status).toBe(201);
    expect((await call(`/${audit.json().batchId}`)).status).toBe(403);
    expect((await call(`/${audit.json().batchId}`, { as: 'audit' })).status).toBe(200);
  });

  it('409 while it runs, 422 with nothing to retry, 404, 403, and a body that is not {batchId} refused', async () => {
    expect((await submit({ batchId: 'm-running', users: [41] })).status).toBe(201);
    const running = await post('/m-running/retry');
    expect(running.status).toBe(409);
    expect(running.json().error.code).toBe('BATCH_RUNNING');

    expect((await submit({ batchId: 'm-nothing', users: ['x y'] })).status).toBe(201);
    const nothing = await post('/m-nothing/retry');
    expect(nothing.status).toBe(422);
    expect(nothing.json().error).toMatchObject({
      code: 'NOTHING_TO_RETRY',
      message: expect.stringMatching(/malformed/),
    });

    expect((await post('/m-gone/retry')).status).toBe(404);
    await failedBatch('m-retry-2');
    expect((await post('/m-retry-2/retry', 'etl')).status).toBe(403);
    expect((await post('/m-retry-2/retry', 'reader')).status).toBe(403);

    const bad = await post('/m-retry-2/retry', 'sis', { batchId: '../x', users: [1] });
    expect(bad.status).toBe(422);
    expect(bad.json().error.code).toBe('RETRY_INVALID');
    expect(bad.json().error.problems).toHaveLength(2);
    const text = await call('/m-retry-2/retry', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'retry please',
    });
    expect(text.status).toBe(415);
    // Nothing of that was queued.
    expect((await call('/m-retry-2')).json().retriedBy).toBeUndefined();
  });
});

describe('POST /api/batches with refresh', () => {
  it('passes refresh: true through to the batch and its discovery jobs; schemaVersion in the 201', async () => {
    const res = await submit({ batchId: 'm-refresh', users: [51], refresh: true });
    expect(res.status).toBe(201);
    expect(res.json()).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'm-refresh',
      links: { certificates: '/api/batches/m-refresh/certificates' },
    });
    expect((await call('/m-refresh')).json()).toMatchObject({ refresh: true, state: 'running' });
    const job = await queues.discover.getJob((await discoverJobOf({ redis, prefix }, 'm-refresh', 51))!);
    expect(job?.data).toMatchObject({ refresh: true });
    expect((await call('/m-refresh/failures')).json().schemaVersion).toBe(SCHEMA_VERSION);
  });
});
