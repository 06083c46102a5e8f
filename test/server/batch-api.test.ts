import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/certificate/index.ts';
import { loadConfig, Secret } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { FleetBreaker } from '../../src/fleet/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { connectRedis, openQueues, type CertharvestQueues } from '../../src/queue/index.ts';
import { API_BODY_LIMIT_BYTES } from '../../src/server/batch-api.ts';
import { startBoardServer, type BoardServer } from '../../src/server/index.ts';
import { captureLogger, sleepUntil, testRedisUrl, uniquePrefix } from '../helpers/index.ts';

const SIS_KEY = randomBytes(32).toString('hex');
const PYTHON_KEY = randomBytes(24).toString('base64url');
const BOARD_PASSWORD = 'correct horse battery';

let redis: Redis;
let queues: CertharvestQueues;
let board: BoardServer;
let breaker: FleetBreaker;
let api: string;
const prefix = uniquePrefix('api');
const capture = captureLogger('debug');
/** Every response body read by a test: none may hold a key. */
const bodies: string[] = [];

beforeAll(async () => {
  redis = await connectRedis(testRedisUrl());
  queues = openQueues(redis, prefix);
  breaker = new FleetBreaker({
    redis,
    prefix,
    queues: [queues.discover, queues.download],
    logger: createLogger({ level: 'silent' }),
  });
  board = await startBoardServer({
    queues: [queues.discover, queues.download],
    redis,
    breaker,
    user: 'ops',
    password: BOARD_PASSWORD,
    host: '127.0.0.1',
    port: 0,
    logger: capture.logger,
    // Short windows, no throttling in reach: wrong keys here are tested for their answers.
    loginThrottle: { windowMs: 200, maxFailures: 1_000 },
    batchApi: {
      apiKeys: [
        { name: 'sis', key: new Secret(SIS_KEY) },
        { name: 'python-etl', key: new Secret(PYTHON_KEY) },
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

const bearer = (key = SIS_KEY) => ({ authorization: `Bearer ${key}` });

async function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => Json }> {
  const res = await fetch(`${api}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...bearer(), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

const post = (batch: unknown, headers: Record<string, string> = {}) =>
  call('', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(batch),
  });

describe('batch API: authentication', () => {
  it('answers 401 with WWW-Authenticate: Bearer without a key, with a wrong one, or with the board login', async () => {
    const none = await fetch(api, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="certharvest"$/);
    expect(await none.json()).toEqual({
      error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/Authorization: Bearer/) },
    });

    // Same length as a real key, one character off: still refused.
    const wrong = SIS_KEY.slice(0, -1) + (SIS_KEY.endsWith('0') ? '1' : '0');
    for (const headers of [bearer(wrong), { authorization: '', 'x-api-key': 'not-a-key' }, bearer('')]) {
      const res = await call('/anything', { headers });
      expect(res.status).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
    expect((await call('/x', { headers: bearer(wrong) })).headers.get('www-authenticate')).toMatch(
      /error="invalid_token"/,
    );

    // The board's basic auth (which a browser replays by itself) opens nothing here: no CSRF.
    const basic = await fetch(`${api}/whatever`, {
      headers: { authorization: `Basic ${Buffer.from(`ops:${BOARD_PASSWORD}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
  });

  it('leaves the board where it was: /api/queues still asks for basic auth, and takes it', async () => {
    const anonymous = await fetch(`${board.url}api/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    const ops = await fetch(`${board.url}api/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`ops:${BOARD_PASSWORD}`).toString('base64')}` },
    });
    expect(ops.status).toBe(200);
    // ...and an API key is no board login.
    expect((await fetch(`${board.url}api/queues`, { headers: bearer() })).status).toBe(401);
  });

  it('without API_KEYS answers 404 API_DISABLED', async () => {
    const plain = await startBoardServer({
      queues: [queues.discover],
      redis,
      user: 'ops',
      password: BOARD_PASSWORD,
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const res = await fetch(`${plain.url}api/batches`, { method: 'POST', headers: bearer() });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: { code: 'API_DISABLED', message: expect.stringMatching(/API_KEYS is not set/) },
      });
    } finally {
      await plain.close();
    }
  });
});

describe('batch API: submit, status, failures', () => {
  it('creates a batch (201), reports it and its failures as JSON and CSV', async () => {
    const created = await post({
      batchId: 'api.batch-1',
      users: [1001, 'a/b', 'x y', 1001, '=cmd ()'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/batches/api.batch-1');
    expect(created.json()).toEqual({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'api.batch-1',
      queued: 1,
      rejected: [
        { ref: 'a/b', reason: expect.stringMatching(/malformed userId/) },
        { ref: 'x y', reason: expect.any(String) },
        { ref: '=cmd ()', reason: expect.any(String) },
      ],
      duplicates: 1,
      allUsers: false,
      links: {
        self: '/api/batches/api.batch-1',
        failures: '/api/batches/api.batch-1/failures',
        certificates: '/api/batches/api.batch-1/certificates',
      },
    });
    expect(created.headers.get('cache-control')).toBe('no-store');

    const status = await call('/api.batch-1');
    expect(status.status).toBe(200);
    expect(status.json()).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'api.batch-1',
      by: 'userId',
      usersTotal: 4,
      usersFailed: 3,
      done: false,
      state: 'running',
      failuresTotal: 3,
      fleetPause: null,
      links: { failures: '/api/batches/api.batch-1/failures' },
    });
    expect(status.json().failures).toHaveLength(3);

    const failures = await call('/api.batch-1/failures');
    expect(failures.status).toBe(200);
    expect(failures.headers.get('content-type')).toMatch(/^application\/json/);
    expect(failures.headers.get('x-total-count')).toBe('3');
    expect(failures.json()).toEqual({
      schemaVersion: SCHEMA_VERSION,
      batchId: 'api.batch-1',
      total: 3,
      offset: 0,
      limit: null,
      next: null,
      failures: ['a/b', 'x y', '=cmd ()'].map((ref) => ({
        kind: 'user',
        ref,
        code: 'USER_REF_MALFORMED',
        reason: expect.any(String),
        at: expect.any(String),
      })),
    });

    const csv = await call('/api.batch-1/failures?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(
      /^attachment; filename="?api.batch-1-failures.csv"?$/,
    );
    const lines = csv.text.trimEnd().split('\n');
    expect(lines[0]).toBe('kind,ref,code,reason,at');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^user,a\/b,USER_REF_MALFORMED,/);
    // A spreadsheet formula is neutralised.
    expect(lines[3]).toMatch(/^user,'=cmd \(\),USER_REF_MALFORMED,/);
  });

  it('pages failures with ?offset=&limit= (next link, Link header), across Redis chunks', async () => {
    const users = Array.from({ length: 12_000 }, (_, i) => `u ${i}`); // malformed: a space
    const created = await post({ batchId: 'api-many', users });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ queued: 0, duplicates: 0 });

    const status = (await call('/api-many')).json();
    expect(status).toMatchObject({ done: true, state: 'done-with-failures', failuresTotal: 12_000 });
    expect(status.failures).toHaveLength(20);

    const all = (await call('/api-many/failures')).json();
    expect(all.failures).toHaveLength(12_000);
    expect(all.failures.map((f: { ref: string }) => f.ref)).toEqual(users.map((u) => u));

    const page = await call('/api-many/failures?offset=4999&limit=5002');
    const body = page.json();
    expect(body.failures.map((f: { ref: string }) => f.ref)).toEqual(users.slice(4999, 10_001));
    expect(body.next).toBe('/api/batches/api-many/failures?offset=10001&limit=5002');
    expect(page.headers.get('link')).toBe(
      '</api/batches/api-many/failures?offset=10001&limit=5002>; rel="next"',
    );
    const last = (await call(body.next.replace('/api/batches', ''))).json();
    expect(last.failures.map((f: { ref: string }) => f.ref)).toEqual(users.slice(10_001));
    expect(last.next).toBeNull();

    const csv = await call('/api-many/failures?format=csv');
    expect(csv.text.trimEnd().split('\n')).toHaveLength(12_001);
    const csvPage = await call('/api-many/failures?format=csv&limit=10');
    expect(csvPage.text.trimEnd().split('\n')).toHaveLength(11);
    expect(csvPage.headers.get('link')).toMatch(/offset=10&limit=10&format=csv/);
    // Past the end: an empty page, not an error.
    expect((await call('/api-many/failures?offset=50000')).json()).toMatchObject({
      total: 12_000,
      failures: [],
    });
  });

  it("shows 'done' and the fleet's pause with a batch's status", async () => {
    expect((await post({ batchId: 'api-done', users: [7] })).status).toBe(201);
    // What a worker's accounting would record once user 7 is discovered without certificates.
    await redis.hincrby(`${prefix}:batch:api-done`, 'usersDone', 1);
    expect((await call('/api-done')).json()).toMatchObject({ done: true, state: 'done', fleetPause: null });

    await breaker.trip({ reason: 'OUTPUT_UNAVAILABLE', message: 'disk full', fix: 'free space' });
    try {
      expect((await call('/api-done')).json().fleetPause).toMatchObject({
        reason: 'OUTPUT_UNAVAILABLE',
        fix: 'free space',
      });
    } finally {
      await breaker.resume('test');
    }
  });

  it('takes a request as Python requests sends it, with X-API-Key, and logs the client by name', async () => {
    const res = await fetch(api, {
      method: 'POST',
      headers: {
        'User-Agent': 'python-requests/2.32.3',
        'Accept-Encoding': 'gzip, deflate',
        Accept: '*/*',
        Connection: 'keep-alive',
        'X-API-Key': PYTHON_KEY,
        'Content-Type': 'application/json',
      },
      // json.dumps: ", " and ": " separators.
      body: '{"batchId": "py-1", "by": "orgDefinedId", "users": ["S001", "S002"], "filters": {"includeExpired": false}}',
    });
    bodies.push(await res.clone().text());
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ batchId: 'py-1', queued: 2 });
    const logged = capture.lines.find((l) => l.batchId === 'py-1');
    expect(logged).toMatchObject({ client: 'python-etl', queued: 2, msg: 'batch submitted through the API' });
    const poll = await call('/py-1', { headers: { authorization: '', 'x-api-key': PYTHON_KEY } });
    expect(poll.json()).toMatchObject({ by: 'orgDefinedId', state: 'running' });
  });

  it('generates a batch id when none is given', async () => {
    const res = await post({ users: [5] });
    expect(res.status).toBe(201);
    expect(res.json().batchId).toMatch(/^b-\d{8}-\d{6}-[0-9a-f]{4}$/);
  });
});

describe('batch API: errors', () => {
  it('409 for a batch id already taken', async () => {
    expect((await post({ batchId: 'api-dup', users: [1] })).status).toBe(201);
    const again = await post({ batchId: 'api-dup', users: [2] });
    expect(again.status).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'BATCH_EXISTS',
      message: expect.stringMatching(/api-dup/),
    });
  });

  it('422 with every problem for an invalid batch; nothing is created', async () => {
    const res = await post({ batchId: 'api bad', by: 'email', users: 'everyone', extra: 1 });
    expect(res.status).toBe(422);
    const { error } = res.json();
    expect(error.code).toBe('BATCH_INVALID');
    expect(error.message).toMatch(/nothing was queued/);
    expect(error.problems.join('\n')).toMatch(/batchId/);
    expect(error.problems.join('\n')).toMatch(/by/);
    expect(error.problems.join('\n')).toMatch(/users/);
    expect(error.problems.join('\n')).toMatch(/extra/);
    expect((await post([1, 2])).status).toBe(422);
    expect((await post({ users: [] })).json().error.problems).toEqual([
      'users: a batch needs at least one user (or allUsers: true)',
    ]);
    expect((await post({ users: Array.from({ length: 100_001 }, (_, i) => i + 1) })).status).toBe(422);
  });

  it('413 naming the limit for a body over 5 MB; 100,000 users fit', async () => {
    const huge = JSON.stringify({ users: ['x'.repeat(API_BODY_LIMIT_BYTES)] });
    const res = await call('', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    expect(res.status).toBe(413);
    expect(res.json().error).toEqual({
      code: 'BODY_TOO_LARGE',
      message: expect.stringMatching(new RegExp(`${API_BODY_LIMIT_BYTES} bytes`)),
    });
    // 100,000 references of 40 characters: under the limit. Letters are no user ids, so every one
    // is refused at once and recorded as a failure (no 100,000 jobs for a test to wait on).
    const big = {
      batchId: 'api-100k',
      by: 'userId',
      users: Array.from({ length: 100_000 }, (_, i) => `S ${String(i).padStart(38, '0')}`),
    };
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(size).toBeGreaterThan(4e6);
    expect(size).toBeLessThan(API_BODY_LIMIT_BYTES);
    const ok = await post(big);
    expect(ok.status).toBe(201);
    expect(ok.json()).toMatchObject({ batchId: 'api-100k', queued: 0 });
    expect(ok.json().rejected).toHaveLength(100_000);
    expect((await call('/api-100k')).json()).toMatchObject({
      usersTotal: 100_000,
      failuresTotal: 100_000,
      state: 'done-with-failures',
    });
  });

  it('400 naming the problem for malformed JSON; 415 for a body that is not JSON', async () => {
    const res = await call('', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"users": [1, 2',
    });
    expect(res.status).toBe(400);
    expect(res.json().error).toEqual({
      code: 'INVALID_JSON',
      message: expect.stringMatching(/^the body is not valid JSON: /),
    });
    const text = await call('', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"users":[1]}',
    });
    expect(text.status).toBe(415);
    expect(text.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('404 for an unknown batch or route, 400 for an invalid id or query, 405 for a wrong method', async () => {
    for (const path of ['/no-such-batch', '/no-such-batch/failures', '/no-such-batch/failures?format=csv']) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(res.json().error.code).toBe('BATCH_NOT_FOUND');
    }
    expect((await call('/api.batch-1/whatever')).json().error.code).toBe('NOT_FOUND');
    const badId = await call('/-starts-with-a-dash');
    expect(badId.status).toBe(400);
    expect(badId.json().error.code).toBe('INVALID_BATCH_ID');
    expect((await call(`/${'x'.repeat(65)}/failures`)).status).toBe(400);
    for (const query of [
      'format=xml',
      'limit=0',
      'offset=-1',
      'limit=ten',
      'fromat=csv',
      'limit=1&limit=2',
    ]) {
      const res = await call(`/api.batch-1/failures?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'INVALID_QUERY', problems: [expect.any(String)] });
    }
    const del = await call('/api.batch-1', { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect((await call('', { method: 'GET' })).status).toBe(405);
  });

  it('answers every error as JSON {error:{code,message}}', () => {
    // Every body read so far: the JSON ones parse, and none is HTML or plain text.
    for (const body of bodies.filter((b) => b.startsWith('{"error"'))) {
      const parsed = JSON.parse(body) as { error: Record<string, unknown> };
      expect(typeof parsed.error.code).toBe('string');
      expect(typeof parsed.error.message).toBe('string');
    }
    expect(bodies.length).toBeGreaterThan(20);
  });
});

describe('batch API: secrets', () => {
  it('never stores a key in Redis, logs one, or answers with one', async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(10);
    let scanned = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const some = keys.slice(i, i + 1000);
      const types = (await redis.pipeline(some.map((k) => ['type', k])).exec())!.map(([, t]) => t as string);
      const read = redis.pipeline();
      some.forEach((key, j) => {
        const type = types[j];
        if (type === 'string') read.get(key);
        else if (type === 'hash') read.hgetall(key);
        else if (type === 'list') read.lrange(key, 0, -1);
        else if (type === 'set') read.smembers(key);
        else if (type === 'zset') read.zrange(key, 0, -1);
        else if (type === 'stream') read.xrange(key, '-', '+');
        else read.exists(key);
      });
      const values = (await read.exec())!.map(([, v]) => JSON.stringify(v));
      some.forEach((key, j) => {
        const text = `${key} ${values[j]}`;
        scanned += text.length;
        expect(text.includes(SIS_KEY) || text.includes(PYTHON_KEY), `Redis key ${key}`).toBe(false);
      });
    }
    expect(scanned).toBeGreaterThan(1e6); // the 100,000-user batch is in there: the scan saw real data

    const logs = capture.text();
    expect(logs).toMatch(/"client":"sis"/);
    // Wrong keys are counted per address and window: one line, with counts, never the key.
    await sleepUntil(() => capture.lines.some((l) => (l.byKind as { api?: number } | undefined)?.api), 5_000);
    expect(capture.text().includes(SIS_KEY) || capture.text().includes(PYTHON_KEY)).toBe(false);
    for (const body of bodies) expect(body.includes(SIS_KEY) || body.includes(PYTHON_KEY)).toBe(false);
  });
});

describe('API_KEYS', () => {
  const load = (API_KEYS: string) => loadConfig({ env: { API_KEYS }, envFile: false });
  const problems = (API_KEYS: string): string[] => {
    try {
      load(API_KEYS);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return [...(err as ConfigError).problems];
    }
    throw new Error('expected a ConfigError');
  };
  const k1 = randomBytes(12).toString('hex');
  /** A bare key: no name, and no ":". */
  const k2 = `${randomBytes(15).toString('base64url')}+/=-_.~!`;

  it('parses name:key entries and bare keys into named Secrets', () => {
    const config = load(` sis:${k1} , ${k2},`);
    expect(config.board.apiKeys.map((k) => k.name)).toEqual(['sis', 'key-2']);
    expect(config.board.apiKeys.map((k) => k.key.reveal())).toEqual([k1, k2]);
    // Without scopes, a key submits and reads its own batches; after a second ":", its scopes.
    expect(config.board.apiKeys.map((k) => k.scopes)).toEqual([
      ['submit', 'read:own'],
      ['submit', 'read:own'],
    ]);
    const scoped = load(`etl:${k1}:read:all, sis:${k2}:submit+read:own+submit`).board.apiKeys;
    expect(scoped).toMatchObject([
      { name: 'etl', scopes: ['read:all'] },
      { name: 'sis', scopes: ['submit', 'read:own'] },
    ]);
    expect(scoped[0]?.key.reveal()).toBe(k1);
    expect(JSON.stringify(load(`sis:${k1}`))).not.toContain(k1);
    expect(loadConfig({ env: {}, envFile: false }).board.apiKeys).toEqual([]);
  });

  it('refuses short keys, bad names, duplicates, without ever echoing a key', () => {
    const secret = 'short-secret-value';
    const all = [
      ...problems(`sis:${secret}`),
      ...problems(`sis:${k1},sis:${randomBytes(12).toString('hex')}`),
      ...problems(`sis:${k1},etl:${k1}`),
      ...problems(`bad name:${k1}`),
      ...problems(`sis:${randomBytes(10).toString('hex')} ${randomBytes(10).toString('hex')}`),
      ...problems(','),
      ...problems(`sis:${k1}:admin`),
      // Trivially low entropy, whatever the length: one character, a short pattern, few symbols.
      ...problems(`sis:${'a'.repeat(24)}`),
      ...problems(`sis:${'abc123'.repeat(5)}`),
      ...problems(`sis:${'0101100110'.repeat(3)}`),
    ];
    expect(all).toEqual([
      expect.stringMatching(
        /^API_KEYS: entry 1: the key is too short, expected at least 24 .*\(value hidden\)$/,
      ),
      expect.stringMatching(/^API_KEYS: entry 2: the same name as an earlier entry/),
      expect.stringMatching(/^API_KEYS: entry 2: the same key as an earlier entry/),
      expect.stringMatching(/^API_KEYS: entry 1: expected name:key with a name of/),
      expect.stringMatching(/^API_KEYS: entry 1: the key must be printable ASCII/),
      expect.stringMatching(/^API_KEYS: expected at least one name:key entry/),
      expect.stringMatching(/^API_KEYS: entry 1 \(sis\): expected scopes among submit, read:own, read:all/),
      ...Array.from({ length: 3 }, () =>
        expect.stringMatching(
          /^API_KEYS: entry 1: the key is a repeated pattern or has fewer than 8 different/,
        ),
      ),
    ]);
    for (const p of all) {
      expect(p).not.toContain(secret);
      expect(p).not.toContain(k1);
    }
  });
});
